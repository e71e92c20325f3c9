"""Twisted's AMP under the load of bench/amp_load.ts, for bench/run_amp.sh.

    /usr/bin/python3 bench/amp_twisted.py server            # prints its port
    /usr/bin/python3 bench/amp_twisted.py client PORT [SECONDS]

Same protocol and load as amp_load.ts: 10 connections, 100 Sum calls in
flight on each, 1 s of warm-up, then SECONDS (default 5) counted; prints
{"impl": "twisted", "calls": N, "seconds": S, "rate": R}. The server stops
by itself after 300 s if nobody ends it first.
"""
import json
import sys
import time

from twisted.internet import defer, reactor
from twisted.internet.protocol import ClientCreator, Factory
from twisted.protocols import amp

CONNECTIONS = 10
WINDOW = 100


class Sum(amp.Command):
    arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
    response = [(b"total", amp.Integer())]


class SumServer(amp.AMP):
    @Sum.responder
    def sum(self, a, b):
        return {"total": a + b}


def server():
    port = reactor.listenTCP(0, Factory.forProtocol(SumServer), interface="127.0.0.1")
    print(port.getHost().port, flush=True)
    reactor.callLater(300, reactor.stop)
    reactor.run()


def client(port, seconds):
    state = {"answered": 0, "running": True, "wrong": 0}
    out = {}

    def drive(proto):
        n = [0]

        def again(r):
            if r["total"] % 2 != 1:
                state["wrong"] += 1
            state["answered"] += 1
            if state["running"]:
                send()

        def send():
            n[0] = (n[0] + 1) & 0xFFFF
            proto.callRemote(Sum, a=n[0], b=n[0] + 1).addCallback(again)

        for _ in range(WINDOW):
            send()

    @defer.inlineCallbacks
    def run():
        protos = yield defer.gatherResults(
            [ClientCreator(reactor, amp.AMP).connectTCP("127.0.0.1", port) for _ in range(CONNECTIONS)]
        )
        for p in protos:
            drive(p)
        yield deferLater(1)
        start, t0 = state["answered"], time.perf_counter()
        yield deferLater(seconds)
        calls, elapsed = state["answered"] - start, time.perf_counter() - t0
        state["running"] = False
        out.update(impl="twisted", calls=calls, seconds=round(elapsed, 3), rate=round(calls / elapsed))
        for p in protos:
            p.transport.abortConnection()
        reactor.stop()

    def deferLater(s):
        d = defer.Deferred()
        reactor.callLater(s, d.callback, None)
        return d

    reactor.callWhenRunning(run)
    reactor.callLater(seconds + 60, reactor.stop)
    reactor.run()
    if state["wrong"] or not out.get("calls"):
        print("bad run: %r %r" % (state, out), file=sys.stderr)
        sys.exit(1)
    print(json.dumps(out), flush=True)


if sys.argv[1] == "server":
    server()
elif sys.argv[1] == "client":
    client(int(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 5.0)
else:
    sys.exit("usage: amp_twisted.py server | client PORT [SECONDS]")
