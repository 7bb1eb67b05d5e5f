# Fault injection with tests/helpers/faultinject.c (sourced after lib.sh).
# A test sets FAULT_CMD (the command, run in namespace $NS) and FAULT_MARKER
# (a file the command creates once it really started), counts the calls of
# a clean run with fault_count, then sweeps every call position with
# fault_sweep FUNC ERRNO WANT_EXIT. For each position it asserts: the exit
# code, a message naming the failed step, no socket of ours still open or
# listening at exit, nothing listening in the namespace, the command never
# started, and no secret in the output. More modes are more FAULT_CMDs;
# more faults are more fault_sweep lines.
FAULT_SO=$BUILD/tests/faultinject.so
FAULT_SECRETS=()           # strings that must never appear in any output
FAULT_TIMEOUT=20           # s: the most a run under the shim may take (TCG: more)
declare -A FAULT_COUNT

# Runs FAULT_CMD under the shim; env FAULT_* given as arguments.
fault_run() {
        rm -f "$T/fault.report" "$FAULT_MARKER"
        # Under the listen guard too (tests/lib.sh): a fault must never let
        # a socket listen keyless. The fault shim comes first, so a key it
        # fails never reaches the guard. --foreground: otherwise timeout
        # follows a forwarded SIGTERM with SIGCONT, which can land while
        # LeakSanitizer stops the exiting ASan build with SIGSTOP, cancel
        # it, and leave the leak check waiting for ever.
        ip netns exec "$NS" timeout --foreground "${FAULT_TIMEOUT:-20}" env "${GUARD_ENV[@]}" LD_PRELOAD="$FAULT_SO $LISTEN_GUARD_SO" \
                FAULT_TARGET="${FAULT_CMD[0]}" FAULT_REPORT="$T/fault.report" "$@" $VG "${FAULT_CMD[@]}" \
                > "$T/fault.out" 2> "$T/fault.err" < /dev/null &
        FAULT_PID=$!
        PIDS+=("$FAULT_PID")
}

# fault_count: a clean run; fills FAULT_COUNT[func] from the shim's report
# once the command has started, then stops it.
fault_count() {
        fault_run
        ${FAULT_START:-:}
        if ! wait_for 200 test -e "$FAULT_MARKER"; then
                fail "clean run under the shim: the command did not start"; sed 's/^/#   /' "$T/fault.err"
                return 1
        fi
        ${FAULT_TRIGGER:-:}
        local f n
        while IFS== read -r f n; do FAULT_COUNT[$f]=$n; done < <(grep -E '^[a-z0-9]+=[0-9]+$' "$T/fault.report")
        kill "$FAULT_PID" 2>/dev/null || true
        wait_exit "$FAULT_PID" 2>/dev/null || true
        ok "clean run: $(grep -E '^[a-z0-9]+=[0-9]+$' "$T/fault.report" | tr '\n' ' ')"
        ip netns exec "$NS" ss -Htln | grep -q LISTEN && { fail "something still listens after the clean run"; return 1; }
        return 0
}

# What the message must say for the failed call ("FUNC detail" from the shim).
fault_step_pattern() {
        case "$1" in
        "socket "*) echo "cannot create socket" ;;
        "bind "*) echo "cannot bind" ;;
        "listen "*) echo "listen\(\) failed" ;;
        "execve "*) echo "cannot execute" ;;
        "fork "*) echo "cannot fork|fork|cannot start" ;;
        "pipe2 "*) echo "cannot start" ;;
        "dup2 "*) echo "cannot (start|execute)" ;;
        "setsockopt level=1 opt=2") echo "cannot set SO_REUSEADDR" ;;
        "setsockopt level=1 opt=15") echo "cannot set SO_REUSEPORT" ;;
        "setsockopt level=41 opt=26") echo "cannot set IPV6_V6ONLY" ;;
        "setsockopt level=6 opt=32")
                case "$2" in
                ENOMEM) echo "refused key [0-9]+ of [0-9]+ .*optmem_max is [0-9]+; raise it to at least [0-9]+" ;;
                ENOPROTOOPT) echo "no TCP MD5 signature support" ;;
                *) echo "cannot install \[Key [^]]+\] .* \(key [0-9]+ of [0-9]+\)" ;;
                esac ;;
        *) echo "UNKNOWN STEP $1" ;;
        esac
}

# fault_check_exit FUNC AT N ERRNO WANT_EXIT: the default verdict on one
# faulted run (FAULT_PID): the activator gives up, closed and correct.
fault_check_exit() {
        local func=$1 at=$2 n=$3 err=$4 want=$5 rc=0 failed step s bad=()
        wait_exit "$FAULT_PID" || rc=$?
        failed=$(sed -n 's/^failed=//p' "$T/fault.report" 2>/dev/null)
        step=$(fault_step_pattern "$failed" "$err")
        [ "$rc" != 124 ] || { FAULT_HUNG=1; bad+=("hung: killed by timeout after 20 s"); }
        [ -n "$failed" ] || bad+=("the fault was never injected")
        [ "$rc" = "$want" ] || bad+=("exit $rc, wanted $want")
        grep -Eq -- "$step" "$T/fault.err" || bad+=("stderr lacks /$step/")
        grep -q '^exit_new_fds=0$' "$T/fault.report" || bad+=("fds still open at exit: $(grep ^exit_ "$T/fault.report" | tr '\n' ' ')")
        ! ip netns exec "$NS" ss -Htln | grep -q LISTEN || bad+=("something listens afterwards")
        [ ! -e "$FAULT_MARKER" ] || bad+=("the command started")
        for s in "${FAULT_SECRETS[@]}"; do
                ! grep -qF -- "$s" "$T/fault.err" "$T/fault.out" || bad+=("a secret is in the output")
        done
        if [ ${#bad[@]} = 0 ]; then
                ok "$func call $at/$n fails with $err ($failed): exit $rc, $(head -1 "$T/fault.err" | cut -c1-160)"
        else
                fail "$func call $at/$n fails with $err ($failed): ${bad[*]}"
                sed 's/^/#   /' "$T/fault.err" | head -5
        fi
}

# fault_sweep FUNC ERRNO WANT_EXIT [MIN_CALLS [FROM]]: fail every call of
# FUNC in turn, from call FROM (default 1) to the count of the clean run.
# MIN_CALLS (default 1) guards against a vacuous sweep. Hooks for modes
# that keep running (a test sets them before fault_count):
#   FAULT_START    run by fault_count after the start, before it waits for
#                  FAULT_MARKER (accept mode: a connection starts the command)
#   FAULT_TRIGGER  run after each start, e.g. connect (accept mode's fork)
#                  or send SIGHUP (supervise mode's reload)
#   FAULT_CHECK    the verdict, instead of fault_check_exit, with the same
#                  arguments; e.g. for a reload: still running, old keys in
#                  force (a client with the old key gets through)
fault_sweep() {
        local func=$1 err=$2 want=$3 min=${4:-1} from=${5:-1} n=${FAULT_COUNT[$1]:-0} at
        if [ "$n" -lt "$min" ]; then fail "$func: $n calls in a clean run, expected at least $min"; return; fi
        for ((at = from; at <= n; at++)); do
                fault_run FAULT_FUNC="$func" FAULT_AT="$at" FAULT_ERRNO="$err"
                ${FAULT_TRIGGER:-:}
                ${FAULT_CHECK:-fault_check_exit} "$func" "$at" "$n" "$err" "$want"
                # One hang is enough to know: the rest would each wait as long.
                if [ -n "${FAULT_HUNG:-}" ]; then fail "$func: sweep stopped after a hang at call $at/$n"; return; fi
        done
}
