#!/bin/bash
# --watch against a busy or changing tree: events for names the config
# does not use neither cause a reload nor hold one off; a stream of
# relevant events holds a reload off at most 2 s; a key directory removed
# and made again, or swapped in by rename, is watched again; a name is
# matched in its own directory only.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
mkdir -m 700 "$T/c" "$T/kd" "$T/cl"
for i in 0 1 2 3 4 5; do key "$T/cl/s$i" "secret-$i"; done
cp -p "$T/cl/s0" "$T/kd/k"
write_conf "$T/c/svc.conf" <<CONF
[Socket]
ListenStream = 2222
[Service]
ExecStart = $ECHO_DAEMON $T/report
[Key office]
Peer = 127.0.0.0/8
SecretFile = $T/kd/k
CONF
reloads() { grep -c "reloaded:" "$T/bg.err" || true; }
attempts() { grep -c "reloaded:\|reload:" "$T/bg.err" || true; }
more_than() { test "$($1)" -gt "$2"; }
# settled: the count of reloads stays the same for a whole second (at most 20 s).
settled() {
        local i a
        for ((i = 0; i < 20; i++)); do a=$(attempts); sleep 1; [ "$(attempts)" != "$a" ] || return 0; done
        return 1
}
# rotate DIR N: secret N into DIR/k, by rename as deployment tools do.
rotate() { cp -p "$T/cl/s$2" "$1/.k.new"; mv "$1/.k.new" "$1/k"; }
# churn FILE: touches FILE every 20 ms until $T/stop exists (at most 30 s).
churn() {
        rm -f "$T/stop"
        ( for ((i = 0; i < 1500; i++)); do [ ! -e "$T/stop" ] || break; touch "$1"; sleep 0.02; done ) &
        PIDS+=("$!")
        CHURN=$!
}
unchurn() { touch "$T/stop"; wait "$CHURN" || true; }
serves() { echo_ok "$NS" "$T/cl/s$1" 127.0.0.1 2222; }

next_tick
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --watch --config "$T/c/svc.conf"
sup=$BG_PID
check "listeners come up" wait_for 200 test -s "$T/report"
check "before: key 0" serves 0
sleep 0.3
base=$(attempts)

# The key's name in the config's directory, the config's name in the
# key's directory: other files, no reload.
touch "$T/c/k" "$T/kd/svc.conf" "$T/kd/svc.conf.d"
sleep 1
expect_eq "$(attempts)" "$base" "a file named like a watched one, in another watched directory: no reload"

# Held off: an unrelated name in the key's directory, touched every 20 ms,
# neither delays nor causes reloads.
churn "$T/kd/junk"
n=$(reloads)
rotate "$T/kd" 1
check "rotation under unrelated churn: reloaded" wait_for 200 more_than reloads "$n"
check "rotation under unrelated churn: key 1 gets in" serves 1
sleep 1
expect_eq "$(reloads)" "$((n + 1))" "unrelated churn: exactly one reload"
unchurn

# Bounded: a watched name changing every 20 ms (the config's time stamp)
# never leaves the files quiet, yet the rotation lands within the bound.
churn "$T/c/svc.conf"
n=$(reloads)
rotate "$T/kd" 2
check "rotation under relevant churn: reloaded" wait_for 200 more_than reloads "$n"
check "rotation under relevant churn: key 2 gets in" serves 2
unchurn

# Blind: the key directory removed, a reload failing while it is missing,
# then made again with a new key. First the churn's last reload must have
# come and gone (under valgrind it takes longer than the churn's 20 ms).
check "after the churn: no reload for 1 s" settled
n=$(reloads); a=$(attempts)
rm -rf "$T/kd"
check "directory removed: a reload fails" wait_for 200 more_than attempts "$a"
expect_eq "$(reloads)" "$n" "directory removed: no reload succeeded"
check "directory removed: key 2 still gets in" serves 2
mkdir -m 700 "$T/kd"
sleep 0.5
rotate "$T/kd" 3
check "directory made again: reloaded" wait_for 200 more_than reloads "$n"
check "directory made again: key 3 gets in" serves 3
n=$(reloads)
rotate "$T/kd" 4
check "the new directory is watched: a rotation in it reloads" wait_for 200 more_than reloads "$n"
check "the new directory is watched: key 4 gets in" serves 4

# Swapped: a new directory renamed over the name of the old one.
sleep 0.5
mkdir -m 700 "$T/kd.new"
cp -p "$T/cl/s5" "$T/kd.new/k"
n=$(reloads)
mv "$T/kd" "$T/kd.old"
mv "$T/kd.new" "$T/kd"
check "directory swapped: reloaded" wait_for 200 more_than reloads "$n"
check "directory swapped: key 5 gets in" serves 5
check "directory swapped: key 4 is dropped" echo_dropped "$NS" "$T/cl/s4" 127.0.0.1 2222
sleep 0.5
a=$(attempts)
rotate "$T/kd.old" 1
sleep 1
expect_eq "$(attempts)" "$a" "the old directory, renamed away, is no longer watched"
n=$(reloads)
rotate "$T/kd" 0
check "the swapped-in directory is watched" wait_for 200 more_than reloads "$n"
check "after the swap: key 0 gets in" serves 0

check "the daemon heard no SIGHUP" test ! -e "$T/report.hup"
kill -TERM "$sup"
rc=0; wait_exit "$sup" || rc=$?
expect_eq "$rc" 143 "SIGTERM passed on"
finish
