// The box layer, after Twisted's test_amp.py (AmpBoxTests,
// ParsingTests, BinaryProtocolTests): wire bytes, limits, every chunk
// size, and malformed streams dropping the connection with their reason.
import assert from "node:assert/strict";
import {
  AmpBox,
  BinaryBoxProtocol,
  type IBoxReceiver,
  MalformedAmpBox,
  NoEmptyBoxes,
  parseString,
  TooLong,
} from "@twisted-deno/core/amp";
import type { Failure } from "@twisted-deno/core/deferred";
import { captureLogs, StringTransport } from "@twisted-deno/core/testing";

const enc = (s: string) => new TextEncoder().encode(s);

class Recorder implements IBoxReceiver {
  boxes: AmpBox[] = [];
  started = 0;
  stopped: Failure[] = [];
  startReceivingBoxes(): void {
    this.started++;
  }
  ampBoxReceived(box: AmpBox): void {
    this.boxes.push(box);
  }
  stopReceivingBoxes(reason: Failure): void {
    this.stopped.push(reason);
  }
}

function connected(): [BinaryBoxProtocol, Recorder, StringTransport] {
  const r = new Recorder();
  const p = new BinaryBoxProtocol(r);
  const t = new StringTransport();
  p.makeConnection(t);
  return [p, r, t];
}

Deno.test("AmpBox.serialize() writes sorted keys with 16-bit lengths and a zero end", () => {
  const wire = new AmpBox({ b: "bb", a: "", "_ask": "1" }).serialize();
  assert.deepEqual(
    [...wire],
    [
      0,
      4,
      ...enc("_ask"),
      0,
      1,
      ...enc("1"),
      0,
      1,
      ...enc("a"),
      0,
      0,
      0,
      1,
      ...enc("b"),
      0,
      2,
      ...enc("bb"),
      0,
      0,
    ],
  );
});

Deno.test("AmpBox.serialize() takes a 255-byte key and a 65 535-byte value", () => {
  const key = "k".repeat(255);
  const box = new AmpBox({ [key]: new Uint8Array(65_535).fill(7) });
  const back = parseString(box.serialize());
  assert.equal(back[0].get(key)!.length, 65_535);
  assert.equal(back[0].get(key)![65_534], 7);
});

Deno.test("AmpBox.serialize() refuses a 256-byte key and a 65 536-byte value with TooLong", () => {
  const key = new AmpBox({ ["k".repeat(256)]: "v" });
  assert.throws(() => key.serialize(), TooLong);
  const value = new AmpBox({ big: new Uint8Array(65_536) });
  assert.throws(() => value.serialize(), (e: unknown) => {
    assert.ok(e instanceof TooLong);
    assert.equal(e.isKey, false);
    assert.equal(e.isLocal, true);
    assert.equal(e.keyName, "big");
    assert.match(e.message, /value of key "big" is 65536 bytes/);
    return true;
  });
});

Deno.test("BinaryBoxProtocol refuses to send an over-long value and writes nothing", () => {
  const [p, , t] = connected();
  assert.throws(
    () => p.sendBox(new AmpBox({ v: new Uint8Array(70_000) })),
    TooLong,
  );
  assert.equal(t.value().length, 0);
});

Deno.test("BinaryBoxProtocol reads the same boxes at every chunk size", () => {
  const wire = new Uint8Array([
    ...new AmpBox({ hello: "world", empty: "" }).serialize(),
    ...new AmpBox({ k: new Uint8Array(300).fill(1) }).serialize(),
    ...new AmpBox({ last: "one" }).serialize(),
  ]);
  for (let size = 1; size <= wire.length; size++) {
    const [p, r] = connected();
    for (let i = 0; i < wire.length; i += size) {
      p.dataReceived(wire.slice(i, i + size));
    }
    assert.equal(r.boxes.length, 3, `chunk size ${size}`);
    assert.equal(r.boxes[0].getText("hello"), "world", `chunk size ${size}`);
    assert.equal(r.boxes[0].getText("empty"), "", `chunk size ${size}`);
    assert.deepEqual(
      r.boxes[1].get("k"),
      new Uint8Array(300).fill(1),
      `chunk size ${size}`,
    );
    assert.equal(r.boxes[2].getText("last"), "one", `chunk size ${size}`);
  }
});

Deno.test("BinaryBoxProtocol calls startReceivingBoxes before connectionMade", () => {
  const order: string[] = [];
  class P extends BinaryBoxProtocol {
    override connectionMade(): void {
      order.push("connectionMade");
    }
  }
  const p = new P({
    startReceivingBoxes: () => order.push("start"),
    ampBoxReceived() {},
    stopReceivingBoxes() {},
  });
  p.makeConnection(new StringTransport());
  assert.deepEqual(order, ["start", "connectionMade"]);
});

Deno.test("BinaryBoxProtocol drops the connection on a key length over 255, reporting TooLong", () => {
  using logs = captureLogs();
  const [p, r, t] = connected();
  p.dataReceived(new Uint8Array([0, 1, 97, 0, 0, 1, 0]));
  assert.equal(t.disconnecting, true);
  p.dataReceived(new AmpBox({ after: "x" }).serialize()); // ignored now
  assert.equal(r.boxes.length, 0);
  p.connectionLost({ value: new Error("closed") } as Failure);
  const reason = r.stopped[0].value;
  assert.ok(reason instanceof TooLong);
  assert.equal(reason.isKey, true);
  assert.equal(reason.isLocal, false);
  assert.equal(reason.length, 256);
  assert.match(
    logs.messages.join("\n"),
    /Dropping AMP connection: .*key of 256 bytes/,
  );
});

Deno.test("BinaryBoxProtocol drops the connection on an empty box with NoEmptyBoxes", () => {
  using logs = captureLogs();
  const [p, r, t] = connected();
  p.dataReceived(new Uint8Array([0, 0]));
  assert.equal(t.disconnecting, true);
  p.connectionLost({ value: new Error("closed") } as Failure);
  assert.ok(r.stopped[0].value instanceof NoEmptyBoxes);
  assert.match(logs.messages.join("\n"), /Dropping AMP connection/);
});

Deno.test("BinaryBoxProtocol drops the connection with the error a receiver throws", () => {
  using logs = captureLogs();
  const p = new BinaryBoxProtocol({
    startReceivingBoxes() {},
    ampBoxReceived() {
      throw new MalformedAmpBox("refused");
    },
    stopReceivingBoxes(reason) {
      stopped = reason.value;
    },
  });
  let stopped: unknown;
  const t = new StringTransport();
  p.makeConnection(t);
  p.dataReceived(
    new Uint8Array([
      ...new AmpBox({ a: "1" }).serialize(),
      ...new AmpBox({ b: "2" }).serialize(),
    ]),
  );
  assert.equal(t.disconnecting, true);
  p.connectionLost({ value: new Error("closed") } as Failure);
  assert.match((stopped as Error).message, /refused/);
  assert.deepEqual(logs.messages, [
    "Dropping AMP connection: Cannot handle AMP box: refused",
  ]);
});

Deno.test("BinaryBoxProtocol parses a 1 MiB stream of boxes fed a byte at a time", () => {
  // Linear parsing: 16 boxes of 64 KiB each, one byte per dataReceived.
  const one = new AmpBox({ v: new Uint8Array(65_535).fill(3) }).serialize();
  const [p, r] = connected();
  for (let box = 0; box < 16; box++) {
    for (let i = 0; i < one.length; i++) p.dataReceived(one.subarray(i, i + 1));
  }
  assert.equal(r.boxes.length, 16);
  assert.equal(r.boxes[15].get("v")![65_534], 3);
});

Deno.test("parseString() refuses data cut short", () => {
  const wire = new AmpBox({ a: "1" }).serialize();
  assert.throws(
    () => parseString(wire.subarray(0, wire.length - 1)),
    MalformedAmpBox,
  );
  assert.throws(() => parseString(wire.subarray(0, 5)), MalformedAmpBox);
});

Deno.test("BinaryBoxProtocol keeps apart keys that differ only inside, and non-ASCII keys", () => {
  const [p, r] = connected();
  for (let round = 0; round < 3; round++) {
    p.dataReceived(
      new AmpBox({ axb: "1", ayb: "2", "\u00e9t\u00e9": "3", "\u00e9": "4" })
        .serialize(),
    );
  }
  assert.equal(r.boxes.length, 3);
  for (const box of r.boxes) {
    assert.deepEqual(
      [...box.keys()].sort(),
      ["axb", "ayb", "\u00e9", "\u00e9t\u00e9"],
    );
    assert.deepEqual(
      ["axb", "ayb", "\u00e9t\u00e9", "\u00e9"].map((k) => box.getText(k)),
      ["1", "2", "3", "4"],
    );
  }
});
