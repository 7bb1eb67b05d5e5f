#!/usr/bin/python3
# Stands in for ssh's ProxyUseFdpass: runs the command given with one end
# of a unix socketpair as its standard output, takes the socket it passes
# (SCM_RIGHTS), sends argv[1] on it and prints what comes back.
import socket
import subprocess
import sys

mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
proc = subprocess.Popen(sys.argv[2:], stdout=theirs, stdin=subprocess.DEVNULL)
theirs.close()
_, fds, _, _ = socket.recv_fds(mine, 1, 1)
rc = proc.wait(timeout=30)
if rc != 0 or len(fds) != 1:
    sys.exit(f"command exit {rc}, {len(fds)} fds passed")
conn = socket.socket(fileno=fds[0])
conn.settimeout(10)
conn.sendall(sys.argv[1].encode())
conn.shutdown(socket.SHUT_WR)
reply = b""
while chunk := conn.recv(4096):
    reply += chunk
print(reply.decode())
