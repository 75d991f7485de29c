import { authCalloutSubject } from "../server/src/plane/auth-callout.js";
import type { BenchDeployment } from "./bench-deployment.js";
import { runConnects } from "./connect-clients.js";

/**
 * Before anything is measured: a connect without credentials must be admitted
 * without a callout request (the anonymous user), and a participant's connect
 * must cause exactly one. Otherwise the two kinds would not measure what they claim to.
 */
export async function checkCalloutRouting(deployment: BenchDeployment): Promise<void> {
  let requests = 0;
  const watcher = deployment.nc.subscribe(authCalloutSubject, { callback: () => void requests++ });
  await deployment.nc.flush();
  const once = async (authorized: boolean) => {
    const before = requests;
    const participants = authorized ? deployment.participants.slice(0, 1) : undefined;
    const report = await runConnects({
      wsUrl: deployment.nats.wsUrl,
      participants,
      inFlight: 1,
      seconds: 10,
      count: 1,
    });
    if (report.failures > 0)
      throw new Error(`${authorized ? "authorized" : "plain"} connect failed: ${report.firstError}`);
    await deployment.nc.flush();
    return requests - before;
  };
  const [plain, authorized] = [await once(false), await once(true)];
  watcher.unsubscribe();
  if (plain !== 0 || authorized !== 1)
    throw new Error(
      `callout requests: ${plain} for a plain connect, ${authorized} for an authorized one; expected 0 and 1`,
    );
}
