/**
 * Private: the small helpers several files in `protocols/` need, in one
 * place. Not exported from `mod.ts`.
 *
 * @module
 */

import type { IAddress, IDelayedCall } from "../reactor/interfaces.ts";

/** The one UTF-8 encoder of `protocols/`. */
export const utf8Encoder: TextEncoder = new TextEncoder();
const encoder = utf8Encoder;

/** The bytes of `data`: a string is UTF-8 encoded, an array returned as is. */
export function bytesOf(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

/** The UTF-8 encoding of `text`. */
export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Cancels `call` if it is still pending (a call that ran or was cancelled is left alone). */
export function cancelCall(call: IDelayedCall | undefined): void {
  if (call?.active()) call.cancel();
}

/** The name to log `thing` under: its `logPrefix()`, else its class name. */
export function prefixOf(thing: unknown): string {
  const own = (thing as { logPrefix?: () => string } | null)?.logPrefix;
  if (typeof own === "function") return own.call(thing);
  return (thing as object | null)?.constructor?.name ?? String(thing);
}

/** The host part of `addr` (the socket path for UNIX addresses). */
export function hostOf(addr: IAddress): string {
  return addr.type === "UNIX" ? addr.name : addr.host;
}

/** The error a hook throws when a subclass did not override it. */
export function notImplemented(proto: object, method: string): Error {
  return new Error(
    `${proto.constructor.name}.${method} is not implemented: override it in your subclass`,
  );
}

/** The error `buildProtocol` throws when the factory has no protocol class. */
export function noProtocolClass(factoryName: string): TypeError {
  return new TypeError(
    `Cannot build a protocol: ${factoryName}.protocol is not set`,
  );
}
