#!/bin/bash
# While a reload changes the keys, clients see either the old keys or the
# new ones, never a moment with neither: new keys go in before old ones
# leave. A reload replaces 10.0.0.0/16 by a longer (/24) and a shorter
# (/8) prefix with the same key, and back; a client loop runs through it.
# Every key change takes 300 ms more (tests/helpers/faultinject.c), so the
# kernel's state between two changes lasts long enough for the loop to see
# it. A right-key client must never be refused, an unsigned one never
# accepted. A refused SYN is sent again after 1 s, when the keys may be
# back: the right-key clients give up after 800 ms (on loopback a
# handshake the kernel accepts takes no time, even on a busy machine). The clients rotate source addresses: a TCP MD5 connection has
# no timestamps, so a TIME_WAIT of the same address pair is not reused early.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/k.key" window-secret
SRCS=()
for i in $(seq 1 12); do
        SRCS+=(10.0.0.$i 10.0.1.$i) # inside /24 and outside it: both covered by /16 and by /8
        in_ns "$NS" ip addr add "10.0.0.$i/32" dev lo
        in_ns "$NS" ip addr add "10.0.1.$i/32" dev lo
done
# conf PEER...: the config, one Peer= line each.
conf() {
        {
                printf '[Socket]\nListenStream = 127.0.0.1:2960\n[Service]\nExecStart = %s\n' "$ECHO_DAEMON $T/report"
                printf '[Key k]\nSecretFile = %s\n' "$T/k.key"
                printf 'Peer = %s\n' "$@"
        } | write_conf "$T/svc.conf"
}
reloads() { grep -c "reloaded:" "$T/bg.err" || true; }
reloads_are() { [ "$(reloads)" = "$1" ]; }

conf 10.0.0.0/16
start_bg "$NS" env "${GUARD_ENV[@]}" LD_PRELOAD="$BUILD/tests/faultinject.so $LISTEN_GUARD_SO" \
        FAULT_TARGET="$ACTIVATE" FAULT_MD5SIG_DELAY_MS=300 $VG "$ACTIVATE" --supervise --no-forward-reload --config "$T/svc.conf"
sup=$BG_PID
check "the daemon is up" wait_for 400 test -s "$T/report"
served() { [ "$(in_ns "$NS" $CLIENT -t 3000 -s "$1" -k "$T/k.key" 127.0.0.1 2960 "hi-$1" 2>/dev/null)" = "hi-$1" ]; }
dropped() { local rc=0; in_ns "$NS" $CLIENT -t "$2" -s "$1" ${3:+-k "$3"} 127.0.0.1 2960 x > /dev/null 2>&1 || rc=$?; [ "$rc" = 3 ]; }
check "a right-key client is served before any reload" served 10.0.0.1
check "control: an unsigned client is dropped" dropped 10.0.0.1 300
check "control: a right-key client outside every prefix is dropped (what a missing key looks like)" \
        dropped 127.0.0.1 300 "$T/k.key"

# right_key SRC: 0 served, 3 the SYN was dropped, else another failure.
right_key() {
        local out rc=0
        out=$(in_ns "$NS" $CLIENT -t 800 -s "$1" -k "$T/k.key" 127.0.0.1 2960 "hi-$1" 2>/dev/null) || rc=$?
        [ "$rc" != 0 ] || [ "$out" = "hi-$1" ] || rc=1
        return "$rc"
}
# through_reload N: SIGHUP, then clients until reload N is logged (at most
# 200; at least 4 after it started). Counts the outcomes.
n_ok=0 n_refused=0 n_other=0 n_unsigned=0 n_dropped=0 k=0
through_reload() {
        local i src rc
        kill -HUP "$sup"
        for ((i = 0; i < 200; i++)); do
                ! reloads_are "$1" || [ $i -lt 4 ] || break
                src=${SRCS[$((k++ % ${#SRCS[@]}))]}
                rc=0; right_key "$src" || rc=$?
                case $rc in
                0) n_ok=$((n_ok + 1)) ;;
                3) n_refused=$((n_refused + 1)); echo "# right key refused from $src during reload $1" ;;
                *) n_other=$((n_other + 1)); echo "# right key from $src during reload $1: exit $rc" ;;
                esac
                if ((i % 4 == 0)); then
                        if dropped "$src" 100; then n_dropped=$((n_dropped + 1))
                        else n_unsigned=$((n_unsigned + 1)); echo "# unsigned client from $src accepted during reload $1"; fi
                fi
        done
        check "reload $1 is done" wait_for 400 reloads_are "$1"
}
conf 10.0.0.0/24 10.0.0.0/8
through_reload 1
conf 10.0.0.0/16
through_reload 2
conf 10.0.0.0/24 10.0.0.0/8
through_reload 3
expect_eq "$n_refused" 0 "no right-key client refused during the reloads ($n_ok served)"
expect_eq "$n_other" 0 "no right-key client failed otherwise"
expect_eq "$n_unsigned" 0 "no unsigned client accepted during the reloads ($n_dropped dropped)"
check "enough clients ran during the reloads" test "$n_ok" -ge 12 -a "$n_dropped" -ge 3
kill -TERM "$sup"
wait_exit "$sup" || true
finish
