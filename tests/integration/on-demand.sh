#!/bin/bash
# OnDemand=yes: keyed listeners wait; unsigned or wrongly signed connection
# attempts never complete a handshake, so they never start the daemon; the
# first signed one does, and is served by it.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/k.key" demand-secret
key "$T/wrong.key" not-the-secret
conf() { # FILE PORT1 PORT2 EXTRA
        write_conf "$1" <<CONF
[Socket]
ListenStream = $2
ListenStream = 127.0.0.1:$3
$4
[Service]
ExecStart = $ECHO_DAEMON $T/report
[Key local]
Peer = 127.0.0.0/8
Peer = ::1
SecretFile = $T/k.key
CONF
}
exe() { basename "$(readlink "/proc/$1/exe")"; }
notfound() { ip netns exec "$NS" nstat -asz TcpExtTCPMD5NotFound | awk '/TCPMD5NotFound/ { print $2 }'; }

conf "$T/od.conf" 2700 2701 "OnDemand = yes"
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/od.conf"
pid=$BG_PID
check "both listeners come up" wait_for 100 eval "listening $NS 2700 && listening $NS 2701"
expect_eq "$(exe "$pid")" "$ACTIVATOR_EXE" "the activator waits (no daemon yet)"
before=$(notfound)
for i in 1 2 3; do
        check "unsigned IPv4 attempt $i dropped" echo_dropped "$NS" "" 127.0.0.1 2700
        check "unsigned attempt $i on the IPv4 listener dropped" echo_dropped "$NS" "" 127.0.0.1 2701
done
check "unsigned IPv6 attempt dropped" echo_dropped "$NS" "" ::1 2700
check "wrongly signed attempt dropped" echo_dropped "$NS" "$T/wrong.key" 127.0.0.1 2700
after=$(notfound)
check "the kernel counted the dropped unsigned SYNs (TCPMD5NotFound $before -> $after)" test "$after" -gt "$before"
sleep 0.2
expect_eq "$(exe "$pid")" "$ACTIVATOR_EXE" "unsigned attempts did not start the daemon"
check "no report from a daemon" test ! -e "$T/report"

check "the first signed connection is served" echo_ok "$NS" "$T/k.key" 127.0.0.1 2701
check "the daemon wrote its report" wait_for 100 test -s "$T/report"
expect_eq "$(exe "$pid")" echo-daemon "the activator became the daemon (same pid)"
report=$(cat "$T/report")
expect_eq "$(sed -n 's/^LISTEN_FDS=//p' <<<"$report")" 2 "the daemon got both listeners"
expect_eq "$(sed -n 's/^LISTEN_PID=//p' <<<"$report")" "$pid" "LISTEN_PID is the daemon's pid"
expect_eq "$(grep -c 'listening=1' <<<"$report")" 2 "both are listening sockets"
expect_eq "$(sed -n 's/^leaked=//p' <<<"$report")" 0 "no other fd (signalfd) reaches the daemon"
expect_eq "$(sed -n 's/^sigmask_empty=//p' <<<"$report")" 1 "the daemon's signal mask is empty"
check "later signed clients are served too" echo_ok "$NS" "$T/k.key" ::1 2700
check "unsigned still dropped by the daemon's sockets" echo_dropped "$NS" "" 127.0.0.1 2700

# --on-demand on the command line overrides Accept=yes; SIGTERM while waiting.
rm -f "$T/report"
conf "$T/acc.conf" 2710 2711 "Accept = yes"
start_bg "$NS" $WRAP "$ACTIVATE" --on-demand --config "$T/acc.conf"
pid=$BG_PID
check "--on-demand activator listens" wait_for 100 listening "$NS" 2711
check "unsigned attempt dropped" echo_dropped "$NS" "" 127.0.0.1 2711
kill -TERM "$pid"
rc=0; wait_exit "$pid" || rc=$?
expect_eq "$rc" 0 "SIGTERM while waiting: clean exit"
check "no daemon was started" test ! -e "$T/report"
check "nothing listens any more" eval "! listening $NS 2711"

# SIGHUP while waiting rotates the keys before any daemon exists, and
# the daemon it starts is the ExecStart= of that reload.
rm -f "$T/report"
conf "$T/rot.conf" 2720 2721 "OnDemand = yes"
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/rot.conf"
pid=$BG_PID
check "on-demand activator for rotation listens" wait_for 300 listening "$NS" 2720
key "$T/k.key" rotated-secret
key "$T/old.key" demand-secret
sed -i "s|^ExecStart = .*|ExecStart = $ECHO_DAEMON $T/report2|" "$T/rot.conf"
kill -HUP "$pid"
check "the reload is logged" wait_for 300 grep -q "reloaded:" "$T/bg.err"
check "it applies the new ExecStart=, with file:line" grep -qF "reload: applying ExecStart= ($T/rot.conf:6)" "$T/bg.err"
check "the old key is dropped after SIGHUP" echo_dropped "$NS" "$T/old.key" 127.0.0.1 2720
expect_eq "$(exe "$pid")" "$ACTIVATOR_EXE" "still waiting after the reload"
check "the new key starts the daemon" echo_ok "$NS" "$T/k.key" 127.0.0.1 2720
check "the daemon wrote its report, as the reloaded ExecStart= says" wait_for 300 test -s "$T/report2"
check "  (not where the ExecStart= at start said)" test ! -e "$T/report"
expect_eq "$(exe "$pid")" echo-daemon "the activator became the daemon after a reload"

expect_rc 64 "--on-demand with --accept is a usage error" "$ACTIVATE" --on-demand --accept --config "$T/od.conf"
finish
