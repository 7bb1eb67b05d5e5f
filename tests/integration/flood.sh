#!/bin/bash
# A bounded burst of forged SYNs at a keyed listener: unsigned ones, then
# ones with a wrong MD5 digest (forged, and from real clients holding a
# wrong key). The daemon must accept none of them, the kernel must count
# every one as dropped (TCPMD5NotFound / TCPMD5Failure), no half-open
# connection may appear, and a signed client must get through meanwhile.
. "$(dirname "$0")/../lib.sh"
INJECT=$BUILD/tests/rst-inject
N=20000          # SYNs per burst, paced to last about 2 s
WRONG_CLIENTS=5

netns_new "$NS"
key "$T/k.key" flood-test-secret
key "$T/wrong.key" not-the-flood-secret
write_conf "$T/svc.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:2400
[Service]
ExecStart = $ECHO_DAEMON $T/report --accept-log=$T/accepts
[Key k]
Peer = 127.0.0.0/8
SecretFile = $T/k.key
CONF
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/svc.conf"
check "listener up" wait_for 100 test -s "$T/report"
: > "$T/accepts"

counter() { in_ns "$NS" nstat -asz "$1" | awk -v n="$1" '$1 == n { print $2 }'; }
accepts() { wc -l < "$T/accepts"; }
counter_above() { [ "$(counter "$1")" -gt "$2" ]; } # NAME VALUE
not() { ! "$@"; }

# burst NAME COUNTER INJECT-ARGS...: one paced burst with a signed client
# in the middle of it.
burst() {
        local name=$1 ctr=$2; shift 2
        local before after inj rc=0
        before=$(counter "$ctr")
        in_ns "$NS" "$INJECT" syn "$@" -n "$N" -u 10000 127.0.0.1 127.0.0.1 2400 > "$T/inject.out" 2>&1 &
        inj=$!
        # Underway once the kernel has dropped some of it (it lasts 2 s or more).
        check "$name: the burst has begun" wait_for 200 counter_above "$ctr" "$before"
        check "$name: a signed client gets through during the burst" echo_ok "$NS" "$T/k.key" 127.0.0.1 2400
        check "$name: the burst was still running when it did" not exited "$inj"
        expect_eq "$(in_ns "$NS" ss -Htn state syn-recv | wc -l)" 0 "$name: no half-open connection during the burst"
        wait_exit "$inj" || rc=$?
        expect_eq "$rc $(cat "$T/inject.out")" "0 sent $N" "$name: $N SYNs sent"
        after=$(counter "$ctr")
        expect_eq "$((after - before))" "$N" "$name: $ctr rose by exactly the number sent"
}

burst "unsigned SYNs" TcpExtTCPMD5NotFound
expect_eq "$(accepts)" 1 "unsigned SYNs: the daemon accepted only the signed client"

burst "wrong-digest SYNs" TcpExtTCPMD5Failure -m
expect_eq "$(accepts)" 2 "wrong-digest SYNs: the daemon accepted only the signed client"

# Real clients with a wrong key: each sends one SYN before its 300 ms
# timeout (a retransmission, after 1 s, only if one was held up that long:
# TcpRetransSegs counts those).
before=$(counter TcpExtTCPMD5Failure) retrans=$(counter TcpRetransSegs)
pids=()
for ((i = 0; i < WRONG_CLIENTS; i++)); do
        in_ns "$NS" "$CLIENT" -t 300 -k "$T/wrong.key" 127.0.0.1 2400 x > /dev/null 2>&1 & pids+=($!)
done
dropped=0
for p in "${pids[@]}"; do rc=0; wait_exit "$p" || rc=$?; [ "$rc" = 3 ] && dropped=$((dropped + 1)); done
expect_eq "$dropped" "$WRONG_CLIENTS" "every wrong-key client timed out"
syns=$((WRONG_CLIENTS + $(counter TcpRetransSegs) - retrans))
expect_eq "$(($(counter TcpExtTCPMD5Failure) - before))" "$syns" \
        "TcpExtTCPMD5Failure counted each wrong-key SYN ($WRONG_CLIENTS, $((syns - WRONG_CLIENTS)) retransmitted)"
expect_eq "$(accepts)" 2 "the daemon accepted no wrong-key client"
check "a signed client still gets through afterwards" echo_ok "$NS" "$T/k.key" 127.0.0.1 2400
finish
