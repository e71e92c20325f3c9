# Test peer: a Twisted TLS echo server on 127.0.0.1 (any free port).
# Usage: _tls_twisted_echo.py CERT_FILE KEY_FILE
# Prints "listening on PORT", echoes every connection, exits when stdin
# closes (the test closes it) or on SIGTERM.
import sys

from twisted.internet import protocol, reactor, ssl, stdio
from twisted.protocols import basic


class Echo(protocol.Protocol):
    def dataReceived(self, data):
        self.transport.write(data)


class StopOnEOF(basic.LineReceiver):
    def connectionLost(self, reason):
        if reactor.running:
            reactor.stop()


def main():
    cert_file, key_file = sys.argv[1], sys.argv[2]
    with open(cert_file) as f:
        cert = f.read()
    with open(key_file) as f:
        key = f.read()
    identity = ssl.PrivateCertificate.loadPEM(cert + key)
    factory = protocol.Factory.forProtocol(Echo)
    port = reactor.listenSSL(0, factory, identity.options(), interface="127.0.0.1")
    print("listening on %d" % port.getHost().port, flush=True)
    stdio.StandardIO(StopOnEOF())
    reactor.run()


main()
