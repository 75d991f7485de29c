import { describe, expect, it } from "vitest";
import { parseKnownFailing } from "../src/known-failing.js";
import { verifyLiveKitTokens } from "../src/livekit.js";
import { match } from "../src/run/matchers.js";
import { createScope } from "../src/run/variables.js";
import { signCompact } from "../src/tokens/jwt.js";

describe("matchers", () => {
  it("match objects partially and lists exactly", () => {
    expect(match({ a: 1 }, { a: 1, b: 2 })).toEqual([]);
    expect(match([1, 2], [1, 2, 3])).toEqual(["answer: expected 2 items, got 3"]);
    expect(match({ a: { b: true } }, { a: { b: false } })).toEqual(["a.b: expected true, got false"]);
  });

  it("treat a 64-bit integer written as a string as the number", () => {
    expect(match({ creation_time: 1716200000 }, { creation_time: "1716200000" })).toEqual([]);
    expect(match({ n: 1 }, { n: "" })).toHaveLength(1);
  });

  it("apply operators", () => {
    const token = signCompact({ alg: "HS256" }, { sub: "alice" }, "secret", "HS256");
    expect(match({ $absent: true }, null)).toEqual([]);
    expect(match({ a: { $absent: true } }, { a: "key" })).toEqual(['a: expected no value, got "key"']);
    expect(match({ $present: true }, undefined)).toHaveLength(1);
    expect(match({ $nonEmpty: true }, [])).toHaveLength(1);
    expect(match({ $matches: "^a+$" }, "aaa")).toEqual([]);
    expect(match({ $contains: "room_id" }, "room_id: bad")).toEqual([]);
    expect(match({ $ne: "x" }, "x")).toHaveLength(1);
    expect(match({ $json: { a: [1] } }, '{"a":[1],"b":2}')).toEqual([]);
    expect(match({ $jwt: { sub: "bob" } }, token)).toEqual(['answer(claims).sub: expected "bob", got "alice"']);
    expect(match({ $nope: 1 }, 1)).toEqual(["answer: unknown matcher $nope"]);
  });

  it("match LiveKit tokens only as verified beforehand", () => {
    const token = signCompact({ alg: "HS256" }, { sub: "alice" }, "secret", "HS256");
    expect(match({ $livekit: { sub: "alice" } }, token)).toEqual([
      "answer: cannot verify a LiveKit token: the run knows no LiveKit API key and secret",
    ]);
    const liveKit = new Map([[token, { claims: { sub: "alice", video: { roomAdmin: false } } }]]);
    expect(match({ $livekit: { sub: "alice", video: { roomAdmin: true } } }, token, "", { liveKit })).toEqual([
      "answer(livekit).video.roomAdmin: expected true, got false",
    ]);
    expect(
      match({ $livekit: { sub: "alice" } }, token, "", {
        liveKit: new Map([[token, { error: "signature verification failed" }]]),
      }),
    ).toEqual(["answer: LiveKit does not accept the token: signature verification failed"]);
  });
});

describe("LiveKit token verification", () => {
  it("accepts what the LiveKit secret signed, and refuses a token of another secret", async () => {
    const { AccessToken } = await import("livekit-server-sdk");
    const mint = (secret: string) => {
      const at = new AccessToken("lk-key", secret, { identity: "alice", ttl: 60 });
      at.addGrant({ roomJoin: true, room: "r1", canPublish: true });
      return at.toJwt();
    };
    const [good, bad] = await Promise.all([mint("s".repeat(32)), mint("t".repeat(32))]);
    const verified = await verifyLiveKitTokens(
      { token: good, nested: { native_token: bad } },
      { apiKey: "lk-key", apiSecret: "s".repeat(32) },
    );
    expect(
      match({ token: { $livekit: { sub: "alice", video: { room: "r1", canPublish: true } } } }, { token: good }, "", {
        liveKit: verified,
      }),
    ).toEqual([]);
    expect(verified.get(bad)).toMatchObject({ error: expect.stringMatching(/signature/) });
  });
});

describe("variables", () => {
  const scope = () =>
    createScope({ runId: "crun", caseIndex: 7, given: { api_key: "k", n: 3 }, nowSeconds: () => 1000 });

  it("give each case fresh room ids and keep values' types", () => {
    const s = scope();
    expect(s.resolve({ a: "${room}", b: "x-${room_b}", c: "${n}", d: "n=${n}" })).toEqual({
      a: "crun-7",
      b: "x-crun-7-b",
      c: 3,
      d: "n=3",
    });
    expect(s.get("room")).toBe("crun-7");
  });

  it("expand $repeat and $now, and refuse unset names", () => {
    const s = scope();
    expect(s.resolve({ m: { $repeat: "ab", times: 3 }, exp: { $now: -60 } })).toEqual({ m: "ababab", exp: 940 });
    expect(() => s.resolve("${alice}")).toThrow(/variable "alice" is not set/);
  });
});

describe("known-failing lists", () => {
  const list = parseKnownFailing(
    "# comment\nbody/malformed/transport:grpc  # why\nverify/*/transport:rest\nfeatures/**\n\n",
  );

  it("match exact names, one segment with * and any depth with **", () => {
    expect(list.matches("body/malformed/transport:grpc")).toBe(true);
    expect(list.matches("body/malformed/transport:grpc-web")).toBe(false);
    expect(list.matches("verify/expired/transport:rest")).toBe(true);
    expect(list.matches("verify/expired/transport:grpc")).toBe(false);
    expect(list.matches("features/explicit-false-kept/transport:grpc")).toBe(true);
  });

  it("name the entries that matched nothing", () => {
    expect(list.unused(["features/x/transport:rest"])).toEqual([
      "body/malformed/transport:grpc",
      "verify/*/transport:rest",
    ]);
  });
});
