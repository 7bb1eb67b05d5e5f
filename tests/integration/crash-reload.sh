#!/bin/bash
# A config reader that crashes (SIGSEGV, as a parser bug would) during a
# reload takes the reload down, never the resident process: in supervise
# mode and in accept mode alike (both reload in a reload child), the
# activator lives on, logs the crash in one line, keeps its keys (the old
# key gets in, the new one and unsigned clients are dropped, as before the
# reload), and the next reload applies the new key.
# (tests/helpers/faultinject.c: FAULT_ERRNO=SEGV at the reload child's
# first read(), which is the config file's.)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault.sh"

netns_new "$NS"
key "$T/old.key" crash-old-secret
key "$T/new.key" crash-new-secret
key "$T/wrong.key" crash-wrong-secret
FAULT_SECRETS=(crash-old-secret crash-new-secret)
write_svc() { # MODE-LINES KEY-FILE COMMAND
        write_conf "$T/svc.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:2451
$1
[Service]
ExecStart = $3
[Key k]
Peer = 127.0.0.1
SecretFile = $2
CONF
}
reloads() { grep -c "reloaded:" "$T/fault.err" || true; }
reloads_are() { [ "$(reloads)" = "$1" ]; }
crash_logged() { grep -q "reload: the reload process was killed by signal 11 (Segmentation fault); the old keys stay" "$T/fault.err"; }
activator_pid() { # the child of timeout (FAULT_PID): the activator
        local c
        c=$(cat "/proc/$FAULT_PID/task/$FAULT_PID/children") && [ -n "$c" ] && echo "${c%% *}"
}
no_secret_out() {
        local x
        for x in "${FAULT_SECRETS[@]}"; do ! grep -qaF -- "$x" "$T/fault.err" "$T/fault.out" || return 1; done
}

# crash MODE FORK MODE-LINES COMMAND ARGS...: FORK is the reload child's
# number among the processes the activator makes.
crash() {
        local mode=$1 fork=$2 lines=$3 cmd=$4 pid; shift 4
        write_svc "$lines" "$T/old.key" "$cmd"
        FAULT_MARKER=$T/marker FAULT_CMD=("$ACTIVATE" "$@" --config "$T/svc.conf")
        fault_run FAULT_IN_FORK="$fork" FAULT_FUNC=read FAULT_AT=1 FAULT_ERRNO=SEGV
        if ! wait_for 200 listening "$NS" 2451 || ! pid=$(activator_pid) || [ -z "$pid" ]; then
                fail "$mode: did not start"; sed 's/^/#   /' "$T/fault.err" | head -5
                return
        fi
        write_svc "$lines" "$T/new.key" "$cmd"
        kill -HUP "$pid"
        check "$mode: the crash is logged, in one line" wait_for 200 crash_logged
        expect_eq "$(sed -n 's/^failed=//p' "$T/fault.report" | awk '{ print $1, $NF }')" "read crashed" \
                "$mode: the reload child crashed at its config read"
        check "$mode: that is the only message" test "$(grep -c . "$T/fault.err")" = 1
        check "$mode: the activator lives" kill -0 "$pid"
        check "$mode: the old key still gets in" echo_ok "$NS" "$T/old.key" 127.0.0.1 2451
        check "$mode: the new key is not in yet" echo_dropped "$NS" "$T/new.key" 127.0.0.1 2451
        check "$mode: an unsigned client is dropped" echo_dropped "$NS" "" 127.0.0.1 2451
        check "$mode: a wrong key is dropped" echo_dropped "$NS" "$T/wrong.key" 127.0.0.1 2451
        kill -HUP "$pid" # the next reload child is another fork: no crash
        check "$mode: the next reload succeeds" wait_for 200 reloads_are 1
        check "$mode: then the new key gets in" echo_ok "$NS" "$T/new.key" 127.0.0.1 2451
        check "$mode: and the old one is dropped" echo_dropped "$NS" "$T/old.key" 127.0.0.1 2451
        check "$mode: no secret in the messages" no_secret_out
        kill -TERM "$pid"
        wait_exit "$FAULT_PID" || true
}

# Supervise mode: fork 1 reads the config at start-up and becomes the
# daemon, fork 2 is the first reload child.
crash supervise 2 "" "$ECHO_DAEMON $T/marker" --supervise --no-forward-reload
# Accept mode: no process before the first reload child.
crash accept 1 "Accept = yes
Inetd = yes" /bin/cat
finish
