#!/bin/bash
# Supervise mode's start-up child (it reads the config and key files, then
# says which mode they ask for) has the deadline a reload child has: one
# that hangs reading a file is killed, the activator exits 78 naming the
# file and what to do, and nothing ever listens. A FIFO, the easy way to
# block, is refused without being opened, so the hang is made by the fault
# shim (tests/helpers/faultinject.c: FAULT_IN_FORK=1 is the start-up
# child, its read number N hangs; FAULT_DEADLINE_MS shortens the 10 s
# deadline to 1.5 s so that the test runs in seconds).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault.sh"

netns_new "$NS"
PORT=2611
key "$T/a.key" start-deadline-secret
FAULT_SECRETS=(start-deadline-secret)
write_svc() { # SECRETFILE
        write_conf "$T/svc.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:$PORT
[Service]
ExecStart = $ECHO_DAEMON $T/started
[Key a]
Peer = 127.0.0.0/8
SecretFile = $1
CONF
}
FAULT_CMD=("$ACTIVATE" --supervise --config "$T/svc.conf")
FAULT_MARKER=$T/started

# Control: a FIFO as the key file does not block: refused at once, unopened.
mkfifo -m 600 "$T/fifo.key"
write_svc "$T/fifo.key"
expect_rc 78 "a FIFO as SecretFile= is refused at once" \
        in_ns "$NS" timeout 5 $WRAP "${FAULT_CMD[@]}"
expect_stderr "fifo.key.*not a regular file" "the message names the FIFO"
rm "$T/fifo.key"
write_svc "$T/a.key"
mkdir -m 700 "$T/svc.conf.d"
mkfifo -m 600 "$T/svc.conf.d/blocks.conf"
expect_rc 78 "a FIFO as a drop-in is refused at once" \
        in_ns "$NS" timeout 5 $WRAP "${FAULT_CMD[@]}"
expect_stderr "svc.conf.d/blocks.conf: not a regular file" "the message names it"
rm -r "$T/svc.conf.d"

# hang N WHAT: the start-up child's read number N hangs (the file WHAT).
hang() {
        local at=$1 what=$2 t0 rc=0 listened=no i
        write_svc "$T/a.key"
        t0=$(date +%s%N)
        fault_run FAULT_IN_FORK=1 FAULT_FUNC=read FAULT_AT="$at" FAULT_ERRNO=HANG FAULT_DEADLINE_MS=1500
        check "read $at: the start-up child hangs" wait_for 40 grep -q '^failed=read .* hung$' "$T/fault.report"
        local child
        child=$(pgrep -f -n -- "--config $T/svc.conf" || true)
        # Until the deadline (4 s at most): nothing listens, no daemon.
        for ((i = 0; i < 40; i++)); do
                ! exited "$FAULT_PID" || break
                ! listening "$NS" "$PORT" || listened=yes
                sleep 0.1
        done
        wait_exit "$FAULT_PID" 20 || rc=$?
        local ms=$((($(date +%s%N) - t0) / 1000000))
        expect_eq "$rc" 78 "read $at: exit 78, a config error"
        check "read $at: it waited for the deadline, not less (${ms} ms)" test "$ms" -ge 1400
        check "read $at: and not much more" test "$ms" -lt 6000
        expect_eq "$listened" no "read $at: nothing listened meanwhile"
        check "read $at: nothing listens after" eval '! listening "$NS" "$PORT"'
        check "read $at: the daemon never started" test ! -e "$T/started"
        check "read $at: the message says it timed out, names $what, and what to do" \
                grep -q "reading the config and key files timed out after 10 s (the reading process is killed; it was reading $T/$what); nothing listens\. .*move it to a local file system, then start again" "$T/fault.err"
        check "read $at: the hung child is gone" eval '[ -n "$child" ] && wait_for 40 exited "$child"'
        check "read $at: no secret in the messages" eval '! grep -qaF start-deadline-secret "$T/fault.err" "$T/fault.out"'
        sed 's/^/#   /' "$T/fault.err" | head -3
}
# Reads 1 and 2 take the config file (its text, then the end), read 3 the
# key file; the message names the file by what the child holds open.
hang 1 svc.conf
hang 3 a.key

# Control: under the same short deadline, a start that does not hang is
# not cut off: the daemon starts and the port listens.
write_svc "$T/a.key"
fault_run FAULT_DEADLINE_MS=1500
check "no hang: the daemon starts" wait_for 100 test -e "$T/started"
check "no hang: the port listens" listening "$NS" "$PORT"
sleep 2
check "no hang: still running past the deadline" eval '! exited "$FAULT_PID"'
check "no hang: still listening past the deadline" listening "$NS" "$PORT"
kill -TERM "$(pgrep -f -o -- "--config $T/svc.conf")"
wait_exit "$FAULT_PID" || true
finish
