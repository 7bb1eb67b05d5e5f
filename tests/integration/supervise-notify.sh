#!/bin/bash
# sd_notify on a notify socket the test owns. Supervise mode: READY=1 with
# STATUS= counts, then RELOADING=1 with MONOTONIC_USEC= and READY=1 again on
# SIGHUP, STATUS= naming what triggered the reload (SIGHUP, or the file that
# changed under --watch), STOPPING=1 on SIGTERM. Accept mode: READY=1 from
# the start with the connection count, which follows the connections. On
# demand: READY=1 while waiting. One rule for NOTIFY_SOCKET: only the
# service's main process gets it, so supervise mode's daemon and accept
# mode's connection processes do not, and exec mode's daemon does.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/k.key" k-secret
write_conf "$T/svc.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:2222
ListenStream = 2223
[Service]
ExecStart = $ECHO_DAEMON $T/report
[Key k]
Peer = 127.0.0.1
SecretFile = $T/k.key
CONF

# receiver NAME: a notify socket $T/NAME.sock; one line per datagram in
# $T/NAME.log (newlines as '|'), with our monotonic clock at arrival, until
# 30 s pass quietly.
receiver() {
        python3 - "$T/$1.sock" "$T/$1.log" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
with open(sys.argv[2], "w", buffering=1) as f:
    while True:
        try:
            m = s.recv(4096).decode()
        except socket.timeout:
            break
        f.write("%d %s\n" % (time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6, m.replace("\n", "|")))
PY
        PIDS+=($!)
        check "notify socket $1 ready" wait_for 100 test -S "$T/$1.sock"
}
LOG=notify
lines() { test "$(wc -l < "$T/$LOG.log")" -ge "$1"; }
msg() { sed -n "${1}p" "$T/$LOG.log" | cut -d' ' -f2-; }
last_is() { test "$(tail -1 "$T/$LOG.log" | cut -d' ' -f2-)" = "$1"; }

receiver notify
start_bg "$NS" env NOTIFY_SOCKET="$T/notify.sock" $WRAP "$ACTIVATE" --supervise --config "$T/svc.conf"
sup=$BG_PID
check "first message" wait_for 100 lines 1
check "the daemon is up" wait_for 100 test -s "$T/report"
# 5 keys: 127.0.0.1:2222 has k and the IPv4 catch-all; [::]:2223 also the IPv6 one.
expect_eq "$(msg 1)" "READY=1|STATUS=2 listeners, 5 keys installed" "READY=1 with listener and key counts"
daemon=$(sed -n 's/^pid=//p' "$T/report")
expect_eq "$(tr '\0' '\n' < /proc/$daemon/environ | grep -c '^NOTIFY_SOCKET=' || true)" 0 \
        "the daemon does not get NOTIFY_SOCKET (the supervisor is the main process)"

kill -HUP "$sup"
check "two more messages after SIGHUP" wait_for 100 lines 3
expect_eq "$(msg 2 | sed 's/MONOTONIC_USEC=[0-9]*/MONOTONIC_USEC=N/')" \
        "RELOADING=1|STATUS=reloading keys after SIGHUP|MONOTONIC_USEC=N" "then RELOADING=1 with MONOTONIC_USEC="
at=$(sed -n 2p "$T/notify.log" | cut -d' ' -f1)
usec=$(msg 2 | sed -n 's/.*MONOTONIC_USEC=\([0-9]*\).*/\1/p')
# Within a minute of arrival, however late the receiver ran: CLOCK_REALTIME
# would be decades off.
check "MONOTONIC_USEC is CLOCK_MONOTONIC now (within 60 s of arrival)" \
        test "$(( at > usec ? at - usec : usec - at ))" -lt 60000000
expect_eq "$(msg 3)" "READY=1|STATUS=2 listeners, 5 keys installed; reloaded after SIGHUP" \
        "then READY=1 again, saying what triggered the reload"

# A failed reload still ends in READY=1, saying so.
printf '\n' > "$T/k.key"
kill -HUP "$sup"
check "two more after a failed reload" wait_for 100 lines 5
expect_eq "$(msg 4 | cut -d'|' -f1)" "RELOADING=1" "RELOADING=1"
expect_eq "$(msg 5)" "READY=1|STATUS=2 listeners, 5 keys installed; reload after SIGHUP failed, old keys kept" \
        "READY=1, with the failure in STATUS="

kill -TERM "$sup"
rc=0; wait_exit "$sup" || rc=$?
expect_eq "$rc" 143 "exit after SIGTERM"
expect_eq "$(msg 6)" "STOPPING=1" "STOPPING=1 on SIGTERM"

# --- --watch: the reload names the file that changed -------------------------
key "$T/k.key" k-secret
receiver watch; LOG=watch
next_tick
start_bg "$NS" env NOTIFY_SOCKET="$T/watch.sock" $WRAP "$ACTIVATE" --supervise --watch --config "$T/svc.conf"
sup=$BG_PID
check "watch: READY=1" wait_for 100 lines 1
key "$T/k.new" k-rotated
mv "$T/k.new" "$T/k.key"
check "watch: a rotated key file reloads" wait_for 100 lines 3
expect_eq "$(msg 2 | cut -d'|' -f2)" "STATUS=reloading keys after $T/k.key changed" \
        "RELOADING=1 names the file that changed"
expect_eq "$(msg 3)" "READY=1|STATUS=2 listeners, 5 keys installed; reloaded after $T/k.key changed" \
        "READY=1 names it too"
kill -HUP "$sup"
check "watch: SIGHUP still reloads" wait_for 100 lines 5
expect_eq "$(msg 5)" "READY=1|STATUS=2 listeners, 5 keys installed; reloaded after SIGHUP" \
        "and then STATUS= says SIGHUP"
kill -TERM "$sup"; wait_exit "$sup" || true

# --- accept mode: READY=1 with the connection count from the start -----------
mkdir "$T/m"
write_conf "$T/acc.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:2600
ListenStream = 2601
Accept = yes
Inetd = yes
[Service]
ExecStart = $REPORT -d $T/m
[Key k]
Peer = 127.0.0.1
SecretFile = $T/k.key
CONF
count_is() { [ "$(ls "$T/m" | grep -c "^$1" || true)" = "$2" ]; }
receiver accept; LOG=accept
start_bg "$NS" env NOTIFY_SOCKET="$T/accept.sock" $WRAP "$ACTIVATE" --config "$T/acc.conf"
acc=$BG_PID
check "accept: first message" wait_for 100 lines 1
expect_eq "$(msg 1)" "READY=1|STATUS=2 listeners, 5 keys installed; 0 connections" \
        "accept: READY=1 at once, with listeners, keys and connections"
hold a "$NS" "$T/k.key" 127.0.0.1 127.0.0.1 2600
hold b "$NS" "$T/k.key" 127.0.0.1 127.0.0.1 2601
check "accept: two held connections have their processes" wait_for 100 count_is started 2
notify_in() { tr '\0' '\n' < "/proc/$1/environ" | grep -c '^NOTIFY_SOCKET=' || true; }
conns=$(ps --no-headers --ppid "$acc" -o pid= | tr -d ' ' | tr '\n' ' ')
expect_eq "$(for c in $conns; do notify_in "$c"; done | tr '\n' ' ')" "0 0 " \
        "accept: connection processes do not get NOTIFY_SOCKET (the activator is the main process)"
check "accept: STATUS= counts them" \
        wait_for 100 last_is "STATUS=2 listeners, 5 keys installed; 2 connections"
kill -HUP "$acc"
check "accept: READY=1 after SIGHUP" \
        wait_for 100 last_is "READY=1|STATUS=2 listeners, 5 keys installed; 2 connections; reloaded after SIGHUP"
expect_eq "$(tail -2 "$T/accept.log" | head -1 | cut -d' ' -f2- | cut -d'|' -f1-2)" \
        "RELOADING=1|STATUS=reloading keys after SIGHUP" "accept: RELOADING=1 names SIGHUP"
release a; release b
check "accept: back to 0 when they end (at most a second later)" \
        wait_for 100 last_is "STATUS=2 listeners, 5 keys installed; 0 connections; reloaded after SIGHUP"
# A burst of short connections: STATUS= follows at most once a second, so
# no more messages than the seconds the burst took + 1 (however slow the
# machine), where each connection would otherwise send two.
before=$(wc -l < "$T/accept.log")
t0=$(date +%s%N)
in_ns "$NS" bash -c "for i in \$(seq 40); do $CLIENT -t 3000 -k $T/k.key 127.0.0.1 2600 x >/dev/null || echo failed; done" \
        > "$T/burst.out"
expect_eq "$(cat "$T/burst.out")" "" "accept: 40 short connections served"
check "accept: STATUS= settles at 0 connections" wait_for 100 last_is \
        "STATUS=2 listeners, 5 keys installed; 0 connections; reloaded after SIGHUP"
secs=$(( ($(date +%s%N) - t0 + 999999999) / 1000000000 ))
sent=$(tail -n +$((before + 1)) "$T/accept.log" | grep -c ' STATUS=' || true)
# None at all is fine: a burst over within one second may end where the last
# message already stood.
check "accept: $sent STATUS= messages for 80 changes in ${secs} s (at most one a second)" \
        test "$sent" -le "$((secs + 1))"
kill -TERM "$acc"; wait_exit "$acc" || true

# --- on demand: READY=1 while waiting, so a Type=notify start does not hang --
sed 's/^ListenStream = 2223$/ListenStream = 2223\nOnDemand = yes/' "$T/svc.conf" > "$T/od.conf"
rm -f "$T/report"
receiver demand; LOG=demand
start_bg "$NS" env NOTIFY_SOCKET="$T/demand.sock" $WRAP "$ACTIVATE" --supervise --config "$T/od.conf"
od=$BG_PID
check "on demand: first message" wait_for 100 lines 1
expect_eq "$(msg 1)" "READY=1|STATUS=2 listeners, 5 keys installed; waiting for the first connection" \
        "on demand: READY=1 before any connection"
check "on demand: no daemon yet" test ! -e "$T/report"
kill -HUP "$od"
check "on demand: a reload while waiting" wait_for 100 lines 3
expect_eq "$(msg 3)" \
        "READY=1|STATUS=2 listeners, 5 keys installed; waiting for the first connection; reloaded after SIGHUP" \
        "on demand: STATUS= still says it waits, and what reloaded"
check "on demand: a signed connection starts the daemon" echo_ok "$NS" "$T/k.key" 127.0.0.1 2222
check "on demand: STATUS= says it started" wait_for 100 grep -q \
        "READY=1|STATUS=2 listeners, 5 keys installed; started at the first connection; reloaded after SIGHUP" \
        "$T/demand.log"
kill -TERM "$od"; wait_exit "$od" || true

# --- exec: the daemon becomes the main process, and notifies itself --------
rm -f "$T/report"
start_bg "$NS" env NOTIFY_SOCKET="$T/exec.sock" $WRAP "$ACTIVATE" --config "$T/svc.conf"
ex=$BG_PID
check "exec: the daemon is up" wait_for 100 test -s "$T/report"
expect_eq "$(tr '\0' '\n' < "/proc/$(sed -n 's/^pid=//p' "$T/report")/environ" | grep '^NOTIFY_SOCKET=' || true)" \
        "NOTIFY_SOCKET=$T/exec.sock" "exec: the daemon, now the main process, gets NOTIFY_SOCKET"
kill -TERM "$ex"; wait_exit "$ex" || true
finish
