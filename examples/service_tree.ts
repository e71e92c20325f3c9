/**
 * A service tree for the runner (`twistd`): an `Application` holding a
 * `MultiService` of servers (TCP echo and UDP echo) and a `TimerService`,
 * plus a small custom `Service` that logs its start and stop. The runner
 * starts the tree in order once the reactor runs and, on SIGINT or
 * SIGTERM, stops it in reverse order, waiting for each Deferred a
 * `stopService()` returns, before the process exits.
 *
 * ```sh
 * deno task twistd examples/service_tree.ts           # ports 7007 (TCP and UDP)
 * deno task twistd examples/service_tree.ts --port 0  # any free ports
 * ```
 *
 * @module
 */

import {
  Application,
  MultiService,
  Service,
  type ServiceMakerOptions,
  TCPServer,
  TimerService,
  UDPServer,
} from "@twisted-deno/core/application";
import { deferLater, reactor } from "@twisted-deno/core/reactor";
import type { Deferred } from "@twisted-deno/core/deferred";
import { Logger } from "@twisted-deno/core/log";
import { IdleEchoFactory } from "./echo_server.ts";
import { UDPEcho } from "./udp_echo.ts";

const log = new Logger("service_tree");

/** Logs its start and stop; its stop takes a moment, as a flush would. */
export class Announcer extends Service {
  override startService(): void {
    super.startService();
    log.info("announcer: started");
  }

  override stopService(): Deferred<void> {
    super.stopService();
    log.info("announcer: stopping");
    return deferLater(reactor, 0.05, () => log.info("announcer: stopped"));
  }
}

/**
 * Builds the tree; `--port N` chooses both ports (0: any free ones).
 *
 * @throws {TypeError} On a bad `--port`.
 */
export function makeService(options: ServiceMakerOptions): Application {
  let port = 7007;
  const [flag, value] = options.args;
  if (flag !== undefined) {
    if (
      flag !== "--port" || !/^\d+$/.test(value ?? "") || Number(value) > 65535
    ) {
      throw new TypeError(
        `--port must be a number from 0 to 65535, got ${
          JSON.stringify(options.args.join(" "))
        }`,
      );
    }
    port = Number(value);
  }
  const application = new Application("service_tree");
  new Announcer().setServiceParent(application);

  const servers = new MultiService();
  servers.setName("servers");
  servers.setServiceParent(application);
  // The echo server of echo_server.ts: it drops a peer silent for 300 s.
  new TCPServer(port, new IdleEchoFactory(300), { interface: "127.0.0.1" })
    .setServiceParent(servers);
  new UDPServer(port, new UDPEcho(), { interface: "127.0.0.1" })
    .setServiceParent(servers);

  let ticks = 0;
  new TimerService(60, () => log.info("timer: tick {n}", { n: ++ticks }))
    .setServiceParent(application);
  return application;
}
