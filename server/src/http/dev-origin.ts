import { isIP } from "node:net";
import { headerValue, type NodeHandler, type NodeRequest } from "./connect-routes.js";
import { answerJson } from "./dev-json.js";

/** Which names the dev API answers to besides IP addresses and localhost. */
export interface SameOriginOptions {
  /** The interface the server listens on (`PNM_HOST`), which may be a host name. */
  host: string;
}

/**
 * Lets through only requests the demo's own pages could have sent: a Host
 * that is an IP address, localhost or `PNM_HOST` (a page on another site
 * whose name was re-pointed at this machine, DNS rebinding, arrives with its
 * own name), an `Origin` (when sent) on that same host, and a
 * `Sec-Fetch-Site` (when sent) of same-origin or none. Anything else gets
 * 403 before the route runs, so another site's page can neither have a
 * request signed nor hold a wire stream open.
 */
export function sameOriginOnly(options: SameOriginOptions, handler: NodeHandler): NodeHandler {
  const ownHost = options.host.toLowerCase();
  return (req, res) => {
    const refusal = crossOriginRefusal(req, ownHost);
    if (refusal) return answerJson(res, 403, { error: refusal });
    handler(req, res);
  };
}

/** Why `req` cannot be from the demo's own pages; undefined when it can be. */
function crossOriginRefusal(req: NodeRequest, ownHost: string): string | undefined {
  // HTTP/2 carries the host as :authority.
  const host = headerValue(req, "host") ?? headerValue(req, ":authority") ?? "";
  // A name and port only: user info or a path would let the URL parser read another host out of it.
  const asUrl = /^[\w.:[\]-]+$/.test(host) && URL.canParse(`http://${host}`) ? new URL(`http://${host}`) : undefined;
  const bare = (asUrl?.hostname ?? "").replace(/^\[(.*)\]$/, "$1");
  const known =
    isIP(bare) !== 0 || bare === "localhost" || bare.endsWith(".localhost") || (bare !== "" && bare === ownHost);
  if (!known)
    return `the dev API answers only at an IP address, localhost or PNM_HOST, not at host ${JSON.stringify(host.slice(0, 100))}`;
  const origin = headerValue(req, "origin");
  if (origin !== undefined && (!URL.canParse(origin) || new URL(origin).host !== asUrl?.host))
    return `the dev API answers only the demo's own pages, not ${JSON.stringify(origin.slice(0, 100))}`;
  const site = headerValue(req, "sec-fetch-site");
  if (site !== undefined && site !== "same-origin" && site !== "none")
    return `the dev API answers only the demo's own pages, not a ${site.slice(0, 20)} request`;
  return undefined;
}
