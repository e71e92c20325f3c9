// ITransport.writeText: declared optional in reactor/interfaces.ts,
// recorded by StringTransport, forwarded by ProtocolWrapper (and counted or
// timed by the wrappers that watch writes), used by sendLine.
import assert from "node:assert/strict";
import {
  Factory,
  LineReceiver,
  Protocol,
  ProtocolWrapper,
  ThrottlingFactory,
  ThrottlingProtocol,
  TimeoutFactory,
  WrappingFactory,
} from "../../protocols/mod.ts";
import type { ITransport } from "../../reactor/interfaces.ts";
import { Clock, StringTransport } from "../../testing/mod.ts";
import { decode } from "../_helpers.ts";

const addr = { type: "TCP", host: "127.0.0.1", port: 1 } as const;

Deno.test("StringTransport.writeText records text then suffix as UTF-8 and counts the call", () => {
  const t = new StringTransport();
  t.writeText("héllo", "\r\n");
  t.writeText("bye");
  assert.equal(decode(t.value()), "héllo\r\nbye");
  assert.equal(t.textWrites, 2);
});

Deno.test("StringTransport.writeText refuses what is not a string and records nothing", () => {
  const t = new StringTransport();
  assert.throws(
    () => t.writeText(new Uint8Array([1]) as unknown as string, "\r\n"),
    {
      name: "TypeError",
      message:
        "Cannot writeText to a StringTransport: expected strings, got object",
    },
  );
  assert.throws(
    () => t.writeText("a", 5 as unknown as string),
    /expected strings, got number/,
  );
  assert.equal(t.value().length, 0);
  assert.equal(t.textWrites, 0);
});

Deno.test("StringTransport.writeText drops text after abortConnection, as write does", () => {
  const t = new StringTransport();
  t.abortConnection();
  t.writeText("late", "\r\n");
  assert.equal(t.value().length, 0);
});

class Liner extends LineReceiver {
  override connectionMade(): void {
    this.sendLine("héllo");
  }
}

Deno.test("ProtocolWrapper forwards writeText to the real transport", () => {
  const factory = new WrappingFactory(Factory.forProtocol(Liner));
  const wrapper = factory.buildProtocol(addr)!;
  const t = new StringTransport();
  wrapper.makeConnection(t);
  assert.equal(decode(t.value()), "héllo\r\n");
  assert.equal(t.textWrites, 1, "handed over as text, not encoded per line");
});

Deno.test("ProtocolWrapper writes the text when the real transport has no writeText", () => {
  const writes: (Uint8Array | string)[] = [];
  const t = new StringTransport();
  const plain: ITransport = Object.assign(Object.create(t), {
    writeText: undefined,
    write(data: Uint8Array | string) {
      writes.push(data);
      t.write(data);
    },
  });
  const wrapper = new ProtocolWrapper(
    new WrappingFactory(Factory.forProtocol(Protocol)),
    new Liner(),
  );
  wrapper.makeConnection(plain);
  assert.equal(decode(t.value()), "héllo\r\n");
  assert.deepEqual(writes, ["héllo\r\n"]);
});

Deno.test("ThrottlingProtocol counts the UTF-8 bytes of writeText", () => {
  const factory = new ThrottlingFactory(Factory.forProtocol(Liner), {
    clock: new Clock(),
  });
  const proto = factory.buildProtocol(addr);
  assert.ok(proto instanceof ThrottlingProtocol);
  const t = new StringTransport();
  proto.makeConnection(t);
  assert.equal(factory.writtenThisSecond, 8); // "héllo\r\n": é is 2 bytes
  assert.equal(decode(t.value()), "héllo\r\n");
});

Deno.test("TimeoutProtocol counts writeText as activity", () => {
  const clock = new Clock();
  const factory = new TimeoutFactory(Factory.forProtocol(Protocol), {
    timeoutPeriod: 3,
    clock,
  });
  const proto = factory.buildProtocol(addr);
  assert.ok(proto instanceof ProtocolWrapper);
  const t = new StringTransport();
  proto.makeConnection(t);
  clock.advance(2);
  proto.writeText("still here", "\r\n"); // nothing read: only this write
  clock.advance(2);
  assert.equal(t.disconnecting, false);
  clock.advance(1);
  assert.equal(t.disconnecting, true);
  assert.equal(decode(t.value()), "still here\r\n");
});
