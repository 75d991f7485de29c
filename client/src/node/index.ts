export { createNodeHttp2Client, type NodeHttp2Client } from "./http2-client.js";
export { nodeWebSocket } from "./web-socket.js";
