#!/bin/bash
# --status of a TCP-AO listener, in the test VM (tests/vm: a kernel with
# CONFIG_TCP_AO). sock_diag does not report TCP-AO keys: --status takes a
# copy of the listener from the process holding it (pidfd_getfd) and reads
# TCP_AO_GET_KEYS and TCP_AO_INFO. It names each key (config name, prefix,
# IDs, algorithm, MAC length, the fingerprint of the config's secret), the
# kernel's per-key and per-socket counters move with good and bad clients,
# no secret byte is printed (TCP_AO_GET_KEYS hands the secrets back), and a
# config changed on disk shows as drift; in accept mode the socket comes
# from the activator itself, which is not dumpable: without CAP_SYS_PTRACE
# the view says it could not read the keys. Negative clients time out in 1 s.
#   By hand, as root: BUILD=$PWD/build tests/vm/run-ao vm/ao-status.sh (tests/vm/README.md)
. "$(dirname "$0")/../lib.sh"
netns_new "$NS"
S1=ao-status-secret-one
S2=ao-status-secret-two
key "$T/k1" "$S1"
key "$T/k2" "$S2"
key "$T/wrong" not-the-secret

served() { local out; out=$(printf ping | in_ns "$NS" "$CONNECT" -t 5 "$@" 2>>"$T/client.err") && [ "$out" = ping ]; }
refused() { local rc=0; printf x | in_ns "$NS" "$CONNECT" -t 1 "$@" > /dev/null 2>>"$T/client.err" || rc=$?; [ "$rc" = 1 ]; }
# status WANT WHAT ARGS...: tcpmd5-activate ARGS in the namespace, its exit code checked; every
# output kept in $T/all.out for the search for secrets.
status() {
        local want=$1 what=$2; shift 2
        expect_rc "$want" "$what" in_ns "$NS" "$@"
        cat "$T/last.out" "$T/last.err" >> "$T/all.out"
}
line_of() { grep -F -- "$1" "$T/last.out" | grep -qE -- "$2"; } # a line holding both (the second a regex)

conf() { # K2's RecvID, K1's algorithm
        write_conf "$T/ao.conf" '[Socket]' 'ListenStream = 127.0.0.1:5555' '[Service]' "ExecStart = $ECHO_DAEMON $T/report" \
                '[Key k1]' 'Peer = 127.0.1.0/24' "Algorithm = $2" 'SendID = 1' 'RecvID = 1' "SecretFile = $T/k1" \
                '[Key k2]' 'Peer = 127.0.1.0/24' 'Algorithm = cmac(aes128)' 'SendID = 2' "RecvID = $1" "SecretFile = $T/k2"
}
conf 2 'hmac(sha1)'
fp1=$("$ACTIVATE" --fingerprint "$T/k1")
fp2=$("$ACTIVATE" --fingerprint "$T/k2")

start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/ao.conf"
check "the activator starts with two TCP-AO keys" wait_for 400 test -s "$T/report"
check "hmac(sha1) key 1: served" served -s 127.0.1.1 --ao 'hmac(sha1):1:1' -k "$T/k1" 127.0.0.1 5555
check "cmac(aes128) key 2: served" served -s 127.0.1.2 --ao 'cmac(aes128):2:2' -k "$T/k2" 127.0.0.1 5555
check "key 1 with a wrong secret: refused" refused -s 127.0.1.1 --ao 'hmac(sha1):1:1' -k "$T/wrong" 127.0.0.1 5555
check "unknown KeyID 9: refused" refused -s 127.0.1.1 --ao 'hmac(sha1):9:9' -k "$T/k1" 127.0.0.1 5555
check "unsigned: refused" refused -s 127.0.1.1 127.0.0.1 5555

# ---- in sync: names, IDs, algorithms, fingerprints, counters ----
status 0 "--status of the TCP-AO listener: in sync" "$ACTIVATE" --status --config "$T/ao.conf"
cp "$T/last.out" "$T/status.out"
sed 's/^/# status: /' "$T/status.out"
check "the listener in sync" grep -q '^listen 127.0.0.1:5555, socket [0-9]*: in sync$' "$T/last.out"
check "the 'not shown' note is gone" bash -c "! grep -q 'not shown' '$T/last.out'"
check "k1: its prefix, name and fingerprint (--fingerprint's), in sync" \
        line_of "[Key k1]" "^  127\.0\.1\.0/24 +\[Key k1\] +fingerprint $fp1 in sync$"
check "k2: the same" line_of "[Key k2]" "^  127\.0\.1\.0/24 +\[Key k2\] +fingerprint $fp2 in sync$"
count() { # KEYTEXT FIELD: the kernel's counter on that key's line
        grep -F "TCP-AO $1:" "$T/status.out" | sed -n "s/.* $2 \([0-9]*\).*/\1/p"
}
k1_good=$(count 'hmac(sha1) SendID 1 RecvID 1 MAC 12' pkt_good)
k1_bad=$(count 'hmac(sha1) SendID 1 RecvID 1 MAC 12' pkt_bad)
k2_good=$(count 'cmac(aes128) SendID 2 RecvID 2 MAC 12' pkt_good)
k2_bad=$(count 'cmac(aes128) SendID 2 RecvID 2 MAC 12' pkt_bad)
check "k1: algorithm, IDs, MAC length; good segments counted ($k1_good)" test "${k1_good:-0}" -gt 0
check "k1: the wrong secret counted as bad ($k1_bad)" test "${k1_bad:-0}" -gt 0
check "k2 (cmac(aes128), the kernel's cmac(aes)): good segments counted ($k2_good)" test "${k2_good:-0}" -gt 0
check "k2: no bad segment (the control: only k1 saw the wrong secret)" test "${k2_bad:-x}" = 0
sock() { sed -n "s/^  TCP-AO socket.* $1 \([0-9]*\).*/\1/p" "$T/status.out"; }
check "the socket: ao_required" grep -q '^  TCP-AO socket (ao_required):' "$T/status.out"
check "the socket: pkt_good $(sock pkt_good)" test "$(sock pkt_good)" -ge $((k1_good + k2_good))
check "the socket: pkt_bad $(sock pkt_bad) (the wrong secret)" test "$(sock pkt_bad)" -gt 0
check "the socket: pkt_key_not_found $(sock pkt_key_not_found) (KeyID 9)" test "$(sock pkt_key_not_found)" -gt 0
check "the socket: pkt_ao_required $(sock pkt_ao_required) (unsigned)" test "$(sock pkt_ao_required)" -gt 0
check "the socket: pkt_dropped_icmp shown" grep -Eq '^  TCP-AO socket.* pkt_dropped_icmp [0-9]+' "$T/status.out"

# ---- drift: the config changed on disk, not reloaded ----
conf 3 'hmac(sha256)'
status 1 "config changed on disk: --status exits 1" "$ACTIVATE" --status --config "$T/ao.conf"
sed 's/^/# drift: /' "$T/last.out"
check "3 TCP-AO keys differ" grep -q '^listen 127.0.0.1:5555, socket [0-9]*: 3 TCP-AO keys differ$' "$T/last.out"
check "k1: another algorithm, OTHER MAC" line_of "[Key k1]" "fingerprint $fp1 OTHER MAC$"
check "...saying what the kernel holds" grep -qF "TCP-AO hmac(sha256) SendID 1 RecvID 1 MAC 12 (the kernel holds hmac(sha1) 12-byte MACs):" "$T/last.out"
check "k2 with RecvID 3: MISSING" line_of "[Key k2]" "fingerprint $fp2 MISSING$"
check "...not on the socket" grep -qF "TCP-AO cmac(aes128) SendID 2 RecvID 3 MAC 12: not on the socket" "$T/last.out"
check "the kernel's k2 (RecvID 2): EXTRA, unnamed" line_of "fingerprint - " "^  127\.0\.1\.0/24 +- +fingerprint - +EXTRA$"
check "...as the kernel names it" grep -qF "TCP-AO cmac(aes) SendID 2 RecvID 2 MAC 12 (not in the config): pkt_good" "$T/last.out"
conf 2 'hmac(sha1)'
status 0 "the config as running again: in sync (the control)" "$ACTIVATE" --status --config "$T/ao.conf"
kill "$BG_PID"; wait_exit "$BG_PID" 100 || true

# ---- accept mode: the activator alone holds the listener, and is not
# dumpable; root's CAP_SYS_PTRACE takes it all the same, and without that
# capability the view says the keys were not read. A TCP MD5 key beside
# (the mixed layout, UnmatchedPeers=allow-unsigned) is shown as before. ----
key "$T/md5" ao-status-md5-secret
fp_md5=$("$ACTIVATE" --fingerprint "$T/md5")
write_conf "$T/acc.conf" '[Socket]' 'ListenStream = 127.0.0.1:5556' 'Accept = yes' 'Inetd = yes' \
        'UnmatchedPeers = allow-unsigned' '[Service]' 'ExecStart = /bin/cat' '[Key k1]' 'Peer = 127.0.1.0/24' \
        'Algorithm = hmac(sha1)' 'SendID = 1' 'RecvID = 1' "SecretFile = $T/k1" \
        '[Key m]' 'Peer = 127.0.2.0/24' "SecretFile = $T/md5"
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/acc.conf"
check "accept mode: listens" wait_for 400 listening "$NS" 5556
check "accept mode: key 1 served" served -s 127.0.1.1 --ao 'hmac(sha1):1:1' -k "$T/k1" 127.0.0.1 5556
status 0 "accept mode: --status as root" "$ACTIVATE" --status --config "$T/acc.conf"
check "accept mode: k1 in sync, its good segments counted" \
        bash -c "grep -q 'fingerprint $fp1 in sync' '$T/last.out' && grep -Eq 'TCP-AO hmac\(sha1\) SendID 1 RecvID 1 MAC 12: pkt_good [1-9]' '$T/last.out'"
check "accept mode: the listener in sync" grep -q '^listen 127.0.0.1:5556, socket [0-9]*: in sync$' "$T/last.out"
check "accept mode: the MD5 key beside, in sync" line_of "[Key m]" "^  127\.0\.2\.0/24 +\[Key m\] +fingerprint $fp_md5 in sync$"
check "accept mode: not ao_required (MD5 peers and unsigned ones outside are served)" \
        grep -q '^  TCP-AO socket: pkt_good' "$T/last.out"
status 1 "without CAP_SYS_PTRACE: exit 1, the keys not known to be in sync" \
        setpriv --inh-caps -sys_ptrace --bounding-set -sys_ptrace "$ACTIVATE" --status --config "$T/acc.conf"
sed 's/^/# no ptrace: /' "$T/last.out"
check "...the listener: TCP-AO keys not read" grep -q '^listen 127.0.0.1:5556, socket [0-9]*: TCP-AO keys not read$' "$T/last.out"
check "...the MD5 key still shown" line_of "[Key m]" "fingerprint $fp_md5 in sync$"
check "...saying why and what to do" \
        grep -qF "TCP-AO keys not read: Operation not permitted (taking the socket from its holder needs ptrace rights: run --status as root)" "$T/last.out"
kill "$BG_PID"; wait_exit "$BG_PID" 100 || true

# ---- no secret byte in any --status output: the kernel hands the
# secrets back with the keys ----
hex() { printf %s "$1" | od -An -tx1 | tr -d ' \n'; }
secrets=(-e "$S1" -e "$S2" -e ao-status-md5-secret -e "$(hex "$S1")" -e "$(hex "$S2")" -e "$(hex ao-status-md5-secret)")
no_secret() { ! grep -qF "${secrets[@]}" "$T/all.out"; }
control() { printf '%s\n' "$S1" "$(hex "$S2")" "$(hex ao-status-md5-secret)" | grep -cF "${secrets[@]}" | grep -qx 3; }
check "$(grep -c . "$T/all.out") lines of --status output: no secret, raw or in hex" no_secret
check "the control: the same search finds each secret where it is" control
sed 's/^/# client: /' "$T/client.err" | tail -3
finish
