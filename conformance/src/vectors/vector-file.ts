import { readFileSync } from "node:fs";
import { VectorFileError } from "../errors.js";

const vectorSchema = "pnm-vectors/v1";

/** A vector as read: `name`, `purpose`, `type`, plus the fields its type defines (vectors/README.md). */
export interface Vector {
  /** Kebab-case, unique in its file. */
  name: string;
  /** One line: what the vector proves. */
  purpose: string;
  /** Which check of its file's kind applies, and so which other fields it has. */
  type: string;
  [field: string]: unknown;
}

/** A vectors file, read and checked as far as its envelope. */
export interface VectorFile {
  /** Its path, as given. */
  file: string;
  /** Which checker runs its vectors (`hmac`, `access-token`, `room-key`, `e2ee`). */
  kind: string;
  /** The vectors, in file order. */
  vectors: Vector[];
}

const vectorName = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** Reads a vectors file and checks its envelope; each vector's own fields are checked when it runs. */
export function loadVectorFile(file: string): VectorFile {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new VectorFileError(file, `cannot read: ${(err as Error).message}`, { cause: err });
  }
  const envelope = doc as { schema?: unknown; kind?: unknown; vectors?: unknown } | null;
  if (!envelope || typeof envelope !== "object") throw new VectorFileError(file, "expected a JSON object");
  if (envelope.schema !== vectorSchema) throw new VectorFileError(file, `schema must be "${vectorSchema}"`);
  if (typeof envelope.kind !== "string" || !envelope.kind)
    throw new VectorFileError(file, "kind must be a non-empty string");
  if (!Array.isArray(envelope.vectors)) throw new VectorFileError(file, "vectors must be a list");
  const names = new Set<string>();
  const vectors = envelope.vectors.map((v: unknown, i): Vector => {
    const vector = v as Partial<Vector> | null;
    if (!vector || typeof vector !== "object") throw new VectorFileError(file, `vectors[${i}] is not an object`);
    if (typeof vector.name !== "string" || !vectorName.test(vector.name))
      throw new VectorFileError(file, `vectors[${i}].name must be kebab-case`);
    if (names.has(vector.name)) throw new VectorFileError(file, `vector name ${vector.name} is used twice`);
    names.add(vector.name);
    if (typeof vector.purpose !== "string" || !vector.purpose.trim())
      throw new VectorFileError(file, `${vector.name}: purpose must be a non-empty string`);
    if (typeof vector.type !== "string" || !vector.type)
      throw new VectorFileError(file, `${vector.name}: type must be a non-empty string`);
    return vector as Vector;
  });
  return { file, kind: envelope.kind, vectors };
}

/** A vector missing a field its type needs: it fails with this, whatever the implementation does. */
export class MalformedVectorError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MalformedVectorError";
  }
}

/** A vector's string field; throws MalformedVectorError when it is missing or not a string. */
export function stringField(vector: Vector, field: string): string {
  const value = vector[field];
  if (typeof value !== "string") throw new MalformedVectorError(`${field} must be a string`);
  return value;
}

/** A vector's finite number field; throws MalformedVectorError otherwise. */
export function numberField(vector: Vector, field: string): number {
  const value = vector[field];
  if (typeof value !== "number" || !Number.isFinite(value)) throw new MalformedVectorError(`${field} must be a number`);
  return value;
}

/** A vector's object field; throws MalformedVectorError otherwise. */
export function objectField(vector: Vector, field: string): Record<string, unknown> {
  const value = vector[field];
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new MalformedVectorError(`${field} must be an object`);
  return value as Record<string, unknown>;
}

/** The bytes of `<field>` (UTF-8 text) or `<field>Hex` (lower-case hex), whichever the vector gives. */
export function bytesField(vector: Vector, field: string): Uint8Array {
  const hexField = `${field}Hex`;
  if (typeof vector[field] === "string" && vector[hexField] === undefined)
    return Buffer.from(vector[field] as string, "utf8");
  return hexBytes(vector, hexField);
}

/** The bytes of a lower-case hex field; throws MalformedVectorError otherwise. */
export function hexBytes(vector: Vector, field: string): Uint8Array {
  const hex = stringField(vector, field);
  if (!/^(?:[0-9a-f]{2})*$/.test(hex)) throw new MalformedVectorError(`${field} must be lower-case hex`);
  return new Uint8Array(Buffer.from(hex, "hex"));
}

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}
