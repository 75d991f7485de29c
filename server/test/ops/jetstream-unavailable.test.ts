// A JetStream stream without a leader answers nobody: after a NATS node of a
// cluster dies, the streams it led have none until the others elect one
// (seconds). Here the nonce bucket's stream is deleted, which leaves its
// subjects without responders just the same. Every signed request, whose
// PNM-SIGNATURE nonce is claimed in that bucket, is then a named refusal to
// retry (NATS_UNAVAILABLE), on every protocol, with no library text.

import { Code, ConnectError } from "@connectrpc/connect";
import { jetstreamManager } from "@nats-io/jetstream";
import { failureReason } from "@pnm/client";
import { randomNonce, signV2 } from "@pnm/client/protocol";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { beforeAll, describe, expect, it } from "vitest";
import { rpcProtocols, signedClient } from "../support/clients.js";
import { useTestDeployment } from "../support/harness.js";
import { postRaw } from "../support/rest.js";

const deployment = useTestDeployment();

beforeAll(async () => {
  const { config, server } = deployment.pnm;
  // Before: the signed API works.
  expect(
    (await signedClient(server.url, config.apiKey, config.apiSecret, "connect").isRoomActive({ roomId: "r" })).isActive,
  ).toBe(false);
  const jsm = await jetstreamManager(await deployment.nats.connect());
  expect(await jsm.streams.delete("KV_pnm-nonces")).toBe(true);
});

describe("a signed request while the nonce bucket has no responders", () => {
  for (const protocol of rpcProtocols) {
    for (const binary of protocol === "connect" ? [false, true] : [undefined]) {
      it(`is refused NATS_UNAVAILABLE over ${protocol}${binary ? " (binary)" : ""}`, async () => {
        const { config, server } = deployment.pnm;
        const client = signedClient(server.url, config.apiKey, config.apiSecret, protocol, binary);
        const refused = await client.isRoomActive({ roomId: "r" }).catch((err: unknown) => err);
        expect(refused).toBeInstanceOf(ConnectError);
        expect((refused as ConnectError).code).toBe(Code.Unavailable);
        expect(failureReason(refused)).toBe(FailureReason.NATS_UNAVAILABLE);
        expect((refused as ConnectError).rawMessage).not.toMatch(/jetstream/i);
      });
    }
  }

  it("is refused 503 on upstream's REST routes", async () => {
    const { config, server } = deployment.pnm;
    const body = JSON.stringify({ room_id: "r" });
    const path = "/auth/room/isRoomActive";
    const signature = await signV2(config.apiSecret, {
      method: "POST",
      path,
      timestamp: Math.floor(Date.now() / 1000),
      nonce: randomNonce(),
      message: new TextEncoder().encode(body),
    });
    const answer = await postRaw(server.url, path, body, { "API-KEY": config.apiKey, "PNM-SIGNATURE": signature });
    expect(answer.status).toBe(503);
    expect(answer.body.status).toBe(false);
    expect(JSON.stringify(answer.body)).not.toMatch(/jetstream/i);
  });
});
