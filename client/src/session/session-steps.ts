import type { MediaServerConnInfo, NatsInitialData } from "@pnm/protocol/pnm/v1/nats_msg_pb";
import type { VerifyTokenResponse } from "@pnm/protocol/pnm/v1/verify_token_pb";

/**
 * A step of the secure session flow, reported to `onStep` as `joinSession`
 * completes it, in this order (the passphrase step only in rooms with a
 * self-inserted key): for progress displays and diagnostics. A step carries
 * what it produced, never a key or passphrase.
 */
export type SessionStep =
  /** 1. The server verified the token: NATS URLs, subject roots, whether a passphrase is needed. */
  | { readonly step: "verified"; readonly verified: VerifyTokenResponse }
  /** 2. The room needs a typed passphrase: `promptForKey` is called now. */
  | { readonly step: "passphrase" }
  /** 3. NATS accepted the WebSocket connection through the auth callout; `servers` are the URLs offered. */
  | { readonly step: "connected"; readonly servers: readonly string[] }
  /** 4. The room and this user, as the server described them. */
  | { readonly step: "initial-data"; readonly initialData: NatsInitialData }
  /** 5. The room key is imported (or the room uses no E2EE: `e2ee.enabled` is false). */
  | { readonly step: "key-imported"; readonly e2ee: { enabled: boolean; chat: boolean; whiteboard: boolean } }
  /** 6. The media token: LiveKit's connection info, or undefined when the server has no media server. */
  | { readonly step: "media"; readonly media: MediaServerConnInfo | undefined }
  /** 7. Peer messages are read and can be sent, encrypted where the room wants it. */
  | { readonly step: "open" };
