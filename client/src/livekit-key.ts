import type { ParticipantSession } from "./session/participant-session.js";

/** The part of livekit-client's ExternalE2EEKeyProvider pnm needs. */
export interface LiveKitKeyProvider {
  /** Takes the passphrase LiveKit derives its frame key from. */
  setKey(key: string): Promise<void>;
}

/**
 * Gives LiveKit's key provider the same passphrase as the room's messages, as
 * upstream's client does: LiveKit derives its own frame key from it (PBKDF2,
 * salt "LKFrameEncryptionKey"), so media and message keys differ.
 */
export function applyLiveKitKey(
  session: Pick<ParticipantSession, "liveKitPassphrase">,
  keyProvider: LiveKitKeyProvider,
): Promise<void> {
  return keyProvider.setKey(session.liveKitPassphrase());
}
