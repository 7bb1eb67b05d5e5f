#!/bin/bash
# A key reload (SIGHUP) under fault injection, in supervise and accept mode:
# two listeners, and a new config that adds a key, replaces one, deletes
# one and puts a Peer=any key in the catch-alls' place. Each setsockopt call
# of the reload fails in turn (the start-up's calls are skipped by
# position). Every time: the process stays, the same one (not restarted),
# the error is logged, and every listener is fully back on the old keys:
# each old key gets through, each new-only key is dropped. And when the
# supervisor cannot fork the child it reloads in, the reload fails the
# same way.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault.sh"

netns_new "$NS"
for a in 10 20 30 40; do in_ns "$NS" ip addr add 192.0.2.$a/32 dev lo; done
key "$T/office-old.key" office-old-secret
key "$T/office-new.key" office-new-secret
key "$T/partner.key" partner-secret
key "$T/stay.key" stay-secret
key "$T/lab.key" lab-secret
key "$T/any.key" any-secret
FAULT_SECRETS=(office-old-secret office-new-secret partner-secret stay-secret lab-secret any-secret)

# write_conf FILE MODE-LINES COMMAND KEYS: 127.0.0.1:2401 first, then the
# dual-stack [::]:2402, so a fault can hit either listener.
write_conf() {
        cat > "$1" <<CONF
[Socket]
ListenStream = 127.0.0.1:2401
ListenStream = 2402
BindIPv6Only = both
$2
[Service]
ExecStart = $3

[Key office]
Peer = 127.0.0.0/8
Peer = ::1
$4
CONF
        chmod 600 "$1"
}
. "$(dirname "$0")/reload-keys.sh" # OLD_KEYS, NEW_KEYS

# The clients, all at once (a dropped SYN costs 300 ms): "WANT KEY SRC
# ADDR PORT" with WANT ok (an echo comes back) or dropped (SYN unanswered).
OLD_IN=("ok office-old - 127.0.0.1 2401" "ok office-old - 127.0.0.1 2402" "ok office-old - ::1 2402"
        "ok partner 192.0.2.10 127.0.0.1 2401" "ok partner 192.0.2.10 127.0.0.1 2402"
        "ok stay 192.0.2.30 127.0.0.1 2401" "ok stay 192.0.2.30 127.0.0.1 2402")
NEW_OUT=("dropped office-new - 127.0.0.1 2401" "dropped office-new - 127.0.0.1 2402"
         "dropped office-new - ::1 2402" "dropped lab 192.0.2.20 127.0.0.1 2401"
         "dropped lab 192.0.2.20 127.0.0.1 2402" "dropped any 192.0.2.40 127.0.0.1 2401"
         "dropped any 192.0.2.40 127.0.0.1 2402")
client() { # WANT KEY SRC ADDR PORT
        local rc=0 out
        out=$(ip netns exec "$NS" $CLIENT -t "$([ "$1" = ok ] && echo 3000 || echo 300)" -k "$T/$2.key" \
                $([ "$3" = - ] || echo "-s $3") "$4" "$5" hello 2>/dev/null) || rc=$?
        if [ "$1" = ok ]; then [ "$rc" = 0 ] && [ "$out" = hello ]; else [ "$rc" = 3 ]; fi
}
# clients_as WHAT SPEC...: one check line for all of them; names the misfits.
clients_as() {
        local what=$1 i pids=() bad=(); shift
        local specs=("$@")
        for i in "${!specs[@]}"; do
                client ${specs[$i]} & pids+=($!)
        done
        for i in "${!specs[@]}"; do wait_exit "${pids[$i]}" || bad+=("${specs[$i]}"); done
        if [ ${#bad[@]} = 0 ]; then ok "$what"; else fail "$what: not as expected: ${bad[*]}"; fi
}

activator_pid() { # the child of timeout (FAULT_PID): the activator
        local c
        c=$(cat "/proc/$FAULT_PID/task/$FAULT_PID/children") && [ -n "$c" ] && echo "${c%% *}"
}
no_secret_out() {
        local x
        for x in "${FAULT_SECRETS[@]}"; do ! grep -qaF -- "$x" "$T/fault.err" "$T/fault.out" || return 1; done
}
count_of() { sed -n "s/^$1=//p" "$T/fault.report"; }
reloaded() { grep -q "reloaded:" "$T/fault.err"; }
reload_failed() { grep -q "reload: .*the old keys stay" "$T/fault.err"; }
up() { # the activator has started (MODE: the daemon runs, or both listen)
        if [ "$MODE" = supervise ]; then wait_for 200 test -s "$T/started"
        else # served: only then does it take SIGHUP as a reload request
                wait_for 200 listening "$NS" 2401 && wait_for 200 listening "$NS" 2402 &&
                        echo_ok "$NS" "$T/office-old.key" 127.0.0.1 2401
        fi
}

# clean_reload: counts the start-up's and the reload's setsockopt calls,
# and shows the reload really changes what the clients see.
clean_reload() {
        write_conf "$T/svc.conf" "$MODE_LINES" "$COMMAND" "$OLD_KEYS"
        rm -f "$T/started"
        fault_run
        up || { fail "$MODE: clean run did not start"; sed 's/^/#   /' "$T/fault.err"; return 1; }
        START=$(count_of setsockopt)
        local pid; pid=$(activator_pid)
        clients_as "$MODE: before the reload, the old keys get in" "${OLD_IN[@]}"
        write_conf "$T/svc.conf" "$MODE_LINES" "$COMMAND" "$NEW_KEYS"
        kill -HUP "$pid"
        check "$MODE: the clean reload succeeds" wait_for 100 reloaded
        RELOAD=$(($(count_of setsockopt) - START))
        FORKS=$(count_of fork)
        ok "$MODE: start-up $START setsockopt calls, reload $RELOAD: $(grep -o 'reloaded:.*' "$T/fault.err")"
        clients_as "$MODE: after a clean reload the new keys get in" \
                "ok office-new - 127.0.0.1 2401" "ok office-new - ::1 2402" "ok lab 192.0.2.20 127.0.0.1 2402" \
                "ok any 192.0.2.40 127.0.0.1 2401" "dropped office-old - 127.0.0.1 2401" \
                "dropped partner 192.0.2.10 127.0.0.1 2402"
        kill -TERM "$pid"; wait_exit "$FAULT_PID" || true
}

# reload_fault AT ERRNO: call AT of the reload fails.
reload_fault() {
        local at=$1 err=$2 pos=$((START + $1)) pid daemon failed what="$MODE: reload call $1/$RELOAD fails with $2"
        write_conf "$T/svc.conf" "$MODE_LINES" "$COMMAND" "$OLD_KEYS"
        rm -f "$T/started"
        fault_run FAULT_FUNC=setsockopt FAULT_AT="$pos" FAULT_ERRNO="$err"
        if ! up || ! pid=$(activator_pid) || [ -z "$pid" ]; then
                fail "$what: did not start"; sed 's/^/#   /' "$T/fault.err" | head -5; return
        fi
        daemon=$(sed -n 's/^pid=//p' "$T/started" 2>/dev/null || true)
        write_conf "$T/svc.conf" "$MODE_LINES" "$COMMAND" "$NEW_KEYS"
        kill -HUP "$pid"
        if ! wait_for 100 reload_failed; then
                fail "$what: no reload error logged"; sed 's/^/#   /' "$T/fault.err" | head -5
        else
                ok "$what: $(grep -o 'reload: .*' "$T/fault.err" | head -1 | cut -c1-150)"
        fi
        # The failing process (the reload child) writes its report as it exits,
        # which under valgrind can come after the parent's message.
        wait_for 300 grep -q '^failed=' "$T/fault.report" || true
        failed=$(sed -n 's/^failed=//p' "$T/fault.report")
        expect_eq "$failed" "setsockopt level=6 opt=32" "$what: the fault hit a key change"
        check "$what: every old key restored" bash -c "! grep -q 'could not restore' '$T/fault.err'"
        check "$what: still running, the same process" kill -0 "$pid"
        if [ -n "$daemon" ]; then
                check "$what: the daemon was not restarted" kill -0 "$daemon"
        fi
        clients_as "$what: every old key still gets in, on both listeners" "${OLD_IN[@]}"
        clients_as "$what: no new-only key gets in, on either listener" "${NEW_OUT[@]}"
        check "$what: that error is the only message" test "$(grep -c . "$T/fault.err")" = 1
        check "$what: no secret in the messages" no_secret_out
        kill -TERM "$pid"
        wait_exit "$FAULT_PID" || true
        check "$what: nothing open at exit" grep -q '^exit_new_fds=0$' "$T/fault.report"
}

MODE=supervise MODE_LINES="" COMMAND="$ECHO_DAEMON $T/started"
FAULT_MARKER=$T/started
FAULT_CMD=("$ACTIVATE" --supervise --no-forward-reload --config "$T/svc.conf")
clean_reload || finish
expect_eq "$RELOAD" 10 "supervise: 10 key changes (4 on the IPv4 listener, 6 on the dual-stack one)"
# The daemon (which read the config first) and the reload, each in a
# child: the sweep below hits the reloading child.
expect_eq "$FORKS" 2 "supervise: the reload ran in a child of the supervisor"
for ((at = 1; at <= RELOAD; at++)); do reload_fault "$at" ENOMEM; done
reload_fault 5 EPERM

# Without that child (its fork fails) nothing changes either.
write_conf "$T/svc.conf" "" "$COMMAND" "$OLD_KEYS"
fault_run FAULT_FUNC=fork FAULT_AT=2 FAULT_ERRNO=EAGAIN
if up && pid=$(activator_pid) && [ -n "$pid" ]; then
        write_conf "$T/svc.conf" "" "$COMMAND" "$NEW_KEYS"
        kill -HUP "$pid"
        check "supervise: the reload's fork fails: the reload fails, named" \
                wait_for 100 grep -q "reload: cannot fork: .*; the old keys stay" "$T/fault.err"
        expect_eq "$(sed -n 's/^failed=//p' "$T/fault.report")" "fork -" "  (the fault was injected)"
        check "  still running, the same process" kill -0 "$pid"
        clients_as "  every old key still gets in" "${OLD_IN[@]}"
        clients_as "  no new-only key gets in" "${NEW_OUT[@]}"
        kill -TERM "$pid"
        wait_exit "$FAULT_PID" || true
else
        fail "supervise: the run with the reload's fork failing did not start"
fi

MODE=accept MODE_LINES="Accept = yes
Inetd = yes" COMMAND="/bin/cat"
FAULT_CMD=("$ACTIVATE" --config "$T/svc.conf")
clean_reload || finish
expect_eq "$RELOAD" 10 "accept: the same 10 key changes"
for at in 1 4 5 "$RELOAD"; do reload_fault "$at" ENOMEM; done
finish
