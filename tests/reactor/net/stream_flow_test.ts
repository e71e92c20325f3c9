// Flow control of the stream transport (reactor/net/stream.ts) over TCP on
// loopback: pausing reads, push and pull producers, and protocols that lend
// their own read buffer (IBufferedProtocol). The rest is in stream_test.ts.

import assert from "node:assert/strict";
import { Echo } from "../../../protocols/wire.ts";
import { ConnectionDone } from "../../../reactor/errors.ts";
import type {
  IBufferedProtocol,
  IPullProducer,
  IPushProducer,
} from "../../../reactor/interfaces.ts";
import type { StreamTransport } from "../../../reactor/net/stream.ts";
import { captureLogs } from "../../../testing/logs.ts";
import {
  decode,
  encode,
  readAll,
  readExactly,
  within,
} from "../../_helpers.ts";
import {
  EchoRecorder,
  listenEcho,
  lostOf,
  pattern,
  Recorder,
  sameBytes,
  WAIT,
} from "./_stream_helpers.ts";
import {
  INITIAL_READ,
  MAX_READ,
  MIN_READ,
} from "../../../reactor/net/_read_buffer.ts";

Deno.test("pauseProducing stops delivery until resumeProducing", async () => {
  using _logs = captureLogs();
  class Pausing extends EchoRecorder {
    override connectionMade(): void {
      super.connectionMade();
      if (factory.built.length === 1) this.transport!.pauseProducing();
    }
  }
  const { factory, port, portNumber } = listenEcho(() => new Pausing());
  const paused = await Deno.connect({
    hostname: "127.0.0.1",
    port: portNumber,
  });
  try {
    const server = await within(WAIT, "the paused protocol", factory.nth(0));
    await paused.write(encode("held back"));
    // Several full round trips on another connection to the same process:
    // had reading not stopped, the bytes above would have arrived by now.
    const other = await Deno.connect({
      hostname: "127.0.0.1",
      port: portNumber,
    });
    for (let i = 0; i < 5; i++) {
      await other.write(encode("x"));
      await within(
        WAIT,
        "an echo on the other connection",
        readExactly(other, 1),
      );
    }
    other.close();
    assert.equal(server.received, 0, "nothing delivered while paused");
    server.transport!.resumeProducing();
    await within(WAIT, "the held bytes", server.bytes(9));
    assert.equal(decode(server.data()), "held back");
    assert.equal(
      decode(await within(WAIT, "the echo", readExactly(paused, 9))),
      "held back",
    );
  } finally {
    paused.close();
    await lostOf(factory, 0);
    await lostOf(factory, 1, "the other connectionLost");
    await port.stopListening();
  }
});

Deno.test("a streaming producer is paused past 64 KiB and resumed on drain, under a slow reader", async () => {
  using _logs = captureLogs();
  const total = 24 * 1024 * 1024;
  const chunk = pattern(16 * 1024, 11);
  const firstPause = Promise.withResolvers<void>();
  let maxBuffered = 0;
  class Streamer extends Recorder implements IPushProducer {
    sent = 0;
    pauses = 0;
    resumes = 0;
    paused = false;
    override connectionMade(): void {
      super.connectionMade();
      this.transport!.registerProducer(this, true);
      this.pump();
    }
    pump(): void {
      const transport = this.transport as StreamTransport;
      while (!this.paused && this.sent < total) {
        transport.write(chunk);
        this.sent += chunk.length;
        maxBuffered = Math.max(maxBuffered, transport.bufferedAmount);
      }
      if (this.sent >= total && !this.paused) {
        transport.unregisterProducer();
        transport.loseConnection();
      }
    }
    pauseProducing(): void {
      assert.equal(this.paused, false, "paused twice in a row");
      this.paused = true;
      this.pauses++;
      firstPause.resolve();
    }
    resumeProducing(): void {
      assert.equal(this.paused, true, "resumed while not paused");
      this.paused = false;
      this.resumes++;
      this.pump();
    }
    stopProducing(): void {
      this.events.push("stopProducing");
    }
  }
  const { factory, port, portNumber } = listenEcho(() => new Streamer());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    const server = await within(WAIT, "the server protocol", factory.nth(0));
    await within(WAIT, "the first pause", firstPause.promise);
    // A slow reader: small reads, each its own turn of the loop.
    const got = new Uint8Array(total);
    let n = 0;
    const small = new Uint8Array(4096);
    await within(
      WAIT * 3,
      "24 MiB read slowly",
      (async () => {
        for (;;) {
          const r = await conn.read(small);
          if (r === null) break;
          got.set(small.subarray(0, r), n);
          n += r;
        }
      })(),
    );
    assert.equal(n, total);
    for (let off = 0; off < total; off += chunk.length) {
      sameBytes(got.subarray(off, off + chunk.length), chunk);
    }
    assert.ok(server.pauses >= 2, `paused ${server.pauses} times`);
    assert.equal(
      server.resumes,
      server.pauses,
      "every pause is paired with a resume",
    );
    assert.ok(
      maxBuffered <= 64 * 1024 + chunk.length,
      `the queue peaked at ${maxBuffered} bytes`,
    );
    const reason = await within(WAIT, "connectionLost", server.lost.promise);
    assert.ok(reason.check(ConnectionDone));
    assert.deepEqual(server.events, ["connectionMade", "connectionLost"]);
  } finally {
    conn.close();
    await port.stopListening();
  }
});

Deno.test("a pull producer is asked for one chunk per drain; loseConnection waits for unregisterProducer", async () => {
  using _logs = captureLogs();
  const chunks = 20;
  const chunk = pattern(100_000, 13);
  class Puller extends Recorder implements IPullProducer {
    calls = 0;
    override connectionMade(): void {
      super.connectionMade();
      this.transport!.registerProducer(this, false);
      assert.equal(
        this.calls,
        1,
        "registering a pull producer resumes it at once",
      );
      // Asked early: the close waits for the producer to unregister.
      this.transport!.loseConnection();
    }
    resumeProducing(): void {
      const transport = this.transport as StreamTransport;
      assert.equal(transport.bufferedAmount, 0, "asked only once drained");
      this.calls++;
      if (this.calls > chunks) {
        transport.unregisterProducer();
        return;
      }
      transport.write(chunk);
    }
    stopProducing(): void {
      this.events.push("stopProducing");
    }
  }
  const { factory, port, portNumber } = listenEcho(() => new Puller());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    const got = await within(WAIT, "everything until EOF", readAll(conn));
    assert.equal(got.length, chunks * chunk.length);
    for (let i = 0; i < chunks; i++) {
      sameBytes(got.subarray(i * chunk.length, (i + 1) * chunk.length), chunk);
    }
    const server = await factory.nth(0);
    await within(WAIT, "connectionLost", server.lost.promise);
    assert.equal(server.calls, chunks + 1);
    assert.deepEqual(server.events, ["connectionMade", "connectionLost"]);
  } finally {
    conn.close();
    await port.stopListening();
  }
});

Deno.test("a registered producer is stopped when the connection is lost, and a second one is refused", async () => {
  using _logs = captureLogs();
  const stopped = Promise.withResolvers<void>();
  const producer = {
    pauseProducing() {},
    resumeProducing() {},
    stopProducing() {
      stopped.resolve();
    },
  };
  class Holder extends Recorder {
    override connectionMade(): void {
      super.connectionMade();
      this.transport!.registerProducer(producer, true);
      assert.throws(
        () => this.transport!.registerProducer(producer, true),
        /was never unregistered/,
      );
    }
  }
  const { factory, port, portNumber } = listenEcho(() => new Holder());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    const server = await within(WAIT, "the server protocol", factory.nth(0));
    conn.close();
    await within(WAIT, "stopProducing", stopped.promise);
    await within(WAIT, "connectionLost", server.lost.promise);
    // Registering on a closed transport stops the producer at once.
    let stops = 0;
    server.transport!.registerProducer({
      resumeProducing() {},
      stopProducing: () => stops++,
    }, false);
    assert.equal(stops, 1);
  } finally {
    await port.stopListening();
  }
});

// ------------------------------------------------------------ lent buffers

/**
 * An IBufferedProtocol echo: lends one buffer of the hinted size, writes
 * back from it, and records every call so the test can check the contract.
 */
class LentEcho extends Recorder implements IBufferedProtocol {
  buf = new Uint8Array(0);
  hints: number[] = [];
  /** bufferedAmount seen at each getBuffer: 0 means the buffer was free. */
  queuedAtLend: number[] = [];
  dataCalls = 0;
  getBuffer(sizeHint: number): Uint8Array {
    this.hints.push(sizeHint);
    this.queuedAtLend.push(
      (this.transport as StreamTransport).bufferedAmount,
    );
    if (this.buf.length !== sizeHint) this.buf = new Uint8Array(sizeHint);
    return this.buf;
  }
  bufferUpdated(n: number): void {
    super.dataReceived(this.buf.slice(0, n)); // a copy, for the record
    this.transport!.write(this.buf.subarray(0, n));
  }
  override dataReceived(data: Uint8Array): void {
    this.dataCalls++;
    super.dataReceived(data);
  }
}

Deno.test("an IBufferedProtocol is read into its own buffer, lent again only once the echo from it has drained", async () => {
  using _logs = captureLogs();
  const { factory, port, portNumber } = listenEcho(() => new LentEcho());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    const data = pattern(4 * 1024 * 1024, 7);
    const reading = readExactly(conn, data.length);
    for (let offset = 0; offset < data.length; offset += 100_000) {
      await conn.write(data.subarray(offset, offset + 100_000));
    }
    sameBytes(await within(WAIT, "the echo", reading), data);
    const server = await factory.nth(0);
    assert.equal(server.dataCalls, 0, "dataReceived is not called");
    assert.equal(server.received, data.length);
    assert.deepEqual(
      server.queuedAtLend.filter((q) => q !== 0),
      [],
      "every getBuffer came with nothing left to write",
    );
    assert.equal(server.hints[0], INITIAL_READ, "the first hint");
    assert.equal(Math.max(...server.hints), MAX_READ, "hints grow to 64 KiB");
    // A small read after a large one shrinks the hint again.
    await conn.write(encode("ping"));
    assert.equal(
      decode(await within(WAIT, "a small echo", readExactly(conn, 4))),
      "ping",
    );
    await within(
      WAIT,
      "the next lend",
      waitFor(() => server.hints.length > 0 && server.hints.at(-1)! < 4096),
    );
    assert.equal(server.hints.at(-1), MIN_READ);
    conn.close();
    assert.ok((await server.lost.promise).check(ConnectionDone));
  } finally {
    await port.stopListening();
  }
});

Deno.test("an Echo subclass that overrides dataReceived gets every chunk as its own copy", async () => {
  class Counting extends Echo {
    kept: Uint8Array[] = [];
    lost = Promise.withResolvers<void>();
    override connectionLost(): void {
      this.lost.resolve();
    }
    override dataReceived(data: Uint8Array): void {
      this.kept.push(data); // kept: it must not be overwritten by later reads
      super.dataReceived(data);
    }
  }
  const { factory, port, portNumber } = listenEcho(() => new Counting());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    const data = pattern(1024 * 1024, 3);
    const reading = readExactly(conn, data.length);
    for (let offset = 0; offset < data.length; offset += 50_000) {
      await conn.write(data.subarray(offset, offset + 50_000));
    }
    sameBytes(await within(WAIT, "the echo", reading), data);
    const server = await factory.nth(0);
    let total = 0;
    for (const chunk of server.kept) total += chunk.length;
    assert.equal(total, data.length);
    const joined = new Uint8Array(total);
    let at = 0;
    for (const chunk of server.kept) {
      joined.set(chunk, at);
      at += chunk.length;
    }
    sameBytes(joined, data);
    conn.close();
    await within(WAIT, "the server side to close", server.lost.promise);
  } finally {
    try {
      conn.close();
    } catch { /* closed above */ }
    await port.stopListening();
  }
});

/** Polls `ok` every few milliseconds; the caller bounds it with within(). */
async function waitFor(ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise((resolve) => setTimeout(resolve, 5));
}

Deno.test("a getBuffer that throws or returns no buffer is logged and closes the connection with that error", async () => {
  for (const bad of ["throws", "empty", "not bytes"]) {
    using logs = captureLogs();
    class Bad extends Recorder implements IBufferedProtocol {
      getBuffer(): Uint8Array {
        if (bad === "throws") throw new RangeError("no buffer today");
        return (bad === "empty" ? new Uint8Array(0) : "x") as Uint8Array;
      }
      bufferUpdated(): void {
        throw new Error("never called");
      }
    }
    const { factory, port, portNumber } = listenEcho(() => new Bad());
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: portNumber,
    });
    try {
      const server = await within(WAIT, "the protocol", factory.nth(0));
      const reason = await within(WAIT, "connectionLost", server.lost.promise);
      const type = bad === "throws" ? RangeError : TypeError;
      assert.ok(reason.check(type), `${bad}: ${reason.getErrorMessage()}`);
      if (bad !== "throws") {
        assert.match(
          reason.getErrorMessage(),
          /getBuffer must return a non-empty Uint8Array/,
        );
      }
      assert.equal(logs.flushLoggedErrors(type).length, 1);
      assert.equal(
        await within(WAIT, "EOF", conn.read(new Uint8Array(1))),
        null,
      );
    } finally {
      conn.close();
      await port.stopListening();
    }
  }
});

Deno.test("a lent-buffer protocol paused while a read is pending gets those bytes on resume", async () => {
  using _logs = captureLogs();
  const { factory, port, portNumber } = listenEcho(() => new LentEcho());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    const server = await within(WAIT, "the protocol", factory.nth(0));
    assert.equal(
      server.hints.length,
      1,
      "a read into the lent buffer is pending",
    );
    server.transport!.pauseProducing();
    await conn.write(encode("held"));
    // A full round trip on another connection: the bytes would be here.
    const other = await Deno.connect({
      hostname: "127.0.0.1",
      port: portNumber,
    });
    await other.write(encode("x"));
    await within(WAIT, "the other echo", readExactly(other, 1));
    other.close();
    assert.equal(server.received, 0, "nothing delivered while paused");
    server.transport!.resumeProducing();
    assert.equal(
      decode(await within(WAIT, "the echo", readExactly(conn, 4))),
      "held",
    );
    assert.equal(decode(server.data()), "held");
    assert.equal(server.dataCalls, 0);
  } finally {
    conn.close();
    await lostOf(factory, 0);
    await lostOf(factory, 1, "the other's connectionLost");
    await port.stopListening();
  }
});
