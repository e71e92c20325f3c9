/**
 * A shared helper of the application services: how an endpoint or other
 * object is named in log lines.
 *
 * @module
 */

/** A name for an endpoint in log lines: its own toString, or its class. */
export function describe(value: object): string {
  if (value.toString !== Object.prototype.toString) return String(value);
  return value.constructor?.name ?? "endpoint";
}
