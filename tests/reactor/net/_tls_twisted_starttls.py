# Test peer: a Twisted line server on 127.0.0.1 (any free port) that answers
# "STARTTLS" with "GO" in clear, then switches to TLS (server side) and
# echoes every line it gets with an "echo: " prefix.
# Usage: _tls_twisted_starttls.py CERT_FILE KEY_FILE
# Prints "listening on PORT"; exits when stdin closes or on SIGTERM.
import sys

from twisted.internet import protocol, reactor, ssl, stdio
from twisted.protocols import basic


class StartTLSEcho(basic.LineReceiver):
    delimiter = b"\n"

    def lineReceived(self, line):
        if line == b"STARTTLS" and not self.factory.tls_started.get(self):
            self.sendLine(b"GO")
            self.transport.startTLS(self.factory.options)
            self.factory.tls_started[self] = True
        else:
            self.sendLine(b"echo: " + line)


class StopOnEOF(basic.LineReceiver):
    def connectionLost(self, reason):
        if reactor.running:
            reactor.stop()


def main():
    with open(sys.argv[1]) as f:
        cert = f.read()
    with open(sys.argv[2]) as f:
        key = f.read()
    factory = protocol.Factory.forProtocol(StartTLSEcho)
    factory.options = ssl.PrivateCertificate.loadPEM(cert + key).options()
    factory.tls_started = {}
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    print("listening on %d" % port.getHost().port, flush=True)
    stdio.StandardIO(StopOnEOF())
    reactor.run()


main()
