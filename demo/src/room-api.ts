// The organizer's calls to RoomService: each request is signed by the server's dev-only signer
// (POST /demo/api/sign), then sent to upstream's REST route as a backend would send it. The page
// sees the signature, never the secret.

/** One signed call, as the organizer view shows it. */
export interface SignedCall {
  path: string;
  body: string;
  headers: Record<string, string>;
  status: number;
  answer: unknown;
  /** The `pnm-failure-reason` header of a refusal. */
  reason?: string;
}

/** RoomService refused a call: the REST answer's message and pnm's reason. */
export class RoomApiError extends Error {
  override readonly name = "RoomApiError";
  readonly call: SignedCall;
  constructor(call: SignedCall) {
    const answer = call.answer as { msg?: string; error?: string } | undefined;
    super(`${call.path}: ${call.reason ?? call.status} ${answer?.msg ?? answer?.error ?? ""}`.trim());
    this.call = call;
  }
}

/** Signs `body` for `path` with the dev signer, sends it, and reports each call to `onCall`. */
export function createRoomApi(onCall: (call: SignedCall) => void) {
  return async function call(path: string, request: unknown): Promise<Record<string, unknown>> {
    const body = JSON.stringify(request);
    const signing = await fetch("/demo/api/sign", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ path, body }),
    });
    const headers = (await signing.json()) as Record<string, string>;
    if (!signing.ok) throw new Error(`the dev signer refused: ${headers.error ?? signing.status}`);
    const response = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
    const answer = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    const done: SignedCall = {
      path,
      body,
      headers,
      status: response.status,
      answer,
      reason: response.headers.get("pnm-failure-reason") ?? undefined,
    };
    onCall(done);
    if (!response.ok || answer?.status === false) throw new RoomApiError(done);
    return answer ?? {};
  };
}
