import { describe, expect, it } from "vitest";
import { connectCommand, pubCommand, subCommand, unsubCommand } from "../../src/nats/nats-commands.js";
import { NatsError } from "../../src/nats/nats-errors.js";

const text = (data: Uint8Array) => new TextDecoder().decode(data);
const bytes = (value: string) => new TextEncoder().encode(value);
const codeOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    if (error instanceof NatsError) return error.code;
    throw error;
  }
  return undefined;
};

describe("NATS protocol commands", () => {
  it("CONNECT: token auth, no verbose or pedantic mode, headers, no-responders and echo on", () => {
    const line = text(connectCommand({ name: "pnm-participant", token: "tok" }));
    expect(line.startsWith("CONNECT ") && line.endsWith("\r\n")).toBe(true);
    expect(JSON.parse(line.slice("CONNECT ".length))).toMatchObject({
      verbose: false,
      pedantic: false,
      protocol: 1,
      name: "pnm-participant",
      auth_token: "tok",
      headers: true,
      no_responders: true,
      echo: true,
    });
    expect(JSON.parse(text(connectCommand({ name: "x" })).slice("CONNECT ".length))).not.toHaveProperty("auth_token");
  });

  it("SUB and UNSUB by sid", () => {
    expect(text(subCommand("chat.room", 3))).toBe("SUB chat.room 3\r\n");
    expect(text(unsubCommand(3))).toBe("UNSUB 3\r\n");
  });

  it("PUB with the payload's byte count (UTF-8), with and without a reply subject", () => {
    expect(text(pubCommand("chat.room", bytes("héllo"), {}, 1024))).toBe("PUB chat.room 6\r\nhéllo\r\n");
    expect(text(pubCommand("a", new Uint8Array(0), { reply: "_INBOX.x" }, 1024))).toBe("PUB a _INBOX.x 0\r\n\r\n");
  });

  it("HPUB when there are headers: header block length, then headers and payload in the total", () => {
    const command = text(
      pubCommand("a", bytes("hi"), { reply: "r", headers: { "X-One": "1", Many: ["a", "b"] } }, 1024),
    );
    const block = "NATS/1.0\r\nX-One: 1\r\nMany: a\r\nMany: b\r\n\r\n";
    expect(command).toBe(`HPUB a r ${block.length} ${block.length + 2}\r\n${block}hi\r\n`);
  });

  it("refuses a message larger than the server's maximum payload, headers counted", () => {
    expect(codeOf(() => pubCommand("a", new Uint8Array(10), {}, 10))).toBeUndefined();
    expect(codeOf(() => pubCommand("a", new Uint8Array(11), {}, 10))).toBe("MAX_PAYLOAD");
    expect(codeOf(() => pubCommand("a", new Uint8Array(1), { headers: { A: "b" } }, 10))).toBe("MAX_PAYLOAD");
  });

  it("refuses subjects, replies and headers that would write protocol of their own", () => {
    expect(codeOf(() => subCommand("", 1))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => subCommand("a 1\r\nPUB b", 1))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => pubCommand("a\tb", new Uint8Array(0), {}, 10))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => pubCommand("a", new Uint8Array(0), { reply: "r s" }, 10))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => pubCommand("a", new Uint8Array(0), { headers: { "A: b\r\nC": "d" } }, 100))).toBe(
      "INVALID_ARGUMENT",
    );
    expect(codeOf(() => pubCommand("a", new Uint8Array(0), { headers: { A: "b\r\nC: d" } }, 100))).toBe(
      "INVALID_ARGUMENT",
    );
  });
});
