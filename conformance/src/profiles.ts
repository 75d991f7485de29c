/** How the harness reaches a server. `rest` is upstream plugNmeet's HTTP API; the others are Connect's protocols. */
export const transports = ["rest", "connect-json", "connect-proto", "grpc-web", "grpc"] as const;
/** One of `transports`. */
export type Transport = (typeof transports)[number];

/**
 * Which guarantees a run checks. `upstream` is what upstream plugNmeet also
 * guarantees, so it can be pointed at an upstream-compatible server; `pnm`
 * adds pnm's stricter guarantees and pnm-only wire details.
 * `upstream-web-client` checks rooms open to upstream's unmodified web client,
 * on a server that allows them (pnm with PNM_UPSTREAM_WEB_CLIENT=on): its
 * cases run in its own runs only.
 */
export const profiles = ["upstream", "pnm", "upstream-web-client"] as const;
/** One of `profiles`. */
export type Profile = (typeof profiles)[number];

/** Whether a case written for `caseProfile` runs in a run of `runProfile`. */
export function profileIncludes(runProfile: Profile, caseProfile: Profile): boolean {
  if (runProfile === "upstream-web-client" || caseProfile === "upstream-web-client") return runProfile === caseProfile;
  return runProfile === "pnm" || caseProfile === "upstream";
}

/** Whether a value read from a file or the command line names a transport. */
export function isTransport(value: unknown): value is Transport {
  return (transports as readonly unknown[]).includes(value);
}

/** Whether a value read from a file or the command line names a profile. */
export function isProfile(value: unknown): value is Profile {
  return (profiles as readonly unknown[]).includes(value);
}
