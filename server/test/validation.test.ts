import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema, FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { describe, expect, it } from "vitest";
import { signedClient } from "./support/clients.js";
import { useTestDeployment } from "./support/harness.js";
import { hmacHex, postRaw, postSigned } from "./support/rest.js";

const deployment = useTestDeployment();

const rest = (path: string, payload: unknown) =>
  postSigned(deployment.pnm.server.url, path, payload, deployment.pnm.config.apiKey, deployment.pnm.config.apiSecret);
const isActive = async (roomId: string) => (await rest("/auth/room/isRoomActive", { room_id: roomId })).body.is_active;
const room = (roomId: string, metadata: Record<string, unknown> = {}) => ({
  room_id: roomId,
  metadata: { room_title: "T", room_features: {}, ...metadata },
});

describe("contract validation (protovalidate)", () => {
  it.each([
    ["a room id with a slash", room("a/b"), "room_id: does not match regex pattern"],
    ["a reserved room id prefix", room("user_room"), "room_id: room_id must not start with user_ nor contain -FIELD_"],
    ["a missing title", room("no-title", { room_title: "" }), "metadata.room_title: must be at least 1"],
    ["missing metadata", { room_id: "no-metadata" }, "metadata: value is required"],
    [
      "a caller-supplied E2EE key",
      room("own-key", {
        room_features: { end_to_end_encryption_features: { is_enabled: true, encryption_key: "mine" } },
      }),
      "metadata.room_features.end_to_end_encryption_features.encryption_key",
    ],
    ["an internal field", room("internal", { is_recording: true }), "metadata.is_recording: must equal false"],
    [
      "an explicit zero participant limit",
      { ...room("zero"), max_participants: 0 },
      "max_participants: must be greater than 0",
    ],
    [
      "a webhook that is not a URI",
      room("hook", { webhook_url: "not a uri" }),
      "metadata.webhook_url: must be a valid URI",
    ],
  ])("refuses %s, naming the field, and creates nothing", async (_name, payload, message) => {
    const answer = await rest("/auth/room/create", payload);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: false, status_code: "INVALID_PARAMETERS" });
    expect(answer.body.msg).toContain(message);
    expect(await isActive((payload as { room_id: string }).room_id)).not.toBe(true);
  });

  it.each([
    ["a reserved name", { name: "PLUGNMEET_RECORDER_AUTH", user_id: "u1" }, "user_info.name: this name is reserved"],
    ["a reserved user id", { name: "A", user_id: "RECORDER_BOT" }, "user_info.user_id: this user_id is reserved"],
    ["a hybrid twin id", { name: "A", user_id: "alice-native" }, "user_info.user_id: this user_id is reserved"],
    ["a user id with a dot", { name: "A", user_id: "a.b" }, "user_info.user_id: does not match regex pattern"],
    [
      "a self-approved waiting-room user",
      { name: "A", user_id: "u2", user_metadata: { wait_for_approval: true } },
      "user_info.user_metadata.wait_for_approval",
    ],
    ["a missing user id", { name: "A" }, "user_info.user_id: value is required"],
  ])("refuses a join token for %s", async (_name, userInfo, message) => {
    await rest("/auth/room/create", room("join-rules"));
    const answer = await rest("/auth/room/getJoinToken", { room_id: "join-rules", user_info: userInfo });
    expect(answer.body).toMatchObject({ status: false, status_code: "INVALID_PARAMETERS" });
    expect(answer.body.msg).toContain(message);
    expect(answer.body.token).toBeUndefined();
  });

  it("reports violations as typed details over RPC", async () => {
    const client = signedClient(
      deployment.pnm.server.url,
      deployment.pnm.config.apiKey,
      deployment.pnm.config.apiSecret,
      "grpc",
    );
    const err = await client
      .createRoom({ roomId: "bad id", metadata: { roomTitle: "" } })
      .catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).findDetails(ErrorDetailSchema)[0]?.reason).toBe(FailureReason.INVALID_ARGUMENT);
    expect((err as ConnectError).rawMessage).toContain("room_id");
    expect((err as ConnectError).rawMessage).toContain("metadata.room_title");
  });
});

describe("explicit presence", () => {
  it("an explicit false switches a default-true feature off; leaving it out keeps it on", async () => {
    const off = await rest(
      "/auth/room/create",
      room("webcams-off", { room_features: { allow_webcams: false, chat_features: { is_allow_file_upload: false } } }),
    );
    const on = await rest("/auth/room/create", room("webcams-on"));
    const features = (answer: typeof off) =>
      JSON.parse((answer.body.room_info as { metadata: string }).metadata).room_features;
    expect(features(off).allow_webcams).toBe(false);
    expect(features(off).chat_features).toEqual({ is_allow: true, is_allow_file_upload: false });
    expect(features(on).allow_webcams).toBe(true);
    expect(features(on).chat_features.is_allow_file_upload).toBe(true);
  });

  it("the E2EE key stays out of API answers", async () => {
    const answer = await rest(
      "/auth/room/create",
      room("e2ee-room", { room_features: { end_to_end_encryption_features: { is_enabled: true } } }),
    );
    const metadata = (answer.body.room_info as { metadata: string }).metadata;
    expect(JSON.parse(metadata).room_features.end_to_end_encryption_features.is_enabled).toBe(true);
    expect(metadata).not.toMatch(/encryption_?key"/i);
  });
});

describe("bad bodies", () => {
  const signedRaw = (path: string, body: string) =>
    postRaw(deployment.pnm.server.url, path, body, {
      "API-KEY": deployment.pnm.config.apiKey,
      "HASH-SIGNATURE": hmacHex(deployment.pnm.config.apiSecret, body),
    });

  it.each([
    ["not JSON", "{room_id: oops"],
    ["a JSON array", "[1,2]"],
    ["a wrong type", '{"room_id":{"x":1},"metadata":{"room_title":"T","room_features":{}}}'],
    ["truncated JSON", '{"room_id":"trunc","metadata":{"room_ti'],
  ])("refuses %s with a clear message and no stack", async (_name, body) => {
    const answer = await signedRaw("/auth/room/create", body);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: false, status_code: "INVALID_PARAMETERS" });
    expect(String(answer.body.msg)).toMatch(/^request body could not be decoded/);
    expect(String(answer.body.msg)).not.toMatch(/\bat .*\.(ts|js):\d+/);
  });

  it("refuses an oversized body before reading it whole, on REST and RPC", async () => {
    const big = JSON.stringify(room("big", { welcome_message: "x".repeat(200 * 1024) }));
    const answer = await signedRaw("/auth/room/create", big);
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ status: false });
    const client = signedClient(
      deployment.pnm.server.url,
      deployment.pnm.config.apiKey,
      deployment.pnm.config.apiSecret,
      "connect",
    );
    const err = await client
      .createRoom({ roomId: "big", metadata: { roomTitle: "T", welcomeMessage: "x".repeat(200 * 1024) } })
      .catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
    expect(await isActive("big")).toBe(false);
  });

  it("answers unknown routes with 404 and wrong methods with 405", async () => {
    expect((await fetch(`${deployment.pnm.server.url}/auth/room/nothing`, { method: "POST" })).status).toBe(404);
    expect((await fetch(`${deployment.pnm.server.url}/auth/room/create`)).status).toBe(405);
    expect((await fetch(`${deployment.pnm.server.url}/healthz`)).status).toBe(200);
  });
});
