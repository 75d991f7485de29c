// Child process of bench/pnm-instance.ts: one more pnm server on the bench's nats-server, until told to close.
import { startPnmApp } from "../server/src/app.js";
import type { PnmConfig } from "../server/src/config.js";
import { silentLogger } from "../server/src/logger.js";
import type { NatsKeys } from "../server/src/nats/nats-keys.js";
import { connectAsServer, systemInboxPrefix } from "../server/src/nats/server-connection.js";

const { keys, config, natsUrl } = await new Promise<{ keys: NatsKeys; config: PnmConfig; natsUrl: string }>((resolve) =>
  process.once("message", resolve),
);
const nc = await connectAsServer({ url: natsUrl, user: keys.serverUser, name: "pnm-bench-instance" });
const systemNc = await connectAsServer({
  url: natsUrl,
  user: keys.systemUser,
  name: "pnm-bench-instance-system",
  inboxPrefix: systemInboxPrefix,
});
const server = await startPnmApp({ config, nc, systemNc, keys, logger: silentLogger });
process.send!({ metricsUrl: server.metricsUrl });
process.once("message", async () => {
  await server.close();
  await Promise.all([nc.close(), systemNc.close()]);
  process.exit(0);
});
