#!/usr/bin/python3
# reuseport.py ADDR PORT LOG [--key]: a listener that sets SO_REUSEPORT and
# binds ADDR PORT, as a daemon's worker (or an attacker of the same uid)
# would. With --key it first installs a catch-all TCP MD5 key of random
# bytes, as the activator does: a keyed member of the group. It writes
# "listening" or "bind: ERROR" as the first line of LOG, then one line
# "accepted HOST" per connection it takes (closing each at once).
import os
import socket
import struct
import sys

TCP_MD5SIG_EXT = 32
TCP_MD5SIG_FLAG_PREFIX = 1


def catch_all_key(sock):
    # struct tcp_md5sig: sockaddr_storage, flags, prefixlen, keylen, ifindex, key[80]
    family = struct.pack("=H", socket.AF_INET) + bytes(126)
    secret = os.urandom(40)
    head = struct.pack("=BBHi", TCP_MD5SIG_FLAG_PREFIX, 0, len(secret), 0)
    sock.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG_EXT, family + head + secret + bytes(80 - len(secret)))


def main():
    addr, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if "--key" in sys.argv[4:]:
        catch_all_key(sock)
    with open(log, "w", buffering=1) as out:
        try:
            sock.bind((addr, port))
            sock.listen(64)
        except OSError as e:
            out.write(f"bind: {os.strerror(e.errno)}\n")
            return 2
        out.write("listening\n")
        while True:
            conn, peer = sock.accept()
            out.write(f"accepted {peer[0]}\n")
            conn.close()


if __name__ == "__main__":
    sys.exit(main())
