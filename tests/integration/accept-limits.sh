#!/bin/bash
# Accept mode limits: MaxConnections= and MaxConnectionsPerSource=. A
# connection over a limit gets no process, is closed at once, and the
# refusals are logged at most once a second.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/k.key" limits-secret
mkdir "$T/m"
conf() { # FILE PORT EXTRA-SOCKET-LINES
        write_conf "$1" <<CONF
[Socket]
ListenStream = $2
Accept = yes
Inetd = yes
$3
[Service]
ExecStart = $REPORT -d $T/m
[Key local]
Peer = 127.0.0.0/8
Peer = ::1
Peer = 2001:db8::/64
SecretFile = $T/k.key
CONF
}
started() { ls "$T/m" | grep -c '^started' || true; }
started_is() { [ "$(started)" = "$1" ]; }
served() { # SRC PORT: a fresh signed connection gets a process
        conn_report "$NS" "$T/k.key" "$1" 0 127.0.0.1 "$2" && grep -q '^pid=' "$T/conn.out"
}
refused() { # SRC PORT [DST]: the connection completes (signed), no process answers, and it is closed
        local rc=0
        ip netns exec "$NS" timeout 5 $CONNECT -k "$T/k.key" -s "$1" "${3:-127.0.0.1}" "$2" < /dev/null > "$T/refused.out" 2>&1 || rc=$?
        [ "$rc" != 124 ] && ! grep -q '^pid=' "$T/refused.out"
}

# --- MaxConnections=2
conf "$T/max.conf" 2500 "MaxConnections = 2"
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/max.conf"
pid=$BG_PID; err=$T/bg.err
check "activator listens" wait_for 100 listening "$NS" 2500
hold a "$NS" "$T/k.key" 127.0.0.1 127.0.0.1 2500
hold b "$NS" "$T/k.key" 127.0.0.1 127.0.0.1 2500
check "two held connections have their processes" wait_for 100 started_is 2
check "a third concurrent connection is closed at once, without a process" refused 127.0.0.1 2500
expect_eq "$(children "$pid")" 2 "still exactly two children"
expect_eq "$(started)" 2 "no third process was ever started"
check "the refusal is logged with the limit" wait_for 300 grep -q 'refused connection from 127.0.0.1 port [0-9]*: MaxConnections=2 reached' "$err"
# At most one line a second: on a busy machine the 20 take longer, and
# the bound grows with the seconds they took (a line per refusal is 21).
t0=$(date +%s%N)
for i in $(seq 20); do refused 127.0.0.1 2500 || true; done
secs=$(( ($(date +%s%N) - t0 + 999999999) / 1000000000 ))
n=$(grep -c 'refused connection' "$err")
check "21 refusals in ${secs} s give at most $((secs + 2)) log lines (got $n)" test "$n" -le $((secs + 2)) -a "$n" -lt 21
check "held-back refusals are counted in a later line" wait_for 60 grep -Eq 'more (since the last message|connections refused)' "$err"
# A flood of over-limit connections: each is reset at once, no process is
# started, the log stays short (a line a second at most, however long the
# 1 s flood takes on a busy machine), and the activator stays responsive.
lines=$(grep -c 'refused' "$err")
t0=$(date +%s%N)
set -- $(ip netns exec "$NS" "$BUILD/tests/conn-rate" -c 50 -d 1000 -k "$T/k.key" 127.0.0.1 2500)
secs=$(( ($(date +%s%N) - t0 + 999999999) / 1000000000 ))
check "a flood of $4 over-limit connections was reset, none served ($2)" test "$4" -gt 0 -a "$2" = 0
expect_eq "$(children "$pid")" 2 "still exactly two children after the flood"
expect_eq "$(started)" 2 "no process was started by the flood"
added=$(( $(grep -c 'refused' "$err") - lines ))
check "the flood ($secs s) added at most $((secs + 2)) log lines (got $added)" test "$added" -le $((secs + 2))
release a
check "a slot frees when its child exits" wait_for 100 children_are "$pid" 1
check "then a new connection is served" served 127.0.0.1 2500
release b

# --- MaxConnectionsPerSource=1: 127.0.0.2 and 127.0.0.3 are distinct sources on lo.
conf "$T/src.conf" 2510 "MaxConnections = 10
MaxConnectionsPerSource = 1"
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/src.conf"
pid=$BG_PID; err=$T/bg.err
check "per-source activator listens" wait_for 100 listening "$NS" 2510
rm -f "$T"/m/*
hold c "$NS" "$T/k.key" 127.0.0.2 127.0.0.1 2510
check "the first connection from 127.0.0.2 is served" wait_for 100 started_is 1
check "a second from 127.0.0.2 is refused" refused 127.0.0.2 2510
check "the refusal names the per-source limit" wait_for 300 grep -q 'from 127.0.0.2 port [0-9]*: MaxConnectionsPerSource=1 reached' "$err"
check "127.0.0.3 is another source: served" served 127.0.0.3 2510
hold d "$NS" "$T/k.key" ::1 ::1 2510
check "::1 is another source: served" wait_for 100 children_are "$pid" 2
release c
check "127.0.0.2's slot frees when its child exits" wait_for 100 children_are "$pid" 1
check "then 127.0.0.2 is served again" served 127.0.0.2 2510
release d
# IPv6: a source is the full address (man/tcpmd5-activate.conf.5.scd), so
# neighbours in one /64 are served at once.
ip -n "$NS" addr add 2001:db8::2/128 dev lo nodad
ip -n "$NS" addr add 2001:db8::3/128 dev lo nodad
check "no connection left" wait_for 100 children_are "$pid" 0
hold e "$NS" "$T/k.key" 2001:db8::2 2001:db8::2 2510
check "the first connection from 2001:db8::2 is served" wait_for 100 children_are "$pid" 1
check "a second from 2001:db8::2 is refused" refused 2001:db8::2 2510 2001:db8::2
hold f "$NS" "$T/k.key" 2001:db8::3 2001:db8::2 2510
check "2001:db8::3, in the same /64, is served at the same time" wait_for 100 children_are "$pid" 2
release e; release f
check "activator survived it all" kill -0 "$pid"
finish
