import { create } from "@bufbuild/protobuf";
import { ClientType } from "@pnm/protocol/pnm/v1/common_pb";
import { type MediaServerConnInfo, MediaServerConnInfoSchema } from "@pnm/protocol/pnm/v1/nats_msg_pb";
import { AccessToken, type VideoGrant } from "livekit-server-sdk";
import type { Membership } from "../rooms/membership.js";
import { parseRoomMetadata } from "../rooms/room-metadata.js";

/** The LiveKit server participants are sent to, and the key pair its tokens are signed with. */
export interface LiveKitOptions {
  /** LiveKit's URL as participants reach it (ws:// or wss://); handed to them as is. */
  url: string;
  /** The LiveKit API key the tokens name as issuer. */
  apiKey: string;
  /** The LiveKit API secret the tokens are signed with. */
  apiSecret: string;
}

/** The LiveKit server, and how long its tokens last. */
export interface MediaTokenIssuerOptions {
  /** Where participants' media goes. */
  livekit: LiveKitOptions;
  /** How long a LiveKit token is valid, in ms, rounded down to whole seconds. */
  tokenValidityMs: number;
}

/** Issues the LiveKit tokens of admitted participants. */
export interface MediaTokenIssuer {
  /** LiveKit credentials for an admitted participant, with the grants upstream gives. */
  issue(member: Membership): Promise<MediaServerConnInfo>;
}

/**
 * The media token issuer of one LiveKit server. A hybrid web client also gets
 * a native token (identity `<user ID>-native`) that publishes, while its web
 * token only subscribes.
 */
export function createMediaTokenIssuer(options: MediaTokenIssuerOptions): MediaTokenIssuer {
  const { livekit } = options;
  const ttl = Math.floor(options.tokenValidityMs / 1000);

  function token(
    identity: string,
    name: string,
    grant: VideoGrant,
    attributes?: Record<string, string>,
  ): Promise<string> {
    const at = new AccessToken(livekit.apiKey, livekit.apiSecret, { identity, name, ttl, attributes });
    at.addGrant(grant);
    return at.toJwt();
  }

  return {
    async issue({ room, user }) {
      const hybrid = user.clientType === ClientType.HYBRID_WEB;
      const grant: VideoGrant = {
        roomJoin: true,
        room: room.roomId,
        roomAdmin: user.isAdmin,
        // Upstream never hides web users from LiveKit; only native twins of hybrid clients publish.
        hidden: false,
        canPublish: !hybrid,
        canSubscribe: true,
      };
      const e2ee = parseRoomMetadata(room.metadataJson).roomFeatures?.endToEndEncryptionFeatures;
      return create(MediaServerConnInfoSchema, {
        url: livekit.url,
        token: await token(user.userId, user.name, grant),
        // Set from the room, so the client can rely on it (upstream never sets it).
        enabledE2ee: Boolean(e2ee?.isEnabled),
        nativeToken: hybrid
          ? await token(
              `${user.userId}-native`,
              user.name,
              { ...grant, canPublish: true, canSubscribe: false },
              { original_user_id: user.userId },
            )
          : "",
      });
    },
  };
}
