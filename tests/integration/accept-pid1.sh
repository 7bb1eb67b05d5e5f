#!/bin/bash
# Accept mode as PID 1 of a pid namespace (a container's init): the
# connection processes die with the namespace when the activator exits, so
# SIGTERM closes the listeners, is passed on to every child and the
# activator waits for them (exit 0), or exits at once on a second SIGTERM
# (128+15), as tini does. Outside a namespace it leaves them alone instead
# (accept-lifecycle.sh).
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/k.key" pid1-secret
mkdir "$T/m"
write_conf "$T/svc.conf" <<CONF
[Socket]
ListenStream = 2601
Accept = yes
Inetd = yes
[Service]
ExecStart = $REPORT -d $T/m
[Key local]
Peer = 127.0.0.0/8
SecretFile = $T/k.key
CONF
count() { ls "$T/m" | grep -c "^$1" || true; }
count_is() { [ "$(count "$1")" = "$2" ]; }
# start_init [ARGS]: the activator as PID 1; $u is unshare, $init the activator.
start_init() {
        start_bg "$NS" unshare --pid --fork --mount-proc $WRAP "$ACTIVATE" --config "$T/svc.conf" "$@"
        u=$BG_PID
        check "PID 1 listens" wait_for 100 listening "$NS" 2601
        init=$(pgrep -P "$u" -x "$ACTIVATOR_COMM")
}

# Children that end on SIGTERM: the activator follows them, with status 0.
start_init
hold a "$NS" "$T/k.key" 127.0.0.1 127.0.0.1 2601
hold b "$NS" "$T/k.key" 127.0.0.1 127.0.0.1 2601
check "two held connections have their processes" wait_for 100 count_is started 2
kill -TERM "$init"
check "SIGTERM to PID 1 reaches both children" wait_for 100 count_is term 2
check "PID 1 exits once they are gone" wait_for 100 exited "$u"
rc=0; wait_exit "$u" || rc=$?
expect_eq "$rc" 0 "exit status 0 after a graceful stop"
check "nothing listens any more" eval "! listening $NS 2601"

# A child that ignores SIGTERM keeps PID 1 waiting, until a second one.
rm -f "$T"/m/*
start_init -- $REPORT -i -d "$T/m"
hold c "$NS" "$T/k.key" 127.0.0.1 127.0.0.1 2601
check "held connection has its process" wait_for 100 count_is started 1
kill -TERM "$init"
check "SIGTERM reaches the child" wait_for 100 count_is term 1
check "listening stops at the first SIGTERM" wait_for 100 eval "! listening $NS 2601"
check "and PID 1 says what it waits for" wait_for 100 grep -q 'waiting for 1 running child' "$T/bg.err"
check "PID 1 waits for the child that stays" kill -0 "$init"
# Stopping, SIGHUP has no listener to rekey and is not passed on. Pending
# together with the next SIGTERM it is read first (lower number).
kill -HUP "$init"
kill -TERM "$init"
check "a second SIGTERM ends it at once" wait_for 100 exited "$u"
rc=0; wait_exit "$u" || rc=$?
expect_eq "$rc" 143 "exit status 128+SIGTERM after a forced stop"
expect_eq "$(count hup)" 0 "the SIGHUP while stopping reached no child"
check "and reloaded nothing" eval "! grep -qi 'reload' '$T/bg.err'"
finish
