#!/bin/bash
# Supervise mode and SIGHUP: keys change on the live listeners, connections
# opened before keep going, invalid configs and kernel refusals change
# nothing, and the daemon is never restarted.
. "$(dirname "$0")/../lib.sh"
SESSION=$BUILD/tests/md5-session

netns_new "$NS"
in_ns "$NS" ip addr add 192.0.2.10/32 dev lo
key "$T/office.key" office-secret
key "$T/old.key" office-secret
key "$T/new.key" office-rotated
key "$T/partner.key" partner-secret

# svc_conf [EXTRA-SOCKET-LINE] [EXTRA-SECTIONS]: the IPv4 listener comes
# first, so a reload can succeed on it and then fail on the dual-stack one.
svc_conf() {
        write_conf "$T/svc.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:2223
ListenStream = 2222
${1:-}

[Service]
ExecStart = $ECHO_DAEMON $T/report

[Key office]
Peer = 127.0.0.0/8
Peer = ::1
SecretFile = $T/office.key
${2:-}
CONF
}
partner="[Key partner]
Peer = 192.0.2.10
SecretFile = $T/partner.key"

reloads() { grep -c "reloaded:" "$T/bg.err" || true; }
failed_reloads() { grep -c "reload: .*the old keys stay" "$T/bg.err" || true; }
count_is() { test "$($1)" = "$2"; }
# hup COUNTER WANT: SIGHUP the supervisor, wait until the counter says so.
hup() {
        kill -HUP "$sup"
        wait_for 100 count_is "$1" "$2"
}

svc_conf "" "$partner"
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --config "$T/svc.conf"
sup=$BG_PID
check "listeners come up" wait_for 100 test -s "$T/report"
daemon=$(sed -n 's/^pid=//p' "$T/report")
check "the daemon is a separate process" test "$daemon" != "$sup"
expect_eq "$(ps --no-headers -o ppid= -p "$daemon" | tr -d ' ')" "$sup" "the supervisor is the daemon's parent"
expect_eq "$(sed -n 's/^LISTEN_PID=//p' "$T/report")" "$daemon" "LISTEN_PID is the daemon's own pid"
expect_eq "$(sed -n 's/^LISTEN_FDS=//p' "$T/report")" "2" "LISTEN_FDS=2"
expect_eq "$(sed -n 's/^leaked=//p' "$T/report")" "0" "no supervisor fd reaches the daemon"
expect_eq "$(sed -n 's/^sigmask_empty=//p' "$T/report")" "1" "the daemon's signal mask is empty"

check "before: office key, IPv4" echo_ok "$NS" "$T/old.key" 127.0.0.1 2222
check "before: office key, IPv6" echo_ok "$NS" "$T/old.key" ::1 2222
check "before: partner from 192.0.2.10" \
        bash -c "[ \"\$(ip netns exec $NS $CLIENT -t 3000 -s 192.0.2.10 -k $T/partner.key 127.0.0.1 2222 hi)\" = hi ]"

# A connection opened before the reload, kept open through it.
coproc SESS { ip netns exec "$NS" "$SESSION" -k "$T/old.key" 127.0.0.1 2222 2>&1; }
read -r -t 5 line <&"${SESS[0]}" || line=
expect_eq "$line" "connected" "long-lived signed connection opened"
echo before >&"${SESS[1]}"
read -r -t 5 line <&"${SESS[0]}" || line=
expect_eq "$line" "before" "it echoes before the reload"

# Rotate the office key file and drop the partner's prefix.
printf 'office-rotated\n' > "$T/office.key"
svc_conf "" ""
check "reload 1 done" hup reloads 1
expect_eq "$(grep 'reloaded:' "$T/bg.err" | tail -1 | sed 's/.*reloaded: //')" \
        "0 keys added, 3 replaced, 2 deleted on 2 listeners (5 setsockopt calls)" \
        "reload 1: one setsockopt per changed key (office 127/8 twice and ::1; partner on both listeners)"
echo after >&"${SESS[1]}"
read -r -t 5 line <&"${SESS[0]}" || line=
expect_eq "$line" "after" "the connection opened before the reload still echoes after it"
check "after: new key gets in (IPv4)" echo_ok "$NS" "$T/new.key" 127.0.0.1 2222
check "after: new key gets in (IPv6)" echo_ok "$NS" "$T/new.key" ::1 2222
check "after: new key gets in (IPv4 listener)" echo_ok "$NS" "$T/new.key" 127.0.0.1 2223
check "after: old key dropped (IPv4)" echo_dropped "$NS" "$T/old.key" 127.0.0.1 2222
check "after: old key dropped (IPv6)" echo_dropped "$NS" "$T/old.key" ::1 2222
check "after: old key dropped (IPv4 listener)" echo_dropped "$NS" "$T/old.key" 127.0.0.1 2223
rc=0; in_ns "$NS" $CLIENT -t 300 -s 192.0.2.10 -k "$T/partner.key" 127.0.0.1 2222 hi >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 3 "after: the removed partner prefix is dropped"
check "after: unsigned still dropped" echo_dropped "$NS" "" 127.0.0.1 2222
expect_eq "$(cat "$T/report.hup" 2>/dev/null)" "hup" "SIGHUP was passed on to the daemon once"
check "the daemon was not restarted" kill -0 "$daemon"

# An 81-byte secret: refused as a whole; the old keys and the process stay.
head -c 81 /dev/zero | tr '\0' x > "$T/office.key"
check "invalid reload reported" hup failed_reloads 1
check "the message names the problem" wait_for 300 grep -q "holds 81 bytes, more than the 80" "$T/bg.err"
check "the supervisor is still running" kill -0 "$sup"
check "invalid reload: the current key still gets in" echo_ok "$NS" "$T/new.key" 127.0.0.1 2222
check "invalid reload: the current key still gets in (IPv6)" echo_ok "$NS" "$T/new.key" ::1 2222
check "invalid reload: unsigned still dropped" echo_dropped "$NS" "" 127.0.0.1 2222
echo still >&"${SESS[1]}"
read -r -t 5 line <&"${SESS[0]}" || line=
expect_eq "$line" "still" "the old connection still echoes"

# A FIFO in the key file's place: refused at once, not waited on.
rm -f "$T/office.key"
mkfifo -m 600 "$T/office.key"
check "a FIFO as key file: the reload fails promptly" hup failed_reloads 2
check "the supervisor is still running and answering" hup failed_reloads 3
rm -f "$T/office.key"
key "$T/office.key" office-rotated

# The kernel refuses the switch-over (optmem): the IPv4 listener had already
# taken its new office key, the dual-stack one fails adding IPv6 prefixes;
# both must be back on the current keys.
many="[Key many]
SecretFile = $T/partner.key"
for i in $(seq 1 40); do many+=$'\n'"Peer = 2001:db8:$i::/48"; done
printf 'office-secret\n' > "$T/office.key"
svc_conf "" "$many"
in_ns "$NS" sysctl -qw net.core.optmem_max=2048
check "refused reload reported" hup failed_reloads 4
check "the message says to raise optmem_max" wait_for 300 grep -q "raise net.core.optmem_max" "$T/bg.err"
check "rolled back: current key still in on the IPv4 listener" echo_ok "$NS" "$T/new.key" 127.0.0.1 2223
check "rolled back: rotated-back key dropped on the IPv4 listener" echo_dropped "$NS" "$T/old.key" 127.0.0.1 2223
check "rolled back: current key still in on the dual-stack listener" echo_ok "$NS" "$T/new.key" ::1 2222

# Same config with room: it goes through; a listener change is only noted.
in_ns "$NS" sysctl -qw net.core.optmem_max=131072
svc_conf "ListenStream = 2224" "$many"
check "reload 2 done" hup reloads 2
check "a listener change is reported with its line as needing a restart" wait_for 300 grep -qF \
        "reload: ListenStream= ($T/svc.conf:4) changed, which only a restart applies (systemctl restart" "$T/bg.err"
check "and not applied" bash -c "! ip netns exec $NS ss -Htln 'sport = :2224' | grep -q LISTEN"
check "reload 2: office key rotated back (IPv4 listener)" echo_ok "$NS" "$T/old.key" 127.0.0.1 2223
check "reload 2: office key rotated back (IPv6)" echo_ok "$NS" "$T/old.key" ::1 2222
check "reload 2: previous key dropped" echo_dropped "$NS" "$T/new.key" 127.0.0.1 2222

# A configured prefix-0 key takes the catch-alls' place (replaced in place,
# never a moment without one), and gives it back when removed.
key "$T/any.key" any-secret
svc_conf "ListenStream = 2224" "$many
[Key any]
Peer = any
SecretFile = $T/any.key"
check "reload 3 done" hup reloads 3
expect_eq "$(grep 'reloaded:' "$T/bg.err" | tail -1 | sed 's/.*reloaded: //')" \
        "0 keys added, 3 replaced, 0 deleted on 2 listeners (3 setsockopt calls)" \
        "reload 3: the three catch-alls replaced in place by Peer=any"
rc=0; in_ns "$NS" $CLIENT -t 3000 -s 192.0.2.10 -k "$T/any.key" 127.0.0.1 2222 hi >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 0 "reload 3: a peer outside every other prefix gets in with the any key"
check "reload 3: unsigned still dropped (IPv4)" echo_dropped "$NS" "" 127.0.0.1 2222
check "reload 3: unsigned still dropped (IPv6)" echo_dropped "$NS" "" ::1 2222
svc_conf "ListenStream = 2224" "$many"
check "reload 4 done" hup reloads 4
rc=0; in_ns "$NS" $CLIENT -t 300 -s 192.0.2.10 -k "$T/any.key" 127.0.0.1 2222 hi >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 3 "reload 4: Peer=any removed, the catch-all is back: any key dropped"
rc=0; in_ns "$NS" $CLIENT -t 300 -s 192.0.2.10 127.0.0.1 2222 hi >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 3 "reload 4: unsigned still dropped"

echo last >&"${SESS[1]}"
read -r -t 5 line <&"${SESS[0]}" || line=
expect_eq "$line" "last" "the first connection survived eight reloads"
exec {SESS[1]}>&-

kill -TERM "$sup"
rc=0; wait_exit "$sup" || rc=$?
expect_eq "$rc" 143 "SIGTERM reaches the daemon; its death by signal 15 is passed on as 143"
check "the daemon is gone" bash -c "! kill -0 $daemon 2>/dev/null"
expect_eq "$(grep -c hup "$T/report.hup")" 8 "every SIGHUP was passed on, failed reloads included"

# --no-forward-reload: the keys change, the daemon hears nothing.
rm -f "$T/report" "$T/report.hup" "$T/bg.err"
svc_conf "" ""
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --no-forward-reload --config "$T/svc.conf"
sup=$BG_PID
check "restarted" wait_for 100 test -s "$T/report"
check "reload done" hup reloads 1
check "--no-forward-reload: the daemon got no SIGHUP" test ! -e "$T/report.hup"
kill -TERM "$sup"
wait_exit "$sup" || true
finish
