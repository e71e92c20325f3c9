"""A Twisted AMP server for tests/amp/interop_test.ts.

Usage: python3 _twisted_amp_server.py [CERT_PEM_FILE KEY_PEM_FILE]

Listens on 127.0.0.1, port 0, prints the port on stdout, and answers the
commands of _twisted_amp_commands.py; given a certificate and key, it also
answers StartTLS with them. It stops by itself after 60 seconds
if the test has not ended it (by PID) first.
"""
import datetime
import decimal
import sys

from twisted.internet import reactor
from twisted.internet.protocol import Factory
from twisted.protocols import amp

from _twisted_amp_commands import Boom, Divide, Echo, Every, Sum


class Server(amp.AMP):
    @Sum.responder
    def sum(self, a, b):
        return {"total": a + b}

    @Divide.responder
    def divide(self, a, b):
        return {"q": a / b}  # ZeroDivisionError is declared

    @Every.responder
    def every(self, **kw):
        # Check the types Twisted decoded, then echo everything back.
        assert isinstance(kw["big"], int), kw["big"]
        assert isinstance(kw["flt"], float), kw["flt"]
        assert isinstance(kw["when"], datetime.datetime) and kw["when"].utcoffset() is not None
        assert isinstance(kw["dec"], decimal.Decimal), kw["dec"]
        assert isinstance(kw["bytes"], bytes) and isinstance(kw["text"], str)
        return kw

    @Echo.responder
    def echo(self, s):
        return {"s": s}

    @Boom.responder
    def boom(self):
        raise ValueError("not declared by Boom")


if len(sys.argv) == 3:
    from twisted.internet import ssl

    with open(sys.argv[1]) as c, open(sys.argv[2]) as k:
        CERT = ssl.PrivateCertificate.loadPEM(c.read() + k.read())

    class TLSServer(Server):
        @amp.StartTLS.responder
        def start_tls(self):
            return {"tls_localCertificate": CERT}

    Server = TLSServer

port = reactor.listenTCP(0, Factory.forProtocol(Server), interface="127.0.0.1")
print(port.getHost().port, flush=True)
reactor.callLater(60, reactor.stop)
reactor.run()
sys.exit(0)
