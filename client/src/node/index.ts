/**
 * What only Node needs of pnm's client SDK: an HTTP/2 client for gRPC, and a
 * WebSocket for Node versions without a global one.
 *
 * @packageDocumentation
 */
export { createNodeHttp2Client, type NodeHttp2Client } from "./http2-client.js";
export { nodeWebSocket } from "./web-socket.js";
