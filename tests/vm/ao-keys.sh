#!/bin/bash
# TCP-AO keys end to end, in the test VM (tests/vm: a kernel with
# CONFIG_TCP_AO): the activator installs them before listen() (the listen
# guard checks), every right-key client is served, and no unsigned, MD5,
# wrong-secret, unknown-KeyID or outside client completes a handshake where
# TCP-AO is required; the allowed mixed layout (UnmatchedPeers=
# allow-unsigned) keeps AO peers AO and MD5 peers MD5; a reload that would
# turn ao_required off is refused and the running keys stay. Process starts
# cost ~50x under TCG: negative cases time out after 1 s.
#   By hand, as root: BUILD=$PWD/build tests/vm/run-ao ao-keys.sh (tests/vm/README.md)
. "$(dirname "$0")/../lib.sh"
netns_new "$NS"
key "$T/k1" ao-secret-one
key "$T/k2" ao-secret-two
key "$T/wrong" not-the-secret
key "$T/md5" md5-secret

# served ARGS...: a signed echo through tcpmd5-connect comes back.
served() { local out; out=$(printf ping | in_ns "$NS" "$CONNECT" -t 5 "$@" 2>>"$T/client.err") && [ "$out" = ping ]; }
# refused ARGS...: no connection within 1 s (the SYN dropped: exit 1).
refused() { local rc=0; printf x | in_ns "$NS" "$CONNECT" -t 1 "$@" > /dev/null 2>>"$T/client.err" || rc=$?; [ "$rc" = 1 ]; }

conf() { # NAME LINES...: a config serving the echo daemon on 127.0.0.1:5555
        local f=$T/$1.conf; shift
        write_conf "$f" '[Socket]' 'ListenStream = 127.0.0.1:5555' '[Service]' "ExecStart = $ECHO_DAEMON $T/report" "$@"
        echo "$f"
}
K1=('[Key k1]' 'Peer = 127.0.1.0/24' 'Algorithm = hmac(sha1)' 'SendID = 1' 'RecvID = 1' "SecretFile = $T/k1")
K2=('[Key k2]' 'Peer = 127.0.1.0/24' 'Algorithm = cmac(aes128)' 'SendID = 2' 'RecvID = 2' "SecretFile = $T/k2")
# The client's view of both keys, for 127.0.0.1 (any source in 127.0.1.0/24 signs with them).
write_conf "$T/client.conf" '[Key k1]' 'Peer = 127.0.0.1' 'Algorithm = hmac(sha1)' 'SendID = 1' 'RecvID = 1' "SecretFile = $T/k1" \
        '[Key k2]' 'Peer = 127.0.0.1' 'Algorithm = cmac(aes128)' 'SendID = 2' 'RecvID = 2' "SecretFile = $T/k2"

# ---- the listen guard counts a TCP-AO key the kernel took ----
expect_rc 0 "listen guard: listen() after a TCP-AO key passes" in_ns "$NS" env "${GUARD_ENV[@]}" \
        LISTEN_GUARD_TARGET="$BUILD/tests/listen-probe" LISTEN_GUARD_LOG="$T/probe.log" "$BUILD/tests/listen-probe" ao 3010
expect_rc 134 "listen guard: listen() without a key still aborts (the control)" in_ns "$NS" env "${GUARD_ENV[@]}" \
        LISTEN_GUARD_TARGET="$BUILD/tests/listen-probe" LISTEN_GUARD_LOG="$T/probe.log" "$BUILD/tests/listen-probe" nokey 3011
rm -f "$T/probe.log"

# ---- AO only, UnmatchedPeers=drop: ao_required ----
ao=$(conf ao "${K1[@]}" "${K2[@]}")
expect_rc 0 "--check of a TCP-AO config on a kernel with TCP-AO" in_ns "$NS" "$ACTIVATE" --config "$ao" --check
check "--check lists both keys of the rollover and ao_required" \
        bash -c "grep -c 'TCP-AO [hc]mac' '$T/last.out' | grep -qx 2 && grep -q ao_required '$T/last.out'"
# A hash the kernel lacks: refused before anything listens, by the kernel's word.
nosuch=$(conf nosuch '[Key n]' 'Peer = 127.0.1.0/24' 'Algorithm = hmac(nosuch)' 'SendID = 1' 'RecvID = 1' "SecretFile = $T/k1")
expect_rc 78 "an hmac(NAME) the kernel lacks: refused" in_ns "$NS" $WRAP "$ACTIVATE" --config "$nosuch"
expect_stderr "nosuch.conf:7: \[Key n\] Algorithm=hmac\(nosuch\): the kernel has no such MAC algorithm" "...naming it"
check "...with nothing listening" bash -c "! ip netns exec $NS ss -Htln | grep -q 5555"
start_bg "$NS" $WRAP "$ACTIVATE" --config "$ao"
check "the activator starts with TCP-AO keys (the listen guard saw them before listen())" wait_for 400 test -s "$T/report"
check "hmac(sha1) key 1 from 127.0.1.1: served" served -s 127.0.1.1 --ao 'hmac(sha1):1:1' -k "$T/k1" 127.0.0.1 5555
check "cmac(aes128) key 2 from 127.0.1.2: served" served -s 127.0.1.2 --ao 'cmac(aes128):2:2' -k "$T/k2" 127.0.0.1 5555
check "--config with both keys (sends with k2, the later one): served" served -s 127.0.1.3 -c "$T/client.conf" 127.0.0.1 5555
in_ns "$NS" "$CONNECT" -v -t 5 -s 127.0.1.3 -c "$T/client.conf" 127.0.0.1 5555 < /dev/null > "$T/v.out" 2>&1 || true
check "-v names k2 as the key it sends with" grep -q "with TCP-AO \[Key k2\]" "$T/v.out"
# TCP-AO keys roll over inside one connection: one attempt (not a race of
# one socket per key, as for TCP MD5) whose socket holds k1 as well.
check "-v: one attempt for both TCP-AO keys" bash -c "[ \$(grep -c 'connecting to' '$T/v.out') = 1 ]"
check "-v: that socket also holds k1" grep -q "also holds TCP-AO \[Key k1\] (hmac(sha1) SendID 1 RecvID 1)" "$T/v.out"
check "-v: connected with k2" grep -q "connected to 127.0.0.1 port 5555 with TCP-AO \[Key k2\]" "$T/v.out"
check "wrong secret: refused" refused -s 127.0.1.1 --ao 'hmac(sha1):1:1' -k "$T/wrong" 127.0.0.1 5555
check "unknown KeyID 9: refused" refused -s 127.0.1.1 --ao 'hmac(sha1):9:9' -k "$T/k1" 127.0.0.1 5555
check "unsigned from inside the prefix: refused" refused -s 127.0.1.1 127.0.0.1 5555
check "MD5 with the AO secret from inside the prefix: refused" refused -s 127.0.1.1 -k "$T/k1" 127.0.0.1 5555
check "unsigned from outside every prefix: refused (ao_required)" refused -s 127.0.3.1 127.0.0.1 5555
check "MD5 from outside every prefix: refused" refused -s 127.0.3.1 -k "$T/md5" 127.0.0.1 5555
check "TCP-AO with a right key from outside the prefix: refused" refused -s 127.0.3.1 --ao 'hmac(sha1):1:1' -k "$T/k1" 127.0.0.1 5555
# --fdpass: the socket handed on (as to ssh's ProxyUseFdpass) carries the TCP-AO key.
fdpass_echo() {
        in_ns "$NS" python3 - "$CONNECT" "$T/k1" <<'PY'
import array, socket, subprocess, sys
a, b = socket.socketpair()
p = subprocess.Popen([sys.argv[1], "--fdpass", "-t", "5", "-s", "127.0.1.4", "--ao", "hmac(sha1):1:1", "-k", sys.argv[2],
                      "127.0.0.1", "5555"], stdout=b)
b.close()
a.settimeout(30)
msg, anc, flags, addr = a.recvmsg(1, socket.CMSG_LEN(4))
fds = array.array("i")
for level, kind, data in anc:
    fds.frombytes(data[:4])
s = socket.socket(fileno=fds[0])
s.settimeout(10)
s.sendall(b"ping")
s.shutdown(socket.SHUT_WR)
out = s.recv(100)
sys.exit(0 if p.wait() == 0 and out == b"ping" else 1)
PY
}
check "--fdpass with a TCP-AO key: the passed socket is served" fdpass_echo
# --status: the TCP-AO keys, read from the socket (vm/ao-status.sh checks the view).
expect_rc 0 "--status of a TCP-AO listener" in_ns "$NS" "$ACTIVATE" --status --config "$ao"
check "--status shows both TCP-AO keys in sync" \
        bash -c "grep -Ec '^  127\.0\.1\.0/24 +\[Key k[12]\] +fingerprint [0-9a-f]{16} in sync$' '$T/last.out' | grep -qx 2"
check "--status shows the kernel's TCP-AO counters: the refused unsigned SYNs (TcpExtTCPAORequired)" \
        grep -Eq "TcpExtTCPAORequired=[1-9]" "$T/last.out"
sed 's/^/# status: /' "$T/last.out"
kill "$BG_PID"; wait_exit "$BG_PID" 100 || true

# ---- dual-stack, accept mode: IPv4 keys as v4-mapped on an AF_INET6 socket ----
write_conf "$T/ds.conf" '[Socket]' 'ListenStream = 5556' 'BindIPv6Only = both' 'Accept = yes' 'Inetd = yes' \
        '[Service]' 'ExecStart = /bin/cat' "${K1[@]}" \
        '[Key k6]' 'Peer = ::1' 'Algorithm = hmac(sha256)' 'SendID = 6' 'RecvID = 7' "SecretFile = $T/k2"
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/ds.conf"
check "dual-stack accept mode with TCP-AO keys listens" wait_for 400 listening "$NS" 5556
check "dual-stack: IPv4 TCP-AO peer (v4-mapped key): served" served -s 127.0.1.1 --ao 'hmac(sha1):1:1' -k "$T/k1" 127.0.0.1 5556
check "dual-stack: IPv6 TCP-AO peer, hmac(sha256), SendID/RecvID swapped on the client: served" \
        served --ao 'hmac(sha256):7:6' -k "$T/k2" ::1 5556
check "dual-stack: IPv6 peer with its IDs not swapped: refused" refused --ao 'hmac(sha256):6:7' -k "$T/k2" ::1 5556
check "dual-stack: IPv6 peer with a wrong secret: refused" refused --ao 'hmac(sha256):7:6' -k "$T/wrong" ::1 5556
check "dual-stack: IPv6 peer with the IPv4 peers' key: refused" refused --ao 'hmac(sha1):1:1' -k "$T/k1" ::1 5556
check "dual-stack: unsigned IPv4 peer: refused" refused -s 127.0.1.1 127.0.0.1 5556
check "dual-stack: unsigned IPv6 peer: refused" refused ::1 5556
check "dual-stack: unsigned IPv4 peer outside every prefix: refused" refused -s 127.0.3.1 127.0.0.1 5556
check "dual-stack: the right TCP-AO key from outside its /24 (the v4-mapped key keeps its IPv4 length): refused" \
        refused -s 127.0.3.1 --ao 'hmac(sha1):1:1' -k "$T/k1" 127.0.0.1 5556
kill "$BG_PID"; wait_exit "$BG_PID" 100 || true

# ---- Peer=any: on an IPv4 and an IPv6-only listener; refused on dual-stack ----
write_conf "$T/any.conf" '[Socket]' 'ListenStream = 0.0.0.0:5558' 'ListenStream = [::]:5559' 'BindIPv6Only = ipv6-only' \
        'Accept = yes' 'Inetd = yes' '[Service]' 'ExecStart = /bin/cat' \
        '[Key all]' 'Peer = any' 'Algorithm = hmac(sha1)' 'SendID = 1' 'RecvID = 1' "SecretFile = $T/k1"
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/any.conf"
check "Peer=any TCP-AO key on IPv4 and IPv6-only listeners: listens" wait_for 400 listening "$NS" 5559
check "Peer=any: IPv4 TCP-AO peer: served" served -s 127.0.3.1 --ao 'hmac(sha1):1:1' -k "$T/k1" 127.0.0.1 5558
check "Peer=any: IPv6 TCP-AO peer: served" served --ao 'hmac(sha1):1:1' -k "$T/k1" ::1 5559
check "Peer=any: unsigned IPv4 peer: refused" refused -s 127.0.3.1 127.0.0.1 5558
check "Peer=any: unsigned IPv6 peer: refused" refused ::1 5559
check "Peer=any: MD5 IPv4 peer: refused" refused -s 127.0.3.1 -k "$T/k1" 127.0.0.1 5558
kill "$BG_PID"; wait_exit "$BG_PID" 100 || true
# The control for the refusal: the kernel itself refuses ::ffff:0.0.0.0/0.
write_conf "$T/anyds.conf" '[Socket]' 'ListenStream = 5560' 'BindIPv6Only = both' '[Service]' 'ExecStart = /bin/cat' \
        '[Key all]' 'Peer = any' 'Algorithm = hmac(sha1)' 'SendID = 1' 'RecvID = 1' "SecretFile = $T/k1"
expect_rc 78 "Peer=any TCP-AO key on a dual-stack listener: refused" in_ns "$NS" $WRAP "$ACTIVATE" --config "$T/anyds.conf"
expect_stderr "is for every IPv4 peer \(0.0.0.0/0\), which the kernel cannot hold" "...saying why and what to write"
check "the kernel takes a TCP-AO key at ::ffff:127.0.0.0/8 (the control) but not at ::ffff:0.0.0.0/0 (EINVAL)" in_ns "$NS" python3 -c '
import errno, socket, struct, sys
def add(address, prefix):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    addr = struct.pack("=HH4x16s4x", socket.AF_INET6, 0, socket.inet_pton(socket.AF_INET6, address)).ljust(128, b"\0")
    key = b"k" * 16
    opt = (addr + b"hmac(sha1)".ljust(64, b"\0") + struct.pack("=iIH", 0, 0, 0) + bytes([prefix, 1, 1, 0, 0, len(key)])
           + key.ljust(80, b"\0"))
    try:
        s.setsockopt(socket.IPPROTO_TCP, 38, opt)
        return 0
    except OSError as e:
        return e.errno
sys.exit(0 if add("::ffff:127.0.0.0", 8) == 0 and add("::ffff:0.0.0.0", 0) == errno.EINVAL else 1)'

# ---- TCP-AO and MD5 on one listener: taken with UnmatchedPeers=allow-unsigned ----
mixed=$(conf mixed "${K1[@]}" '[Key m]' 'Peer = 127.0.2.0/24' "SecretFile = $T/md5" '[Socket]' 'UnmatchedPeers = allow-unsigned')
rm -f "$T/report"
start_bg "$NS" $WRAP "$ACTIVATE" --config "$mixed"
check "mixed layout with allow-unsigned starts" wait_for 400 test -s "$T/report"
check "mixed: TCP-AO peer: served" served -s 127.0.1.1 --ao 'hmac(sha1):1:1' -k "$T/k1" 127.0.0.1 5555
check "mixed: MD5 peer: served" served -s 127.0.2.1 -k "$T/md5" 127.0.0.1 5555
check "mixed: unsigned from the AO prefix: refused" refused -s 127.0.1.1 127.0.0.1 5555
check "mixed: MD5 from the AO prefix: refused" refused -s 127.0.1.1 -k "$T/md5" 127.0.0.1 5555
check "mixed: unsigned from the MD5 prefix: refused" refused -s 127.0.2.1 127.0.0.1 5555
check "mixed: TCP-AO from the MD5 prefix: refused" refused -s 127.0.2.1 --ao 'hmac(sha1):1:1' -k "$T/k1" 127.0.0.1 5555
check "mixed: unsigned from outside: served, as UnmatchedPeers=allow-unsigned says" served -s 127.0.3.1 127.0.0.1 5555
kill "$BG_PID"; wait_exit "$BG_PID" 100 || true

# ---- on demand: only a TCP-AO handshake starts the daemon ----
rm -f "$T/report"
start_bg "$NS" $WRAP "$ACTIVATE" --config "$ao" --on-demand
check "on demand with TCP-AO keys listens" wait_for 400 listening "$NS" 5555
check "on demand: an unsigned client gets nothing..." refused -s 127.0.1.1 127.0.0.1 5555
check "...and does not start the daemon" test ! -e "$T/report"
check "on demand: a TCP-AO client is served (the daemon started)" served -s 127.0.1.1 --ao 'hmac(sha1):1:1' -k "$T/k1" 127.0.0.1 5555
kill "$BG_PID"; wait_exit "$BG_PID" 100 || true

# ---- the client sends with the key listed last: a server with only that
# one serves it, a server with only the other does not (so the server gets
# a new key first, as tcpmd5-activate.conf(5) says) ----
rm -f "$T/report"
start_bg "$NS" $WRAP "$ACTIVATE" --config "$(conf k2only "${K2[@]}")"
check "server with k2 only: listens" wait_for 400 test -s "$T/report"
check "server with k2 only: a client holding k1 and k2 (k2 last) is served" served -s 127.0.1.5 -c "$T/client.conf" 127.0.0.1 5555
kill "$BG_PID"; wait_exit "$BG_PID" 100 || true
rm -f "$T/report"
start_bg "$NS" $WRAP "$ACTIVATE" --config "$(conf k1only "${K1[@]}")"
check "server with k1 only: listens" wait_for 400 test -s "$T/report"
check "server with k1 only: the same client is refused (its SYN carries KeyID 2)" refused -s 127.0.1.5 -c "$T/client.conf" 127.0.0.1 5555
check "server with k1 only: a client with k1 alone is served" served -s 127.0.1.5 --ao 'hmac(sha1):1:1' -k "$T/k1" 127.0.0.1 5555
kill "$BG_PID"; wait_exit "$BG_PID" 100 || true

# ---- a reload that would turn ao_required off: refused, the running keys stay ----
# (the TCP-AO changes a reload applies: vm/ao-reload.sh)
sup=$(conf sup "${K1[@]}")
rm -f "$T/report"
start_bg "$NS" $WRAP "$ACTIVATE" --config "$sup" --supervise
check "supervise mode with a TCP-AO key starts" wait_for 400 test -s "$T/report"
printf '%s\n' '[Socket]' 'UnmatchedPeers = allow-unsigned' >> "$sup"
kill -HUP "$BG_PID"
check "a reload that turns ao_required off is refused, saying restart" \
        wait_for 400 grep -q "reload: TCP-AO's ao_required would turn off .*restart tcpmd5-activate to apply it" "$T/bg.err"
check "after the refused reload the running key still serves" served -s 127.0.1.1 --ao 'hmac(sha1):1:1' -k "$T/k1" 127.0.0.1 5555
check "...and an unsigned client from outside every prefix is still refused" refused -s 127.0.3.1 127.0.0.1 5555
kill "$BG_PID"; wait_exit "$BG_PID" 100 || true
sed 's/^/# client: /' "$T/client.err" | tail -5
finish
