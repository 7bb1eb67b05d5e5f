#!/usr/bin/env python3
"""Reload-cost driver, run inside the benchmark's namespace.

Starts `tcpmd5-activate --supervise` on CONF with $NOTIFY_SOCKET pointing at
a socket of ours, waits for READY=1, then times reloads: rewrite CONF with
key 0 (the first added, so the kernel walks its whole list to find it)
changed or changed back, SIGHUP, and wait for READY=1. Also counts the
setsockopt() calls of one such reload, and of a reload that changes
nothing, with strace attached. Checks that a client signing with the
bench key is still served afterwards.

usage: reload.py ACTIVATE ECHO_DAEMON KEYCONF_PY CONF N PORT REPS WORKDIR
prints: reload_us=.. (one line per reload), calls_changed=.., calls_same=..
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import time


def wait_ready(sock, deadline):
    """Returns the READY=1 datagram's text; RELOADING=1 and others skipped."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise SystemExit("reload.py: no READY=1 in time")
        sock.settimeout(left)
        msg = sock.recv(4096).decode(errors="replace")
        if "READY=1" in msg.split("\n"):
            if "failed" in msg:
                raise SystemExit(f"reload.py: the reload failed: {msg!r}")
            return msg


def write_conf(keyconf, conf, n, port, changed):
    args = [sys.executable, keyconf, conf, str(n), str(port)]
    if changed:
        args += ["--change", "0"]
    subprocess.run(args, check=True)


def setsockopt_calls(pid, sock, reload):
    """setsockopt() calls the supervisor makes during reload()."""
    out = os.path.join(WORK, f"strace.{time.monotonic_ns()}")
    st = subprocess.Popen(["strace", "-qq", "-f", "-e", "trace=setsockopt", "-p", str(pid), "-o", out])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # attached once TracerPid is set
        with open(f"/proc/{pid}/status") as f:
            if any(l.startswith("TracerPid:") and l.split()[1] != "0" for l in f):
                break
        time.sleep(0.01)
    else:
        raise SystemExit("reload.py: strace did not attach")
    reload()
    st.send_signal(signal.SIGINT)
    st.wait(timeout=10)
    with open(out) as f:
        return sum(1 for l in f if "TCP_MD5SIG" in l)


def signed_echo(port):
    """True when a client signing with the bench key gets its echo."""
    s = socket.socket()
    sin = struct.pack("=HH4s", socket.AF_INET, 0, socket.inet_aton("127.0.0.1")).ljust(128, b"\0")
    key = b"bench-key"
    s.setsockopt(socket.IPPROTO_TCP, 14, sin + struct.pack("=BBHI", 0, 0, len(key), 0) + key.ljust(80, b"\0"))
    s.settimeout(3)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(b"ping")
        return s.recv(4) == b"ping"
    except OSError:
        return False
    finally:
        s.close()


def main():
    global WORK
    activate, echo, keyconf, conf, n, port, reps, WORK = sys.argv[1:]
    n, port, reps = int(n), int(port), int(reps)
    path = os.path.join(WORK, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    env = dict(os.environ, NOTIFY_SOCKET=path)
    write_conf(keyconf, conf, n, port, False)
    proc = subprocess.Popen([activate, "--supervise", "--no-forward-reload", "--config", conf, "--", echo,
                             os.path.join(WORK, "report")], env=env)
    try:
        wait_ready(sock, time.monotonic() + 600)
        changed = False

        def reload():
            nonlocal changed
            changed = not changed
            write_conf(keyconf, conf, n, port, changed)
            t0 = time.monotonic_ns()
            proc.send_signal(signal.SIGHUP)
            wait_ready(sock, time.monotonic() + 120)
            return (time.monotonic_ns() - t0) // 1000

        for _ in range(reps):
            print(f"reload_us={reload()}", flush=True)
        print(f"calls_changed={setsockopt_calls(proc.pid, sock, reload)}")

        def same():
            write_conf(keyconf, conf, n, port, changed)
            proc.send_signal(signal.SIGHUP)
            wait_ready(sock, time.monotonic() + 120)
        print(f"calls_same={setsockopt_calls(proc.pid, sock, same)}")
        print(f"served_after={int(signed_echo(port))}")
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    main()
