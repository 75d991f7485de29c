import { type NatsConnection, NoRespondersError, RequestError } from "@nats-io/nats-core";

/** Which nats-servers of the deployment have gone, with every connection they held. */
export interface ServerLiveness {
  /**
   * The servers among `serverIds` that no longer answer. A server killed
   * outright sends no DISCONNECT for its clients, so the seats they held would
   * look connected for ever; a server that has gone has no responders left in
   * the cluster and is reported at once. A server that answers late or not at
   * all for another reason is taken to be there: a seat is never freed on a
   * guess.
   */
  goneServers(serverIds: Iterable<string>): Promise<Set<string>>;
}

/** Options for createServerLiveness. */
export interface ServerLivenessOptions {
  /** A connection as the system user: server requests live in $SYS. */
  systemConnection: NatsConnection;
  /** How long to wait for a server's answer before taking it to be there. Default 1 000 ms. */
  timeoutMs?: number;
}

/** Asks each server for its identity (`$SYS.REQ.SERVER.<id>.IDZ`), the lightest request it answers. */
export function createServerLiveness(options: ServerLivenessOptions): ServerLiveness {
  const timeout = options.timeoutMs ?? 1_000;
  const isGone = async (serverId: string): Promise<boolean> => {
    try {
      await options.systemConnection.request(`$SYS.REQ.SERVER.${serverId}.IDZ`, "", { timeout });
      return false;
    } catch (err) {
      return err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders());
    }
  };
  return {
    async goneServers(serverIds) {
      const unique = [...new Set(serverIds)];
      const gone = await Promise.all(unique.map(isGone));
      return new Set(unique.filter((_, i) => gone[i]));
    },
  };
}
