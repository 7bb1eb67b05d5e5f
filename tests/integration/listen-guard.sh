#!/bin/bash
# The preload guard every other integration test runs the activator under
# (tests/helpers/listen-guard.c): it aborts a listen() of a TCP socket that
# holds no TCP MD5 key, and lets a keyed one through. Judged on a probe
# program (every way a socket can reach listen()), then on the activator
# itself as $WRAP starts it: the one legitimately keyless listener
# (UnmatchedPeers=allow-unsigned, no [Key]) aborts unless the test names its
# port, so the guard is live on the real activator, not vacuous.
. "$(dirname "$0")/../lib.sh"
PROBE=$BUILD/tests/listen-probe

netns_new "$NS"
# probe WANT MODE PORT [VAR=VALUE...]: the probe under the guard, its own log.
probe() {
        local want=$1 mode=$2 port=$3; shift 3
        rm -f "$T/probe.log"
        expect_rc "$want" "probe $mode${1:+ ($*)}: exit $want" in_ns "$NS" env "${GUARD_ENV[@]}" \
                LISTEN_GUARD_TARGET="$PROBE" LISTEN_GUARD_LOG="$T/probe.log" "$@" "$PROBE" "$mode" "$port"
}
aborted() { # WHAT: the last probe was stopped by the guard, with its message
        expect_stderr "listen-guard: pid [0-9]+: listen\(\) on TCP socket fd [0-9]+ \(port $1\) that holds no TCP MD5 or TCP-AO key" \
                "$2: the message names the socket and the port"
        check "$2: the message is in LISTEN_GUARD_LOG too" grep -q "port $1) that holds no TCP MD5 or TCP-AO key" "$T/probe.log"
}
probe 134 nokey 3001;  aborted 3001 "no key"
probe 0 key 3002
probe 0 dup 3003
probe 134 reuse 3004;  aborted 3004 "a closed socket's key, its fd number reused"
probe 134 refused 3005; aborted 3005 "a key the kernel refused (EINVAL)"
# This kernel has no TCP-AO (ENOPROTOOPT): a TCP-AO key it refused does not
# count (tests/vm/ao-keys.sh shows one it took letting listen() through).
probe 134 ao 3010;      aborted 3010 "a TCP-AO key the kernel refused"
probe 0 unix 3006
probe 0 nokey 3007 LISTEN_GUARD_UNSIGNED=3001,3007
probe 134 nokey 3008 LISTEN_GUARD_UNSIGNED=3007; aborted 3008 "a port not in LISTEN_GUARD_UNSIGNED"
probe 0 nokey 3009 LISTEN_GUARD_TARGET=/bin/true
check "another program than LISTEN_GUARD_TARGET is not judged" test ! -e "$T/probe.log"

# The activator, started as every test starts it.
write_conf "$T/open.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:3100
UnmatchedPeers = allow-unsigned
[Service]
ExecStart = $ECHO_DAEMON $T/open.report
CONF
# Without valgrind here: an abort would fill the memcheck log that finish() judges.
expect_rc 134 "the activator, keyless listener not declared: the guard aborts it" \
        in_ns "$NS" $GUARD LISTEN_GUARD_LOG="$T/probe.log" "$ACTIVATE" --config "$T/open.conf"
expect_stderr "listen-guard: .*\(port 3100\) that holds no TCP MD5 or TCP-AO key" "the activator: the guard names port 3100"
check "the activator: and nothing listens" eval "! listening $NS 3100"
LISTEN_GUARD_UNSIGNED=3100 start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/open.conf"
check "declared with LISTEN_GUARD_UNSIGNED=3100: it serves" wait_for 200 test -s "$T/open.report"
check "an unsigned client gets through" echo_ok "$NS" "" 127.0.0.1 3100
kill "$BG_PID"; wait_exit "$BG_PID" || true
# The exec'd command runs without the guard.
out=$(LISTEN_GUARD_UNSIGNED=3100 in_ns "$NS" $WRAP "$ACTIVATE" --config "$T/open.conf" -- /usr/bin/env 2>&1) || true
check "the daemon's environment has no LD_PRELOAD of the guard" eval "! grep -q listen-guard <<< \"\$out\""
check "nor any LISTEN_GUARD_ variable" eval "! grep -q '^LISTEN_GUARD_' <<< \"\$out\""
check "(it is the daemon's environment: LISTEN_FDS is there)" grep -q '^LISTEN_FDS=1$' <<< "$out"
finish
