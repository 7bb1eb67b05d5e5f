#!/bin/bash
# tcpmd5-connect's relay against tcpmd5-activate: data both ways, 64 MiB
# through pipes and files, half-close, and errors after connecting.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/office.key" office-secret
write_conf "$T/echo.conf" <<CONF
[Socket]
ListenStream = 2222
[Service]
ExecStart = $ECHO_DAEMON $T/report-echo
[Key office]
Peer = 127.0.0.0/8
Peer = ::1
SecretFile = $T/office.key
CONF
# The same, but nothing comes back before the client's EOF.
sed -e 's/^ListenStream = 2222/ListenStream = 127.0.0.1:2223/' \
    -e "s|report-echo|report-late --after-eof|" "$T/echo.conf" > "$T/late.conf"
start_bg "$NS" $GUARD "$ACTIVATE" --config "$T/echo.conf"
start_bg "$NS" $GUARD "$ACTIVATE" --config "$T/late.conf"
check "echo and after-EOF servers listen" wait_for 300 test -s "$T/report-echo" -a -s "$T/report-late"

connect() { in_ns "$NS" $WRAP "$CONNECT" --key-file "$T/office.key" "$@"; }
sha() { sha256sum | cut -d' ' -f1; }

out=$(printf 'hello, signed world\n' | connect 127.0.0.1 2222)
expect_eq "$out" "hello, signed world" "a line goes there and back (IPv4)"
out=$(printf 'over six\n' | connect ::1 2222)
expect_eq "$out" "over six" "a line goes there and back (IPv6)"

head -c 64M /dev/urandom > "$T/big"
want=$(sha < "$T/big")
rc=0
got=$(cat "$T/big" | connect 127.0.0.1 2222 | sha) || rc=$?
expect_eq "$got" "$want" "64 MiB through pipes (the ProxyCommand case): checksum matches"
expect_eq "$rc" 0 "64 MiB through pipes: exit 0"

head -c 8M "$T/big" > "$T/mid"
expect_rc 0 "8 MiB from a file to a file" connect 127.0.0.1 2222 < "$T/mid"
connect 127.0.0.1 2222 < "$T/mid" > "$T/mid.out"
expect_eq "$(sha < "$T/mid.out")" "$(sha < "$T/mid")" "8 MiB from a file to a file: checksum matches"
# splice() refuses O_APPEND files: the relay must fall back to read/write
# without losing what the pipe already held.
printf 'head:' > "$T/appended"
connect 127.0.0.1 2222 < "$T/mid" >> "$T/appended"
expect_eq "$( (printf 'head:'; cat "$T/mid") | sha)" "$(sha < "$T/appended")" \
        "8 MiB appended to an O_APPEND file (buffer fallback): checksum matches"

# Half-close: the after-EOF server sends nothing until it sees our FIN.
out=$(printf 'ask, then listen' | connect 127.0.0.1 2223)
expect_eq "$out" "ask, then listen" "half-close: the whole reply arrives after stdin's EOF"
got=$(head -c 4M "$T/big" | connect 127.0.0.1 2223 | sha)
expect_eq "$got" "$(head -c 4M "$T/big" | sha)" "half-close: 4 MiB reply after EOF, checksum matches"
expect_rc 0 "stdin /dev/null: immediate half-close, clean exit" connect 127.0.0.1 2223 < /dev/null
expect_eq "$(wc -c < "$T/last.out")" 0 "stdin /dev/null: nothing comes back"

# A terminal on stdin and stdout (interactive use): the relay must not
# make it non-blocking, and Ctrl-D is the EOF that half-closes.
rc=0
out=$( (sleep 0.3; printf 'from a terminal\n'; sleep 0.3; printf '\004') |
        timeout 20 script -qec "ip netns exec $NS $CONNECT -k $T/office.key 127.0.0.1 2222" /dev/null |
        tr -d '\r') || rc=$?
expect_eq "$rc" 0 "a terminal: exit 0 after Ctrl-D"
# Once from the terminal's own echo, once from the server.
expect_eq "$(grep -c '^from a terminal$' <<<"$out")" 2 "a terminal: the line comes back from the server"

# Errors after connecting end non-zero, with the step that failed.
{ head -c 32M /dev/zero | connect 127.0.0.1 2222 2> "$T/epipe.err" | head -c 10 > /dev/null
  rc=${PIPESTATUS[1]}; } || true
expect_eq "$rc" 1 "a reader that goes away: exit 1"
check "a reader that goes away: says so" grep -q "writing the output: Broken pipe" "$T/epipe.err"
finish
