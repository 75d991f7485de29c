import { checkRoomKey, checkRoomKeySet } from "../room-key.js";
import { MalformedVectorError, stringField, type Vector } from "./vector-file.js";

/** `room-key-format`: one key's verdict. `room-key-set`: the verdict on keys from one generator. */
export function checkRoomKeyVector(vector: Vector): string | undefined {
  const expected = stringField(vector, "expect");
  switch (vector.type) {
    case "room-key-format": {
      const outcome = checkRoomKey(stringField(vector, "key"));
      return outcome === expected ? undefined : `the key check gave ${outcome}, expected ${expected}`;
    }
    case "room-key-set": {
      const keys = vector.keys;
      if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string"))
        throw new MalformedVectorError("keys must be a list of strings");
      const verdict = checkRoomKeySet(keys);
      return verdict.outcome === expected
        ? undefined
        : `the set check gave ${verdict.outcome} (${verdict.detail ?? "no detail"}), expected ${expected}`;
    }
    default:
      throw new MalformedVectorError(`unknown type ${vector.type} for kind room-key`);
  }
}
