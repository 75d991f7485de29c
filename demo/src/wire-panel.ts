import { clip, el } from "./dom.js";

/** One message as the server's observer saw it on the room's subjects (http/dev-wire.ts). */
interface WireMessage {
  subject: string;
  payload: string;
  size: number;
}

/**
 * Fills `list` with what an observer of the room's chat, whiteboard and data
 * subjects sees, streamed by the server in dev mode: the bytes NATS carries,
 * base64. `status` tells whether the feed is live. Returns how to stop.
 */
export function watchWire(roomId: string, list: HTMLElement, status: HTMLElement): () => void {
  const source = new EventSource(`/demo/api/wire?room=${encodeURIComponent(roomId)}`);
  status.textContent = "connecting…";
  source.addEventListener("ready", () => {
    status.textContent = `watching chat, whiteboard and dataChannel subjects of ${roomId}`;
    status.dataset.state = "live";
  });
  source.addEventListener("message", (event) => {
    const message = JSON.parse((event as MessageEvent<string>).data) as WireMessage;
    const item = el(
      "li",
      { class: "wire-item", "data-subject": message.subject, "data-payload": message.payload },
      el("span", { class: "subject" }, message.subject),
      el("span", { class: "size" }, `${message.size} bytes`),
      el("code", { class: "bytes" }, clip(message.payload)),
    );
    list.prepend(item);
  });
  source.addEventListener("error", () => {
    status.textContent = "the feed is interrupted; the browser retries";
    status.dataset.state = "down";
  });
  return () => source.close();
}
