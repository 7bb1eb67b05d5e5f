#!/bin/bash
# TCP-AO keys and a reload that fails part-way, in the test VM (tests/vm: a
# kernel with CONFIG_TCP_AO): the TCP-AO counterpart of
# integration/kill-reload.sh and integration/fault-reload.sh. A
# supervise-mode reload on two listeners goes from OLD (k1 1/1 for A, kb
# 5/5 for B, kc 7/7 for C; ao_required) to NEW (k2 2/2 added beside k1, a
# rollover; kb deleted; kd 6/6 for D added; kc's secret changed under the
# same IDs, which ao_required allows as delete-then-add).
#  - The kill sweep: the reload child (tests/helpers/faultinject.c,
#    FAULT_IN_FORK=2; the daemon is the first fork) is SIGKILLed at each of
#    its write calls in turn (7: the message to the supervisor, the log)
#    and at a sample of its reads (the 1st, 4th, 7th and 10th of 10: the
#    config and key files), the counts of a clean reload child. All reads
#    would add ~35 s to the ~170 s this takes on a busy machine.
#  - The errno sweep: the supervisor, which alone holds the listeners and
#    applies the child's plan (TCP_AO_ADD_KEY, TCP_AO_DEL_KEY), has each of
#    the reload's 10 setsockopt calls fail in turn with ENOMEM, and two
#    (kc's add, the last delete) with EINVAL.
#  - Accept mode with --watch (the activator is the installer there, and a
#    rewritten config the trigger): a kill at the child's first write and
#    first read, ENOMEM at kc's add and EINVAL at the last call.
# After each: the log names the failure, and every listener holds exactly
# OLD's keys (each OLD key served; k2, kd, kc's new secret, unsigned, a
# wrong secret refused; and after a kill `--status` with OLD's config says
# in sync: the kernel's keys, read back); then the next reload gives
# exactly NEW's. Every state is judged by one ao-probe process (attempts:
# all connections at once, negative ones 1.5 s): a process start costs ~50x
# under TCG. The control: a good reload to a wrong config (k1 deleted, k2
# added) shows up as exactly those misfits.
#   By hand, as root: BUILD=$PWD/build tests/vm/run-ao vm/ao-fault-reload.sh (tests/vm/README.md)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault.sh"
netns_new "$NS"
begun=$SECONDS
S1=ao-fault-one S2=ao-fault-two SB=ao-fault-bee SC=ao-fault-cee SC2=ao-fault-cee-new SD=ao-fault-dee
for k in 1:$S1 2:$S2 b:$SB c:$SC c2:$SC2 d:$SD; do key "$T/k${k%%:*}" "${k#*:}"; done
FAULT_SECRETS=("$S1" "$S2" "$SB" "$SC" "$SC2" "$SD")
FAULT_TIMEOUT=120 # the whole run of one sweep point, under TCG on a busy machine
P1=5560 P2=5561
# ao-probe's negative cases wait 1 s (not 1.5): a served one takes milliseconds.
export AO_PROBE_NEGATIVE_MS=1000

K1=('[Key k1]' 'Peer = 127.0.1.0/24' 'Algorithm = hmac(sha1)' 'SendID = 1' 'RecvID = 1' "SecretFile = $T/k1")
K2=('[Key k2]' 'Peer = 127.0.1.0/24' 'Algorithm = cmac(aes128)' 'SendID = 2' 'RecvID = 2' "SecretFile = $T/k2")
KB=('[Key kb]' 'Peer = 127.0.2.0/24' 'Algorithm = hmac(sha1)' 'SendID = 5' 'RecvID = 5' "SecretFile = $T/kb")
KC=('[Key kc]' 'Peer = 127.0.4.0/24' 'Algorithm = cmac(aes128)' 'SendID = 7' 'RecvID = 7' "SecretFile = $T/kc")
KC2=('[Key kc]' 'Peer = 127.0.4.0/24' 'Algorithm = cmac(aes128)' 'SendID = 7' 'RecvID = 7' "SecretFile = $T/kc2")
KD=('[Key kd]' 'Peer = 127.0.3.0/24' 'Algorithm = hmac(sha1)' 'SendID = 6' 'RecvID = 6' "SecretFile = $T/kd")
conf() { # OLD, NEW or MIXED (the control: k1 gone, k2 there, the rest OLD)
        local keys
        case $1 in
        OLD) keys=("${K1[@]}" "${KB[@]}" "${KC[@]}") ;;
        NEW) keys=("${K1[@]}" "${K2[@]}" "${KD[@]}" "${KC2[@]}") ;;
        MIXED) keys=("${K2[@]}" "${KB[@]}" "${KC[@]}") ;;
        esac
        # Written aside and renamed in: one event for --watch. In place, the
        # write and write_conf's chmod are two, which under TCG can come
        # more than the watcher's 200 ms of quiet apart: two reloads, and a
        # sweep point's killed one followed at once by a good one.
        if [ "${MODE:-supervise}" = supervise ]; then
                write_conf "$T/svc.conf.new" '[Socket]' "ListenStream = 127.0.0.1:$P1" "ListenStream = 127.0.0.1:$P2" \
                        '[Service]' "ExecStart = $ECHO_DAEMON $T/started" "${keys[@]}"
        else # accept mode, /bin/cat the echo
                write_conf "$T/svc.conf.new" '[Socket]' "ListenStream = 127.0.0.1:$P1" "ListenStream = 127.0.0.1:$P2" \
                        'Accept = yes' 'Inetd = yes' '[Service]' 'ExecStart = /bin/cat' "${keys[@]}"
        fi
        mv -f "$T/svc.conf.new" "$T/svc.conf"
}

# The clients: "NAME SOURCE SIGN OLD NEW", OLD and NEW whether that state serves it.
CLIENTS=(
        "k1 127.0.1.1 ao:hmac(sha1):1:1:$S1 Y Y"
        "k2 127.0.1.2 ao:cmac(aes128):2:2:$S2 - Y"
        "kb 127.0.2.1 ao:hmac(sha1):5:5:$SB Y -"
        "kc 127.0.4.1 ao:cmac(aes128):7:7:$SC Y -"
        "kc-new 127.0.4.2 ao:cmac(aes128):7:7:$SC2 - Y"
        "kd 127.0.3.1 ao:hmac(sha1):6:6:$SD - Y"
        "k1-wrong-secret 127.0.1.3 ao:hmac(sha1):1:1:not-the-secret - -"
        "unsigned-A 127.0.1.4 none - -"
        "unsigned-B 127.0.2.2 none - -"
        "unsigned-outside 127.0.9.1 none - -"
)
# judge STATE: every client on both listeners, one ao-probe process;
# $MISFITS names each connection whose result is not STATE's.
judge() {
        local c name src sign old new want port label r rc=0 n=0
        MISFITS=
        for port in $P1 $P2; do
                for c in "${CLIENTS[@]}"; do
                        read -r name src sign old new <<<"$c"
                        want=$old; [ "$1" = OLD ] || want=$new
                        echo "$port/$name/$want $src 127.0.0.1 $port $sign $want"
                done
        done > "$T/attempts"
        in_ns "$NS" "$BUILD/tests/ao-probe" attempts < "$T/attempts" > "$T/results" 2> "$T/probe.err" || rc=$?
        [ "$rc" = 0 ] || MISFITS="ao-probe exit $rc: $(head -c 200 "$T/probe.err")"
        while read -r label r; do
                # Y served, - no handshake; anything else (H, R, E) fits nothing.
                [ "$r" = "${label##*/}" ] || MISFITS+="${MISFITS:+ }$label:$r"
                n=$((n + 1))
        done < "$T/results"
        [ "$n" = 20 ] || MISFITS+=" ($n results of 20)"
}
exactly() { # WHAT STATE: one check, naming the misfits
        judge "$2"
        if [ -z "$MISFITS" ]; then ok "$1: exactly $2's keys, on both listeners (20 clients)"
        else fail "$1: not $2's keys: $MISFITS"; fi
}
# --status with the config on disk STATE: the kernel's keys in sync with it, on both listeners.
in_sync() {
        conf "$1"
        in_ns "$NS" "$ACTIVATE" --status --config "$T/svc.conf" > "$T/status.out" 2>&1 &&
                [ "$(grep -c "^listen 127.0.0.1:556[01], socket [0-9]*: in sync$" "$T/status.out")" = 2 ]
}

FAULT_MARKER=$T/started
FAULT_CMD=("$ACTIVATE" --supervise --no-forward-reload --config "$T/svc.conf")
start() { # ENV...: OLD in force, the daemon up; the activator's pid in $SUP
        conf OLD
        fault_run "$@"
        SUP=
        # timeout's child (the guest kernel has no /proc/PID/task/PID/children)
        if wait_for 1200 test -s "$T/started" && SUP=$(pgrep -P "$FAULT_PID" | head -1) && [ -n "$SUP" ]; then
                return 0
        fi
        fail "did not start ($*)"; sed 's/^/#   /' "$T/fault.err" | head -5
        return 1
}
# log_has, which the waits run 20 times a second, is bash alone: no process
# started (each costs ~50x under TCG, on the guest's CPU).
stop() { kill -TERM "$SUP" 2>/dev/null || true; wait "$FAULT_PID" || true; } # bounded: FAULT_TIMEOUT
log_has() { local s; IFS= read -r -d '' s < "$T/fault.err" || true; [[ $s == *"$1"* ]]; }
reloads() { grep -c "reloaded:" "$T/fault.err" || true; }
reloads_are() { if [ "$1" = 1 ]; then log_has "reloaded:"; else [ "$(reloads)" = "$1" ]; fi; }
failed_reload() { log_has "the old keys stay"; }
count_of() { sed -n "s/^$1=//p" "$T/fault.report"; }
# The shim's "failed=" line, its first and last words ("write ... killed"), without a process.
failed_call() {
        local line words
        while IFS= read -r line; do [[ $line == failed=* ]] && words=(${line#failed=}); done < "$T/fault.report"
        [ -n "${words:-}" ] && echo "${words[0]} ${words[-1]}"
}
reload_to() { # STATE N: the config on disk to STATE, SIGHUP, until N reloads are logged
        conf "$1"
        kill -HUP "$SUP"
        wait_for 1200 reloads_are "$2"
}
no_secret_out() {
        local x args=()
        for x in "${FAULT_SECRETS[@]}"; do args+=(-e "$x"); done
        ! grep -qaF "${args[@]}" "$T/fault.err" "$T/fault.out"
}

# ---- clean: the reload child's calls, and the control ----
start FAULT_IN_FORK=2 || finish
exactly "clean, before the reload" OLD
reload_to NEW 1 || true
check "clean: the reload OLD -> NEW: k2 and kd added, kc replaced, kb deleted, on each listener" \
        grep -q "reloaded: 4 keys added, 2 replaced, 2 deleted on 2 listeners" "$T/fault.err"
# The child writes its last count as it exits, which may trail the log.
wait_for 400 bash -c "! pgrep -P $SUP -f -- --supervise" || true
declare -A CALLS
for f in read write setsockopt; do CALLS[$f]=$(count_of "$f"); done
ok "clean reload child: ${CALLS[read]} read, ${CALLS[write]} write, ${CALLS[setsockopt]} setsockopt calls"
check "...it has read and write calls to kill at, and changes no key itself" \
        test "${CALLS[read]}" -ge 2 -a "${CALLS[write]}" -ge 1 -a "${CALLS[setsockopt]}" = 0
exactly "clean, after the reload" NEW
check "clean: --status with NEW's config: both listeners in sync" in_sync NEW
# The control: a state that is neither (k1 deleted by a wrong config) is caught.
reload_to MIXED 2 || true
judge OLD
want="$P1/k1/Y:- $P1/k2/-:Y $P2/k1/Y:- $P2/k2/-:Y"
expect_eq "$MISFITS" "$want" "control: a wrong config's reload (k1 out, k2 in) is judged not OLD, naming k1 and k2 on both listeners"
check "control: --status with OLD's config is not in sync" eval '! in_sync OLD'
stop

# ---- the kill sweep: the reload child killed at each read and write ----
kill_at() { # FUNC AT
        local func=$1 at=$2 what="kill at $1 $2/${CALLS[$1]}"
        local t0=$SECONDS
        start FAULT_IN_FORK=2 FAULT_FUNC="$func" FAULT_AT="$at" FAULT_ERRNO=KILL || return 0
        conf NEW
        kill -HUP "$SUP"
        if wait_for 1200 failed_reload; then
                check "$what: the log names the kill, and that the old keys stay" \
                        grep -q "reload: the reload process was killed by signal 9 (Killed); the old keys stay" "$T/fault.err"
        else
                fail "$what: no failed reload logged"; sed 's/^/#   /' "$T/fault.err" | head -5
        fi
        expect_eq "$(failed_call)" "$func killed" \
                "$what: the child was killed there"
        exactly "$what" OLD
        [ -n "${STATUS_AT[$func $at]:-}" ] && check "$what: --status with OLD's config: the kernel holds OLD's keys" in_sync OLD
        check "$what: the next reload succeeds" reload_to NEW 1
        exactly "$what, then a good reload" NEW
        stop
        echo "# $what: $((SECONDS - t0)) s"
}
# --status costs a process start and a second of guest time: at the first
# and the last call of each.
declare -A STATUS_AT=(["read 1"]=1 ["read ${CALLS[read]}"]=1 ["write 1"]=1 ["write ${CALLS[write]}"]=1)
# Every write (the message to the supervisor, the log); the reads (the
# config, the key files) sampled: the first, the last and every third, to
# keep the test within 3 minutes of guest time.
for ((at = 1; at <= CALLS[write]; at++)); do kill_at write "$at"; done
for ((at = 1; at <= CALLS[read]; at += 3)); do kill_at read "$at"; done
[ $(((CALLS[read] - 1) % 3)) = 0 ] || kill_at read "${CALLS[read]}"
kill_time=$((SECONDS - begun))

# ---- the errno sweep: the supervisor's setsockopt calls of the reload ----
start || finish
START=$(count_of setsockopt)
reload_to NEW 1 || true
RELOAD=$(($(count_of setsockopt) - START))
stop
expect_eq "$RELOAD" 10 "the reload's setsockopt calls in the supervisor: 10 (per listener: add k2, add kd, kc's delete and add, delete kb)"
# The steps of each listener, in order: add k2, add kd, kc's delete and
# add, delete kb (adds first, deletes last).
OPTS=(38 38 39 38 39 38 38 39 38 39)
fault_at() { # AT ERRNO
        local at=$1 err=$2 what="setsockopt $1/$RELOAD of the reload fails with $2"
        local t0=$SECONDS
        start FAULT_FUNC=setsockopt FAULT_AT=$((START + at)) FAULT_ERRNO="$err" || return 0
        conf NEW
        kill -HUP "$SUP"
        if wait_for 1200 failed_reload; then
                check "$what: the log names the key and the step: $(grep -o 'reload: .*' "$T/fault.err" | head -1 | cut -c1-150)" \
                        grep -Eq "reload: (the kernel refused to|cannot) (add|delete|replace) \[Key k[12bcd]\] 127\.0\.[1-4]\.0/24.*the old keys stay" "$T/fault.err"
        else
                fail "$what: no failed reload logged"; sed 's/^/#   /' "$T/fault.err" | head -5
        fi
        expect_eq "$(sed -n 's/^failed=//p' "$T/fault.report")" "setsockopt level=6 opt=${OPTS[at - 1]}" \
                "$what: the fault hit that step (IPPROTO_TCP, TCP_AO_ADD_KEY 38 or TCP_AO_DEL_KEY 39)"
        check "$what: every old key restored (no 'could not restore')" eval '! log_has "could not restore"'
        exactly "$what" OLD
        check "$what: the next reload succeeds" reload_to NEW 1
        exactly "$what, then a good reload" NEW
        check "$what: no secret in the messages" no_secret_out
        stop
        echo "# $what: $((SECONDS - t0)) s"
}
# Every call with ENOMEM; EINVAL (the other message) at kc's add on the
# first listener (the replace puts the old secret back) and at the last
# call (every step of both listeners undone but one).
for ((at = 1; at <= RELOAD; at++)); do fault_at "$at" ENOMEM; done
for at in 4 "$RELOAD"; do fault_at "$at" EINVAL; done
errno_time=$((SECONDS - begun - kill_time))

# ---- accept mode, --watch: the same reload, a sample of both sweeps ----
# The activator reads its config itself and has forked nothing before the
# reload (no client yet): the reload child is the first fork.
MODE=accept
FAULT_MARKER=$T/no-marker
FAULT_CMD=("$ACTIVATE" --watch --config "$T/svc.conf")
start() { # ENV...: OLD in force, both listening (the second opens last); the activator's pid in $SUP
        conf OLD
        fault_run "$@"
        SUP=
        if wait_for 1200 listening "$NS" "$P2" && SUP=$(pgrep -P "$FAULT_PID" | head -1) && [ -n "$SUP" ]; then
                next_tick # a file written in the tick it was read in counts as changed (src/watch.c)
                return 0
        fi
        fail "accept: did not start ($*)"; sed 's/^/#   /' "$T/fault.err" | head -5
        return 1
}
watch_to() { # STATE: the config on disk rewritten; --watch reloads
        conf "$1"
        wait_for 1200 log_has "$2"
}
start || finish
START=$(count_of setsockopt)
check "accept --watch: the config rewritten to NEW is reloaded" watch_to NEW "reloaded: 4 keys added, 2 replaced, 2 deleted on 2 listeners"
RELOAD=$(($(count_of setsockopt) - START))
expect_eq "$RELOAD" 10 "accept: the same 10 setsockopt calls, in the activator"
exactly "accept --watch, clean" NEW
stop
acc_kill() { # FUNC AT
        local what="accept --watch: kill at $1 $2"
        start FAULT_IN_FORK=1 FAULT_FUNC="$1" FAULT_AT="$2" FAULT_ERRNO=KILL || return 0
        check "$what: the log names the kill, and that the old keys stay" \
                watch_to NEW "reload: the reload process was killed by signal 9 (Killed); the old keys stay"
        expect_eq "$(failed_call)" "$1 killed" "$what: the child was killed there"
        exactly "$what" OLD
        next_tick
        check "$what: the config written again: the next reload succeeds" watch_to NEW "reloaded:"
        exactly "$what, then a good reload" NEW
        stop
}
acc_fault() { # AT ERRNO
        local what="accept --watch: setsockopt $1/$RELOAD of the reload fails with $2"
        start FAULT_FUNC=setsockopt FAULT_AT=$((START + $1)) FAULT_ERRNO="$2" || return 0
        check "$what: logged, the old keys stay" watch_to NEW "the old keys stay"
        expect_eq "$(sed -n 's/^failed=//p' "$T/fault.report")" "setsockopt level=6 opt=${OPTS[$1 - 1]}" "$what: the fault hit that step"
        check "$what: every old key restored (no 'could not restore')" eval '! log_has "could not restore"'
        exactly "$what" OLD
        next_tick
        check "$what: the config written again: the next reload succeeds" watch_to NEW "reloaded:"
        exactly "$what, then a good reload" NEW
        stop
}
acc_kill write 1
acc_kill read 1
acc_fault 4 ENOMEM
acc_fault "$RELOAD" EINVAL
echo "# guest time: the clean run and the kill sweep $kill_time s, the errno sweep $errno_time s, accept mode $((SECONDS - begun - kill_time - errno_time)) s"
finish
