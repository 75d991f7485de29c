import {
  type DescEnum,
  type DescMessage,
  fromJson,
  getOption,
  type JsonValue,
  type MessageShape,
  toJson,
} from "@bufbuild/protobuf";
import { type StatusCode, StatusCodeSchema, upstream_name } from "@pnm/protocol/pnm/v1/common_pb";

/** An enum's value names both ways between pnm's and upstream JSON's. */
interface EnumNames {
  toUpstream: Map<string, string>;
  fromUpstream: Map<string, string>;
}

const enumNames = new WeakMap<DescEnum, EnumNames>();

/**
 * An enum's value names in protojson as upstream's routes speak it, cached per
 * enum. pnm's enum values carry the prefix buf's STANDARD lint asks for
 * (STATUS_CODE_SUCCESS); upstream JSON names them without it (SUCCESS), or by
 * the contract's `upstream_name` option.
 */
function namesOf(desc: DescEnum): EnumNames {
  let names = enumNames.get(desc);
  if (!names) {
    names = { toUpstream: new Map(), fromUpstream: new Map() };
    for (const value of desc.values) {
      const upstream =
        getOption(value, upstream_name) || value.name.slice(desc.sharedPrefix ? desc.sharedPrefix.length : 0);
      names.toUpstream.set(value.name, upstream);
      names.fromUpstream.set(upstream, value.name);
    }
    enumNames.set(desc, names);
  }
  return names;
}

type Direction = "toUpstream" | "fromUpstream";

function mapEnum(desc: DescEnum, value: JsonValue, direction: Direction): JsonValue {
  return typeof value === "string" ? (namesOf(desc)[direction].get(value) ?? value) : value;
}

function renameEnums(schema: DescMessage, json: JsonValue, direction: Direction, emitNullMessages: boolean): JsonValue {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return json;
  const out: Record<string, JsonValue> = { ...json };
  for (const field of schema.fields) {
    const key = [field.name, field.jsonName].find((k) => k in out);
    if (key === undefined) {
      if (emitNullMessages && field.fieldKind === "message") out[field.name] = null;
      continue;
    }
    const value = out[key]!;
    switch (field.fieldKind) {
      case "enum":
        out[key] = mapEnum(field.enum, value, direction);
        break;
      case "message":
        out[key] = renameEnums(field.message, value, direction, emitNullMessages);
        break;
      case "list":
        if (Array.isArray(value)) {
          if (field.listKind === "enum") out[key] = value.map((v) => mapEnum(field.enum, v, direction));
          if (field.listKind === "message")
            out[key] = value.map((v) => renameEnums(field.message, v, direction, emitNullMessages));
        }
        break;
      case "map":
        if (value && typeof value === "object" && !Array.isArray(value)) {
          const entries = Object.entries(value);
          if (field.mapKind === "enum")
            out[key] = Object.fromEntries(entries.map(([k, v]) => [k, mapEnum(field.enum, v, direction)]));
          if (field.mapKind === "message") {
            out[key] = Object.fromEntries(
              entries.map(([k, v]) => [k, renameEnums(field.message, v, direction, emitNullMessages)]),
            );
          }
        }
        break;
    }
  }
  return out;
}

/** Parses upstream JSON: either field casing, upstream or pnm enum names, unknown keys ignored. */
export function fromUpstreamJson<Desc extends DescMessage>(schema: Desc, json: JsonValue): MessageShape<Desc> {
  return fromJson(schema, renameEnums(schema, json, "fromUpstream", false), { ignoreUnknownFields: true });
}

/**
 * Writes JSON as upstream's server does (Go protojson with UseProtoNames and
 * EmitUnpopulated): snake_case keys, zero values written, unset messages as null.
 */
export function toUpstreamJson<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): JsonValue {
  const json = toJson(schema, message, { useProtoFieldName: true, alwaysEmitImplicit: true });
  return renameEnums(schema, json, "toUpstream", true);
}

/** Upstream's JSON name of a status code, e.g. SUCCESS. */
export function statusCodeName(code: StatusCode): string {
  return namesOf(StatusCodeSchema).toUpstream.get(StatusCodeSchema.value[code]?.name ?? "") ?? String(code);
}
