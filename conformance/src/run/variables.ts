import type { JsonValue } from "@bufbuild/protobuf";
import { StepError } from "../errors.js";

/**
 * A case's variables. `room`, `room_b`, … are fresh room ids the first time
 * they are read, unique per run and case, so cases never share state and can
 * run concurrently; other names are set by `save` or given by the run
 * (`api_key`).
 */
export interface Scope {
  /** The variable's value; throws StepError for one that is unset (and not a fresh room). */
  get(name: string): JsonValue;
  /** Sets a variable, as a step's `save` does. */
  set(name: string, value: JsonValue): void;
  /** Substitutes `${name}` in every string and expands `$repeat` and `$now`. */
  resolve(value: JsonValue): JsonValue;
}

/** Where a case's variables start from. */
export interface ScopeOptions {
  /** Distinguishes this run's rooms from earlier runs' on the same server. */
  runId: string;
  /** The expanded case's position in the run, part of its fresh room IDs. */
  caseIndex: number;
  /** Variables the run sets before the first step (`api_key`, the NATS subject roots). */
  given: Record<string, JsonValue>;
  /** The clock `$now` reads, in Unix seconds. */
  nowSeconds: () => number;
}

const freshRoom = /^room(?:_[a-z0-9]+)?$/;
const reference = /\$\{([A-Za-z0-9_]+)\}/g;
const wholeReference = /^\$\{([A-Za-z0-9_]+)\}$/;

/** A case's variables, starting with the given ones. */
export function createScope(options: ScopeOptions): Scope {
  const values = new Map<string, JsonValue>(Object.entries(options.given));

  function get(name: string): JsonValue {
    let value = values.get(name);
    if (value === undefined && freshRoom.test(name)) {
      value = `${options.runId}-${options.caseIndex}${name === "room" ? "" : `-${name.slice(5)}`}`;
      values.set(name, value);
    }
    if (value === undefined) throw new StepError(`variable "${name}" is not set (save it from an earlier step)`);
    return value;
  }

  function resolve(value: JsonValue): JsonValue {
    if (typeof value === "string") {
      const whole = wholeReference.exec(value);
      if (whole) return get(whole[1]!);
      return value.replace(reference, (_m, name: string) => {
        const v = get(name);
        return typeof v === "string" ? v : JSON.stringify(v);
      });
    }
    if (Array.isArray(value)) return value.map(resolve);
    if (value === null || typeof value !== "object") return value;
    if ("$repeat" in value) {
      const times = value.times;
      if (typeof value.$repeat !== "string" || typeof times !== "number")
        throw new StepError("$repeat needs a string and a number `times`");
      return value.$repeat.repeat(times);
    }
    if ("$now" in value) {
      if (typeof value.$now !== "number") throw new StepError("$now needs a number of seconds");
      return options.nowSeconds() + value.$now;
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
  }

  return { get, set: (name, value) => void values.set(name, value), resolve };
}
