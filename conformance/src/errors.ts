/** An error's message, with its cause's when it has one (fetch hides the reason in the cause). */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : "";
  return err.message + cause;
}

/** A command line the harness cannot act on; the CLI prints it with the usage text. */
export class UsageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

/** A case, features or known-failing file that does not follow its schema. */
export class DefinitionError extends Error {
  constructor(
    /** The file at fault, as given. */
    readonly file: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${file}: ${message}`, options);
    this.name = "DefinitionError";
  }
}

/** A vectors file that does not follow the pnm-vectors/v1 schema. */
export class VectorFileError extends Error {
  constructor(
    /** The file at fault, as given. */
    readonly file: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${file}: ${message}`, options);
    this.name = "VectorFileError";
  }
}

/** The server given with --spawn did not start or did not become ready. */
export class ServerStartError extends Error {
  constructor(
    message: string,
    /** What the server printed before it failed, for the error message. */
    readonly output: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ServerStartError";
  }
}

/**
 * A case step that could not be carried out as written (an unbound variable,
 * a request the contract's schema cannot encode). The case fails with it; it
 * says nothing about the server.
 */
export class StepError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StepError";
  }
}
