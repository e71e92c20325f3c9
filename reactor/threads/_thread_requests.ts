/**
 * The reactor's side of a thread-pool worker's calls back into it: runs
 * a `callFromThread` request (failures are logged) and a
 * `blockingCallFromThread` request (the result, Deferred or not, is posted
 * back and the waiting worker woken). Used by the pool's message handler
 * and by `callFromThread` on the reactor's own thread. Private to the
 * reactor (not exported from mod.ts).
 *
 * @module
 */

import { Deferred } from "../../deferred/deferred.ts";
import { Failure } from "../../deferred/failure.ts";
import { Logger } from "../../log/mod.ts";
import {
  type BlockMessage,
  type CallMessage,
  describeError,
  loadExport,
  type ReplyMessage,
} from "./_thread_wire.ts";
import { isThenable } from "../../deferred/_thenable.ts";

const log = new Logger("threads");

/** Runs a worker's `callFromThread` request; failures are logged. */
export function runFromThread(message: CallMessage): void {
  loadExport(message.url, message.name).then(
    (fn) => fn(...message.args),
  ).catch((error) => {
    log.failure(
      "Error in callFromThread call {call}",
      new Failure(error),
      "error",
      {
        call: `${message.name} of ${message.url}`,
      },
    );
  });
}

/** Runs a worker's `blockingCallFromThread` request and wakes the worker. */
export function answerBlockingCall(message: BlockMessage): void {
  const reply = (answer: ReplyMessage): void => {
    try {
      message.port.postMessage(answer);
    } catch (error) {
      message.port.postMessage(
        {
          ok: false,
          error: describeError(
            new TypeError(
              `Cannot send the result of ${message.name} to the thread: ${
                error instanceof Error ? error.message : String(error)
              }`,
            ),
          ),
        } satisfies ReplyMessage,
      );
    }
    message.port.close();
    const state = new Int32Array(message.flag);
    Atomics.store(state, 0, 1);
    Atomics.notify(state, 0);
  };
  loadExport(message.url, message.name).then((fn) => {
    const d = new Deferred<unknown>();
    try {
      const value = fn(...message.args);
      if (value instanceof Deferred) value.chainDeferred(d);
      else if (isThenable(value)) Deferred.fromPromise(value).chainDeferred(d);
      else d.callback(value);
    } catch (error) {
      d.errback(error);
    }
    d.addCallbacks(
      (value) => reply({ ok: true, value }),
      (failure) => reply({ ok: false, error: describeError(failure.value) }),
    );
  }).catch((error) => reply({ ok: false, error: describeError(error) }));
}
