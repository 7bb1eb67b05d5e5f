#!/bin/bash
# Supervise mode passes a reload's SIGHUP on only to a daemon that catches
# or ignores it, judged anew at each reload: a daemon that handles it still
# gets every one; one that does not survives and keeps serving signed
# clients, and is sent SIGHUP once it installs a handler.
# --always-forward-reload passes it anyway (the daemon dies, and the log
# names the option), --no-forward-reload never.
. "$(dirname "$0")/../lib.sh"
SIGDAEMON=$(cd "$(dirname "$0")/../helpers" && pwd)/sigdaemon.py

netns_new "$NS"
key "$T/k.key" k-secret
key "$T/wrong.key" wrong-secret
write_conf "$T/svc.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:2222
[Key k]
Peer = 127.0.0.1
SecretFile = $T/k.key
CONF

hups() { cat "$T/d.hup" 2>/dev/null | wc -l; }
hups_are() { [ "$(hups)" = "$1" ]; }
reloads() { grep -c "reloaded:" "$T/bg.err" || true; }
reloads_are() { [ "$(reloads)" = "$1" ]; }
# start OPTION... -- DAEMON-ARG...: the supervisor with the test daemon; waits until it serves.
start() {
        local opts=()
        while [ "$1" != -- ]; do opts+=("$1"); shift; done
        shift
        rm -f "$T/d" "$T/d.hup"
        start_bg "$NS" $WRAP "$ACTIVATE" --supervise "${opts[@]}" --config "$T/svc.conf" -- python3 "$SIGDAEMON" "$T/d" "$@"
        sup=$BG_PID
        wait_for 200 test -s "$T/d"
        daemon=$(sed -n 's/^pid=\([0-9]*\).*/\1/p' "$T/d")
}
reload() { kill -HUP "$sup"; wait_for 200 reloads_are "$1"; }

expect_rc 64 "--no-forward-reload and --always-forward-reload exclude each other" \
        in_ns "$NS" "$ACTIVATE" --supervise --no-forward-reload --always-forward-reload --config "$T/svc.conf" -- true
expect_stderr "exclude each other" "the usage error names both options"
expect_rc 64 "--always-forward-reload without --supervise is a usage error" \
        in_ns "$NS" "$ACTIVATE" --always-forward-reload --config "$T/svc.conf" -- true

# A daemon that handles SIGHUP gets every reload's.
start -- --handle-hup
check "daemon 1 (handles SIGHUP) serves" echo_ok "$NS" "$T/k.key" 127.0.0.1 2222
check "reload 1" reload 1
check "daemon 1 got reload 1's SIGHUP" wait_for 200 hups_are 1
check "reload 2" reload 2
check "daemon 1 got reload 2's SIGHUP" wait_for 200 hups_are 2
check "the log says SIGHUP was passed on, and why" \
        wait_for 100 grep -q "reload: SIGHUP passed to $daemon (it handles SIGHUP)" "$T/bg.err"
kill -TERM "$sup"
rc=0; wait_exit "$sup" || rc=$?
expect_eq "$rc" 3 "daemon 1 ends on SIGTERM with its own status"

# A daemon that leaves SIGHUP at its default (death) is not sent it...
start --
check "daemon 2 (SIGHUP at its default) serves" echo_ok "$NS" "$T/k.key" 127.0.0.1 2222
check "reload 1" reload 1
check "the log says SIGHUP was not passed on, and why" \
        wait_for 100 grep -q "reload: SIGHUP not passed: $daemon does not handle SIGHUP, and would die of it" "$T/bg.err"
check "daemon 2 survives the reload" kill -0 "$daemon"
check "the supervisor runs on" kill -0 "$sup"
check "daemon 2 still serves signed clients" echo_ok "$NS" "$T/k.key" 127.0.0.1 2222
check "unsigned clients are still dropped" echo_dropped "$NS" "" 127.0.0.1 2222
check "wrong-key clients are still dropped" echo_dropped "$NS" "$T/wrong.key" 127.0.0.1 2222
expect_eq "$(hups)" 0 "daemon 2 got no SIGHUP"
# ...until it installs a handler: each reload looks again.
kill -USR1 "$sup" # passed on: the daemon installs its SIGHUP handler
caught() { local m; m=$(sed -n 's/^SigCgt:\t*//p' "/proc/$daemon/status"); (( 0x$m & 1 )); } # bit 0: SIGHUP
check "daemon 2 catches SIGHUP now (SigCgt)" wait_for 200 caught
check "reload 2" reload 2
check "daemon 2 got reload 2's SIGHUP" wait_for 200 hups_are 1
kill -TERM "$sup"
rc=0; wait_exit "$sup" || rc=$?
expect_eq "$rc" 3 "daemon 2 ends on SIGTERM with its own status"

# --always-forward-reload: passed on anyway; the daemon dies of it.
start --always-forward-reload --
check "daemon 3 serves" echo_ok "$NS" "$T/k.key" 127.0.0.1 2222
kill -HUP "$sup"
rc=0; wait_exit "$sup" || rc=$?
expect_eq "$rc" 129 "--always-forward-reload: the daemon dies of SIGHUP, 128+1 passed on"
check "the log says SIGHUP was passed on" grep -q "reload: SIGHUP passed to $daemon (--always-forward-reload)" "$T/bg.err"
check "the log says why the daemon died, naming the option" \
        grep -q "the daemon ($daemon) was killed by the SIGHUP a reload passed on to it; without --always-forward-reload" "$T/bg.err"
check "in one line" test "$(grep -c "killed by the SIGHUP" "$T/bg.err")" = 1

# --no-forward-reload: never, even to a daemon that handles it.
start --no-forward-reload -- --handle-hup
check "reload 1" reload 1
check "daemon 4 survives" kill -0 "$daemon"
check "daemon 4 still serves signed clients" echo_ok "$NS" "$T/k.key" 127.0.0.1 2222
expect_eq "$(hups)" 0 "--no-forward-reload: the daemon that handles SIGHUP got none"
kill -TERM "$sup"
rc=0; wait_exit "$sup" || rc=$?
expect_eq "$rc" 3 "daemon 4 ends on SIGTERM with its own status"
finish
