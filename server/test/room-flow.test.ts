import { Code, ConnectError } from "@connectrpc/connect";
import type { Protocol } from "@pnm/client";
import { ErrorDetailSchema, FailureReason, StatusCode } from "@pnm/protocol/pnm/v1/common_pb";
import { PlugNmeet } from "plugnmeet-sdk-js";
import { describe, expect, it } from "vitest";
import { signedClient } from "./support/clients.js";
import { startTestServer, testConfig, useTestDeployment } from "./support/harness.js";
import { postSigned } from "./support/rest.js";

const deployment = useTestDeployment();

const decodeJwt = (token: string) =>
  JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;

describe("published plugnmeet-sdk-js 1.4.1, unchanged", () => {
  it("creates a room, issues a join token, checks and ends the room", async () => {
    const sdk = new PlugNmeet(deployment.pnm.server.url, deployment.pnm.config.apiKey, deployment.pnm.config.apiSecret);
    const created = await sdk.createRoom({
      room_id: "sdk-room",
      max_participants: 10,
      metadata: {
        room_title: "SDK room",
        welcome_message: "hi",
        room_features: { allow_webcams: true, mute_on_start: false, allow_screen_share: true },
      },
    } as Parameters<PlugNmeet["createRoom"]>[0]);
    expect(created.status).toBe(true);
    expect(created.msg).toBe("success");
    expect(created.room_info).toMatchObject({ room_id: "sdk-room", room_title: "SDK room", is_running: 1 });

    const joined = await sdk.getJoinToken({
      room_id: "sdk-room",
      user_info: { name: "Alice", user_id: "alice", is_admin: true, is_hidden: false },
    } as Parameters<PlugNmeet["getJoinToken"]>[0]);
    expect(joined.status).toBe(true);
    const claims = decodeJwt(joined.token!);
    expect(claims).toMatchObject({
      iss: deployment.pnm.config.apiKey,
      sub: "alice",
      user_id: "alice",
      room_id: "sdk-room",
      name: "Alice",
      is_admin: true,
    });
    expect((claims.exp as number) - (claims.nbf as number)).toBe(600);

    expect(await sdk.isRoomActive({ room_id: "sdk-room" })).toMatchObject({ status: true, is_active: true });
    expect(await sdk.endRoom({ room_id: "sdk-room" })).toMatchObject({ status: true, msg: "success" });
    expect(await sdk.isRoomActive({ room_id: "sdk-room" })).toMatchObject({ is_active: false });
  });

  it("sees upstream's shape for refusals", async () => {
    const wrong = new PlugNmeet(
      deployment.pnm.server.url,
      deployment.pnm.config.apiKey,
      `${deployment.pnm.config.apiSecret}x`,
    );
    expect(await wrong.isRoomActive({ room_id: "sdk-room" })).toMatchObject({
      status: false,
      msg: "Failed to verify provided authentication details.",
    });
    const sdk = new PlugNmeet(deployment.pnm.server.url, deployment.pnm.config.apiKey, deployment.pnm.config.apiSecret);
    expect(await sdk.endRoom({ room_id: "never-there" })).toMatchObject({ status: false, msg: "room not found" });
  });
});

const protocolCodecs: [Protocol, boolean][] = [
  ["connect", false],
  ["connect", true],
  ["grpc-web", true],
  ["grpc", true],
];

describe.each(protocolCodecs)("generated client over %s (binary: %s)", (protocol, binary) => {
  const roomId = `rpc-${protocol}-${binary ? "bin" : "json"}`;
  it("runs create, join token, is-active and end", async () => {
    const client = signedClient(
      deployment.pnm.server.url,
      deployment.pnm.config.apiKey,
      deployment.pnm.config.apiSecret,
      protocol,
      binary,
    );
    const created = await client.createRoom({
      roomId,
      metadata: { roomTitle: "RPC", roomFeatures: { allowWebcams: false } },
    });
    expect(created).toMatchObject({ status: true, statusCode: StatusCode.SUCCESS, roomInfo: { roomId, isRunning: 1 } });
    expect(JSON.parse(created.roomInfo!.metadata).room_features.allow_webcams).toBe(false);

    const again = await client.createRoom({
      roomId,
      metadata: { roomTitle: "RPC", roomFeatures: { allowWebcams: false } },
    });
    expect(again.roomInfo?.sid).toBe(created.roomInfo?.sid);

    const conflict = await client
      .createRoom({ roomId, metadata: { roomTitle: "Other", roomFeatures: {} } })
      .catch((e: unknown) => ConnectError.from(e));
    expect(conflict).toBeInstanceOf(ConnectError);
    expect((conflict as ConnectError).code).toBe(Code.AlreadyExists);

    const { token } = await client.getJoinToken({ roomId, userInfo: { name: "Bob", userId: "bob" } });
    expect(decodeJwt(token!)).toMatchObject({
      sub: "bob",
      room_id: roomId,
      room_sid: created.roomInfo?.sid,
      token_kind: "access",
    });
    expect((await client.isRoomActive({ roomId })).isActive).toBe(true);
    expect((await client.endRoom({ roomId })).status).toBe(true);
    expect((await client.isRoomActive({ roomId })).isActive).toBe(false);

    const late = await client
      .getJoinToken({ roomId, userInfo: { name: "Bob", userId: "bob" } })
      .catch((e: unknown) => ConnectError.from(e));
    expect((late as ConnectError).findDetails(ErrorDetailSchema)[0]?.reason).toBe(FailureReason.ROOM_NOT_ACTIVE);

    const recreated = await client.createRoom({
      roomId,
      metadata: { roomTitle: "RPC", roomFeatures: { allowWebcams: false } },
    });
    expect(recreated.roomInfo?.sid).not.toBe(created.roomInfo?.sid);
  });
});

describe("rooms live in NATS", () => {
  it("survive a server restart, and a second instance sees them", async () => {
    const config = testConfig(deployment.nats);
    const first = await startTestServer(deployment.nats, config);
    const created = await postSigned(
      first.server.url,
      "/auth/room/create",
      { room_id: "durable", metadata: { room_title: "D", room_features: {} } },
      config.apiKey,
      config.apiSecret,
    );
    expect(created.body.status).toBe(true);
    const second = await startTestServer(deployment.nats, config);
    expect(
      (
        await postSigned(
          second.server.url,
          "/auth/room/isRoomActive",
          { room_id: "durable" },
          config.apiKey,
          config.apiSecret,
        )
      ).body.is_active,
    ).toBe(true);
    await first.close();
    const restarted = await startTestServer(deployment.nats, config);
    const again = await postSigned(
      restarted.server.url,
      "/auth/room/create",
      { room_id: "durable", metadata: { room_title: "D", room_features: {} } },
      config.apiKey,
      config.apiSecret,
    );
    expect((again.body.room_info as Record<string, unknown>).sid).toBe(
      (created.body.room_info as Record<string, unknown>).sid,
    );
    await second.close();
    await restarted.close();
  });
});

describe("concurrent creates of one room", () => {
  it("produce one room instance", async () => {
    const client = signedClient(
      deployment.pnm.server.url,
      deployment.pnm.config.apiKey,
      deployment.pnm.config.apiSecret,
      "connect",
    );
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        client.createRoom({ roomId: "raced", metadata: { roomTitle: "R", roomFeatures: {} } }),
      ),
    );
    expect(new Set(answers.map((a) => a.roomInfo?.sid)).size).toBe(1);
  });
});
