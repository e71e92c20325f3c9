# Test peer: a Twisted TLS client that verifies the server against CA_FILE
# as "localhost", sends MESSAGE, and prints what comes back once the server
# has echoed it all, then exits 0 (1 on any failure, with the reason).
# Usage: _tls_twisted_client.py PORT CA_FILE MESSAGE
import sys

from twisted.internet import defer, endpoints, protocol, ssl, task


class Collect(protocol.Protocol):
    def __init__(self, expected):
        self.expected = expected
        self.got = b""
        self.done = defer.Deferred()

    def connectionMade(self):
        self.transport.write(self.expected)

    def dataReceived(self, data):
        self.got += data
        if len(self.got) >= len(self.expected):
            self.transport.loseConnection()

    def connectionLost(self, reason):
        self.done.callback(self.got)


@defer.inlineCallbacks
def main(reactor, port, ca_file, message):
    with open(ca_file) as f:
        ca = ssl.Certificate.loadPEM(f.read())
    options = ssl.optionsForClientTLS("localhost", trustRoot=ca)
    endpoint = endpoints.SSL4ClientEndpoint(reactor, "127.0.0.1", int(port), options)
    proto = Collect(message.encode())
    yield endpoints.connectProtocol(endpoint, proto)
    got = yield proto.done
    print(got.decode(), flush=True)


task.react(main, sys.argv[1:])
