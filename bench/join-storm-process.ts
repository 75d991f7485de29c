// Child process of bench/join-storm.ts: runs each storm (or the leave) it is sent and sends the report back.
import { type JoinStormRequest, leaveAll, runJoinStorm } from "./join-storm-clients.js";

process.on("message", (request: JoinStormRequest) => {
  const work = "job" in request ? runJoinStorm(request.job) : leaveAll().then(() => undefined);
  work.then(
    (report) => process.send!({ report }),
    (error: unknown) => process.send!({ error: String(error) }),
  );
});
