import { create, type DescMessage } from "@bufbuild/protobuf";
import {
  CreateRoomRequestSchema,
  EndRoomRequestSchema,
  IsRoomActiveRequestSchema,
} from "@pnm/protocol/pnm/v1/create_room_pb";
import { GetJoinTokenRequestSchema } from "@pnm/protocol/pnm/v1/join_token_pb";
import { RemoveParticipantRequestSchema } from "@pnm/protocol/pnm/v1/participants_pb";
import { describe, expect, it } from "vitest";
import { assertValid } from "../src/validation.js";

// The contract writes the room and user id rule once, as the predefined rule
// (pnm.v1.id) of proto/pnm/v1/rules.proto. Every field that uses it must refuse
// the same values with the same messages as the standard rules it replaced.
const valid = {
  roomId: "r",
  metadata: { roomTitle: "T", roomFeatures: {} },
  userInfo: { name: "A", userId: "u" },
  userId: "u",
};
const fields: [string, DescMessage, (id: string) => object][] = [
  ["CreateRoomRequest.room_id", CreateRoomRequestSchema, (id) => ({ ...valid, roomId: id })],
  ["IsRoomActiveRequest.room_id", IsRoomActiveRequestSchema, (id) => ({ roomId: id })],
  ["EndRoomRequest.room_id", EndRoomRequestSchema, (id) => ({ roomId: id })],
  ["GetJoinTokenRequest.room_id", GetJoinTokenRequestSchema, (id) => ({ ...valid, roomId: id })],
  [
    "GetJoinTokenRequest.user_info.user_id",
    GetJoinTokenRequestSchema,
    (id) => ({ ...valid, userInfo: { name: "A", userId: id } }),
  ],
  ["RemoveParticipantRequest.room_id", RemoveParticipantRequestSchema, (id) => ({ ...valid, roomId: id })],
  ["RemoveParticipantRequest.user_id", RemoveParticipantRequestSchema, (id) => ({ ...valid, userId: id })],
];
const path = (name: string) => name.replace(/^\w+\./, "");
const check = (schema: DescMessage, init: object) => () => assertValid(schema, create(schema, init as never));

describe("the id rule (pnm.v1.id)", () => {
  it.each(fields)("%s accepts 1 to 128 letters, digits, - and _", (_name, schema, make) => {
    for (const id of ["a", "Room-1_x", "9", "x".repeat(128)]) expect(check(schema, make(id))).not.toThrow();
  });

  it.each(fields)("%s refuses other ids with the standard rules' messages", (name, schema, make) => {
    expect(check(schema, make("a b"))).toThrow(`${path(name)}: does not match regex pattern \`^[a-zA-Z0-9-_]+$\``);
    expect(check(schema, make("x".repeat(129)))).toThrow(`${path(name)}: must be at most 128 characters`);
    expect(check(schema, make("ü"))).toThrow(`${path(name)}: does not match regex pattern`);
  });

  it.each(fields.filter(([name]) => !name.endsWith("user_info.user_id")))(
    "%s refuses an empty id as too short and not matching",
    (name, schema, make) => {
      expect(check(schema, make(""))).toThrow(
        `${path(name)}: must be at least 1 characters [string.min_len]; ${path(name)}: does not match regex pattern`,
      );
    },
  );
});
