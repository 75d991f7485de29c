import { createCurve, fromCurveSeed } from "@nats-io/nkeys";
import { describe, expect, it } from "vitest";
import { createCurveBox } from "../../src/nkeys/curve-box.js";

const text = new TextEncoder();
const seedOf = (pair: ReturnType<typeof createCurve>) => new TextDecoder().decode(pair.getSeed());

describe("cached xkey box", () => {
  const ours = createCurve();
  const server = createCurve();
  const box = createCurveBox(seedOf(ours));

  it("opens what @nats-io/nkeys seals, and seals what it opens", () => {
    const sealed = server.seal(text.encode("authorization request"), ours.getPublicKey());
    expect(new TextDecoder().decode(box.open(sealed, server.getPublicKey())!)).toBe("authorization request");
    const answer = box.seal(text.encode("authorization response"), server.getPublicKey());
    expect(new TextDecoder().decode(server.open(answer, ours.getPublicKey())!)).toBe("authorization response");
  });

  it("uses a fresh nonce for every seal", () => {
    const a = box.seal(text.encode("same"), server.getPublicKey());
    const b = box.seal(text.encode("same"), server.getPublicKey());
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });

  it("refuses tampered messages, other senders and junk", () => {
    const sealed = server.seal(text.encode("x"), ours.getPublicKey());
    const tampered = sealed.slice();
    tampered[tampered.length - 1]! ^= 1;
    expect(box.open(tampered, server.getPublicKey())).toBeNull();
    expect(box.open(sealed, createCurve().getPublicKey())).toBeNull();
    expect(box.open(new Uint8Array(10), server.getPublicKey())).toBeNull();
    expect(() => box.open(sealed, "not-a-key")).toThrow();
  });

  it("refuses a seed that is not a curve seed", () => {
    expect(() =>
      createCurveBox(new TextDecoder().decode(fromCurveSeed(createCurve().getSeed()).getSeed()).replace(/^SX/, "SU")),
    ).toThrow();
  });
});
