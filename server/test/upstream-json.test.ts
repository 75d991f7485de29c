import { create } from "@bufbuild/protobuf";
import { ClientType, StatusCode } from "@pnm/protocol/pnm/v1/common_pb";
import { CreateRoomResponseSchema, IsRoomActiveResponseSchema } from "@pnm/protocol/pnm/v1/create_room_pb";
import { GetJoinTokenRequestSchema } from "@pnm/protocol/pnm/v1/join_token_pb";
import { describe, expect, it } from "vitest";
import { fromUpstreamJson, toUpstreamJson } from "../src/http/upstream-json.js";

describe("upstream protojson", () => {
  it("writes snake_case, zero values, upstream enum names and null for unset messages", () => {
    const json = toUpstreamJson(
      CreateRoomResponseSchema,
      create(CreateRoomResponseSchema, { status: false, statusCode: StatusCode.UNSPECIFIED }),
    );
    expect(json).toEqual({ status: false, msg: "", status_code: "UNKNOWN_STATUS", room_info: null });
    expect(
      toUpstreamJson(
        IsRoomActiveResponseSchema,
        create(IsRoomActiveResponseSchema, { status: true, msg: "x", statusCode: StatusCode.SUCCESS, isActive: true }),
      ),
    ).toEqual({
      status: true,
      msg: "x",
      status_code: "SUCCESS",
      is_active: true,
    });
  });

  it("writes int64 as strings, as Go protojson does", () => {
    const json = toUpstreamJson(
      CreateRoomResponseSchema,
      create(CreateRoomResponseSchema, { roomInfo: { creationTime: 1716200000n } }),
    ) as { room_info: Record<string, unknown> };
    expect(json.room_info.creation_time).toBe("1716200000");
  });

  it("reads either casing, upstream or pnm enum names and ignores unknown keys", () => {
    for (const clientType of ["HYBRID_WEB", "CLIENT_TYPE_HYBRID_WEB", 1]) {
      const msg = fromUpstreamJson(GetJoinTokenRequestSchema, {
        roomId: "r",
        user_info: { name: "A", userId: "u", client_type: clientType, unknown_key: 1 },
        extra: true,
      });
      expect(msg.roomId).toBe("r");
      expect(msg.userInfo?.userId).toBe("u");
      expect(msg.userInfo?.clientType).toBe(ClientType.HYBRID_WEB);
    }
    expect(
      fromUpstreamJson(GetJoinTokenRequestSchema, { room_id: "r", user_info: { name: "A", client_type: "WEB" } })
        .userInfo?.clientType,
    ).toBe(ClientType.UNSPECIFIED);
  });

  it("refuses values of the wrong type", () => {
    expect(() => fromUpstreamJson(GetJoinTokenRequestSchema, { room_id: 5 })).toThrow();
    expect(() =>
      fromUpstreamJson(GetJoinTokenRequestSchema, { room_id: "r", user_info: { is_admin: "yes" } }),
    ).toThrow();
  });

  it("ignores unknown enum names, as Go protojson with DiscardUnknown does", () => {
    expect(
      fromUpstreamJson(GetJoinTokenRequestSchema, { room_id: "r", user_info: { client_type: "MOBILE" } }).userInfo
        ?.clientType,
    ).toBe(ClientType.UNSPECIFIED);
  });
});
