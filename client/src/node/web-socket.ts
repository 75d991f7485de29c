import { WebSocket } from "ws";
import type { WebSocketConstructor } from "../nats/participant-connection.js";

/** A W3C-compatible WebSocket for Node versions without a global one. */
export const nodeWebSocket = WebSocket as unknown as WebSocketConstructor;
