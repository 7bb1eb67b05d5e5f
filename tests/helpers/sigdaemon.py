#!/usr/bin/python3
"""Test daemon for supervise mode: serves the listener on fd 3
(LISTEN_FDS), echoing each connection's bytes back after the peer's
half-close, and leaves SIGHUP at its default action (death) unless told.

  sigdaemon.py REPORT [--handle-hup] [--fork]

REPORT gets "pid=... listen_pid=..." once the daemon serves. Each SIGHUP
it handles appends a line to REPORT.hup. --handle-hup catches SIGHUP from
the start; without it, SIGUSR1 installs the handler later, as a daemon
that sets up its signals after start-up would. --fork goes into the
background as a classic daemon: fork, the parent exits 0, the child serves
(LISTEN_PID was the parent's, as after a daemon's fork). SIGTERM exits 3.
"""
import os
import signal
import socket
import sys

report = sys.argv[1]
opts = set(sys.argv[2:])


def on_hup(signum, frame):
    with open(report + ".hup", "a") as f:
        f.write("hup\n")


def handle_hup(signum=None, frame=None):
    signal.signal(signal.SIGHUP, on_hup)


signal.signal(signal.SIGHUP, signal.SIG_DFL)
signal.signal(signal.SIGUSR1, handle_hup)
signal.signal(signal.SIGTERM, lambda s, f: os._exit(3))
if "--handle-hup" in opts:
    handle_hup()
listen_pid = os.environ.get("LISTEN_PID", "")
if os.environ.get("LISTEN_FDS") != "1" or listen_pid != str(os.getpid()):
    sys.exit("sigdaemon: not socket-activated")
if "--fork" in opts and os.fork() > 0:
    os._exit(0)
sock = socket.socket(fileno=3)
tmp = report + ".tmp"
with open(tmp, "w") as f:
    f.write("pid=%d listen_pid=%s\n" % (os.getpid(), listen_pid))
os.rename(tmp, report)
while True:
    conn, _ = sock.accept()
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    conn.sendall(data)
    conn.close()
