#!/bin/bash
# tcpmd5-connect's HOST and PORT: a port is 1..65535 or a service name,
# [IPv6] brackets are accepted, HOST:PORT in one argument is refused with
# advice, and the exit codes tell a usage error from an OS error.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/office.key" office-secret
# Port 22 is the "ssh" service of /etc/services.
write_conf "$T/echo.conf" <<CONF
[Socket]
ListenStream = 22
[Service]
ExecStart = $ECHO_DAEMON $T/report
[Key office]
Peer = 127.0.0.0/8
Peer = ::1
SecretFile = $T/office.key
CONF
start_bg "$NS" $GUARD "$ACTIVATE" --config "$T/echo.conf"
check "server listens on 22" wait_for 300 test -s "$T/report"

connect() { in_ns "$NS" $WRAP "$CONNECT" "$@"; }
echoes() { local out; out=$(printf ping | connect -k "$T/office.key" "$@" 2> "$T/last.err") && [ "$out" = ping ]; }
# The namespace's count of connect() attempts (Tcp ActiveOpens).
active_opens() {
        in_ns "$NS" awk '/^Tcp:/ { if (!c) { for (i = 1; i <= NF; i++) if ($i == "ActiveOpens") c = i } else print $c }' \
                /proc/net/snmp
}

check "PORT 22" echoes 127.0.0.1 22
check "PORT as a service name: ssh" echoes 127.0.0.1 ssh
check "[::1] in brackets" echoes '[::1]' 22
check "::1 without brackets" echoes ::1 ssh

# Refused before any connection is tried (checked at the end): exit 64,
# with a message.
opens=$(active_opens)
expect_rc 64 "PORT 99999" connect -k "$T/office.key" 127.0.0.1 99999
expect_stderr "PORT 99999: not a port number \(1..65535\)" "PORT 99999: says the range"
expect_rc 64 "PORT 0" connect -k "$T/office.key" 127.0.0.1 0
expect_stderr "PORT 0: not a port number" "PORT 0: says so"
expect_rc 64 "PORT 65536" connect 127.0.0.1 65536
expect_rc 64 "PORT -1" connect 127.0.0.1 -- -1
expect_rc 64 "an unknown service name" connect 127.0.0.1 no-such-service
expect_stderr "nor a TCP service name" "an unknown service name: says so"
expect_rc 64 "HOST:PORT as one argument" connect -k "$T/office.key" 127.0.0.1:22
expect_stderr "127.0.0.1:22: give HOST and PORT as two arguments" "HOST:PORT: says to give two arguments"
expect_rc 64 "[::1]:22 as one argument" connect -k "$T/office.key" '[::1]:22'
expect_stderr "give HOST and PORT as two arguments" "[::1]:22: says to give two arguments"
expect_rc 64 "an IPv6 address and port as one argument" connect -k "$T/office.key" 2001:db8::1:22
expect_stderr "2001:db8::1:22: give HOST and PORT as two arguments" "IPv6:PORT: says to give two arguments"
expect_rc 64 "name:22 with a PORT as well" connect -k "$T/office.key" server.example:22 22
expect_stderr "give HOST and PORT as two arguments" "name:22 PORT: says so"
expect_rc 64 "[::1 without its ]" connect '[::1' 22
expect_rc 64 "an empty HOST" connect '' 22
expect_rc 64 "a bare IPv6 address is HOST, not HOST:PORT" connect ::1
expect_stderr "::1: give HOST and PORT as two arguments" "::1 alone: asks for PORT"

# --source: not an address is usage; an address that cannot be bound is
# the system's refusal (71), whatever the key.
expect_rc 64 "--source that is not an address" connect -s not-an-address 127.0.0.1 22
expect_rc 71 "--source that cannot be bound" connect -s 192.0.2.99 -k "$T/office.key" 127.0.0.1 22
expect_stderr "cannot bind" "--source that cannot be bound: says so"

# --fdpass needs ssh's unix socket as standard output; anything else is a
# usage error found before connecting.
expect_rc 64 "--fdpass with standard output a file" connect --fdpass -k "$T/office.key" 127.0.0.1 22
expect_stderr "standard output is not a unix socket" "--fdpass: says what it needs"
rc=0; connect --fdpass -k "$T/office.key" 127.0.0.1 22 2> "$T/fd.err" | cat > /dev/null || rc=${PIPESTATUS[0]}
expect_eq "$rc" 64 "--fdpass with standard output a pipe: exit 64"

expect_eq "$(active_opens)" "$opens" "none of these errors tried to connect (Tcp ActiveOpens unchanged)"
# Control: one connection attempt moves the counter.
check "control: a connection counts" echoes 127.0.0.1 22
check "control: ActiveOpens moved" test "$(active_opens)" -gt "$opens"
finish
