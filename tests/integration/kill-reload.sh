#!/bin/bash
# A supervise-mode reload whose child is killed (SIGKILL) at each of its
# read, write and setsockopt calls in turn: the counterpart of
# fault-reload.sh with an adversary that kills instead of failing a call.
# The reload goes from OLD to NEW on two listeners: it adds, replaces and
# deletes keys, and puts a Peer=any key in the catch-alls' place. After
# each kill the log names it in one line and every listener holds exactly
# OLD's keys; after a following good reload, exactly NEW's. Real clients
# judge it: every right key gets in, and no unsigned, wrong-key or revoked
# client does. Then a reload child that hangs reading its files: SIGTERM
# still reaches the daemon and it is reaped at once, and otherwise the
# reload fails at its deadline, and a SIGHUP that came meanwhile runs once
# more afterwards. (tests/helpers/faultinject.c: FAULT_IN_FORK=2 is the
# reload child, the daemon being the first fork.)
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
key "$T/wrong.key" wrong-secret
FAULT_SECRETS=(office-old-secret office-new-secret partner-secret stay-secret lab-secret any-secret)

write_svc() { # KEYS
        cat > "$T/svc.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:2401
ListenStream = 2402
BindIPv6Only = both
[Service]
ExecStart = $ECHO_DAEMON $T/started

[Key office]
Peer = 127.0.0.0/8
Peer = ::1
$1
CONF
        chmod 600 "$T/svc.conf"
}
. "$(dirname "$0")/reload-keys.sh" # OLD_KEYS, NEW_KEYS

# "WANT KEY SRC ADDR PORT": WANT ok (echo comes back) or dropped (SYN
# unanswered); KEY none is an unsigned client.
NOBODY_IN=("dropped none - 127.0.0.1 2401" "dropped none - 127.0.0.1 2402" "dropped none - ::1 2402"
           "dropped none 192.0.2.40 127.0.0.1 2401" "dropped none 192.0.2.40 127.0.0.1 2402"
           "dropped wrong - 127.0.0.1 2401" "dropped wrong - ::1 2402" "dropped wrong 192.0.2.40 127.0.0.1 2402")
OLD_STATE=("ok office-old - 127.0.0.1 2401" "ok office-old - 127.0.0.1 2402" "ok office-old - ::1 2402"
           "ok partner 192.0.2.10 127.0.0.1 2401" "ok partner 192.0.2.10 127.0.0.1 2402"
           "ok stay 192.0.2.30 127.0.0.1 2401" "ok stay 192.0.2.30 127.0.0.1 2402"
           "dropped office-new - 127.0.0.1 2401" "dropped office-new - ::1 2402"
           "dropped lab 192.0.2.20 127.0.0.1 2401" "dropped lab 192.0.2.20 127.0.0.1 2402"
           "dropped any 192.0.2.40 127.0.0.1 2401" "dropped any 192.0.2.40 127.0.0.1 2402" "${NOBODY_IN[@]}")
NEW_STATE=("ok office-new - 127.0.0.1 2401" "ok office-new - 127.0.0.1 2402" "ok office-new - ::1 2402"
           "ok lab 192.0.2.20 127.0.0.1 2401" "ok lab 192.0.2.20 127.0.0.1 2402"
           "ok stay 192.0.2.30 127.0.0.1 2401" "ok stay 192.0.2.30 127.0.0.1 2402"
           "ok any 192.0.2.40 127.0.0.1 2401" "ok any 192.0.2.40 127.0.0.1 2402"
           "dropped office-old - 127.0.0.1 2401" "dropped office-old - ::1 2402"
           "dropped partner 192.0.2.10 127.0.0.1 2401" "dropped partner 192.0.2.10 127.0.0.1 2402"
           "dropped none 192.0.2.10 127.0.0.1 2401" "${NOBODY_IN[@]}")
client() { # WANT KEY SRC ADDR PORT
        local rc=0 out
        out=$(ip netns exec "$NS" $CLIENT -t "$([ "$1" = ok ] && echo 3000 || echo 300)" \
                $([ "$2" = none ] || echo "-k $T/$2.key") $([ "$3" = - ] || echo "-s $3") "$4" "$5" hello 2>/dev/null) || rc=$?
        if [ "$1" = ok ]; then [ "$rc" = 0 ] && [ "$out" = hello ]; else [ "$rc" = 3 ]; fi
}
# clients_as WHAT SPEC...: all at once, one check line naming the misfits.
clients_as() {
        local what=$1 i pids=() bad=(); shift
        local specs=("$@")
        for i in "${!specs[@]}"; do client ${specs[$i]} & pids+=($!); done
        for i in "${!specs[@]}"; do wait_exit "${pids[$i]}" || bad+=("${specs[$i]}"); done
        if [ ${#bad[@]} = 0 ]; then ok "$what"; else fail "$what: not as expected: ${bad[*]}"; fi
}

activator_pid() { # the child of timeout (FAULT_PID): the activator
        local c
        c=$(cat "/proc/$FAULT_PID/task/$FAULT_PID/children") && [ -n "$c" ] && echo "${c%% *}"
}
count_of() { sed -n "s/^$1=//p" "$T/fault.report"; }
reloads() { grep -c "reloaded:" "$T/fault.err" || true; }
reloads_are() { [ "$(reloads)" = "$1" ]; }
failed_reload() { grep -q "reload: .*the old keys stay" "$T/fault.err"; }
no_secret_out() {
        local x
        for x in "${FAULT_SECRETS[@]}"; do ! grep -qaF -- "$x" "$T/fault.err" "$T/fault.out" || return 1; done
}
FAULT_MARKER=$T/started
FAULT_CMD=("$ACTIVATE" --supervise --no-forward-reload --config "$T/svc.conf")

# start ENV...: OLD in force, the daemon up; the activator's pid in $SUP.
start() {
        write_svc "$OLD_KEYS"
        fault_run FAULT_IN_FORK=2 "$@"
        SUP=
        if wait_for 200 test -s "$T/started" && SUP=$(activator_pid) && [ -n "$SUP" ]; then return 0; fi
        fail "did not start"; sed 's/^/#   /' "$T/fault.err" | head -5
        return 1
}
stop() {
        kill -TERM "$SUP" 2>/dev/null || true
        wait_exit "$FAULT_PID" || true
}

# The calls of a clean reload child.
start || finish
write_svc "$NEW_KEYS"
kill -HUP "$SUP"
check "clean: the reload succeeds" wait_for 200 reloads_are 1
# The child writes its last count as it exits, which may trail the log.
wait_for 100 bash -c "! pgrep -P $SUP -f -- --supervise" || true
declare -A CALLS
for f in read write setsockopt; do CALLS[$f]=$(count_of $f); done
ok "clean reload child: ${CALLS[read]} read, ${CALLS[write]} write, ${CALLS[setsockopt]} setsockopt calls"
check "clean: the sweep below has read and write positions to kill at" test "${CALLS[read]}" -ge 2 -a "${CALLS[write]}" -ge 2
clients_as "clean: after the reload exactly NEW's keys get in" "${NEW_STATE[@]}"
stop

# kill_at FUNC AT: the reload child dies at call AT of FUNC.
kill_at() {
        local func=$1 at=$2 what="kill at $1 $2/${CALLS[$1]}"
        start FAULT_FUNC="$func" FAULT_AT="$at" FAULT_ERRNO=KILL || return 0
        write_svc "$NEW_KEYS"
        kill -HUP "$SUP"
        if wait_for 200 failed_reload; then
                ok "$what: $(grep -o 'reload: .*' "$T/fault.err" | head -1 | cut -c1-150)"
        else
                fail "$what: no failed reload logged"; sed 's/^/#   /' "$T/fault.err" | head -5
        fi
        expect_eq "$(sed -n 's/^failed=//p' "$T/fault.report" | awk '{ print $1, $NF }')" "$func killed" "$what: the child was killed there"
        check "$what: the log names the kill, and that the old keys stay" \
                grep -q "reload: the reload process was killed by signal 9 (Killed); the old keys stay" "$T/fault.err"
        check "$what: that is the only message" test "$(grep -c . "$T/fault.err")" = 1
        check "$what: the supervisor still runs" kill -0 "$SUP"
        clients_as "$what: exactly OLD's keys get in, on both listeners" "${OLD_STATE[@]}"
        kill -HUP "$SUP"
        check "$what: the next reload succeeds" wait_for 200 reloads_are 1
        clients_as "$what: after it exactly NEW's keys get in, on both listeners" "${NEW_STATE[@]}"
        check "$what: no secret in the messages" no_secret_out
        stop
}
for f in read write setsockopt; do
        for ((at = 1; at <= ${CALLS[$f]}; at++)); do kill_at "$f" "$at"; done
done

# A reload child that hangs at its first read (a stuck file system).
# SIGTERM during it: passed on and the daemon reaped at once, long before
# the deadline; the hung child is killed.
start FAULT_FUNC=read FAULT_AT=1 FAULT_ERRNO=HANG || finish
write_svc "$NEW_KEYS"
kill -HUP "$SUP"
check "hung: the reload child hangs at its first read" wait_for 200 grep -q '^failed=read .* hung$' "$T/fault.report"
hung=$(pgrep -P "$SUP" -f -- --supervise || true)
check "hung: the supervisor still answers: SIGTERM reaches the daemon" kill -TERM "$SUP"
# Well before the 10 s deadline, which would free it too.
rc=0; wait_exit "$FAULT_PID" 140 || rc=$?
expect_eq "$rc" 143 "hung: the daemon's death by SIGTERM is passed on within 7 s"
check "hung: the log says the reload stopped, and why" grep -q "reload: stopped before it finished (Terminated); the old keys stay" "$T/fault.err"
# Killed: gone, or a zombie until its new parent reaps it.
check "hung: the hung reload child was killed" eval '[ -n "$hung" ] && wait_for 100 exited "$hung"'

# Left alone, it fails at its deadline; a SIGHUP that came meanwhile runs
# one more reload after it, which succeeds.
start FAULT_FUNC=read FAULT_AT=1 FAULT_ERRNO=HANG || finish
write_svc "$NEW_KEYS"
kill -HUP "$SUP"
wait_for 200 grep -q '^failed=read .* hung$' "$T/fault.report" || true
kill -HUP "$SUP"
check "deadline: the reload fails after 10 s" wait_for 400 grep -q "reload: timed out after 10 s (the reload process is killed); the old keys stay" "$T/fault.err"
check "deadline: the SIGHUP that came meanwhile reloads once more" wait_for 200 reloads_are 1
clients_as "deadline: then exactly NEW's keys get in" "${NEW_STATE[@]}"
expect_eq "$(reloads)" 1 "deadline: one reload after the timed-out one, no more"
stop
finish
