import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import {
  createAccessTokenCodec,
  createApiKeyring,
  createApiSignatureVerifier,
  createMemoryNonceStore,
  failureInfo,
} from "@pnm/server/testing";
import { describe, expect, it } from "vitest";
import { VectorFileError } from "../src/errors.js";
import { builtInVectorFiles, runVectorFiles } from "../src/vectors/run-vectors.js";
import { bytesField, loadVectorFile, type Vector } from "../src/vectors/vector-file.js";

const files = Object.fromEntries(builtInVectorFiles.map((f) => [loadVectorFile(f).kind, loadVectorFile(f)]));
const vectorsOf = (kind: string, type: string) => files[kind]!.vectors.filter((v) => v.type === type);
const tmp = mkdtempSync(join(tmpdir(), "pnm-vectors-test-"));

function writeVectors(name: string, doc: unknown): string {
  const file = join(tmp, name);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

describe("built-in vectors", () => {
  it("all pass against the client SDK and the harness", async () => {
    const results = await runVectorFiles({ files: builtInVectorFiles });
    expect(results.filter((r) => r.result !== "passed")).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(40);
    expect(results.filter((r) => !r.case.startsWith("vectors/e2ee/")).length).toBeGreaterThanOrEqual(40);
  }, 60_000);

  it("include upstream's worked HMAC example verbatim", () => {
    expect(files.hmac!.vectors.find((v) => v.name === "upstream-worked-example")).toMatchObject({
      secret: "zumyyYWqv7KR2kUqvYdq4z4sXg7XTBD2ljT6",
      body: '{"room_id":"room01"}',
      signature: "4b60a468df680c0739f6c7255626b31c8934efc1293b9e40667575b964bf24b5",
    });
  });

  it("cover every outcome the issue names", () => {
    const outcomes = new Set(vectorsOf("access-token", "access-token-verify").map((v) => v.expect));
    for (const outcome of [
      "valid",
      "TOKEN_EXPIRED",
      "TOKEN_NOT_YET_VALID",
      "TOKEN_ISSUER_INVALID",
      "TOKEN_ALGORITHM_NOT_ALLOWED",
      "TOKEN_SIGNATURE_INVALID",
      "TOKEN_KIND_INVALID",
    ]) {
      expect(outcomes).toContain(outcome);
    }
  });
});

// The vectors are the contract; pnm's server must agree with every one.
describe("pnm's server agrees with the vectors", () => {
  it.each(vectorsOf("access-token", "access-token-verify").map((v): [string, Vector] => [v.name, v]))(
    "verifies %s",
    (_name, v) => {
      const codec = createAccessTokenCodec({ apiKey: v.apiKey as string, apiSecret: v.secret as string });
      let outcome: string;
      try {
        const claims = codec.verify(v.token as string, { nowMs: (v.now as number) * 1000 });
        if (v.claims) expect(claims).toEqual(v.claims);
        outcome = "valid";
      } catch (err) {
        outcome = FailureReason[failureInfo(err).reason];
      }
      expect(outcome).toBe(v.expect);
    },
  );

  it.each(vectorsOf("access-token", "access-token-mint").map((v): [string, Vector] => [v.name, v]))(
    "mints %s",
    (_name, v) => {
      const codec = createAccessTokenCodec({ apiKey: v.apiKey as string, apiSecret: v.secret as string });
      const { claims } = codec.mint(v.input as never, (v.validitySeconds as number) * 1000, (v.now as number) * 1000);
      const { jti, ...rest } = claims as unknown as Record<string, unknown>;
      expect(jti).toEqual(expect.any(String));
      expect(rest).toEqual(v.claims);
    },
  );

  it.each(files.hmac!.vectors.map((v): [string, Vector] => [v.name, v]))(
    "checks the signature of %s",
    async (_name, v) => {
      const v2 = v.type.startsWith("hmac-v2-");
      const header = (v.header ?? v.signature) as string;
      const headers: Record<string, string> = { "api-key": "k", [v2 ? "pnm-signature" : "hash-signature"]: header };
      const framing = v.protocol === "grpc" || v.protocol === "grpc-web" ? "envelope" : "body";
      // The server's clock is the vector's: `now`, or for a signature vector its own timestamp.
      const nowSeconds = (v.now ?? v.timestamp ?? 0) as number;
      const nonces = createMemoryNonceStore();
      let outcome = "valid";
      try {
        const verifier = createApiSignatureVerifier({
          keys: createApiKeyring([{ key: "k", secret: v.secret as string }]),
          nonces,
          windowMs: ((v.windowSeconds ?? 300) as number) * 1000,
          now: () => nowSeconds * 1000,
        });
        const check = verifier.begin((name) => headers[name], {
          method: (v.method ?? "POST") as string,
          path: (v.path ?? "/pnm.v1.RoomService/IsRoomActive") as string,
          framing,
        });
        // Byte by byte, so the server's envelope reader meets every split of prefix and payload.
        for (const byte of bytesField(v, "body")) check.update(Uint8Array.of(byte));
        await check.finish();
      } catch (err) {
        outcome = FailureReason[failureInfo(err).reason];
      }
      expect(outcome).toBe(v.type.endsWith("-signature") ? "valid" : v.expect);
      // A nonce is claimed only by a request that passed every other check.
      expect(nonces.claimed.size).toBe(v2 && outcome === "valid" ? 1 : 0);
    },
  );
});

describe("vectors brought by others (--vectors)", () => {
  it("fail with a reason when the implementation disagrees", async () => {
    const upstream = files.hmac!.vectors[0]!;
    const file = writeVectors("wrong.json", {
      schema: "pnm-vectors/v1",
      kind: "hmac",
      vectors: [{ ...upstream, name: "wrong-signature", signature: "00".repeat(32) }],
    });
    const [result] = await runVectorFiles({ files: [file] });
    expect(result).toMatchObject({ case: "vectors/hmac/wrong-signature", result: "failed" });
    expect(result!.reason).toMatch(/^signBody \(@pnm\/client\) gave 4b60a468.*, expected 0000/);
  });

  it("report malformed vectors and unknown kinds as failures", async () => {
    const malformed = writeVectors("malformed.json", {
      schema: "pnm-vectors/v1",
      kind: "access-token",
      vectors: [
        {
          name: "no-secret",
          purpose: "p",
          type: "access-token-verify",
          apiKey: "k",
          now: 1,
          token: "a.b.c",
          expect: "valid",
        },
      ],
    });
    const unknown = writeVectors("unknown.json", {
      schema: "pnm-vectors/v1",
      kind: "video",
      vectors: [{ name: "x", purpose: "p", type: "t" }],
    });
    const results = await runVectorFiles({ files: [malformed, unknown] });
    expect(results.map((r) => r.reason)).toEqual([
      "malformed vector: secret must be a string",
      expect.stringMatching(/^no checker for kind "video"/),
    ]);
  });

  it("refuse files that do not follow the schema", () => {
    const bad = writeVectors("bad.json", { schema: "pnm-vectors/v2", kind: "hmac", vectors: [] });
    expect(() => loadVectorFile(bad)).toThrow(VectorFileError);
    const vector = files.hmac!.vectors[0]!;
    const twice = writeVectors("twice.json", { schema: "pnm-vectors/v1", kind: "hmac", vectors: [vector, vector] });
    expect(() => loadVectorFile(twice)).toThrow(/used twice/);
  });
});
