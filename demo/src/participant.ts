// The participant view: opens a join link, runs joinSession from @pnm/client and shows each step of the
// secure session flow as the SDK reports it (onStep), then chats, showing every message both as the
// ciphertext NATS carried and as the plaintext this browser decrypted.
import {
  BlockedError,
  DecryptionError,
  DeniedError,
  FailureReason,
  joinSession,
  type ParticipantSession,
  RemovedError,
  RoomEndedError,
  SessionError,
  SessionExpiredError,
  type SessionStep,
  TokenExpiredError,
} from "@pnm/client";
import { readTokenTimes } from "@pnm/client/protocol";
import { byId, clip, el, toBase64 } from "./dom.js";

type StepName = SessionStep["step"];
type StepState = "active" | "done" | "skipped" | "failed";

const steps = byId("steps");
const messages = byId("messages");
const chatForm = byId<HTMLFormElement>("chat-form");
const chatText = byId<HTMLInputElement>("chat-text");
const endedBanner = byId("ended");
const token = new URLSearchParams(location.hash.slice(1)).get("token");
let current: StepName = "verified";

function mark(step: StepName, state: StepState, detail?: string): void {
  const item = steps.querySelector<HTMLElement>(`[data-step="${step}"]`)!;
  item.dataset.state = state;
  if (detail !== undefined) item.querySelector(".detail")!.textContent = detail;
  if (state === "active") current = step;
}

function onStep(step: SessionStep): void {
  switch (step.step) {
    case "verified": {
      const v = step.verified;
      mark("verified", "done", `room ${v.roomId}, user ${v.userId}; NATS at ${v.natsWsUrls.join(", ")}`);
      byId("who").textContent = `User ${v.userId} in room ${v.roomId}`;
      if (v.enabledSelfInsertEncryptionKey) mark("passphrase", "active", "the room's key is yours to type");
      else {
        mark("passphrase", "skipped", "not asked: this room has no self-inserted passphrase");
        mark("connected", "active");
      }
      break;
    }
    case "passphrase":
      byId("passphrase-form").hidden = false;
      byId<HTMLInputElement>("passphrase").focus();
      break;
    case "connected":
      mark("connected", "done", `admitted by the auth callout at ${step.servers.join(", ")}`);
      mark("initial-data", "active");
      break;
    case "initial-data": {
      const room = step.initialData.room!;
      const me = step.initialData.localUser!;
      mark("initial-data", "done", `room SID ${room.roomSid}; you are ${me.name}${me.isAdmin ? " (admin)" : ""}`);
      mark("key-imported", "active");
      break;
    }
    case "key-imported":
      mark(
        "key-imported",
        "done",
        step.e2ee.enabled
          ? `AES-GCM room key imported (non-extractable); chat ${step.e2ee.chat ? "encrypted" : "in the clear"}`
          : "this room does not use E2EE: messages travel in the clear",
      );
      mark("media", "active");
      break;
    case "media":
      mark(
        "media",
        "done",
        step.media ? `LiveKit token for ${step.media.url}` : "media unavailable: the server has no media server",
      );
      mark("open", "active");
      break;
    case "open":
      mark("open", "done", "subscribed to the room's peer subjects");
      break;
  }
}

/** Resolves with the passphrase once the participant submits the form. */
function askPassphrase(): Promise<string> {
  const form = byId<HTMLFormElement>("passphrase-form");
  return new Promise((resolve) =>
    form.addEventListener(
      "submit",
      (event) => {
        event.preventDefault();
        const input = byId<HTMLInputElement>("passphrase");
        const passphrase = input.value;
        input.value = "";
        form.hidden = true;
        mark("passphrase", "done", "typed here; it never leaves this browser");
        mark("connected", "active");
        resolve(passphrase);
      },
      { once: true },
    ),
  );
}

/** Why the session ended, in words, with the contract's reason. */
function endReason(err: SessionError): string {
  const why =
    err instanceof BlockedError
      ? "You were blocked by the organizer"
      : err instanceof RemovedError
        ? "You were removed by the organizer"
        : err instanceof RoomEndedError
          ? "The organizer ended the room"
          : err instanceof DeniedError
            ? "The organizer turned you away from the waiting room"
            : err instanceof TokenExpiredError || err instanceof SessionExpiredError
              ? "Your access expired"
              : "The session ended";
  return `${why} (${err.name}, ${FailureReason[err.reason]}).`;
}

function addMessage(options: { from: string; text?: string; payload?: Uint8Array; error?: Error; own?: boolean }) {
  const parts: HTMLElement[] = [el("div", { class: "from" }, options.from)];
  if (options.text !== undefined) {
    const label = options.own ? "you wrote: " : "decrypted in this browser: ";
    parts.push(el("p", {}, el("span", { class: "label" }, label), el("span", { class: "plaintext" }, options.text)));
  }
  if (options.error) parts.push(el("p", { class: "error" }, `${options.error.name}: ${options.error.message}`));
  if (options.payload) {
    parts.push(
      el(
        "div",
        { class: "cipher" },
        el("span", { class: "label" }, `as NATS carried it, ${options.payload.length} bytes: `),
        el("code", { class: "ciphertext", "data-payload": toBase64(options.payload) }, clip(toBase64(options.payload))),
      ),
    );
  }
  const kind = options.error ? "undecryptable" : options.own ? "own" : "received";
  messages.append(el("li", { class: `message ${kind}`, "data-kind": kind }, ...parts));
}

function watchToken(session: ParticipantSession): () => void {
  const life = byId("token-life");
  const tick = () => {
    const { exp } = readTokenTimes(session.token());
    const left = Math.max(0, Math.round(exp - Date.now() / 1000));
    life.textContent = `${Math.floor(left / 60)} min ${String(left % 60).padStart(2, "0")} s (until ${new Date(exp * 1000).toLocaleTimeString()})`;
  };
  tick();
  const timer = setInterval(tick, 1000);
  let renewals = 0;
  session.on("renewed", () => {
    byId("renewals").textContent = String(++renewals);
    const end = session.sessionExpiresAt();
    if (end) byId("session-end").textContent = new Date(end * 1000).toLocaleString();
    tick();
  });
  return () => clearInterval(timer);
}

async function main(): Promise<void> {
  if (!token) {
    mark("verified", "failed", "this page needs a join link: …/demo/join.html#token=…");
    return;
  }
  mark("verified", "active");
  let session: ParticipantSession;
  try {
    session = await joinSession({
      baseUrl: location.origin,
      token,
      promptForKey: askPassphrase,
      onStep,
      onWaiting: () => mark("initial-data", "active", "in the waiting room: the organizer has to admit you"),
    });
  } catch (err) {
    const reason = err instanceof SessionError ? ` (${err.name}, ${FailureReason[err.reason]})` : "";
    mark(current, "failed", `${err instanceof Error ? err.message : String(err)}${reason}`);
    return;
  }
  const roomId = session.roomId;
  // The subjects the auth callout grants this participant, as the server computes them (dev-only route).
  void fetch("/demo/api/permissions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ roomId, userId: session.userId }),
  })
    .then((r) => r.json() as Promise<{ pub: { allow: string[] }; sub: { allow: string[] } }>)
    .then((grants) => {
      const list = (title: string, subjects: string[]) =>
        el("div", {}, el("h3", {}, title), el("ul", {}, ...subjects.map((s) => el("li", {}, el("code", {}, s)))));
      byId("grant-lists").replaceChildren(list("publish", grants.pub.allow), list("subscribe", grants.sub.allow));
      byId("grants").hidden = false;
    });

  const stopToken = watchToken(session);
  const renew = byId<HTMLButtonElement>("renew");
  renew.disabled = false;
  renew.addEventListener("click", () => void session.renewToken().catch(() => undefined));
  chatText.disabled = false;
  byId<HTMLButtonElement>("chat-send").disabled = false;
  session.on("chat", (m) =>
    addMessage({
      from: `${m.fromName} (${m.sender.verified ? "sender vouched for by NATS" : "sender as claimed"})`,
      text: m.message,
      payload: m.payload,
    }),
  );
  session.on("error", (err) =>
    addMessage({
      from: "a message this browser could not read",
      error: err,
      payload: err instanceof DecryptionError ? err.payload : undefined,
    }),
  );
  session.on("ended", (err) => {
    stopToken();
    byId("token-life").textContent = "– (the session has ended)";
    endedBanner.textContent = endReason(err);
    endedBanner.hidden = false;
    document.body.dataset.ended = err.name;
    for (const control of [chatText, byId<HTMLButtonElement>("chat-send"), renew]) control.disabled = true;
  });
  chatForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = chatText.value;
    chatText.value = "";
    session.sendChat(text).then(
      () => addMessage({ from: "you", text, own: true }),
      (err: unknown) => addMessage({ from: "not sent", error: err as Error }),
    );
  });
}

void main();
