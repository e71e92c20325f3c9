// Typed Twisted-style protocols (API.md "Typed Twisted-style protocols"):
// the talk's finger server compiles under strict TypeScript exactly as
// written (no casts, no `!`), and runs.
import assert from "node:assert/strict";
import {
  Echo,
  Factory,
  type IWrappingFactory,
  LineReceiver,
  NetstringReceiver,
  NotConnectedError,
  Protocol,
  ProtocolWrapper,
  ServerFactory,
  TimeoutMixin,
  WrappingFactory,
} from "../../protocols/mod.ts";
import type { IProtocol, ITransport } from "../../reactor/interfaces.ts";
import { Clock, StringTransport } from "../../testing/mod.ts";

// ---- the talk's code, verbatim ------------------------------------------
class FingerProtocol extends LineReceiver<FingerFactory> {
  override lineReceived(user: string): void {
    this.transport.write(this.factory.getUser(user) + "\r\n");
    this.transport.loseConnection();
  }
}
class FingerFactory extends ServerFactory {
  override protocol = FingerProtocol;
  constructor(readonly users: Record<string, string>) {
    super();
  }
  getUser(user: string): string {
    return this.users[user] ?? "No such user";
  }
}
// -------------------------------------------------------------------------

const addr = { type: "TCP", host: "127.0.0.1", port: 5000 } as const;
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function ask(factory: FingerFactory, query: string): StringTransport {
  const proto = factory.buildProtocol(addr);
  assert.ok(proto instanceof FingerProtocol);
  const transport = new StringTransport();
  proto.makeConnection(transport);
  proto.dataReceived(new TextEncoder().encode(query));
  return transport;
}

Deno.test("the talk's FingerProtocol answers through its typed factory and transport", () => {
  const factory = new FingerFactory({ moshez: "Happy and well" });
  const known = ask(factory, "moshez\r\n");
  assert.equal(text(known.value()), "Happy and well\r\n");
  assert.equal(known.disconnecting, true);
  const unknown = ask(factory, "glyph\r\n");
  assert.equal(text(unknown.value()), "No such user\r\n");
  assert.equal(unknown.disconnecting, true);
});

Deno.test("buildProtocol sets the typed factory; makeConnection the transport", () => {
  const factory = new FingerFactory({});
  const proto = factory.buildProtocol(addr) as FingerProtocol;
  // Typed F: the factory's own members, no cast.
  const built: FingerFactory = proto.factory;
  assert.equal(built, factory);
  assert.equal(proto.connected, false);
  assert.throws(() => proto.transport, NotConnectedError);
  const transport = new StringTransport();
  proto.makeConnection(transport);
  assert.equal(proto.transport, transport);
});

Deno.test("a protocol read before makeConnection throws NotConnectedError naming its class", () => {
  const proto = new FingerProtocol();
  assert.throws(() => proto.transport.write("x"), {
    name: "NotConnectedError",
    message:
      "Cannot use FingerProtocol.transport: not connected (makeConnection has not run)",
  });
  // The framer itself copes with having no transport: a line that arrives
  // before the connection reaches lineReceived, which throws the clear error.
  assert.throws(
    () => proto.dataReceived(new TextEncoder().encode("moshez\r\n")),
    NotConnectedError,
  );
});

Deno.test("the default factory type is Factory", () => {
  class Plain extends Protocol {
    name(): string {
      return this.factory.logPrefix(); // Factory's method, typed
    }
  }
  const proto = Factory.forProtocol(Plain).buildProtocol(addr) as Plain;
  assert.equal(proto.name(), "Factory");
  class Untyped extends Protocol {
    lookup(): void {
      // @ts-expect-error: the default Factory has no getUser
      this.factory.getUser("moshez");
    }
  }
  assert.throws(() => new Untyped().lookup(), TypeError);
});

Deno.test("TimeoutMixin keeps the factory type of the class it extends", () => {
  class Idle extends TimeoutMixin(LineReceiver<FingerFactory>) {
    override connectionMade(): void {
      this.setTimeout(5);
    }
    override lineReceived(user: string): void {
      this.transport.write(this.factory.getUser(user) + "\r\n");
    }
  }
  const factory = new FingerFactory({ moshez: "Happy and well" });
  const proto = new Idle();
  proto.factory = factory;
  proto.clock = new Clock();
  const transport = new StringTransport();
  proto.makeConnection(transport);
  proto.dataReceived(new TextEncoder().encode("moshez\r\n"));
  assert.equal(text(transport.value()), "Happy and well\r\n");
  (proto.clock as Clock).advance(5);
  assert.equal(transport.disconnecting, true);
});

Deno.test("NetstringReceiver<F> and ProtocolWrapper<F> type their factories", () => {
  class Greeter extends ServerFactory {
    greeting = "hi";
  }
  class Greet extends NetstringReceiver<Greeter> {
    override connectionMade(): void {
      this.sendString(this.factory.greeting);
    }
  }
  class Counting extends WrappingFactory {
    wrapped = 0;
    override wrapProtocol(wrapped: IProtocol): ProtocolWrapper {
      return new CountingWrapper(this, wrapped);
    }
  }
  class CountingWrapper extends ProtocolWrapper<Counting> {
    override makeConnection(transport: ITransport): void {
      this.factory.wrapped++; // Counting's own field, no cast
      super.makeConnection(transport);
    }
  }
  const factory = new Counting(Greeter.forProtocol(Greet));
  const proto = factory.buildProtocol(addr);
  assert.ok(proto instanceof CountingWrapper);
  const transport = new StringTransport();
  proto.makeConnection(transport);
  assert.equal(factory.wrapped, 1);
  assert.equal(text(transport.value()), "2:hi,");
  const generic: IWrappingFactory = proto.factory;
  assert.equal(generic, factory);
});

Deno.test("a wrapper's disconnecting is false before it is connected", () => {
  const wrapper = new ProtocolWrapper(
    new WrappingFactory(Factory.forProtocol(Echo)),
    new Echo(),
  );
  assert.equal(wrapper.disconnecting, false);
});
