#!/bin/bash
# What tcpmd5-connect puts on the wire, checked by a program that is not
# ours: tcpdump -M SECRET verifies each segment's RFC 2385 digest.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/office.key" office-secret
write_conf "$T/echo.conf" <<CONF
[Socket]
ListenStream = 2222
[Service]
ExecStart = $ECHO_DAEMON $T/report
[Key office]
Peer = 127.0.0.0/8
Peer = ::1
SecretFile = $T/office.key
CONF
start_bg "$NS" $GUARD "$ACTIVATE" --config "$T/echo.conf"
check "server listens" wait_for 300 test -s "$T/report"

# capture NAME SECRET: tcpdump in the namespace, bounded, line-buffered.
capture() {
        in_ns "$NS" timeout 20 tcpdump -i lo -n -l -M "$2" 'tcp port 2222' > "$T/$1.txt" 2> "$T/$1.err" &
        PIDS+=($!)
        CAPTURES+=($!)
}
CAPTURES=()
capture right office-secret
capture other some-other-secret
check "both captures are listening" wait_for 300 bash -c "grep -q 'listening on' $T/right.err && grep -q 'listening on' $T/other.err"

out=$(printf 'on the wire\n' | in_ns "$NS" "$CONNECT" -k "$T/office.key" 127.0.0.1 2222)
expect_eq "$out" "on the wire" "IPv4 exchange"
out=$(printf 'on the wire, six\n' | in_ns "$NS" "$CONNECT" -k "$T/office.key" ::1 2222)
expect_eq "$out" "on the wire, six" "IPv6 exchange"
# Both connections closed: 2 x (SYN, SYN-ACK, ACK, data, ACK, FIN, data, ACK, FIN, ACK) at least 16 lines.
check "the captures saw both connections" wait_for 300 bash -c "[ \$(wc -l < $T/right.txt) -ge 16 ] && [ \$(wc -l < $T/other.txt) -ge 16 ]"
# Before they stop: each saw both connections to their end (a FIN each way).
four_fins() { [ "$(grep -c 'Flags \[F' "$T/right.txt")" -ge 4 ] && [ "$(grep -c 'Flags \[F' "$T/other.txt")" -ge 4 ]; }
check "both captures saw the four FINs" wait_for 300 four_fins
kill "${CAPTURES[@]}" 2>/dev/null || true
wait "${CAPTURES[@]}" 2>/dev/null || true

# The client's segments: from the ephemeral port to 2222.
client() { grep -E '(IP|IP6) [0-9a-f.:]+\.[0-9]+ > [0-9a-f.:]+\.2222:' "$T/$1.txt"; }
n_client=$(client right | wc -l)
n_v4=$(client right | grep -c '^[0-9:.]* IP 127' || true)
n_v6=$(client right | grep -c '^[0-9:.]* IP6 ::1' || true)
n_valid=$(client right | grep -c 'md5 valid' || true)
n_syn=$(client right | grep 'Flags \[S\]' | grep -c 'md5 valid' || true)
n_data=$(client right | grep -E 'length [1-9]' | grep -c 'md5 valid' || true)
check "client segments captured ($n_client: $n_v4 IPv4, $n_v6 IPv6)" test "$n_v4" -ge 4 -a "$n_v6" -ge 4
expect_eq "$n_valid" "$n_client" "every client segment shows 'md5 valid' with the right secret"
expect_eq "$n_syn" 2 "both SYNs are signed"
check "data segments are signed ($n_data)" test "$n_data" -ge 2
n_server=$(grep -cE '\.2222 > ' "$T/right.txt" || true)
n_server_valid=$(grep -E '\.2222 > ' "$T/right.txt" | grep -c 'md5 valid' || true)
check "server segments captured ($n_server)" test "$n_server" -ge 6
expect_eq "$n_server_valid" "$n_server" "every server segment shows 'md5 valid'"

n_other=$(client other | wc -l)
n_invalid=$(client other | grep -c 'md5  (invalid)' || true)
check "the other capture saw the client ($n_other segments)" test "$n_other" -ge 8
expect_eq "$n_invalid" "$n_other" "with another secret every client segment shows 'md5  (invalid)'"
[ "$FAILED" = 0 ] || { echo "# capture with the right secret:"; sed 's/^/#   /' "$T/right.txt" | head -40; }
finish
