import { type DescExtension, type DescField, type DescFile, ScalarType, toJson } from "@bufbuild/protobuf";
import { FileOptionsSchema } from "@bufbuild/protobuf/wkt";
import { file_buf_validate_validate as runtimeFile } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { file_buf_validate_validate as subsetFile } from "@pnm/protocol/buf/validate/validate_pb";
import { describe, expect, it } from "vitest";

/**
 * Every declaration of proto/buf/validate/validate.proto as protovalidate
 * publishes it (bufbuild/protovalidate, proto/protovalidate/buf/validate/
 * validate.proto): options written against the subset are decoded by number
 * with protovalidate's own schema, so a number or type copied wrong would
 * silently turn one rule into another or into none. A declaration added to the
 * subset is copied here from the published file too.
 */
const published: Record<string, string[]> = {
  "extend google.protobuf.MessageOptions": ["optional MessageRules message = 1159"],
  "extend google.protobuf.OneofOptions": ["optional OneofRules oneof = 1159"],
  "extend google.protobuf.FieldOptions": [
    "optional FieldRules field = 1159",
    "optional PredefinedRules predefined = 1160",
  ],
  Rule: ["optional string id = 1", "optional string message = 2", "optional string expression = 3"],
  MessageRules: ["repeated Rule cel = 3"],
  OneofRules: ["optional bool required = 1"],
  PredefinedRules: ["repeated Rule cel = 1"],
  Ignore: ["IGNORE_UNSPECIFIED = 0", "IGNORE_IF_ZERO_VALUE = 1", "IGNORE_ALWAYS = 3"],
  FieldRules: [
    "repeated Rule cel = 23",
    "optional bool required = 25",
    "optional Ignore ignore = 27",
    "oneof type UInt32Rules uint32 = 5",
    "oneof type UInt64Rules uint64 = 6",
    "oneof type BoolRules bool = 13",
    "oneof type StringRules string = 14",
    "oneof type EnumRules enum = 16",
    "oneof type RepeatedRules repeated = 18",
    "oneof type MapRules map = 19",
  ],
  BoolRules: ["optional bool const = 1"],
  UInt32Rules: [
    "optional uint32 const = 1",
    "oneof less_than uint32 lte = 3",
    "oneof greater_than uint32 gt = 4",
    "oneof greater_than uint32 gte = 5",
  ],
  UInt64Rules: ["optional uint64 const = 1", "oneof less_than uint64 lte = 3", "oneof greater_than uint64 gt = 4"],
  StringRules: [
    "optional string const = 1",
    "optional uint64 min_len = 2",
    "optional uint64 max_len = 3",
    "optional string pattern = 6",
    "repeated string in = 10",
    "repeated string not_in = 11",
    "oneof well_known bool uri = 17",
  ],
  EnumRules: ["optional bool defined_only = 2"],
  RepeatedRules: [
    "optional uint64 min_items = 1",
    "optional uint64 max_items = 2",
    "optional bool unique = 3",
    "optional FieldRules items = 4",
  ],
  MapRules: ["optional uint64 max_pairs = 2", "optional FieldRules values = 5"],
};

const local = (typeName: string) => typeName.replace(/^buf\.validate\./, "");

function describeField(field: DescField | DescExtension): string {
  const kind = field.fieldKind === "list" ? field.listKind : field.fieldKind;
  const type =
    kind === "scalar"
      ? ScalarType[field.scalar!].toLowerCase()
      : kind === "enum"
        ? local(field.enum!.typeName)
        : local(field.message!.typeName);
  const label = field.oneof ? `oneof ${field.oneof.name}` : field.fieldKind === "list" ? "repeated" : "optional";
  return `${label} ${type} ${field.name} = ${field.number}`;
}

/** Each message, enum and extended options message of a file, as its declarations. */
function declarations(file: DescFile): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const message of file.messages) out[local(message.typeName)] = message.fields.map(describeField);
  for (const e of file.enums) out[local(e.typeName)] = e.values.map((value) => `${value.name} = ${value.number}`);
  for (const extension of file.extensions) {
    const name = `extend ${extension.extendee.typeName}`;
    out[name] ??= [];
    out[name].push(describeField(extension));
  }
  return out;
}

const sorted = (decls: Record<string, string[]>) =>
  Object.fromEntries(Object.entries(decls).map(([name, lines]) => [name, [...lines].sort()]));

describe("the hand-written protovalidate subset", () => {
  it("declares exactly the published names, numbers and types listed above", () => {
    expect(sorted(declarations(subsetFile))).toEqual(sorted(published));
  });

  it("carries the published file's own options (go_package, java_*), so that code generated from it lands where the real file's does", () => {
    const options = (file: DescFile) => toJson(FileOptionsSchema, file.proto.options!);
    expect(options(subsetFile)).toEqual(options(runtimeFile));
    expect(options(subsetFile)).toHaveProperty("goPackage");
  });

  it.each(Object.keys(published))(
    "%s: the list above agrees with the schema @bufbuild/protovalidate decodes options with",
    (name) => {
      expect(declarations(runtimeFile)[name]).toEqual(expect.arrayContaining(published[name]!));
    },
  );

  it("declares the published extension range of StringRules, which predefined rules extend", () => {
    const ranges = (file: DescFile) =>
      file.messages.find((m) => m.name === "StringRules")!.proto.extensionRange.map((r) => [r.start, r.end]);
    expect(ranges(subsetFile)).toEqual(ranges(runtimeFile));
  });
});
