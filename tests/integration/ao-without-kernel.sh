#!/bin/bash
# TCP-AO keys on a kernel without TCP-AO (CONFIG_TCP_AO unset, as in every
# Debian kernel up to 6.12): exit 69 before anything listens, in every mode,
# naming what is missing; --check says the same after showing the plan; the
# config refusals come first (78); tcpmd5-connect exits 69 too. MD5-only
# configs are untouched. On a kernel with TCP-AO, tests/vm covers AO.
. "$(dirname "$0")/../lib.sh"

# The kernel's own answer, on a socket of this test: ENOPROTOOPT (92) means no TCP-AO.
ao_errno=$(python3 -c '
import errno, socket
s = socket.socket()
try:
    s.setsockopt(socket.IPPROTO_TCP, 38, bytes(288))
    print(0)
except OSError as e:
    print(e.errno)')
[ "$ao_errno" = 92 ] || skip_all "this kernel answers TCP_AO_ADD_KEY with errno $ao_errno, not ENOPROTOOPT: it has TCP-AO (tests/vm covers that)"

netns_new "$NS"
key "$T/ao.key" ao-secret-one
key "$T/md5.key" md5-secret
marker=$T/started
printf '#!/bin/sh\ntouch %s\n' "$marker" > "$T/cmd"
chmod 755 "$T/cmd"

# conf NAME [LINES...]: listeners, a command, and the given keys.
conf() {
        local f=$T/$1.conf; shift
        write_conf "$f" '[Socket]' 'ListenStream = 5555' 'ListenStream = 127.0.0.1:5556' '[Service]' "ExecStart = $T/cmd" "$@"
        echo "$f"
}
AO_KEY=('[Key ao1]' 'Peer = 192.0.2.0/24' 'Algorithm = hmac(sha1)' 'SendID = 1' 'RecvID = 2' "SecretFile = $T/ao.key")

# refused WANT-RC STDERR-PATTERN DESCRIPTION ARGS...: nothing started, nothing left listening.
refused() {
        local want=$1 pattern=$2 what=$3; shift 3
        rm -f "$marker"
        expect_rc "$want" "$what" timeout -k 5 60 ip netns exec "$NS" $WRAP "$ACTIVATE" "$@"
        expect_stderr "$pattern" "$what: message"
        if [ -e "$marker" ]; then fail "$what: the command was started"; fi
        if listening "$NS" 5555 || listening "$NS" 5556; then fail "$what: something is left listening"; fi
}

missing="ao.conf:8: \[Key ao1\] is a TCP-AO key \(Algorithm=\), but this kernel has no TCP-AO: it needs Linux >= 6.7 built with CONFIG_TCP_AO"
ao=$(conf ao "${AO_KEY[@]}")
refused 69 "$missing" "exec mode with a TCP-AO key" --config "$ao"
refused 69 "$missing" "accept mode with a TCP-AO key" --config "$ao" --accept
refused 69 "$missing" "on-demand mode with a TCP-AO key" --config "$ao" --on-demand
refused 69 "$missing" "supervise mode with a TCP-AO key" --config "$ao" --supervise
# A name of the kernel's crypto API this program does not know by name: the kernel judges it.
refused 69 "CONFIG_TCP_AO" "hmac(sha512), left to the kernel" \
        --config "$(conf sha512 '[Key s]' 'Peer = 192.0.2.0/24' 'Algorithm = hmac(sha512)' 'SendID = 7' 'RecvID = 7' "SecretFile = $T/ao.key")"

# --check: the plan first (what the key would be), then the same refusal.
expect_rc 69 "--check with a TCP-AO key" ip netns exec "$NS" "$ACTIVATE" --config "$ao" --check
expect_stderr "$missing" "--check names CONFIG_TCP_AO and Linux >= 6.7"
fp=$("$ACTIVATE" --fingerprint "$T/ao.key")
check "--check shows the key: name, algorithm, IDs, MAC length and the fingerprint --fingerprint prints ($fp)" \
        grep -Eq "^  192.0.2.0/24 \[v4-mapped ::ffff:192.0.2.0\] +\[Key ao1\] TCP-AO hmac\(sha1\) SendID 1 RecvID 2 MAC 12 bytes, SecretFile $T/ao.key \(13 bytes, fingerprint $fp\)" "$T/last.out"
check "--check says peers matching no key are dropped by ao_required" grep -q "ao_required: TCP-AO drops every peer" "$T/last.out"
check "--check shows no catch-all where TCP-AO keys are" bash -c "! grep -q catch-all '$T/last.out'"
check "--check prints no secret" bash -c "! grep -q ao-secret-one '$T/last.out' '$T/last.err'"
expect_rc 69 "--check --quiet with a TCP-AO key" ip netns exec "$NS" "$ACTIVATE" --config "$ao" --check --quiet
expect_stderr "CONFIG_TCP_AO" "--check --quiet: message"

# Config mistakes are refused first, whatever the kernel (78), each with what to write.
refused 78 "bad.conf:7: Algorithm=: 'HMAC-SHA1' is not a TCP-AO MAC algorithm \(did you mean hmac\(sha1\)\?\)" \
        "misspelt algorithm" --config "$(conf bad '[Key a]' 'Algorithm = HMAC-SHA1' 'Peer = any' 'SendID = 1' 'RecvID = 1' "SecretFile = $T/ao.key")"
refused 78 "range.conf:9: SendID=: 300 is out of range \(0..255\)" "SendID out of range" \
        --config "$(conf range '[Key a]' 'Peer = any' 'Algorithm = hmac(sha1)' 'SendID = 300' 'RecvID = 1' "SecretFile = $T/ao.key")"
refused 78 "noalg.conf:8: \[Key a\] SendID= makes a TCP-AO key, which needs Algorithm=" "SendID without Algorithm" \
        --config "$(conf noalg '[Key a]' 'Peer = any' 'SendID = 1' 'RecvID = 1' "SecretFile = $T/ao.key")"
refused 78 "noid.conf:8: \[Key a\] Algorithm=cmac\(aes128\) needs SendID= and RecvID=" "Algorithm without IDs" \
        --config "$(conf noid '[Key a]' 'Peer = any' 'Algorithm = cmac(aes128)' "SecretFile = $T/ao.key")"
refused 78 "sameid.conf:13: \[Key ao2\] Peer=192.0.2.0/24: SendID=1 is also \[Key ao1\]'s" "two TCP-AO keys with one SendID" \
        --config "$(conf sameid "${AO_KEY[@]}" '[Key ao2]' 'Peer = 192.0.2.0/24' 'Algorithm = hmac(sha1)' 'SendID = 1' 'RecvID = 3' "SecretFile = $T/ao.key")"
refused 78 "aomd5.conf:7: \[Key ao1\] Peer=192.0.2.0/24: TCP-AO key for peers that TCP MD5 \[Key m\]" \
        "a TCP-AO and an MD5 key for overlapping prefixes" \
        --config "$(conf aomd5 "${AO_KEY[@]}" '[Key m]' 'Peer = 192.0.0.0/16' "SecretFile = $T/md5.key")"
mixed=$(conf mixed "${AO_KEY[@]}" '[Key m]' 'Peer = 198.51.100.0/24' "SecretFile = $T/md5.key")
refused 78 "mixed.conf:2: ListenStream=\[::\]:5555: TCP-AO \[Key ao1\] \(.*mixed.conf:6\) and TCP MD5 \[Key m\] \(.*mixed.conf:12\) both reach this listener, and UnmatchedPeers=drop" \
        "TCP-AO and MD5 keys on one listener with UnmatchedPeers=drop" --config "$mixed"
expect_rc 78 "--check of the same" ip netns exec "$NS" "$ACTIVATE" --config "$mixed" --check
expect_stderr "or set UnmatchedPeers=allow-unsigned" "--check: message says what to do"
refused 78 "any.conf:2: ListenStream=\[::\]:5555: TCP-AO \[Key all\] \(.*any.conf:6\) is for every IPv4 peer \(0.0.0.0/0\), which the kernel cannot hold" \
        "a TCP-AO key for every IPv4 peer on a dual-stack listener" \
        --config "$(conf any '[Key all]' 'Peer = any' 'Algorithm = hmac(sha1)' 'SendID = 1' 'RecvID = 1' "SecretFile = $T/ao.key")"
# With unsigned peers allowed the layout is taken: then the kernel is what is missing.
refused 69 "CONFIG_TCP_AO" "the same with UnmatchedPeers=allow-unsigned" \
        --config "$(conf mixedok "${AO_KEY[@]}" '[Key m]' 'Peer = 198.51.100.0/24' "SecretFile = $T/md5.key" '[Socket]' 'UnmatchedPeers = allow-unsigned')"

# MD5-only configs: as ever, no TCP-AO probe, no message.
md5=$(conf md5 '[Key m]' 'Peer = any' "SecretFile = $T/md5.key")
expect_rc 0 "--check of an MD5-only config" ip netns exec "$NS" "$ACTIVATE" --config "$md5" --check
check "...which mentions no TCP-AO" bash -c "! grep -q 'TCP-AO\|ao_required' '$T/last.out' '$T/last.err'"
rm -f "$marker"
expect_rc 0 "an MD5-only config starts its command" ip netns exec "$NS" $WRAP "$ACTIVATE" --config "$md5"
check "...which ran" test -e "$marker"

# The client: 69 for a TCP-AO key, 64 for a malformed --ao, before any SYN.
expect_rc 69 "tcpmd5-connect --ao with a key file" ip netns exec "$NS" $VG "$CONNECT" -t 1 --ao 'hmac(sha1):1:2' -k "$T/ao.key" 127.0.0.1 5555
expect_stderr "no TCP-AO: it needs Linux >= 6.7 built with CONFIG_TCP_AO" "tcpmd5-connect --ao: message"
write_conf "$T/client.conf" '[Key a]' 'Peer = 127.0.0.0/8' 'Algorithm = cmac(aes128)' 'SendID = 2' 'RecvID = 1' "SecretFile = $T/ao.key"
expect_rc 69 "tcpmd5-connect --config with a TCP-AO key" ip netns exec "$NS" $VG "$CONNECT" -t 1 -v -c "$T/client.conf" 127.0.0.1 5555
expect_stderr "with TCP-AO \[Key a\] of $T/client.conf \(cmac\(aes128\) SendID 2 RecvID 1, 13 bytes, fingerprint $fp\)" \
        "tcpmd5-connect -v names the TCP-AO key, its IDs and fingerprint"
expect_rc 64 "tcpmd5-connect --ao without IDs" $VG "$CONNECT" --ao 'hmac(sha1)' -k "$T/ao.key" 127.0.0.1 5555
expect_stderr "not ALGORITHM:SENDID:RECVID" "tcpmd5-connect --ao without IDs: message"
expect_rc 64 "tcpmd5-connect --ao without a secret" $VG "$CONNECT" --ao 'hmac(sha1):1:1' 127.0.0.1 5555
expect_rc 64 "tcpmd5-connect --ao with --config" $VG "$CONNECT" --ao 'hmac(sha1):1:1' -c "$T/client.conf" 127.0.0.1 5555
expect_rc 64 "tcpmd5-connect --ao with two keys" $VG "$CONNECT" --ao 'hmac(sha1):1:1' -k "$T/ao.key" -k "$T/ao.key" 127.0.0.1 5555
expect_stderr "for a TCP-AO rollover put the keys in a --config" "tcpmd5-connect --ao with two keys: message"
# A TCP-AO and a TCP MD5 key of one prefix: refused (78) before any socket,
# naming both; a TCP MD5 key of a longer prefix is used as ever (the
# control: the same file signs that peer, up to the kernel's own answer).
write_conf "$T/mixed-client.conf" '[Key a]' 'Peer = 127.0.0.0/8' 'Algorithm = cmac(aes128)' 'SendID = 2' 'RecvID = 1' \
        "SecretFile = $T/ao.key" '[Key m]' 'Peer = 127.0.0.0/8' "SecretFile = $T/ao.key" \
        '[Key near]' 'Peer = 127.0.0.2/32' "SecretFile = $T/ao.key"
expect_rc 78 "tcpmd5-connect: TCP-AO and TCP MD5 keys of one prefix" ip netns exec "$NS" $VG "$CONNECT" -t 1 -c "$T/mixed-client.conf" 127.0.0.1 5555
expect_stderr "\[Key a\] is a TCP-AO key and \[Key m\] at $T/mixed-client.conf:[0-9]* a TCP MD5 key of the same Peer= prefix" \
        "tcpmd5-connect: the mixed prefix message names both keys"
expect_rc 1 "tcpmd5-connect: the TCP MD5 key of a longer prefix still signs (no server: no connection)" \
        ip netns exec "$NS" $VG "$CONNECT" -t 1 -v -c "$T/mixed-client.conf" 127.0.0.2 5555
expect_stderr "with \[Key near\] of $T/mixed-client.conf" "tcpmd5-connect -v: ...with that key"
finish
