import type { UniversalClientFn, UniversalClientRequest } from "@connectrpc/connect/protocol";
import { describe, expect, it } from "vitest";
import { createSigningHttpClient, type SigningOptions } from "../src/signing-http-client.js";

// What the signing HTTP client puts on the wire; the signatures themselves are
// pinned by conformance/vectors/hmac.json (hmac-signature, hmac-v2-signature).
async function sentHeaders(
  options: Partial<SigningOptions>,
  url = "http://pnm.example/pnm.v1.RoomService/EndRoom",
): Promise<Headers> {
  let sent: Headers | undefined;
  const capture: UniversalClientFn = async (request) => {
    sent = request.header;
    return { status: 200, header: new Headers(), body: (async function* () {})(), trailer: new Headers() };
  };
  const request: UniversalClientRequest = {
    url,
    method: "POST",
    header: new Headers({ "content-type": "application/json" }),
    body: (async function* () {
      yield new TextEncoder().encode('{"roomId":"r"}');
    })(),
    signal: new AbortController().signal,
  };
  await createSigningHttpClient(capture, { apiKey: "key", apiSecret: "s".repeat(32), ...options })(request);
  return sent!;
}

describe("the signing HTTP client", () => {
  it("signs v2 by default: PNM-SIGNATURE with the clock's seconds and a fresh nonce per request, no HASH-SIGNATURE", async () => {
    const now = () => 1_700_000_123_999;
    const [first, second] = await Promise.all([sentHeaders({ now }), sentHeaders({ now })]);
    for (const headers of [first, second]) {
      expect(headers.get("api-key")).toBe("key");
      expect(headers.get("hash-signature")).toBeNull();
      expect(headers.get("pnm-signature")).toMatch(/^v2;ts=1700000123;nonce=[A-Za-z0-9_-]{22};sig=[0-9a-f]{64}$/);
    }
    const nonce = (headers: Headers) => /nonce=([^;]+)/.exec(headers.get("pnm-signature")!)![1];
    expect(nonce(first!)).not.toBe(nonce(second!));
  });

  it("signs the path it sends the request to", async () => {
    const fixed = { now: () => 1_700_000_000_000, nonce: () => "fixed-nonce-0123456789" };
    const endRoom = await sentHeaders(fixed, "http://pnm.example/pnm.v1.RoomService/EndRoom");
    const isActive = await sentHeaders(fixed, "http://pnm.example/pnm.v1.RoomService/IsRoomActive");
    expect(endRoom.get("pnm-signature")).not.toBe(isActive.get("pnm-signature"));
  });

  it("signs upstream's v1 when asked: HASH-SIGNATURE only", async () => {
    const headers = await sentHeaders({ signatureVersion: 1 });
    expect(headers.get("pnm-signature")).toBeNull();
    expect(headers.get("hash-signature")).toMatch(/^[0-9a-f]{64}$/);
  });
});
