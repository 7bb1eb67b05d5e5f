#!/usr/bin/python3
"""A signed TCP connection held open across a reload: connects to HOST PORT
with the key in KEYFILE, checks an echo, then waits (bounded) for a line on
stdin (or its end) and checks a second echo on the same connection. Never
half-closes, which systemd-socket-proxyd would take for the end of both
directions. With GREETING=1, first reads and prints one line the server
sends. Prints one line per step; exit 0 only if both echoes came back."""
import os
import select
import socket
import struct
import sys

TCP_MD5SIG = 14


def md5sig(host, key):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    addr = struct.pack("=H", family) + b"\0\0"  # family, port
    if family == socket.AF_INET:
        addr += socket.inet_pton(family, host)
    else:
        addr += b"\0" * 4 + socket.inet_pton(family, host)
    addr = addr.ljust(128, b"\0")  # struct sockaddr_storage
    return family, addr + struct.pack("=BBHi80s", 0, 0, len(key), 0, key)


def echo(s, msg):
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    return got == msg


def main():
    host, port, keyfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    key = open(keyfile, "rb").read()
    if key.endswith(b"\n"):
        key = key[:-1]
    family, opt = md5sig(host, key)
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, opt)
    s.settimeout(5)
    s.connect((host, port))
    if os.environ.get("GREETING") == "1":
        print("greeting", s.makefile("rb").readline().decode(errors="replace").strip(), flush=True)
    first = echo(s, b"before")
    print("first", "ok" if first else "lost", flush=True)
    if not select.select([sys.stdin], [], [], 120)[0]:
        print("second timeout", flush=True)
        return 1
    sys.stdin.readline()
    try:
        second = echo(s, b"after")
    except OSError as e:
        print("second error", e, flush=True)
        return 1
    print("second", "ok" if second else "lost", flush=True)
    return 0 if first and second else 1


sys.exit(main())
