import type { NonceStore } from "../store/nonce-store.js";

/** A NonceStore in this process's memory, for tests of the signature check without NATS; nonces are never forgotten. */
export function createMemoryNonceStore(): NonceStore & { readonly claimed: ReadonlySet<string> } {
  const claimed = new Set<string>();
  return {
    claimed,
    async claim(nonce) {
      if (claimed.has(nonce)) return false;
      claimed.add(nonce);
      return true;
    },
  };
}
