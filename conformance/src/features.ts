import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { DefinitionError } from "./errors.js";
import { isTransport, type Transport } from "./profiles.js";

/** What the server under test supports, as Connect's conformance features config: cases expand over these transports only. */
export interface Features {
  /** The features file's name for the server, shown in reports. */
  name: string;
  /** The transports the server offers; at least one. */
  transports: Transport[];
  /** The server offers the NATS plane (participants connect over WebSocket); cases that `require: [nats]` run only then. */
  nats: boolean;
}

/** Reads a features YAML file; throws DefinitionError when it does not follow the schema. */
export function loadFeatures(file: string): Features {
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new DefinitionError(file, `cannot read features: ${(err as Error).message}`, { cause: err });
  }
  const record = doc as { name?: unknown; transports?: unknown; nats?: unknown } | null;
  if (!record || typeof record !== "object" || typeof record.name !== "string" || !Array.isArray(record.transports)) {
    throw new DefinitionError(file, "features need a name and a list of transports");
  }
  for (const key of Object.keys(record))
    if (!["name", "transports", "nats"].includes(key)) throw new DefinitionError(file, `unknown key "${key}"`);
  if (record.nats !== undefined && typeof record.nats !== "boolean")
    throw new DefinitionError(file, "nats must be true or false");
  const list: Transport[] = [];
  for (const t of record.transports) {
    if (!isTransport(t)) throw new DefinitionError(file, `unknown transport "${String(t)}"`);
    list.push(t);
  }
  if (list.length === 0) throw new DefinitionError(file, "features list no transport");
  return { name: record.name, transports: list, nats: record.nats === true };
}
