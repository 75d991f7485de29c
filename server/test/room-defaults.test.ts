import { create, type JsonObject } from "@bufbuild/protobuf";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { CreateRoomRequestSchema } from "@pnm/protocol/pnm/v1/create_room_pb";
import { describe, expect, it } from "vitest";
import { failureInfo } from "../src/errors.js";
import { fromUpstreamJson } from "../src/http/upstream-json.js";
import { generateE2eeKey } from "../src/rooms/e2ee-key.js";
import { resolveRoomSettings } from "../src/rooms/room-defaults.js";

const request = (features: JsonObject, extra: JsonObject = {}) =>
  fromUpstreamJson(CreateRoomRequestSchema, {
    room_id: "r1",
    metadata: { room_title: "T", room_features: features },
    ...extra,
  });

describe("room settings", () => {
  it("applies upstream's defaults to unset toggles", () => {
    const { metadata, emptyTimeoutSeconds, maxParticipants } = resolveRoomSettings(request({}), 0);
    const f = metadata.roomFeatures!;
    expect(f.allowWebcams).toBe(true);
    expect(f.allowScreenShare).toBe(true);
    expect(f.chatFeatures?.isAllowFileUpload).toBe(true);
    expect(f.recordingFeatures?.isAllowCloud).toBe(true);
    expect(f.waitingRoomFeatures?.isActive).toBe(false);
    expect(f.breakoutRoomFeatures?.allowedNumberRooms).toBe(6);
    expect(metadata.defaultLockSettings?.lockWhiteboard).toBe(true);
    expect(emptyTimeoutSeconds).toBe(1800);
    expect(maxParticipants).toBe(0);
  });

  it("keeps an explicit false for a default-true feature (upstream's merge loses it)", () => {
    const { metadata } = resolveRoomSettings(
      request({
        allow_webcams: false,
        allow_screen_share: false,
        chat_features: { is_allow_file_upload: false },
        recording_features: { is_allow_cloud: false },
      }),
      0,
    );
    const f = metadata.roomFeatures!;
    expect(f.allowWebcams).toBe(false);
    expect(f.allowScreenShare).toBe(false);
    expect(f.chatFeatures?.isAllow).toBe(true);
    expect(f.chatFeatures?.isAllowFileUpload).toBe(false);
    expect(f.recordingFeatures?.isAllowCloud).toBe(false);
    expect(f.recordingFeatures?.isAllowLocal).toBe(true);
  });

  it("derives dependent switches", () => {
    const f = resolveRoomSettings(
      request({ recording_features: { is_allow: false }, chat_features: { is_allow: false } }),
      0,
    ).metadata.roomFeatures!;
    expect(f.recordingFeatures).toMatchObject({
      isAllowCloud: false,
      isAllowLocal: false,
      enableAutoCloudRecording: false,
    });
    expect(f.chatFeatures?.isAllowFileUpload).toBe(false);
    const selfInsert = resolveRoomSettings(
      request({ end_to_end_encryption_features: { is_enabled: true, enabled_self_insert_encryption_key: true } }),
      0,
    ).metadata.roomFeatures!;
    expect(selfInsert.externalBroadcastingFeatures?.isAllow).toBe(false);
    expect(selfInsert.recordingFeatures?.isAllowCloud).toBe(false);
    expect(selfInsert.sipDialInFeatures?.isAllow).toBe(false);
    expect(selfInsert.ingressFeatures?.isAllow).toBe(false);
    const noE2ee = resolveRoomSettings(
      request({
        end_to_end_encryption_features: { enabled_self_insert_encryption_key: true, included_chat_messages: true },
      }),
      0,
    ).metadata.roomFeatures!.endToEndEncryptionFeatures!;
    expect(noE2ee).toMatchObject({ enabledSelfInsertEncryptionKey: false, includedChatMessages: false });
  });

  it("raises a short empty timeout to the default and leaves the request untouched", () => {
    const req = create(CreateRoomRequestSchema, {
      roomId: "r",
      emptyTimeout: 60,
      maxParticipants: 5,
      metadata: { roomTitle: "t" },
    });
    const settings = resolveRoomSettings(req, 1_000_000);
    expect(settings.emptyTimeoutSeconds).toBe(1800);
    expect(settings.maxParticipants).toBe(5);
    expect(settings.metadata.startedAt).toBe(1000n);
    expect(req.metadata?.roomFeatures).toBeUndefined();
    expect(
      resolveRoomSettings(create(CreateRoomRequestSchema, { ...req, emptyTimeout: 600 }), 0).emptyTimeoutSeconds,
    ).toBe(600);
  });
});

describe("rooms open to upstream's web client", () => {
  it("follow the server's PNM_UPSTREAM_WEB_CLIENT when unset, and keep an explicit false on a server where it is on", () => {
    const features = (json: JsonObject, upstreamWebClient?: boolean) =>
      resolveRoomSettings(request(json), 0, { upstreamWebClient }).metadata.roomFeatures!.upstreamWebClient;
    expect(features({})).toBe(false);
    expect(features({}, false)).toBe(false);
    expect(features({}, true)).toBe(true);
    expect(features({ upstream_web_client: false }, true)).toBe(false);
    expect(features({ upstream_web_client: true }, true)).toBe(true);
  });

  it("are refused as INVALID_ARGUMENT on a server where PNM_UPSTREAM_WEB_CLIENT is off", () => {
    let caught: unknown;
    try {
      resolveRoomSettings(request({ upstream_web_client: true }), 0, { upstreamWebClient: false });
    } catch (error) {
      caught = error;
    }
    expect(failureInfo(caught).reason).toBe(FailureReason.INVALID_ARGUMENT);
  });

  it('are refused as INVALID_ARGUMENT with "_" in their id, asked for or by default; a strict room keeps it', () => {
    const underscored = (json: JsonObject) => request(json, { room_id: "r_1" });
    for (const json of [{ upstream_web_client: true }, {}] as JsonObject[]) {
      let caught: unknown;
      try {
        resolveRoomSettings(underscored(json), 0, { upstreamWebClient: true });
      } catch (error) {
        caught = error;
      }
      expect(failureInfo(caught).reason).toBe(FailureReason.INVALID_ARGUMENT);
    }
    const strict = resolveRoomSettings(underscored({ upstream_web_client: false }), 0, { upstreamWebClient: true });
    expect(strict.metadata.roomFeatures!.upstreamWebClient).toBe(false);
  });
});

describe("E2EE room key", () => {
  it("is 32 characters from [0-9A-Za-z], different every time", () => {
    const keys = new Set(Array.from({ length: 200 }, generateE2eeKey));
    expect(keys.size).toBe(200);
    for (const key of keys) expect(key).toMatch(/^[0-9A-Za-z]{32}$/);
  });

  it("uses the whole alphabet roughly uniformly", () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) for (const c of generateE2eeKey()) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    const mean = (2000 * 32) / 62;
    for (const n of counts.values()) expect(Math.abs(n - mean)).toBeLessThan(mean * 0.3);
  });
});
