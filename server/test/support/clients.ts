import { createClient, type Interceptor } from "@connectrpc/connect";
import { createRoomServiceClient, type Protocol, type RoomServiceClient } from "@pnm/client";
import { createNodeHttp2Client } from "@pnm/client/node";
import { createPnmTransport } from "@pnm/client/protocol";
import { RoomService } from "@pnm/protocol/pnm/v1/room_service_pb";
import { afterAll } from "vitest";

export const rpcProtocols: Protocol[] = ["connect", "grpc-web", "grpc"];

const http2Clients: { close(): void }[] = [];
afterAll(() => {
  for (const c of http2Clients) c.close();
});

function httpClientFor(baseUrl: string, protocol: Protocol) {
  if (protocol !== "grpc") return undefined;
  const client = createNodeHttp2Client(baseUrl);
  http2Clients.push(client);
  return client.httpClient;
}

export function signedClient(
  baseUrl: string,
  apiKey: string,
  apiSecret: string,
  protocol: Protocol,
  useBinaryFormat?: boolean,
): RoomServiceClient {
  return createRoomServiceClient({
    baseUrl,
    apiKey,
    apiSecret,
    protocol,
    useBinaryFormat,
    httpClient: httpClientFor(baseUrl, protocol),
  });
}

/** A RoomService client that sends exactly the headers given, for refusal tests. */
export function rawClient(baseUrl: string, protocol: Protocol, headers: Record<string, string>): RoomServiceClient {
  const setHeaders: Interceptor = (next) => (req) => {
    for (const [name, value] of Object.entries(headers)) req.header.set(name, value);
    return next(req);
  };
  return createClient(
    RoomService,
    createPnmTransport({ baseUrl, protocol, interceptors: [setHeaders], httpClient: httpClientFor(baseUrl, protocol) }),
  );
}
