import type { DescMessage, DescMethod } from "@bufbuild/protobuf";
import { ParticipantService } from "@pnm/protocol/pnm/v1/participant_service_pb";
import { RoomService } from "@pnm/protocol/pnm/v1/room_service_pb";

/** One call of the contract, reachable over REST and over the RPC protocols. */
export interface Operation {
  /** `Service.Method` as cases name it, e.g. `RoomService.CreateRoom`. */
  name: string;
  /** The RPC method. */
  method: DescMethod;
  /** The request message type. */
  input: DescMessage;
  /** The response message type. */
  output: DescMessage;
  /** Upstream's REST path. */
  restPath: string;
  /**
   * How the operation authenticates: `signature` (API-KEY + HASH-SIGNATURE
   * over the body) or `token` (the access token in Authorization).
   */
  auth: "signature" | "token";
}

function operation(method: DescMethod, restPath: string, auth: Operation["auth"]): Operation {
  return {
    name: `${method.parent.name}.${method.name}`,
    method,
    input: method.input,
    output: method.output,
    restPath,
    auth,
  };
}

const all: Operation[] = [
  operation(RoomService.method.createRoom, "/auth/room/create", "signature"),
  operation(RoomService.method.getJoinToken, "/auth/room/getJoinToken", "signature"),
  operation(RoomService.method.isRoomActive, "/auth/room/isRoomActive", "signature"),
  operation(RoomService.method.endRoom, "/auth/room/endRoom", "signature"),
  // pnm's route; upstream removes participants only through /api/removeParticipant with an admin's token.
  operation(RoomService.method.removeParticipant, "/auth/room/removeParticipant", "signature"),
  // pnm's routes; upstream approves through an admin's /api/waitingRoom/approveUsers and rejects with /api/removeParticipant.
  operation(RoomService.method.approveParticipant, "/auth/room/approveParticipant", "signature"),
  operation(RoomService.method.denyParticipant, "/auth/room/denyParticipant", "signature"),
  operation(ParticipantService.method.verifyToken, "/api/verifyToken", "token"),
];

/** Every operation of the contract, by `Service.Method` name. */
export const operations: ReadonlyMap<string, Operation> = new Map(all.map((op) => [op.name, op]));
