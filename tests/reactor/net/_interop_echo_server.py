# A Twisted echo server for interop_test.ts: listens on 127.0.0.1 (port from
# argv[1], 0 = any), prints "listening on PORT", echoes every byte, and stops
# on SIGTERM or when stdin closes.
import sys

from twisted.internet import protocol, reactor, stdio
from twisted.protocols import basic


class Echo(protocol.Protocol):
    def dataReceived(self, data):
        self.transport.write(data)


class StopOnEOF(basic.LineReceiver):
    def connectionLost(self, reason):
        if reactor.running:
            reactor.stop()


factory = protocol.ServerFactory.forProtocol(Echo)
factory.noisy = False
port = reactor.listenTCP(int(sys.argv[1]) if len(sys.argv) > 1 else 0, factory,
                         interface="127.0.0.1")
print("listening on %d" % port.getHost().port, flush=True)
stdio.StandardIO(StopOnEOF())
reactor.run()
