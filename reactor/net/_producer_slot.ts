/**
 * The producer registered on a stream connection, without the socket:
 * when to pause a streaming producer and when to ask for more.
 * {@linkcode ProducerSlot} is private to `stream.ts`.
 *
 * @module
 */

import type { IProducer, IPushProducer } from "../interfaces.ts";
import { nameOf } from "./_names.ts";

/**
 * Bytes queued beyond which a streaming producer is paused (Twisted's
 * `bufferSize`, 64 KiB).
 */
export const BUFFER_SIZE = 64 * 1024;

/**
 * At most one producer: a push (`streaming`) producer is paused when more
 * than {@linkcode BUFFER_SIZE} bytes are queued and resumed once the queue
 * has drained; a pull producer is asked for more each time it drains.
 * The slot only decides; its owner makes the calls (and reports errors).
 */
export class ProducerSlot {
  #producer: IProducer | undefined = undefined;
  #streaming = false;
  #paused = false;

  /** The registered producer, if any. */
  get producer(): IProducer | undefined {
    return this.#producer;
  }

  /**
   * Registers `producer`.
   *
   * @param producer A push or pull producer.
   * @param streaming Whether it is a push producer.
   * @throws {Error} When a producer is already registered.
   */
  register(producer: IProducer, streaming: boolean): void {
    if (this.#producer !== undefined) {
      throw new Error(
        `Cannot register producer ${nameOf(producer)}: producer ${
          nameOf(this.#producer)
        } was never unregistered`,
      );
    }
    this.#producer = producer;
    this.#streaming = streaming;
    this.#paused = false;
  }

  /**
   * The producer to pause now that `queued` bytes wait, if any (a running
   * push producer past {@linkcode BUFFER_SIZE}); it counts as paused.
   *
   * @param queued Bytes queued.
   */
  toPause(queued: number): IPushProducer | undefined {
    if (
      queued <= BUFFER_SIZE || !this.#streaming || this.#paused ||
      this.#producer === undefined
    ) {
      return undefined;
    }
    this.#paused = true;
    return this.#producer as IPushProducer;
  }

  /**
   * The producer to resume now that the queue has drained, if any (a pull
   * producer, or a paused push producer); it counts as running.
   */
  toResume(): IProducer | undefined {
    const producer = this.#producer;
    if (producer === undefined || (this.#streaming && !this.#paused)) {
      return undefined;
    }
    this.#paused = false;
    return producer;
  }

  /**
   * Empties the slot.
   *
   * @returns The producer that was registered.
   */
  clear(): IProducer | undefined {
    const producer = this.#producer;
    this.#producer = undefined;
    this.#paused = false;
    return producer;
  }
}
