#!/bin/bash
# Accept mode: one process per signed connection, inetd style and fd-3
# style; what each child is given (REMOTE_*, LISTEN_*, fds, signals).
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/k.key" accept-secret
key "$T/wrong.key" not-the-secret
keys="[Key local]
Peer = 127.0.0.0/8
Peer = ::1
SecretFile = $T/k.key"

# inetd style chosen in the config; fd-3 style chosen on the command line.
write_conf "$T/inetd.conf" <<CONF
[Socket]
ListenStream = 2400
ListenStream = 127.0.0.1:2401
ListenStream = [::1]:2402
Accept = yes
Inetd = yes
KeepAlive = yes
NoDelay = yes
[Service]
ExecStart = $REPORT
$keys
CONF
write_conf "$T/fd3.conf" <<CONF
[Socket]
ListenStream = 2410
ListenStream = 127.0.0.1:2411
ListenStream = [::1]:2412
[Service]
ExecStart = $REPORT
$keys
CONF
ip netns exec "$NS" env PARENT_VAR=inherited $WRAP "$ACTIVATE" --config "$T/inetd.conf" > "$T/inetd.out" 2> "$T/inetd.err" &
inetd_pid=$!; PIDS+=("$inetd_pid")
ip netns exec "$NS" $WRAP "$ACTIVATE" --accept --config "$T/fd3.conf" > "$T/fd3.out" 2> "$T/fd3.err" &
fd3_pid=$!; PIDS+=("$fd3_pid")
check "inetd-style activator listens" wait_for 100 listening "$NS" 2402
check "fd-3-style activator listens" wait_for 100 listening "$NS" 2412

out=$("$ACTIVATE" --config "$T/fd3.conf" --inetd --check | grep '^mode')
expect_eq "$out" "mode accept (inetd: stdin/stdout), MaxConnections=64, MaxConnectionsPerSource=unlimited" \
        "--check shows the mode --inetd picks and the default limit"

sport=41000
for style in inetd fd3; do
        base=$([ $style = inetd ] && echo 2400 || echo 2410)
        # addr-of-client listen-address port expected-REMOTE_ADDR
        while read -r src addr port want what; do
                sport=$((sport + 1))
                if conn_report "$NS" "$T/k.key" "$src" $sport "$addr" $((base + port)); then
                        expect_eq "$(field REMOTE_ADDR)" "$want" "$style, $what: REMOTE_ADDR"
                        expect_eq "$(field REMOTE_PORT)" "$sport" "$style, $what: REMOTE_PORT"
                        expect_eq "$(tail -c 3 "$T/conn.out")" "end" "$style, $what: the connection is served"
                else
                        fail "$style, $what: signed client not served"; sed 's/^/#   /' "$T/conn.out"
                fi
        done <<LIST
127.0.0.5 127.0.0.1 1 127.0.0.5 IPv4 listener
::1 ::1 2 ::1 IPv6 listener
127.0.0.6 127.0.0.1 0 127.0.0.6 IPv4 peer on the dual-stack listener (plain IPv4)
::1 ::1 0 ::1 IPv6 peer on the dual-stack listener
LIST
        for p in 0 1; do
                check "$style: unsigned client dropped (port $((base + p)))" echo_dropped "$NS" "" 127.0.0.1 $((base + p))
                check "$style: wrong key dropped (port $((base + p)))" echo_dropped "$NS" "$T/wrong.key" 127.0.0.1 $((base + p))
        done
        check "$style: unsigned IPv6 client dropped" echo_dropped "$NS" "" ::1 $((base + 2))
done

# What one child sees, in each style.
conn_report "$NS" "$T/k.key" 127.0.0.1 0 127.0.0.1 2401
expect_eq "$(field fds)" "0,1,2" "inetd: the child has stdin, stdout, stderr and nothing else"
expect_eq "$(field LISTEN_FDS)$(field LISTEN_FDNAMES)" "" "inetd: no LISTEN_* variables"
expect_eq "$(field sigmask_empty),$(field signals_default)" "1,1" "inetd: clean signal mask and dispositions"
expect_eq "$(field keepalive),$(field nodelay)" "1,1" "KeepAlive=yes and NoDelay=yes reach the connection"
child=$(field pid)
check "inetd: the child's stderr is the activator's" wait_for 300 grep -q "conn-report $child: this is stderr" "$T/inetd.err"

conn_report "$NS" "$T/k.key" 127.0.0.1 0 127.0.0.1 2411
expect_eq "$(field fds)" "0,1,2,3" "fd 3: the child has stdio and its connection on fd 3 only"
expect_eq "$(field LISTEN_FDS)" "1" "fd 3: LISTEN_FDS=1"
expect_eq "$(field LISTEN_FDNAMES)" "connection" "fd 3: LISTEN_FDNAMES=connection"
expect_eq "$(field LISTEN_PID_is_me)" "1" "fd 3: LISTEN_PID is the child's pid"
expect_eq "$(field sigmask_empty),$(field signals_default)" "1,1" "fd 3: clean signal mask and dispositions"
expect_eq "$(field keepalive),$(field nodelay)" "0,0" "no KeepAlive/NoDelay unless asked for"

expect_eq "$(field PARENT_VAR)" "" "(control) fd-3 activator started without PARENT_VAR"
conn_report "$NS" "$T/k.key" 127.0.0.1 0 127.0.0.1 2401
expect_eq "$(field PARENT_VAR)" "inherited" "the activator's environment reaches the child"
check "both activators still run" kill -0 "$inetd_pid" "$fd3_pid"
check "no child left after the clients are done" wait_for 100 eval 'test "$(children $inetd_pid)$(children $fd3_pid)" = 00'
expect_eq "$(grep -vc 'this is stderr' "$T/inetd.err")" 0 "nothing logged by the inetd activator"
finish
