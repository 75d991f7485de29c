/**
 * Test support: what pnm's own tests and the conformance harness's tests use
 * to run pnm's server in-process, and the server internals they check
 * directly (token codec, API keyring, signature verifier and an in-memory
 * nonce store for it, failure table, key generator,
 * listener), and a local NATS cluster with pnm-server processes on it.
 *
 * @internal For pnm's test suites only: not a supported API, and it may
 * change in any release.
 * @packageDocumentation
 */

export { type PnmApp, type PnmAppDecorators, type PnmAppOptions, startPnmApp } from "../app.js";
export { createAccessTokenCodec } from "../auth/access-token.js";
export { createApiKeyring } from "../auth/api-keyring.js";
export { createApiSignatureVerifier } from "../auth/api-signature.js";
export { failureInfo, pnmError } from "../errors.js";
export type { NodeHandler, NodeRequest, NodeResponse } from "../http/connect-routes.js";
export { listenDualProtocol } from "../http/listener.js";
export { generateE2eeKey } from "../rooms/e2ee-key.js";
export { createMemoryNonceStore } from "./memory-nonce-store.js";
export { type PnmProcess, type PnmProcessOptions, pnmServerCommand, startPnmProcess } from "./pnm-process.js";
export {
  freePortRange,
  startTestCluster,
  type TestCluster,
  type TestClusterNode,
  type TestClusterOptions,
  type TestClusterPorts,
} from "./test-cluster.js";
export { localNatsServerBinary, startTestNats, type TestNats, type TestNatsOptions } from "./test-nats.js";
export { startTestServer, type TestServer, testConfig } from "./test-server.js";
