type Release = () => void | Promise<void>;

/**
 * The little that the parts of one session share: the current access token
 * and whether the session is over. Everything else each part owns itself.
 */
export interface SessionState {
  /** The current access token: the renewal loop replaces it, API calls and NATS (re)connects present it. */
  token: string;
  /** True from the moment `end` is first called. */
  readonly ended: boolean;
  /**
   * Registers what `end` must release. Releases run last registered first,
   * the reverse of acquiring; one registered after the end runs at once.
   */
  onEnd(release: Release): void;
  /** Ends the session and runs the releases; later calls return the same promise. */
  end(): Promise<void>;
}

/** The shared state of one session, starting from the join token. */
export function createSessionState(token: string): SessionState {
  const releases: Release[] = [];
  let ending: Promise<void> | undefined;
  return {
    token,
    get ended() {
      return ending !== undefined;
    },
    onEnd(release) {
      // The end can come while the join is still acquiring (the server removed the user).
      if (ending) ending = ending.then(release);
      else releases.push(release);
    },
    end() {
      // A tick later, so that `ended` already holds while the releases run.
      ending ??= Promise.resolve().then(async () => {
        for (const release of releases.reverse()) await release();
      });
      return ending;
    },
  };
}
