/**
 * Private: the transport of a protocol, or undefined before it is
 * connected, without the "not connected" error that reading
 * `Protocol.transport` throws then. The framers, wrappers and mixins need
 * it to act as Twisted's do when `transport` is still None.
 *
 * `protocol.ts` installs the reader for its own instances (their
 * transport lives in a private field); any other object is read through
 * its `transport` property.
 *
 * @module
 */

import type { ITransport } from "../reactor/interfaces.ts";

type Reader = (proto: object) => ITransport | undefined;

function property(proto: object): ITransport | undefined {
  return (proto as { transport?: ITransport }).transport;
}

let reader: Reader = property;

/**
 * The transport of `proto`, or undefined while it is not connected.
 *
 * @param proto A protocol (a `Protocol` or any object with `transport`).
 * @returns Its transport, or undefined.
 */
export function transportOf(proto: object): ITransport | undefined {
  return reader(proto);
}

/**
 * Installs the reader for `Protocol` instances; called once, by
 * `protocol.ts`. `own` returns `null` for objects that are not protocols,
 * which are then read through their property.
 */
export function installTransportReader(
  own: (proto: object) => ITransport | undefined | null,
): void {
  reader = (proto) => {
    const found = own(proto);
    return found === null ? property(proto) : found;
  };
}
