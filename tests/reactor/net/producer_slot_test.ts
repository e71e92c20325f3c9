// The producer slot (reactor/net/_producer_slot.ts), without sockets: when a
// push producer is paused and resumed, when a pull producer is asked.

import assert from "node:assert/strict";
import {
  BUFFER_SIZE,
  ProducerSlot,
} from "../../../reactor/net/_producer_slot.ts";
import type { IPushProducer } from "../../../reactor/interfaces.ts";

const producer = (name: string): IPushProducer => ({
  pauseProducing() {},
  resumeProducing() {},
  stopProducing() {},
  logPrefix: () => name,
} as IPushProducer);

Deno.test("ProducerSlot pauses a push producer once past 64 KiB, once, and resumes it on drain", () => {
  const slot = new ProducerSlot();
  const p = producer("p");
  slot.register(p, true);
  assert.equal(
    slot.toResume(),
    undefined,
    "a running push producer is not resumed",
  );
  assert.equal(slot.toPause(BUFFER_SIZE), undefined, "at 64 KiB: not yet");
  assert.equal(slot.toPause(BUFFER_SIZE + 1), p);
  assert.equal(slot.toPause(BUFFER_SIZE + 2), undefined, "already paused");
  assert.equal(slot.toResume(), p);
  assert.equal(slot.toResume(), undefined, "running again");
});

Deno.test("ProducerSlot asks a pull producer at every drain and never pauses it", () => {
  const slot = new ProducerSlot();
  const p = producer("pull");
  slot.register(p, false);
  assert.equal(slot.toPause(10 * BUFFER_SIZE), undefined);
  assert.equal(slot.toResume(), p);
  assert.equal(slot.toResume(), p);
});

Deno.test("ProducerSlot refuses a second producer, naming both; clear empties it", () => {
  const slot = new ProducerSlot();
  const first = producer("first");
  slot.register(first, true);
  assert.throws(
    () => slot.register(producer("second"), false),
    (e: Error) =>
      e.message ===
        "Cannot register producer second: producer first was never unregistered",
  );
  assert.equal(slot.producer, first);
  assert.equal(slot.clear(), first);
  assert.equal(slot.producer, undefined);
  assert.equal(slot.toResume(), undefined);
  assert.equal(slot.clear(), undefined);
  slot.register(producer("third"), true); // free again
});
