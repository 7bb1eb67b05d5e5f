#!/bin/bash
# TCP-AO keys changed by a reload, in the test VM (tests/vm: a kernel with
# CONFIG_TCP_AO). The rollover of tcpmd5-activate.conf(5) while one process
# (tests/helpers/ao-client.c) connects over and over: k1 alone, SIGHUP adds
# k2 beside it, clients move to k2, SIGHUP removes k1; not one connection
# fails in any phase, the listener drops no TCP-AO segment, and a k1 client
# is refused afterwards (the control). A connection opened with k1 lives on
# after k1 left the listener, takes key 2 when it asks for it, and drops k1
# on its end while data flows. Under ao_required a new secret under the
# same IDs is applied; without it, refused (--watch, accept mode). A
# reload child killed mid-way leaves the old keys, exactly.
#   By hand, as root: BUILD=$PWD/build tests/vm/run-ao vm/ao-reload.sh (tests/vm/README.md)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault.sh"
netns_new "$NS"
key "$T/k1" ao-secret-one
key "$T/k2" ao-secret-two
key "$T/k2b" ao-secret-two-b
AOC=$BUILD/tests/ao-client
KEY1="hmac(sha1):1:1:$T/k1"
KEY2="cmac(aes128):2:2:$T/k2"
KEY2B="cmac(aes128):2:2:$T/k2b"

# served PORT SRC KEY / refused PORT SRC KEY: one TCP-AO client and a round trip.
served() { in_ns "$NS" "$AOC" once 127.0.0.1 "$1" "$2" 5000 "$3"; }
refused() { ! in_ns "$NS" "$AOC" once 127.0.0.1 "$1" "$2" 1500 "$3"; }
unsigned_refused() { local rc=0; printf x | in_ns "$NS" "$CONNECT" -t 1 -s "$2" 127.0.0.1 "$1" > /dev/null 2>&1 || rc=$?; [ "$rc" = 1 ]; }

K1=('[Key k1]' 'Peer = 127.0.1.0/24' 'Algorithm = hmac(sha1)' 'SendID = 1' 'RecvID = 1' "SecretFile = $T/k1")
K2=('[Key k2]' 'Peer = 127.0.1.0/24' 'Algorithm = cmac(aes128)' 'SendID = 2' 'RecvID = 2' "SecretFile = $T/k2")
K2B=('[Key k2]' 'Peer = 127.0.1.0/24' 'Algorithm = cmac(aes128)' 'SendID = 2' 'RecvID = 2' "SecretFile = $T/k2b")
svc() { # FILE PORT REPORT KEY-LINES...: the echo daemon behind TCP-AO keys, ao_required
        local f=$1 port=$2 report=$3; shift 3
        write_conf "$f" '[Socket]' "ListenStream = 127.0.0.1:$port" '[Service]' "ExecStart = $ECHO_DAEMON $report" "$@"
}
# The TCP-AO segments this namespace dropped: bad MAC, unknown KeyID, unsigned where required.
ao_drops() { in_ns "$NS" nstat -az | awk '/^TcpExtTCPAO(Bad|KeyNotFound|Required) / { s += $2 } END { print s + 0 }'; }

# ---- the rollover, live, in supervise mode (SIGHUP) ----
svc "$T/sup.conf" 5555 "$T/report" "${K1[@]}"
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --config "$T/sup.conf"
SUP=$BG_PID
check "supervise mode with k1 (IDs 1/1) starts" wait_for 600 test -s "$T/report"
drops_before=$(ao_drops)

ctl() { printf '%s\n' "$1" > "$T/ctl.new"; mv "$T/ctl.new" "$T/ctl"; } # whole lines only
done_line() { grep -m1 "^$1 done" "$T/status"; }
step() { # SEQ COMMAND...: the client process's next command; waits until it is done
        local seq=$1; shift
        ctl "$seq $*"
        wait_for 1200 done_line "$seq" > /dev/null
}
reloaded() { grep -q "reloaded: $1" "$T/bg.err"; }

: > "$T/status"
in_ns "$NS" "$AOC" drive "$T/ctl" "$T/status" 127.0.0.1 5555 127.0.1.1 "$KEY1" "$KEY2" > "$T/drive.out" 2> "$T/drive.err" &
DRIVE=$!
PIDS+=("$DRIVE")
check "clients with k1 are served (20 in a row)" step 1 phase k1 1 20
svc "$T/sup.conf" 5555 "$T/report" "${K1[@]}" "${K2[@]}"
kill -HUP "$SUP"
check "SIGHUP adds k2 (IDs 2/2) beside k1, clients connecting all along" \
        wait_for 1200 reloaded "1 key added, 0 replaced, 0 deleted"
check "clients with k1 are still served beside k2" step 2 phase k1-beside-k2 1 10
check "clients move to k2: served" step 3 phase k2 2 20
step 4 hold-open
check "a connection opened with k1 (holding k2 too) carries data" bash -c "grep -q '^4 done ok' '$T/status'"
svc "$T/sup.conf" 5555 "$T/report" "${K2[@]}"
kill -HUP "$SUP"
check "SIGHUP removes k1, clients connecting with k2 all along" wait_for 1200 reloaded "0 keys added, 0 replaced, 1 deleted"
check "clients with k2 are served after k1 left" step 5 phase k2-alone 2 20
# The held connection: k1 left the listener, not the connection.
step 6 hold-exchange 10
check "the k1 connection keeps exchanging data after k1 left the listener ($(done_line 6 | cut -d' ' -f3-))" \
        bash -c "grep -q '^6 done ok 10/10 current 1 ' '$T/status'"
good() { done_line "$1" | grep -o "key$2_good [0-9]*" | cut -d' ' -f2; }
step 7 hold-rnext 2
step 8 hold-exchange 10
check "asked for key 2 (RNextKeyID), it receives on key 2 only: key 2's pkt_good $(good 6 2) -> $(good 8 2), key 1's $(good 6 1) -> $(good 8 1)" \
        test "$(good 8 2)" -ge $(($(good 6 2) + 10)) -a "$(good 8 1)" = "$(good 6 1)"
step 9 hold-del 1
check "k1 cannot simply be deleted on our end: the daemon (which never sets RNext) still asks for it (EBUSY)" \
        bash -c "grep -q '^9 done EBUSY' '$T/status'"
step 10 hold-drop 1
step 11 hold-exchange 10
check "k1 deleted on our end, current key moved to k2 as it goes: data keeps flowing on key 2 ($(done_line 11 | cut -d' ' -f3-))" \
        bash -c "grep -Eq '^11 done ok 10/10 current 2 rnext 2 keys 1 key2_good' '$T/status'"
ctl "12 stop"
wait_exit "$DRIVE" 600 || true
sed 's/^/# clients: /' "$T/drive.out" "$T/drive.err"
drops_during=$(( $(ao_drops) - drops_before ))
phase_ok() { # NAME: served > 0 and not one failed (no process substitution: the guest has no /dev/fd)
        local counts
        counts=$(awk -v p="$1" '$1 == "phase" && $2 == p { print $6, $8 }' "$T/drive.out")
        set -- $counts
        [ $# = 2 ] && [ "$1" -gt 0 ] && [ "$2" = 0 ]
}
for p in k1 k1-beside-k2 k2 k2-alone; do
        check "phase $p: $(awk -v p=$p '$2 == p { print $6 " served, " $8 " failed, " $10 " slow" }' "$T/drive.out")" phase_ok "$p"
done
expect_eq "$drops_during" 0 "no TCP-AO segment dropped in the namespace during the rollover (nstat TcpExtTCPAOBad/KeyNotFound/Required)"
check "after k1's removal a k1 client is refused (the control)" refused 5555 127.0.1.2 "$KEY1"
check "...which the counters see (the control of the counters)" test "$(( $(ao_drops) - drops_before ))" -gt 0
check "a k2 client is served" served 5555 127.0.1.2 "$KEY2"
check "an unsigned client is refused (ao_required stays)" unsigned_refused 5555 127.0.1.2

# ---- under ao_required a new secret under the same IDs is applied ----
svc "$T/sup.conf" 5555 "$T/report" "${K2B[@]}"
kill -HUP "$SUP"
check "ao_required: a new secret under k2's IDs is a replace (delete, then add)" \
        wait_for 1200 reloaded "0 keys added, 1 replaced, 0 deleted"
check "...the new secret is served" served 5555 127.0.1.3 "$KEY2B"
check "...the old one is refused" refused 5555 127.0.1.3 "$KEY2"
check "...an unsigned client is refused" unsigned_refused 5555 127.0.1.3
kill "$SUP"; wait_exit "$SUP" 200 || true

# ---- a reload child killed mid-way: the old keys, exactly ----
svc "$T/kill.conf" 5556 "$T/kreport" "${K1[@]}"
FAULT_CMD=("$ACTIVATE" --supervise --config "$T/kill.conf")
FAULT_MARKER=$T/kreport
fault_run FAULT_IN_FORK=2 FAULT_FUNC=write FAULT_AT=1 FAULT_ERRNO=KILL # under timeout 20 (fault.sh)
check "supervise mode with k1 starts under the fault shim" wait_for 600 test -s "$T/kreport"
# timeout's child (the guest kernel has no /proc/PID/task/PID/children).
KSUP=$(pgrep -P "$FAULT_PID" | head -1)
svc "$T/kill.conf" 5556 "$T/kreport" "${K2[@]}"
kill -HUP "$KSUP"
check "the reload child (k1 out, k2 in) killed at its first write: logged" \
        wait_for 600 grep -q "reload: the reload process was killed by signal 9 (Killed); the old keys stay" "$T/fault.err"
check "...k1 is served" served 5556 127.0.1.4 "$KEY1"
check "...k2 is refused" refused 5556 127.0.1.4 "$KEY2"
check "...an unsigned client is refused" unsigned_refused 5556 127.0.1.4
kill -HUP "$KSUP"
check "the next reload goes through" wait_for 600 grep -q "reloaded: 1 key added, 0 replaced, 1 deleted" "$T/fault.err"
check "...k2 is served" served 5556 127.0.1.4 "$KEY2"
check "...k1 is refused" refused 5556 127.0.1.4 "$KEY1"
kill "$KSUP"; wait_exit "$FAULT_PID" 200 || true

# ---- --watch, accept mode, UnmatchedPeers=allow-unsigned: same IDs refused, new IDs added ----
key "$T/kw" ao-secret-one
KW=('[Key k1]' 'Peer = 127.0.1.0/24' 'Algorithm = hmac(sha1)' 'SendID = 1' 'RecvID = 1' "SecretFile = $T/kw")
W=('[Socket]' 'ListenStream = 127.0.0.1:5557' 'Accept = yes' 'Inetd = yes' 'UnmatchedPeers = allow-unsigned'
   '[Service]' 'ExecStart = /bin/cat')
write_conf "$T/w.conf" "${W[@]}" "${KW[@]}"
start_bg "$NS" $WRAP "$ACTIVATE" --watch --config "$T/w.conf"
WPID=$BG_PID
check "accept mode --watch with k1 listens" wait_for 600 listening "$NS" 5557
next_tick
key "$T/kw.new" ao-secret-changed; mv "$T/kw.new" "$T/kw"
check "--watch: a new secret under k1's IDs without ao_required is refused, saying to roll over" \
        wait_for 1200 grep -q "\[Key k1\] 127.0.1.0/24: reload: its secret, Algorithm= or MACLength= changes under the same SendID and RecvID.*Roll over instead" "$T/bg.err"
check "...the old secret is still served" served 5557 127.0.1.5 "$KEY1"
check "...the new one is refused" refused 5557 127.0.1.5 "hmac(sha1):1:1:$T/kw"
key "$T/kw.new" ao-secret-one; mv "$T/kw.new" "$T/kw"
check "--watch: the secret back as it was: a reload with nothing to change" wait_for 1200 grep -q "reloaded: 0 keys added" "$T/bg.err"
next_tick
write_conf "$T/w.conf" "${W[@]}" "${KW[@]}" "${K2[@]}"
check "--watch: k2 with new IDs is added beside k1" wait_for 1200 grep -q "reloaded: 1 key added, 0 replaced, 0 deleted" "$T/bg.err"
check "...k2 is served" served 5557 127.0.1.5 "$KEY2"
check "...k1 still" served 5557 127.0.1.6 "$KEY1"
kill "$WPID"; wait_exit "$WPID" 200 || true
sed 's/^/# activator: /' "$T/bg.err" | grep -v "^# activator: .*connection from" | tail -8
finish
