/**
 * Private: the base of every framer in `basic.ts` (lines, netstrings,
 * length prefixes). It owns what they all share, so each receiver keeps
 * only its own parsing:
 *
 * - one {@linkcode ByteBuffer} of the bytes not parsed yet;
 * - the delivery loop and its re-entrancy guard: data that arrives from
 *   inside a callback (a `setLineMode(extra)`, a `resumeProducing()`, a
 *   nested `dataReceived`) is only buffered, and the loop already running
 *   delivers it, so the stack never grows with the number of messages;
 * - when delivery stops: while paused, once the transport is
 *   disconnecting (Twisted's framers check it per message, so that the
 *   messages after one that closed the connection are ignored), and for
 *   good once the input was found broken;
 * - Twisted's `_PauseableMixin` trio: `pauseProducing`, `resumeProducing`
 *   (which delivers what was buffered meanwhile) and `stopProducing`.
 *
 * A receiver implements `[parseFrame](buffer)`: take at most one message
 * off the front of the buffer and deliver it, or say that more bytes are
 * needed.
 *
 * @module
 */

import type { IProtocolFactory, IPushProducer } from "../reactor/interfaces.ts";
import { ByteBuffer } from "./_byte_buffer.ts";
import { transportOf } from "./_transport.ts";
import { type Factory, Protocol } from "./protocol.ts";

const NOTHING = new Uint8Array(0);

/**
 * The receivers' parsing hook: takes one message off the front of
 * `buffer` and delivers it (or hands a too-long one to its hook).
 *
 * @returns false when the buffer holds no complete message yet.
 * @internal
 */
export const parseFrame: unique symbol = Symbol("parseFrame");

/**
 * The base of the framers: buffering, the delivery loop and pausing.
 *
 * @internal
 */
export abstract class Framer<F extends IProtocolFactory = Factory>
  extends Protocol<F>
  implements IPushProducer {
  /** True while paused by `pauseProducing()` or stopped: nothing is delivered. */
  paused = false;

  #buffer = new ByteBuffer();
  #busy = false;
  #ignoring = false;

  /** @internal */
  protected abstract [parseFrame](buffer: ByteBuffer): boolean;

  /**
   * Buffers `data` and delivers every complete message in it. Called from
   * inside a callback of this protocol, it only buffers: the running loop
   * delivers.
   */
  override dataReceived(data: Uint8Array): void {
    if (this.#ignoring) return;
    const buffer = this.#buffer;
    buffer.append(data);
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (
        buffer.length > 0 && !this.paused && !this.#ignoring &&
        !transportOf(this)?.disconnecting
      ) {
        if (!this[parseFrame](buffer)) break;
      }
    } finally {
      this.#busy = false;
    }
  }

  /**
   * The input cannot be framed any more: drops what is buffered and
   * ignores everything received from now on.
   *
   * @internal
   */
  protected ignoreInput(): void {
    this.#ignoring = true;
    this.#buffer.clear();
  }

  /**
   * Empties the buffer.
   *
   * @returns What was buffered.
   * @internal
   */
  protected takeBuffered(): Uint8Array {
    return this.#buffer.takeAll();
  }

  /** Stops delivery, and asks the transport to stop reading. */
  pauseProducing(): void {
    this.paused = true;
    transportOf(this)?.pauseProducing();
  }

  /** Resumes reading and delivers what was buffered meanwhile. */
  resumeProducing(): void {
    this.paused = false;
    transportOf(this)?.resumeProducing();
    this.dataReceived(NOTHING);
  }

  /** Stops delivery for good, and tells the transport to stop. */
  stopProducing(): void {
    this.paused = true;
    transportOf(this)?.stopProducing();
  }
}
