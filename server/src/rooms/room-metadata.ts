import { fromJsonString } from "@bufbuild/protobuf";
import { type RoomMetadata, RoomMetadataSchema } from "@pnm/protocol/pnm/v1/create_room_pb";

/** Reads metadata the server wrote itself. */
export function parseRoomMetadata(json: string): RoomMetadata {
  return fromJsonString(RoomMetadataSchema, json);
}
