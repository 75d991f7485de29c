import { FailureReason, joinSession, type SessionError, SessionExpiredError } from "@pnm/client";
import { nodeWebSocket } from "@pnm/client/node";
import { describe, expect, it } from "vitest";
import { testConfig, useTestDeployment } from "../support/harness.js";
import { issueToken } from "../support/participants.js";
import { decodeJwtPayload } from "../support/tokens.js";

// docs/security-gaps.md #9 from the client's side: tokens of 3 s, sessions of at most 6 s. The session renews (and
// reconnects as each token's NATS user expires) until the server refuses, then ends when its last token expires.
const deployment = useTestDeployment((nats) => testConfig(nats, { tokenValidityMs: 3_000, maxSessionMs: 6_000 }));

describe("a session at the server's maximum session age", () => {
  it("renews until the session's end, then ends with SessionExpiredError when its last token expires", async () => {
    const roomId = "aging";
    await deployment.rooms.createRoom({ roomId, metadata: { roomTitle: "A", roomFeatures: {} } });
    const token = await issueToken(deployment.rooms, roomId, "old");
    const sessionEnd = (decodeJwtPayload(token).auth_time as number) + 6;
    const session = await joinSession({ baseUrl: deployment.pnm.server.url, token, webSocket: nodeWebSocket });
    const errors: Error[] = [];
    session.on("error", (e) => errors.push(e));
    const ended = await new Promise<SessionError>((resolve) => session.on("ended", resolve));

    expect(ended).toBeInstanceOf(SessionExpiredError);
    expect(ended.reason).toBe(FailureReason.SESSION_EXPIRED);
    // It renewed on the way, was told the session's end, and no token outlived it.
    expect(session.sessionExpiresAt()).toBe(sessionEnd);
    expect(decodeJwtPayload(session.token()).exp).toBe(sessionEnd);
    expect(Date.now()).toBeGreaterThanOrEqual(sessionEnd * 1000);
    // The refusal was reported when it came, before the end.
    expect(errors.some((e) => e instanceof SessionExpiredError)).toBe(true);
  }, 20_000);
});
