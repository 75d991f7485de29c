/** A passphrase, room SID or scheme that no participant could derive a shared key from. */
export class KeyDerivationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "KeyDerivationError";
  }
}

/**
 * An encrypted message that does not open under the key: wrong passphrase,
 * room SID or scheme, tampered or truncated bytes. AES-GCM cannot tell these
 * apart, so neither can this error; the WebCrypto error, if any, is the cause.
 */
export class DecryptionError extends Error {
  /** The bytes that did not open, when a session dropped a received message (as NATS carried it). */
  readonly payload?: Uint8Array;
  constructor(message: string, options?: ErrorOptions & { payload?: Uint8Array }) {
    super(message, options);
    this.name = "DecryptionError";
    if (options?.payload) this.payload = options.payload;
  }
}

/** The room key was cleared, so nothing can be encrypted or decrypted with it any more. */
export class E2eeKeyMissingError extends Error {
  constructor(options?: ErrorOptions) {
    super("E2EE key has been cleared", options);
    this.name = "E2eeKeyMissingError";
  }
}
