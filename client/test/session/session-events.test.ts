import { describe, expect, it } from "vitest";
import { createSessionEmitter } from "../../src/session/session-events.js";

describe("session emitter", () => {
  it("calls an event's listeners in the order they were added, and only that event's", () => {
    const events = createSessionEmitter();
    const calls: string[] = [];
    events.on("renewed", (token) => void calls.push(`first ${token}`));
    events.on("renewed", (token) => void calls.push(`second ${token}`));
    events.on("error", (error) => void calls.push(`error ${error.message}`));
    events.emit("renewed", "t2");
    expect(calls).toEqual(["first t2", "second t2"]);
  });

  it("stops calling a listener once it is removed", () => {
    const events = createSessionEmitter();
    const calls: string[] = [];
    const off = events.on("renewed", (token) => void calls.push(token));
    events.emit("renewed", "before");
    off();
    events.emit("renewed", "after");
    expect(calls).toEqual(["before"]);
  });
});
