#!/bin/bash
# Accept mode over time: 500 connections leave no zombie and no fd behind;
# SIGHUP is survived; SIGTERM or SIGINT closes the listeners and the
# activator exits 0 at once, leaving the running connections alone (the
# service manager decides their fate), so a new activator can listen on the
# same port while they go on. (As PID 1 it waits for them: accept-pid1.sh.)
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/k.key" lifecycle-secret
mkdir "$T/m"
write_conf "$T/svc.conf" <<CONF
[Socket]
ListenStream = 2600
Accept = yes
Inetd = yes
MaxConnections = 100
[Service]
ExecStart = $REPORT -d $T/m
[Key local]
Peer = 127.0.0.0/8
SecretFile = $T/k.key
CONF
fds() { ls "/proc/$1/fd" | wc -l; }
fds_are() { [ "$(fds "$1")" = "$2" ]; }
count() { ls "$T/m" | grep -c "^$1" || true; }
count_is() { [ "$(count "$1")" = "$2" ]; }

# READY=1 for Type=notify units, once the sockets listen.
socat -u UNIX-RECV:"$T/notify" OPEN:"$T/notify.out",creat,append &
PIDS+=("$!")
wait_for 100 test -S "$T/notify"
NOTIFY_SOCKET=$T/notify start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/svc.conf"
pid=$BG_PID
check "activator listens" wait_for 100 listening "$NS" 2600
check "and tells the service manager READY=1" wait_for 100 grep -q READY=1 "$T/notify.out"
fd_before=$(fds "$pid")

ip netns exec "$NS" bash -c "for i in \$(seq 500); do $CLIENT -t 3000 -k $T/k.key 127.0.0.1 2600 x | grep -q '^pid=' || echo failed; done" > "$T/loop.out"
expect_eq "$(grep -c failed "$T/loop.out" || true)" 0 "500 short signed connections all served"
expect_eq "$(count started)" 500 "500 processes were started"
check "every child is reaped" wait_for 100 children_are "$pid" 0
expect_eq "$(zombies "$pid")" 0 "no zombie children"
check "the activator's open fd count is back to $fd_before" wait_for 100 fds_are "$pid" "$fd_before"

kill -HUP "$pid"
check "SIGHUP reloads the keys and does not end the activator" wait_for 100 grep -q "reloaded:" "$T/bg.err"
check "and it still serves" bash -c "ip netns exec $NS $CLIENT -t 3000 -k $T/k.key 127.0.0.1 2600 x | grep -q '^pid='"

# open_conn N NAME: a signed connection whose input the test writes to fd N;
# conn-report's reply, then the echo, lands in $T/NAME.out.
open_conn() {
        mkfifo "$T/$2.in"
        ip netns exec "$NS" $CONNECT -k "$T/k.key" 127.0.0.1 2600 < "$T/$2.in" > "$T/$2.out" 2>&1 &
        PIDS+=("$!")
        eval "exec $1> \$T/\$2.in"
}
conn_pid() { sed -n 's/^pid=//p' "$T/$1.out"; }
echoes() { # N NAME WORD: WORD written to the connection comes back
        echo "$3" >&"$1"
        wait_for 100 grep -qx "$3" "$T/$2.out"
}
no_signal_seen() { [ -z "$(ls "$T/m" | grep -E '^(term|int|hup)\.' || true)" ]; }
parent() { ps -o ppid= -p "$1" | tr -d ' '; }

rm -f "$T"/m/*
open_conn 7 a
open_conn 8 b
check "two open connections have their processes" wait_for 100 count_is started 2
check "and echo" echoes 7 a before-a
check "both" echoes 8 b before-b
pid_a=$(conn_pid a)
t0=$(date +%s%N)
kill -TERM "$pid"
for ((i = 0; i < 1000; i++)); do exited "$pid" && break; sleep 0.005; done
t1=$(date +%s%N)
echo "# the activator was gone $(((t1 - t0) / 1000000)) ms after SIGTERM (polled every 5 ms)"
check "SIGTERM: the activator exits at once, the connections still open" exited "$pid"
rc=0; wait_exit "$pid" || rc=$?
expect_eq "$rc" 0 "exit status 0"
check "nothing listens any more: no child holds a listener" eval "! listening $NS 2600"
check "it says it left two children running" grep -q 'SIGTERM: listening stopped; 2 running children left' "$T/bg.err"
check "an open connection keeps echoing after the activator is gone" echoes 7 a after-a
check "so does the other" echoes 8 b after-b
check "its process is alive, now someone else's child" test "$(parent "$pid_a")" != "$pid" -a -d "/proc/$pid_a"
check "no child was sent a signal" no_signal_seen

# A new activator (fd 3, not inetd) binds the same port while they run.
sed '/^Inetd/d' "$T/svc.conf" > "$T/svc3.conf"
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/svc3.conf"
pid2=$BG_PID
check "a new activator listens on the same port at once" wait_for 100 listening "$NS" 2600
check "and serves" bash -c "ip netns exec $NS $CLIENT -t 3000 -k $T/k.key 127.0.0.1 2600 x | grep -q '^pid='"
open_conn 9 c
check "its own open connection has its process" wait_for 100 grep -q '^pid=' "$T/c.out"
check "the old connection still echoes next to the new activator" echoes 7 a again-a
kill -INT "$pid2"
check "SIGINT: the new activator exits at once too" wait_for 100 exited "$pid2"
rc=0; wait_exit "$pid2" || rc=$?
expect_eq "$rc" 0 "exit status 0"
check "nothing listens: the fd-3 child holds no listener either" eval "! listening $NS 2600"
check "its connection echoes on" echoes 9 c after-c
check "still no child was sent a signal" no_signal_seen
exec 7>&- 8>&- 9>&-
all_gone() { local p; for p in "$@"; do exited "$p" || return 1; done; }
check "the connection processes end when their clients close" \
        wait_for 100 all_gone "$pid_a" "$(conn_pid b)" "$(conn_pid c)"
finish
