/**
 * Adds to pnm's nats-server configuration a user in PNM that every WebSocket
 * client without credentials becomes (no_auth_user), listed in auth_users so
 * that it skips the callout, and allowed no subject at all: the benchmarks'
 * plain connects, measured against the callout's. Anyone who reaches the
 * listener gets in as this user, so it exists here only, for
 * `spawnNatsServer({ editConfig })`, never in server/src.
 */
export function withAnonymousUser(name: string): (config: string) => string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new Error("the anonymous user's name must be 1-64 of [A-Za-z0-9_-]");
  const user = `{ user: "${name}", allowed_connection_types: ["WEBSOCKET"], permissions: { publish: { deny: [">"] }, subscribe: { deny: [">"] } } }`;
  return (config) =>
    [
      // PNM's users: the server's nkey user alone, on one line (SYS lists its users over several).
      { pattern: /^( {4}users: \[ \{ nkey: "U[A-Z2-7]{55}" \})( \])$/m, replacement: `$1, ${user}$2` },
      { pattern: /^( {4}auth_users: \[.*)\]$/m, replacement: `$1, "${name}"]` },
      { pattern: /^system_account: /m, replacement: `no_auth_user: ${name}\n$&` },
    ].reduce((text, { pattern, replacement }) => {
      // A renderer that changed shape must fail here, not measure something else.
      if (!pattern.test(text))
        throw new Error(`nats-server config has no line matching ${pattern}; update bench/anonymous-nats-user.ts`);
      return text.replace(pattern, replacement);
    }, config);
}
