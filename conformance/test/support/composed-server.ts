import { startPnmServer, type PnmServer, type PnmServerDecorators } from "../../../server/src/app.js";
import type { PnmConfig } from "../../../server/src/config.js";
import { silentLogger } from "../../../server/src/logger.js";
import type { TestNats } from "../../../server/test/support/harness.js";

/** Faults to plant: each decorator wraps one real part of pnm's server. */
export type PlantedParts = PnmServerDecorators;

/**
 * pnm's server on `nats` with the parts in `plant` swapped in: a server that
 * is wrong in one known way, for checking that the harness notices. Give
 * each one its own NATS: instances on one NATS share the auth callout's
 * queue group, so a faulty and a sound one would take turns answering.
 */
export async function startPlantedServer(nats: TestNats, config: PnmConfig, plant: PlantedParts): Promise<PnmServer> {
  const nc = await nats.connect();
  const systemNc = await nats.connectSystem();
  return startPnmServer({ config, nc, systemNc, keys: nats.keys, logger: silentLogger, decorate: plant });
}
