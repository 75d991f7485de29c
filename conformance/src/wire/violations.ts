import { BinaryReader, type WireType } from "@bufbuild/protobuf/wire";

/** The type name of protovalidate's error detail. */
export const violationsTypeName = "buf.validate.Violations";

/**
 * Field paths (`metadata.room_title`, `items[0]`) of a buf.validate.Violations
 * detail. Decoded by hand from the wire format, so the harness needs only the
 * field numbers of protovalidate's schema, not the schema itself:
 * Violations.violations = 1, Violation.field = 5 (FieldPath), FieldPath.elements = 1,
 * FieldPathElement.field_name = 2, .index = 6, .string_key = 10, .int_key = 8, .uint_key = 9, .bool_key = 7.
 */
export function violationPaths(bytes: Uint8Array): string[] {
  const paths: string[] = [];
  forEachField(bytes, (number, reader) => {
    if (number !== 1) return false;
    forEachField(reader.bytes(), (vNumber, vReader) => {
      if (vNumber !== 5) return false;
      paths.push(fieldPath(vReader.bytes()));
      return true;
    });
    return true;
  });
  return paths;
}

function fieldPath(bytes: Uint8Array): string {
  let path = "";
  forEachField(bytes, (number, reader) => {
    if (number !== 1) return false;
    let name = "";
    let subscript = "";
    forEachField(reader.bytes(), (eNumber, eReader) => {
      switch (eNumber) {
        case 2:
          name = eReader.string();
          return true;
        case 6:
        case 9:
          subscript = `[${eReader.uint64()}]`;
          return true;
        case 8:
          subscript = `[${eReader.int64()}]`;
          return true;
        case 7:
          subscript = `[${eReader.bool()}]`;
          return true;
        case 10:
          subscript = `[${JSON.stringify(eReader.string())}]`;
          return true;
        default:
          return false;
      }
    });
    path += (path && name ? "." : "") + name + subscript;
    return true;
  });
  return path;
}

/** Calls `read` per field; a field it does not consume (returns false) is skipped. */
function forEachField(bytes: Uint8Array, read: (number: number, reader: BinaryReader) => boolean): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [number, wireType] = reader.tag();
    if (!read(number, reader)) reader.skip(wireType as WireType, number);
  }
}
