/**
 * Private: the transport of a protocol, or undefined before it is
 * connected. `Protocol.transport` is typed as always present (protocol code
 * uses it once connected) but reads as undefined before `makeConnection`,
 * as Twisted's is None; the framers, wrappers and mixins use this to say
 * so in their types where they must cope with an unconnected protocol.
 *
 * @module
 */

import type { ITransport } from "../reactor/interfaces.ts";

/**
 * The transport of `proto`, or undefined while it is not connected.
 *
 * @param proto A protocol (a `Protocol` or any object with `transport`).
 * @returns Its transport, or undefined.
 */
export function transportOf(proto: object): ITransport | undefined {
  return (proto as { transport?: ITransport }).transport;
}
