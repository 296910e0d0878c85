#!/usr/bin/python3
"""notify_listen.py -- a stand-in for systemd's NOTIFY_SOCKET, for the watch tests.

    notify_listen.py SOCKET OUT [MAX_SECONDS]

Binds a unix datagram socket at SOCKET and appends every datagram it receives to OUT as one
line per assignment: "<epoch ms><TAB><KEY=VALUE>" (a datagram may carry several
newline-separated assignments). Writes "listening" to OUT once bound, so a test can wait for
it. Exits on SIGTERM/SIGINT, or after MAX_SECONDS (default 120) so it never outlives a test.
Removes SOCKET on exit.
"""
import os
import signal
import socket
import sys
import time


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path, out_path = sys.argv[1], sys.argv[2]
    max_s = float(sys.argv[3]) if len(sys.argv) > 3 else 120.0
    stop = False

    def on_signal(signo, frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o777)
    sock.settimeout(0.1)
    deadline = time.monotonic() + max_s
    with open(out_path, "a", buffering=1, encoding="utf-8", errors="replace") as out:
        out.write("%d\tlistening\n" % int(time.time() * 1000))
        while not stop and time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            except InterruptedError:
                continue
            now = int(time.time() * 1000)
            for line in data.decode("utf-8", "replace").split("\n"):
                if line:
                    out.write("%d\t%s\n" % (now, line))
    sock.close()
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
