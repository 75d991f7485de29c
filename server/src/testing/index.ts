/**
 * Test support: what pnm's own tests and the conformance harness's tests use
 * to run pnm's server in-process, and the server internals they check
 * directly (token codec, signature verifier, failure table, key generator,
 * listener).
 *
 * @internal For pnm's test suites only: not a supported API, and it may
 * change in any release.
 * @packageDocumentation
 */
export { startTestNats, type TestNats } from "./test-nats.js";
export { startTestServer, testConfig, type TestServer } from "./test-server.js";
export { startPnmApp, type PnmApp, type PnmAppDecorators, type PnmAppOptions } from "../app.js";
export { createAccessTokenCodec } from "../auth/access-token.js";
export { createApiSignatureVerifier } from "../auth/api-signature.js";
export { failureInfo, pnmError } from "../errors.js";
export type { NodeHandler, NodeRequest, NodeResponse } from "../http/connect-routes.js";
export { listenDualProtocol } from "../http/listener.js";
export { generateE2eeKey } from "../rooms/e2ee-key.js";
