import { describe, expect, it } from "vitest";
import { createSessionState } from "../../src/session/session-state.js";

describe("session state", () => {
  it("holds the current token, which can be replaced", () => {
    const state = createSessionState("first");
    state.token = "second";
    expect(state.token).toBe("second");
  });

  it("ends once: ended at once, releases last registered first, every call the same promise", async () => {
    const state = createSessionState("t");
    const released: string[] = [];
    state.onEnd(async () => void released.push("connection"));
    state.onEnd(() => void released.push("key"));
    state.onEnd(() => void released.push("renewal"));
    const ending = state.end();
    expect(state.ended).toBe(true);
    expect(state.end()).toBe(ending);
    await ending;
    expect(released).toEqual(["renewal", "key", "connection"]);
  });

  it("releases at once what is registered after the end, and a later end waits for it", async () => {
    const state = createSessionState("t");
    await state.end();
    const released: string[] = [];
    state.onEnd(async () => void released.push("late key"));
    await state.end();
    expect(released).toEqual(["late key"]);
  });
});
