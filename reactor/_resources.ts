/**
 * Closing the resources a reactor tracks (its ports and connections) at
 * shutdown: every one is shut down and waited for; one that fails is
 * logged and does not stop the others. Private to the reactor (not
 * exported from mod.ts).
 *
 * @module
 */

import { Failure } from "../deferred/failure.ts";
import type { Logger } from "../log/mod.ts";
import type { ReactorResource } from "./interfaces.ts";

/**
 * Shuts every resource of `resources` down, waiting for all, and empties
 * the set; never rejects.
 */
export async function closeResources(
  resources: Set<ReactorResource>,
  log: Logger,
): Promise<void> {
  const closed = new Set<ReactorResource>();
  // Closing one resource may track another (a connection accepted just
  // now): go round until no new one appears.
  for (;;) {
    const batch = [...resources].filter((r) => !closed.has(r));
    resources.clear();
    if (batch.length === 0) return;
    for (const resource of batch) closed.add(resource);
    await Promise.all(batch.map((resource) => close(resource, log)));
  }
}

async function close(resource: ReactorResource, log: Logger): Promise<void> {
  try {
    await resource.shutdown();
  } catch (error) {
    const failure = new Failure(error);
    const fields = { resource: String(resource) };
    log.failure("Error closing {resource}", failure, "error", fields);
  }
}
