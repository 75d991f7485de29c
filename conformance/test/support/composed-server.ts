import { type PnmConfig, silentLogger } from "@pnm/server";
import { type PnmApp, type PnmAppDecorators, startPnmApp, type TestNats } from "@pnm/server/testing";

/** Faults to plant: each decorator wraps one real part of pnm's server. */
export type PlantedParts = PnmAppDecorators;

/**
 * pnm's server on `nats` with the parts in `plant` swapped in: a server that
 * is wrong in one known way, for checking that the harness notices. Give
 * each one its own NATS: instances on one NATS share the auth callout's
 * queue group, so a faulty and a sound one would take turns answering.
 */
export async function startPlantedServer(nats: TestNats, config: PnmConfig, plant: PlantedParts): Promise<PnmApp> {
  const nc = await nats.connect();
  const systemNc = await nats.connectSystem();
  return startPnmApp({ config, nc, systemNc, keys: nats.keys, logger: silentLogger, decorate: plant });
}
