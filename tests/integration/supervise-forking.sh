#!/bin/bash
# A daemon that forks into the background (its first process exits 0, the
# forked one serves with our sockets) is supervised on, as systemd's
# Type=forking: the forked process becomes the daemon, signals and reloads
# go to it, and its exit status is passed on. A first process that exits 0
# leaving nothing that holds the sockets still ends the supervisor with 0.
. "$(dirname "$0")/../lib.sh"
SIGDAEMON=$(cd "$(dirname "$0")/../helpers" && pwd)/sigdaemon.py

netns_new "$NS"
key "$T/k.key" k-secret
key "$T/wrong.key" wrong-secret
key "$T/old.key" k-secret
write_conf "$T/svc.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:2222
[Key k]
Peer = 127.0.0.1
SecretFile = $T/k.key
CONF
reloads_are() { [ "$(grep -c "reloaded:" "$T/bg.err" || true)" = "$1" ]; }

start_bg "$NS" $WRAP "$ACTIVATE" --supervise --config "$T/svc.conf" -- python3 "$SIGDAEMON" "$T/d" --fork
sup=$BG_PID
check "the forked daemon serves" wait_for 200 test -s "$T/d"
daemon=$(sed -n 's/^pid=\([0-9]*\).*/\1/p' "$T/d")
first=$(sed -n 's/.*listen_pid=\([0-9]*\).*/\1/p' "$T/d")
check "the daemon forked: the serving process is not the one started" test "$daemon" != "$first"
check "the log names both processes" \
        wait_for 200 grep -q "the daemon ($first) went into the background: $daemon holds the listening sockets" "$T/bg.err"
check "the supervisor stays" kill -0 "$sup"
expect_eq "$(ps --no-headers -o ppid= -p "$daemon" | tr -d ' ')" "$sup" "the forked daemon is the supervisor's child (subreaper)"
check "signed clients are served" echo_ok "$NS" "$T/k.key" 127.0.0.1 2222
check "unsigned clients are dropped" echo_dropped "$NS" "" 127.0.0.1 2222
check "wrong-key clients are dropped" echo_dropped "$NS" "$T/wrong.key" 127.0.0.1 2222

# Keys still rotate: that is what the supervisor stays for.
key "$T/k.key" k-rotated
key "$T/new.key" k-rotated
kill -HUP "$sup"
check "a reload rotates the key" wait_for 200 reloads_are 1
check "the new key is served" echo_ok "$NS" "$T/new.key" 127.0.0.1 2222
check "the old key is dropped" echo_dropped "$NS" "$T/old.key" 127.0.0.1 2222
check "the reload judged the forked daemon (it does not handle SIGHUP)" \
        wait_for 100 grep -q "SIGHUP not passed: $daemon does not handle SIGHUP" "$T/bg.err"
check "the forked daemon survived the reload" kill -0 "$daemon"
kill -USR1 "$sup" # passed on to the forked daemon: it installs its SIGHUP handler
caught() { local m; m=$(sed -n 's/^SigCgt:\t*//p' "/proc/$daemon/status"); (( 0x$m & 1 )); } # bit 0: SIGHUP
check "signals go to the forked daemon (SIGUSR1 made it catch SIGHUP)" wait_for 200 caught
kill -HUP "$sup"
check "reload 2" wait_for 200 reloads_are 2
check "reload 2's SIGHUP went to the forked daemon" wait_for 200 test -s "$T/d.hup"
kill -TERM "$sup"
rc=0; wait_exit "$sup" || rc=$?
expect_eq "$rc" 3 "SIGTERM reaches the forked daemon, whose exit status 3 is passed on"
check "the port is closed" bash -c "! ip netns exec $NS ss -Htln 'sport = :2222' | grep -q LISTEN"

# Control: a first process that exits 0 and leaves an orphan that closed
# the sockets. Nothing serves; the supervisor ends with 0 as before. The
# first process exits only once the orphan has closed them: until then the
# orphan does hold them, and would rightly be followed.
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --config "$T/svc.conf" -- sh -c \
        '(exec 3<&-; : > "$0"; exec sleep 30) & for i in $(seq 1000); do [ -e "$0" ] && exit 0; sleep 0.01; done; exit 1' \
        "$T/orphan-closed"
sup=$BG_PID
rc=0; wait_exit "$sup" || rc=$?
expect_eq "$rc" 0 "an orphan without the sockets: the supervisor exits 0"
check "and says nothing about a background daemon" bash -c "! grep -q 'went into the background' '$T/bg.err'"

# Control: at a stop, a daemon that exits 0 at once and leaves a process
# holding the sockets (a worker still draining) has no successor: the
# supervisor exits with 0 instead of waiting for it.
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --config "$T/svc.conf" -- \
        sh -c 'trap "exit 0" TERM; (trap "" TERM; exec sleep 30) & echo $! > "$0"; wait' "$T/worker"
sup=$BG_PID
check "the daemon and its worker started" wait_for 200 test -s "$T/worker"
kill -TERM "$sup"
rc=0; wait_exit "$sup" 200 || rc=$?
expect_eq "$rc" 0 "stopped: the daemon's 0 is passed on without waiting for its worker"
check "the worker was not taken for a daemon gone into the background" \
        bash -c "! grep -q 'went into the background' '$T/bg.err'"
kill "$(cat "$T/worker")" 2>/dev/null || true
finish
