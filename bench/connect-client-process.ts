// Child process of bench/connect-load.ts: runs each job it is sent and sends the report back.
import { type ConnectJob, runConnects } from "./connect-clients.js";

process.on("message", (job: ConnectJob) => {
  runConnects(job).then(
    (report) => process.send!({ report }),
    (error: unknown) => process.send!({ error: String(error) }),
  );
});
