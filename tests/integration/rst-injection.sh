#!/bin/bash
# The headline claim: an unsigned RST with the exact sequence numbers kills
# an unsigned connection but is dropped for a connection signed through
# tcpmd5-activate, in both directions. The control (unsigned) connection
# must die, or the signed result would prove nothing.
. "$(dirname "$0")/../lib.sh"
INJECT=$BUILD/tests/rst-inject

netns_new "$NS"
key "$T/k.key" rst-test-secret
write_conf "$T/signed.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:2300
[Service]
ExecStart = $ECHO_DAEMON $T/signed.report
[Key k]
Peer = 127.0.0.0/8
SecretFile = $T/k.key
CONF
write_conf "$T/unsigned.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:2301
UnmatchedPeers = allow-unsigned
[Service]
ExecStart = $ECHO_DAEMON $T/unsigned.report
CONF
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/signed.conf"
# No [Key]: nothing to install before listen(), so the guard allows this port.
LISTEN_GUARD_UNSIGNED=2301 start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/unsigned.conf"
check "signed listener up" wait_for 100 test -s "$T/signed.report"
check "unsigned control listener up" wait_for 100 test -s "$T/unsigned.report"

md5_not_found() { in_ns "$NS" nstat -asz TcpExtTCPMD5NotFound | awk '$1 == "TcpExtTCPMD5NotFound" { print $2 }'; }

for dir in server client; do
        expect_rc 0 "control: an RST one past the exact sequence number does not reset (the numbers are exact)" \
                in_ns "$NS" "$INJECT" rst -o 1 -d "$dir" 127.0.0.1 2301
        expect_rc 2 "control: unsigned connection reset by a forged RST toward the $dir" \
                in_ns "$NS" "$INJECT" rst -d "$dir" 127.0.0.1 2301
        sed 's/^/#   /' "$T/last.out"
        before=$(md5_not_found)
        expect_rc 0 "signed connection survives the same forged RST toward the $dir" \
                in_ns "$NS" "$INJECT" rst -k "$T/k.key" -d "$dir" 127.0.0.1 2300
        sed 's/^/#   /' "$T/last.out"
        after=$(md5_not_found)
        expect_eq "$((after - before))" 1 "the RST toward the $dir reached TCP and was dropped as unsigned (TCPMD5NotFound +1)"
done
finish
