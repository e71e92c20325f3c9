/**
 * Private: {@linkcode LineReceiver} with `TimeoutMixin`'s countdown, the
 * base of `FingerProtocol`. It is a named, explicitly typed value because
 * JSR's fast type check cannot type a mixin call written as a superclass.
 *
 * @module
 */

import type { IProtocolFactory } from "../reactor/interfaces.ts";
import { LineReceiver } from "./lines.ts";
import { TimeoutMixin, type TimeoutMixinMembers } from "./policies/timeouts.ts";

const Timed: new <F extends IProtocolFactory>() =>
  & LineReceiver<F>
  & TimeoutMixinMembers = TimeoutMixin(LineReceiver);

/**
 * A line receiver with `setTimeout`, `resetTimeout` and
 * `timeoutConnection`, for a factory of type `F`.
 *
 * @internal
 */
export class TimedLineReceiver<F extends IProtocolFactory> extends Timed<F> {}
