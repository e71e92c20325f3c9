/**
 * Services that start and stop as a unit, the Application root, internet services.
 *
 * @example A service tree starts in order and stops in reverse
 * ```ts
 * import assert from "node:assert/strict";
 * import { Application, MultiService, Service } from "@twisted-deno/core/application";
 *
 * const events: string[] = [];
 * class Named extends Service {
 *   override startService(): void {
 *     super.startService();
 *     events.push(`start ${this.name}`);
 *   }
 *   override stopService(): void {
 *     super.stopService();
 *     events.push(`stop ${this.name}`);
 *   }
 * }
 * const application = new Application("demo");
 * const group = new MultiService();
 * group.setServiceParent(application);
 * for (const name of ["db", "web"]) {
 *   const service = new Named();
 *   service.setName(name);
 *   service.setServiceParent(group);
 * }
 * application.startService();
 * await application.stopService();
 * assert.deepEqual(events, ["start db", "start web", "stop web", "stop db"]);
 * ```
 *
 * @module
 */
export * from "./client_service.ts";
export * from "./http.ts";
export * from "./internet.ts";
export * from "./service.ts";
