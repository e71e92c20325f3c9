import assert from "node:assert/strict";
import {
  AccumulatingFactory,
  AccumulatingProtocol,
} from "../../testing/accumulating_protocol.ts";
import { StringTransportWithDisconnection } from "../../testing/string_transport.ts";
import { Deferred } from "../../deferred/deferred.ts";
import { ConnectionDone } from "../../reactor/errors.ts";

const addr = { type: "TCP", host: "127.0.0.1", port: 1 } as const;

Deno.test("AccumulatingProtocol starts with nothing recorded", () => {
  const proto = new AccumulatingProtocol();
  assert.equal(proto.made, false);
  assert.equal(proto.closed, false);
  assert.equal(proto.closedReason, undefined);
  assert.deepEqual(proto.data, new Uint8Array());
});

Deno.test("AccumulatingProtocol joins every chunk received, in order", () => {
  const proto = new AccumulatingProtocol();
  proto.dataReceived(new Uint8Array([1, 2]));
  assert.deepEqual(proto.data, new Uint8Array([1, 2]));
  proto.dataReceived(new Uint8Array([]));
  proto.dataReceived(new Uint8Array([3]));
  proto.dataReceived(new Uint8Array([4, 5]));
  assert.deepEqual(proto.data, new Uint8Array([1, 2, 3, 4, 5]));
});

Deno.test("AccumulatingProtocol fires its own made and closed Deferreds once", () => {
  const proto = new AccumulatingProtocol();
  const made = new Deferred<AccumulatingProtocol>();
  const closed = new Deferred<AccumulatingProtocol>();
  proto.madeDeferred = made;
  proto.closedDeferred = closed;
  const seen: unknown[] = [];
  made.addCallback((p) => seen.push(p));
  closed.addCallback((r) => seen.push(r));
  const transport = new StringTransportWithDisconnection({ protocol: proto });
  proto.makeConnection(transport);
  assert.equal(proto.made, true);
  assert.deepEqual(seen, [proto]);
  assert.equal(proto.madeDeferred, undefined);
  transport.loseConnection();
  assert.equal(proto.closed, true);
  assert.deepEqual(seen, [proto, proto]);
  assert.ok(proto.closedReason?.check(ConnectionDone));
  assert.equal(proto.closedDeferred, undefined);
});

Deno.test("AccumulatingFactory builds protocols and hands its Deferreds to the next one only", () => {
  const factory = new AccumulatingFactory();
  const made = new Deferred<AccumulatingProtocol>();
  const lost = new Deferred<AccumulatingProtocol>();
  factory.protocolConnectionMade = made;
  factory.protocolConnectionLost = lost;
  const first = factory.buildProtocol(addr);
  const second = factory.buildProtocol(addr);
  assert.ok(first instanceof AccumulatingProtocol);
  assert.equal(first.factory, factory);
  assert.deepEqual(factory.protocols, [first, second]);

  const madeBy: AccumulatingProtocol[] = [];
  made.addCallback((p) => madeBy.push(p));
  second.makeConnection(
    new StringTransportWithDisconnection({ protocol: second }),
  );
  const t1 = new StringTransportWithDisconnection({ protocol: first });
  first.makeConnection(t1);
  assert.deepEqual(madeBy, [second]);
  assert.equal(factory.protocolConnectionMade, undefined);

  let lostBy: AccumulatingProtocol | undefined;
  lost.addCallback((p) => {
    lostBy = p;
  });
  t1.loseConnection();
  assert.equal(lostBy, first);
  assert.ok(first.closedReason?.check(ConnectionDone));
  assert.equal(factory.protocolConnectionLost, undefined);
});
