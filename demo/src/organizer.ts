// The organizer view: creates a room through RoomService (requests signed by the server's dev-only signer),
// hands out join links, removes, blocks or admits participants, ends the room, and shows the room's wire.
import { byId, clip, el } from "./dom.js";
import { createRoomApi, RoomApiError, type SignedCall } from "./room-api.js";
import { watchWire } from "./wire-panel.js";

const createForm = byId<HTMLFormElement>("create-form");
const roomIdInput = byId<HTMLInputElement>("room-id");
const e2eeSelect = byId<HTMLSelectElement>("e2ee");
const keyDerivation = byId<HTMLSelectElement>("key-derivation");
const roomCard = byId("room-card");
const roomState = byId("room-state");
const participants = byId("participants");
const problem = byId("problem");

const call = createRoomApi(showCall);
let roomId = "";
let waitingRoom = false;

roomIdInput.value = `demo-${randomHex(3)}`;
e2eeSelect.addEventListener("change", () => (keyDerivation.disabled = e2eeSelect.value === "off"));

createForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const form = new FormData(createForm);
  const e2ee = String(form.get("e2ee"));
  waitingRoom = form.get("waitingRoom") === "on";
  const request = {
    room_id: String(form.get("roomId")),
    max_participants: Number(form.get("maxParticipants")),
    metadata: {
      room_title: String(form.get("title")),
      room_features: {
        allow_webcams: false,
        waiting_room_features: { is_active: waitingRoom },
        end_to_end_encryption_features:
          e2ee === "off"
            ? { is_enabled: false }
            : {
                is_enabled: true,
                included_chat_messages: true,
                included_whiteboard: true,
                enabled_self_insert_encryption_key: e2ee === "passphrase",
                key_derivation: String(form.get("keyDerivation")),
              },
      },
    },
  };
  void run(async () => {
    await call("/auth/room/create", request);
    roomId = request.room_id;
    for (const field of createForm.elements) (field as HTMLInputElement).disabled = true;
    byId("room-name").textContent = roomId;
    roomState.textContent = "active";
    roomState.dataset.state = "active";
    roomCard.hidden = false;
    watchWire(roomId, byId("wire"), byId("wire-status"));
    byId<HTMLInputElement>("participant-name").focus();
  });
});

byId("check-room").addEventListener("click", () =>
  run(async () => {
    const answer = await call("/auth/room/isRoomActive", { room_id: roomId }).catch((err: unknown) => {
      if (err instanceof RoomApiError) return { is_active: false };
      throw err;
    });
    roomState.textContent = answer.is_active ? "active" : "not active";
    roomState.dataset.state = answer.is_active ? "active" : "ended";
  }),
);

byId<HTMLFormElement>("invite-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = new FormData(event.target as HTMLFormElement);
  const name = String(form.get("name")).trim();
  const userId = `${
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "user"
  }-${randomHex(2)}`;
  void run(async () => {
    const answer = await call("/auth/room/getJoinToken", {
      room_id: roomId,
      user_info: { name, user_id: userId, is_admin: form.get("admin") === "on" },
    });
    addParticipant(name, userId, `${location.origin}/demo/join.html#token=${answer.token as string}`);
    (event.target as HTMLFormElement).reset();
  });
});

byId("end-room").addEventListener("click", () =>
  run(async () => {
    await call("/auth/room/endRoom", { room_id: roomId });
    roomState.textContent = "ended";
    roomState.dataset.state = "ended";
    for (const button of roomCard.querySelectorAll("button:not(#check-room)"))
      (button as HTMLButtonElement).disabled = true;
  }),
);

function addParticipant(name: string, userId: string, link: string): void {
  const linkId = `link-${userId}`;
  const state = el("span", { class: "participant-state", "aria-live": "polite" }, "invited");
  const linkInput = el("input", { id: linkId, class: "join-link", readonly: "", value: link });
  const button = (label: string, action: () => Promise<void>, className = "small") => {
    const b = el("button", { type: "button", class: className, "data-action": label.toLowerCase() }, label);
    b.addEventListener("click", () => run(action));
    return b;
  };
  const remove = (block: boolean) => async () => {
    await call("/auth/room/removeParticipant", {
      room_id: roomId,
      user_id: userId,
      msg: block ? "blocked by the organizer" : "removed by the organizer",
      block_user: block,
    });
    state.textContent = block ? "blocked" : "removed";
    for (const b of item.querySelectorAll("button[data-action]:not([data-action=copy])"))
      (b as HTMLButtonElement).disabled = true;
  };
  const item = el(
    "li",
    { class: "participant", "data-user-id": userId },
    el("div", { class: "who" }, el("strong", {}, name), " ", el("code", {}, userId), " ", state),
    el("label", { for: linkId }, `Join link for ${name}`),
    linkInput,
    el(
      "div",
      { class: "actions" },
      button("Copy", async () => {
        linkInput.select();
        await navigator.clipboard.writeText(link).catch(() => undefined);
      }),
      el("a", { href: link, target: "_blank", rel: "noopener", class: "small button" }, "Open"),
      ...(waitingRoom
        ? [
            button("Admit", async () => {
              await call("/auth/room/approveParticipant", { room_id: roomId, user_id: userId });
              state.textContent = "admitted";
            }),
          ]
        : []),
      button("Remove", remove(false)),
      button("Block", remove(true), "small danger"),
    ),
  );
  participants.append(item);
}

function showCall(done: SignedCall): void {
  const headers = Object.entries(done.headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join("\n");
  byId("calls").prepend(
    el(
      "li",
      { class: done.status === 200 ? "call" : "call refused" },
      el("div", {}, el("strong", {}, `POST ${done.path}`), ` → ${done.status}${done.reason ? ` ${done.reason}` : ""}`),
      el("pre", {}, `${headers}\n\n${clip(done.body, 400)}`),
    ),
  );
}

/** Runs an action of the page, showing its failure instead of losing it. */
async function run(action: () => Promise<void>): Promise<void> {
  problem.hidden = true;
  try {
    await action();
  } catch (err) {
    problem.textContent = err instanceof Error ? err.message : String(err);
    problem.hidden = false;
  }
}

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}
