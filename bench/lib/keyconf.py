#!/usr/bin/env python3
"""Writes a tcpmd5-activate config with N [Key kI] sections, one /32 peer and
one SecretHex= each, the same key set as bench/keyset.h (the client's key
last). The file is created 0600: it holds secrets.

usage: keyconf.py FILE N PORT [EXECSTART] [--change I] [--ao ALG[,ALG...]]
--change I gives key I a different secret (for the reload benchmark).
--ao makes them TCP-AO keys, as keyset_ao_add() does: key I with the I-th
algorithm of the list (round robin), SendID = RecvID = I mod 256."""
import os
import sys


def ao(algs, i):
    """The TCP-AO lines of key i, or none."""
    if not algs:
        return ""
    return f"Algorithm = {algs[i % len(algs)]}\nSendID = {i % 256}\nRecvID = {i % 256}\n"


def main():
    args = sys.argv[1:]
    change = None
    if "--change" in args:
        k = args.index("--change")
        change = int(args[k + 1])
        del args[k:k + 2]
    algs = None
    if "--ao" in args:
        k = args.index("--ao")
        algs = args[k + 1].split(",")
        del args[k:k + 2]
    path, n, port = args[0], int(args[1]), int(args[2])
    cmd = args[3] if len(args) > 3 else None
    out = [f"[Socket]\nListenStream = 127.0.0.1:{port}\nBacklog = 4096\n"]
    if cmd:
        out.append(f"[Service]\nExecStart = {cmd}\n")
    for i in range(n - 1):
        a = (10 << 24) + i + 1
        secret = f"{i:08x}{i:08x}" if i != change else f"{i ^ 0xffffffff:08x}{i:08x}"
        out.append(f"[Key k{i}]\nPeer = {a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}\n"
                   f"SecretHex = {secret}\n{ao(algs, i)}")
    out.append(f"[Key k{n - 1}]\nPeer = 127.0.0.1\nSecretHex = {b'bench-key'.hex()}\n{ao(algs, n - 1)}")
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(out))
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)  # a reload never sees half a file


if __name__ == "__main__":
    main()
