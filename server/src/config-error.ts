/**
 * A setting is missing or invalid. The message names the variable (or the
 * file) and the form it accepts, e.g. `PNM_TOKEN_VALIDITY: expected a
 * duration such as 90s, 10m or 1h, got "10"`, so an operator can fix it
 * from that line alone; `cause` holds the error underneath, if any.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}
