import {
  type DescEnum,
  type DescMessage,
  getOption,
  type JsonValue,
  type MessageShape,
  toJson,
} from "@bufbuild/protobuf";
import { upstream_name } from "@pnm/protocol/pnm/v1/common_pb";
import type { JsonObject } from "../tokens/jwt.js";

/**
 * A decoded response in the shape upstream's REST routes write it: proto
 * (snake_case) names, zero values present, enums by upstream name
 * (`SUCCESS`, not `STATUS_CODE_SUCCESS`). Answers from every transport are
 * compared in this one shape, so a case states its expectations once.
 */
export function toResponseShape<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): JsonObject {
  const json = toJson(schema, message, { useProtoFieldName: true, alwaysEmitImplicit: true });
  return renameEnums(schema, json) as JsonObject;
}

/** The upstream JSON name of an enum value: the contract's `upstream_name` option, else the name without the enum's prefix. */
export function upstreamEnumName(desc: DescEnum, name: string): string {
  const value = desc.values.find((v) => v.name === name);
  if (!value) return name;
  return getOption(value, upstream_name) || value.name.slice(desc.sharedPrefix?.length ?? 0);
}

function renameEnums(schema: DescMessage, json: JsonValue): JsonValue {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return json;
  const out: Record<string, JsonValue> = { ...json };
  for (const field of schema.fields) {
    const value = out[field.name];
    if (value === undefined) continue;
    const rename = (v: JsonValue): JsonValue =>
      typeof v === "string" && field.enum ? upstreamEnumName(field.enum, v) : v;
    switch (field.fieldKind) {
      case "enum":
        out[field.name] = rename(value);
        break;
      case "message":
        out[field.name] = renameEnums(field.message, value);
        break;
      case "list":
        if (Array.isArray(value) && field.listKind === "enum") out[field.name] = value.map(rename);
        if (Array.isArray(value) && field.listKind === "message")
          out[field.name] = value.map((v) => renameEnums(field.message, v));
        break;
      case "map":
        if (value && typeof value === "object" && !Array.isArray(value) && field.mapKind === "message") {
          out[field.name] = Object.fromEntries(
            Object.entries(value).map(([k, v]) => [k, renameEnums(field.message, v)]),
          );
        }
        break;
    }
  }
  return out;
}
