#!/bin/bash
# Accept mode over time: 500 connections leave no zombie and no fd behind;
# SIGHUP is survived; SIGTERM stops accepting, reaches the children and the
# activator exits when they are gone, or at once on a second SIGTERM.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/k.key" lifecycle-secret
mkdir "$T/m"
cat > "$T/svc.conf" <<CONF
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
count() { ls "$T/m" | grep -c "^$1" || true; }
count_is() { [ "$(count "$1")" = "$2" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }

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
expect_eq "$(fds "$pid")" "$fd_before" "the activator's open fd count is back to $fd_before"

kill -HUP "$pid"
check "SIGHUP reloads the keys and does not end the activator" wait_for 20 grep -q "reloaded:" "$T/bg.err"
check "and it still serves" bash -c "ip netns exec $NS $CLIENT -t 3000 -k $T/k.key 127.0.0.1 2600 x | grep -q '^pid='"

rm -f "$T"/m/*
hold a "$NS" "$T/k.key" 127.0.0.1 127.0.0.1 2600
hold b "$NS" "$T/k.key" 127.0.0.1 127.0.0.1 2600
check "two held connections have their processes" wait_for 100 count_is started 2
kill -TERM "$pid"
check "SIGTERM reaches both children" wait_for 100 count_is term 2
check "the activator exits once they are gone" wait_for 100 gone "$pid"
rc=0; wait_exit "$pid" || rc=$?
expect_eq "$rc" 0 "exit status 0 after a graceful stop"
check "nothing listens any more" eval "! listening $NS 2600"

# A child that ignores SIGTERM keeps the activator waiting, until a second one.
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/svc.conf" -- $REPORT -i -d "$T/m"
pid=$BG_PID
check "second activator listens" wait_for 100 listening "$NS" 2600
rm -f "$T"/m/*
hold c "$NS" "$T/k.key" 127.0.0.1 127.0.0.1 2600
check "held connection has its process" wait_for 100 count_is started 1
kill -TERM "$pid"
check "SIGTERM reaches the child" wait_for 100 count_is term 1
check "listening stops at the first SIGTERM" wait_for 100 eval "! listening $NS 2600"
sleep 0.3
check "the activator waits for the child that stays" kill -0 "$pid"
check "and says what it waits for" wait_for 300 grep -q 'waiting for 1 running child' "$T/bg.err"
kill -TERM "$pid"
check "a second SIGTERM ends it at once" wait_for 40 gone "$pid"
rc=0; wait_exit "$pid" || rc=$?
expect_eq "$rc" 143 "exit status 128+SIGTERM after a forced stop"
finish
