/**
 * Resource-limiting policies, applied around a protocol without changing
 * it, as Twisted's `twisted.protocols.policies`. This is the module to
 * import; each concept lives in its own file.
 *
 * A {@linkcode WrappingFactory} wraps another factory: each protocol it
 * builds is wrapped in a {@linkcode ProtocolWrapper}, which is both the
 * real transport's protocol and the wrapped protocol's transport, so it
 * sees every byte in and out (`wrapper.ts`). The policies are wrappers:
 *
 * - {@linkcode ThrottlingFactory}: at most N connections; read and write
 *   byte rates per second (`throttling.ts`).
 * - {@linkcode LimitConnectionsByPeer}: at most N connections per peer
 *   host; {@linkcode LimitTotalConnectionsFactory}: at most N connections,
 *   with an optional protocol that answers the ones over the limit
 *   (`limits.ts`).
 * - {@linkcode TimeoutFactory} and {@linkcode TimeoutMixin}: drop a
 *   connection idle for too long (`timeouts.ts`).
 *
 * Everything timed takes an `IReactorTime` (`clock`), the global reactor
 * by default, so tests drive it with a `Clock`.
 *
 * @module
 */

export {
  type IWrappingFactory,
  ProtocolWrapper,
  WrappingFactory,
} from "./wrapper.ts";
export {
  ThrottlingFactory,
  type ThrottlingOptions,
  ThrottlingProtocol,
} from "./throttling.ts";
export {
  LimitConnectionsByPeer,
  LimitTotalConnectionsFactory,
} from "./limits.ts";
export * from "./timeouts.ts";
