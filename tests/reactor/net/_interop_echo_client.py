# A Twisted client for interop_test.ts: reads a payload from stdin, connects
# to 127.0.0.1:argv[1], sends it in chunks, reads the echo until it has as
# many bytes, closes, and writes what it received to stdout. Exits 0 when the
# connection closed cleanly, 1 otherwise (with the reason on stderr).
import sys

from twisted.internet import error, protocol, reactor

payload = sys.stdin.buffer.read()
result = {"status": 1}


class Client(protocol.Protocol):
    def connectionMade(self):
        self.received = []
        self.count = 0
        for i in range(0, len(payload), 10007):
            self.transport.write(payload[i:i + 10007])
        if not payload:
            self.transport.loseConnection()

    def dataReceived(self, data):
        self.received.append(data)
        self.count += len(data)
        if self.count >= len(payload):
            self.transport.loseConnection()

    def connectionLost(self, reason):
        sys.stdout.buffer.write(b"".join(self.received))
        sys.stdout.buffer.flush()
        if reason.check(error.ConnectionDone):
            result["status"] = 0
        else:
            sys.stderr.write("connection lost: %s\n" % reason.getErrorMessage())
        reactor.stop()


class Factory(protocol.ClientFactory):
    protocol = Client
    noisy = False

    def clientConnectionFailed(self, connector, reason):
        sys.stderr.write("connect failed: %s\n" % reason.getErrorMessage())
        reactor.stop()


reactor.connectTCP("127.0.0.1", int(sys.argv[1]), Factory(), timeout=10)
reactor.run()
sys.exit(result["status"])
