// A fixture for the fault suite: a server on our reactor, run in a child
// Deno process so its memory (RSS) and descriptor limit are its own.
// Usage: deno run ... _server.ts MODE [ARGS...]. Prints one line
// "READY {json}" (the ports) on stdout once listening; the reactor's log
// goes to stderr. Runs under reactor.run(), so SIGTERM shuts it down.
//
// Modes:
//   echo                  TCP echo.
//   unix PATH             UNIX socket echo at PATH.
//   tls CERT KEY TIMEOUT  TLS echo with handshakeTimeout TIMEOUT (s).
//   loris PERIOD          TCP echo behind TimeoutFactory(PERIOD s).
//   push BYTES            writes BYTES to each client from a push producer.
//   flood BYTES           writes BYTES to each client with plain write()s,
//                         then prints "BUFFERED n" (transport.bufferedAmount).
//   parse                 line, netstring and Int32 echo ports.
//   count N               TCP echo that prints "CONNS N" once N are open.
//   udp                   UDP: answers each datagram with "len=N".
import {
  DatagramProtocol,
  Echo,
  Factory,
  Int32StringReceiver,
  LineReceiver,
  NetstringReceiver,
  Protocol,
  TimeoutFactory,
} from "../../protocols/mod.ts";
import { reactor } from "../../reactor/mod.ts";
import type {
  IAddress,
  IListeningPort,
  IProtocolFactory,
  IPushProducer,
} from "../../reactor/mod.ts";

const [mode, ...args] = Deno.args;
const LOOPBACK = { interface: "127.0.0.1" };
const say = (line: string) => console.log(line);

function portOf(port: IListeningPort): number {
  const host = port.getHost();
  if (host.type !== "TCP" && host.type !== "UDP") throw new Error("no port");
  return host.port;
}

function quiet(factory: Factory): Factory {
  factory.noisy = false;
  return factory;
}

function tcp(factory: IProtocolFactory): number {
  return portOf(reactor.listenTCP(0, factory, LOOPBACK));
}

class Pusher extends Protocol implements IPushProducer {
  static total = 0;
  sent = 0;
  paused = false;
  override connectionMade(): void {
    this.transport!.registerProducer(this, true);
    this.resumeProducing();
  }
  pauseProducing(): void {
    this.paused = true;
  }
  resumeProducing(): void {
    this.paused = false;
    while (!this.paused && this.sent < Pusher.total) {
      // A fresh chunk per write, as a real producer (a file) would have.
      this.transport!.write(new Uint8Array(64 * 1024).fill(0x61));
      this.sent += 64 * 1024;
    }
    if (this.sent >= Pusher.total) {
      this.transport!.unregisterProducer();
      this.transport!.loseConnection();
    }
  }
  stopProducing(): void {
    this.sent = Pusher.total;
  }
}

class Flooder extends Protocol {
  static total = 0;
  override connectionMade(): void {
    // A fresh chunk per write, as a protocol producing data would have.
    for (let sent = 0; sent < Flooder.total; sent += 64 * 1024) {
      this.transport!.write(new Uint8Array(64 * 1024).fill(0x62));
    }
    const buffered = (this.transport as { bufferedAmount?: number })
      .bufferedAmount;
    say(`BUFFERED ${buffered}`);
    this.transport!.loseConnection();
  }
}

class LineEcho extends LineReceiver {
  override MAX_LENGTH = 1024;
  override lineReceived(line: string): void {
    this.sendLine(`line:${JSON.stringify(line)}`);
  }
}

class NetstringEcho extends NetstringReceiver {
  override stringReceived(data: Uint8Array): void {
    this.sendString(data);
  }
}

class Int32Echo extends Int32StringReceiver {
  override stringReceived(data: Uint8Array): void {
    this.sendString(data);
  }
}

class Counted extends Echo {
  static open = 0;
  static want = 0;
  override connectionMade(): void {
    if (++Counted.open === Counted.want) say(`CONNS ${Counted.open}`);
  }
  override connectionLost(): void {
    Counted.open--;
  }
}

class LengthReply extends DatagramProtocol {
  override datagramReceived(data: Uint8Array, addr: IAddress): void {
    if (addr.type === "UDP") {
      this.transport!.write(`len=${data.length}`, addr);
    }
  }
}

let ready: Record<string, number>;
switch (mode) {
  case "echo":
    ready = { port: tcp(quiet(Factory.forProtocol(Echo))) };
    break;
  case "unix":
    reactor.listenUNIX(args[0], quiet(Factory.forProtocol(Echo)));
    ready = {};
    break;
  case "tls": {
    const [certFile, keyFile, timeout] = args;
    const port = reactor.listenSSL(0, quiet(Factory.forProtocol(Echo)), {
      cert: Deno.readTextFileSync(certFile),
      key: Deno.readTextFileSync(keyFile),
      handshakeTimeout: Number(timeout),
    }, LOOPBACK);
    ready = { port: portOf(port) };
    break;
  }
  case "loris": {
    const factory = new TimeoutFactory(quiet(Factory.forProtocol(Echo)), {
      timeoutPeriod: Number(args[0]),
    });
    factory.noisy = false;
    ready = { port: tcp(factory) };
    break;
  }
  case "push":
    Pusher.total = Number(args[0]);
    ready = { port: tcp(quiet(Factory.forProtocol(Pusher))) };
    break;
  case "flood":
    Flooder.total = Number(args[0]);
    ready = { port: tcp(quiet(Factory.forProtocol(Flooder))) };
    break;
  case "parse":
    ready = {
      line: tcp(quiet(Factory.forProtocol(LineEcho))),
      netstring: tcp(quiet(Factory.forProtocol(NetstringEcho))),
      int32: tcp(quiet(Factory.forProtocol(Int32Echo))),
    };
    break;
  case "count":
    Counted.want = Number(args[0]);
    ready = { port: tcp(quiet(Factory.forProtocol(Counted))) };
    break;
  case "udp":
    ready = {
      port: portOf(reactor.listenUDP(0, new LengthReply(), LOOPBACK)),
    };
    break;
  default:
    throw new Error(`Unknown mode ${mode}`);
}
say(`READY ${JSON.stringify(ready)}`);
await reactor.run();
