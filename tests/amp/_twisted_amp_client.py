"""A Twisted AMP client for tests/amp/interop_test.ts.

Usage: python3 _twisted_amp_client.py PORT [CA_PEM_FILE]. Calls our server
at 127.0.0.1:PORT with every command of _twisted_amp_commands.py and prints
one JSON object of what happened; exits 0 when every check passed, 1 when
one failed (the JSON says which). Given a CA, it first switches the
connection to TLS with StartTLS, trusting only that CA. Stops by itself after 30 seconds.
"""
import datetime
import decimal
import json
import math
import sys

from twisted.internet import defer, reactor
from twisted.internet.protocol import ClientCreator
from twisted.protocols import amp

from _twisted_amp_commands import Boom, Divide, Echo, Every, Nope, Sum

results = {}


def check(name, ok, detail=""):
    results[name] = "ok" if ok else "FAILED: %s" % (detail,)


@defer.inlineCallbacks
def run(port, ca):
    proto = yield ClientCreator(reactor, amp.AMP).connectTCP("127.0.0.1", port)

    if ca is not None:
        from twisted.internet import ssl

        with open(ca) as f:
            authority = ssl.Certificate.loadPEM(f.read())
        yield proto.callRemote(amp.StartTLS, tls_verifyAuthorities=[authority])
        r = yield proto.callRemote(Sum, a=1, b=2)
        check("starttls", r["total"] == 3 and proto.transport.TLS, r)

    r = yield proto.callRemote(Sum, a=13, b=81)
    check("sum", r["total"] == 94, r)

    tz = datetime.timezone(datetime.timedelta(hours=-5, minutes=-30))
    sent = dict(
        i=-(2**53 - 1),
        big=-(10**40) + 1,
        flt=-1.5e-7,
        nan=float("nan"),
        inf=float("-inf"),
        yes=False,
        bytes=bytes(range(256)),
        text="h\u00e9llo \u2603 \U0001f600",
        when=datetime.datetime(2012, 1, 23, 12, 34, 56, 54000, tzinfo=tz),
        dec=decimal.Decimal("-1.50"),
        decinf=decimal.Decimal("Infinity"),
        list=[1, 2, 3],
        texts=["a", "", "\u00e9"],
        rows=[{"x": 1, "y": "a"}, {"x": 2}],
        maybe="here",
    )
    r = yield proto.callRemote(Every, **sent)
    bad = []
    for k, v in sent.items():
        got = r.get(k)
        if k == "nan":
            same = isinstance(got, float) and math.isnan(got)
        elif k == "rows":
            same = [{kk: vv for kk, vv in row.items() if vv is not None} for row in got] == v
        elif k == "dec" or k == "decinf":
            same = str(got) == str(v)
        else:
            same = got == v and type(got) == type(v)
        if not same:
            bad.append("%s: sent %r got %r" % (k, v, got))
    if r.get("absent") is not None:
        bad.append("absent: got %r" % (r.get("absent"),))
    check("every", not bad, "; ".join(bad))

    try:
        yield proto.callRemote(Divide, a=1, b=0)
        check("declared", False, "no error")
    except ZeroDivisionError as e:
        check("declared", "division" in str(e), str(e))

    try:
        yield proto.callRemote(Nope)
        check("unhandled", False, "no error")
    except amp.UnhandledCommand as e:
        check("unhandled", "Nope" in str(e), str(e))

    big = bytes(range(256)) * 255 + bytes(255)  # 65 535 bytes
    r = yield proto.callRemote(Echo, s=big)
    check("max_value", r["s"] == big, len(r["s"]))
    try:
        proto.callRemote(Echo, s=big + b"x")
        check("too_long", False, "65 536 bytes were accepted")
    except amp.TooLong:
        check("too_long", True)

    calls = [proto.callRemote(Sum, a=i, b=1000) for i in range(100)]
    answers = yield defer.gatherResults(calls)
    totals = [a["total"] for a in answers]
    check("pipelined", totals == [i + 1000 for i in range(100)], totals[:5])

    closed = defer.Deferred()
    proto.connectionLost = lambda reason: closed.callback(None)
    try:
        yield proto.callRemote(Boom)
        check("undeclared", False, "no error")
    except amp.UnknownRemoteError as e:
        check("undeclared", True)
    yield closed
    results["closed_after_undeclared"] = "ok"


def main():
    port = int(sys.argv[1])
    ca = sys.argv[2] if len(sys.argv) > 2 else None
    status = []

    def done(_):
        status.append(all(v == "ok" for v in results.values()))
        reactor.stop()

    def failed(f):
        results["error"] = f.getErrorMessage()
        status.append(False)
        reactor.stop()

    reactor.callWhenRunning(lambda: run(port, ca).addCallbacks(done, failed))
    reactor.callLater(30, reactor.stop)
    reactor.run()
    print(json.dumps(results, sort_keys=True), flush=True)
    sys.exit(0 if status and status[0] else 1)


main()
