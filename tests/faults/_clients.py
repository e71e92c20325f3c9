# A fixture for the fault suite: misbehaving clients Deno cannot play
# (it has no SO_LINGER), or too many of them for the test process's own
# descriptor limit. Usage: python3 _clients.py MODE COUNT HOST PORT
#   reset  - open COUNT connections at once, then reset them all
#            (SO_LINGER 0 makes close() send RST); prints "RESET n".
#   unixclose - the same against the UNIX socket at HOST (PORT unused),
#            closing (a UNIX socket has no reset); prints "CLOSED n".
#   unixecho - COUNT honest echo exchanges over the UNIX socket at HOST;
#            prints "ECHO ms" with the slowest one's time.
#   idle   - open COUNT connections and keep them open until stdin closes;
#            prints "OPEN n", then closes them all.
#   stall  - open COUNT connections and send nothing (a stalled TLS
#            handshake); prints "EOF n max_seconds" once the server has
#            closed them all, or "OPEN k" for those still open after 15 s.
import resource
import select
import socket
import struct
import sys
import time

mode, count, host, port = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = count + 64
if soft != resource.RLIM_INFINITY and soft < want:
    new = want if hard == resource.RLIM_INFINITY else min(want, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


def open_all(n):
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect((host, port))
        socks.append(s)
    return socks


if mode == "reset":
    socks = open_all(count)
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    print("RESET %d" % count, flush=True)
elif mode == "unixclose":
    socks = []
    for _ in range(count):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(host)
        socks.append(s)
    for s in socks:
        s.close()
    print("CLOSED %d" % count, flush=True)
elif mode == "unixecho":
    slowest = 0.0
    for i in range(count):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(host)
        text = b"honest %d" % i
        start = time.monotonic()
        s.sendall(text)
        got = b""
        while len(got) < len(text):
            chunk = s.recv(len(text) - len(got))
            if not chunk:
                break
            got += chunk
        slowest = max(slowest, time.monotonic() - start)
        s.close()
        if got != text:
            sys.exit("echoed %r, not %r" % (got, text))
    print("ECHO %.1f" % (slowest * 1000), flush=True)
elif mode == "idle":
    socks = open_all(count)
    print("OPEN %d" % len(socks), flush=True)
    sys.stdin.read()
    for s in socks:
        s.close()
elif mode == "stall":
    start = time.monotonic()
    socks = open_all(count)
    for s in socks:
        s.setblocking(False)
    pending = set(socks)
    latest = 0.0
    deadline = start + 15
    while pending and time.monotonic() < deadline:
        ready, _, _ = select.select(list(pending), [], [], 0.5)
        for s in ready:
            try:
                data = s.recv(4096)
            except ConnectionError:
                data = b""
            if not data:
                pending.discard(s)
                latest = time.monotonic() - start
                s.close()
    if pending:
        print("OPEN %d" % len(pending), flush=True)
    else:
        print("EOF %d %.2f" % (count, latest), flush=True)
    for s in pending:
        s.close()
else:
    sys.exit("unknown mode " + mode)
