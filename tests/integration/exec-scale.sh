#!/bin/bash
# 900 prefix keys on one dual-stack listener under the default
# net.core.optmem_max, and the same config failing closed, with advice,
# when the namespace's optmem_max is too small.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
in_ns "$NS" sysctl -qw net.core.optmem_max=131072
in_ns "$NS" ip addr add 198.18.0.0/22 dev lo 2>/dev/null || true
{
        printf '[Socket]\nListenStream = 7000\n[Service]\nExecStart = %s %s\n' "$ECHO_DAEMON" "$T/report"
        for i in $(seq 0 899); do
                printf '[Key k%d]\nPeer = 198.18.%d.%d\nSecretHex = %08x\n' $i $((i / 256)) $((i % 256)) $i
        done
} | write_conf "$T/many.conf"
last=198.18.$((899 / 256)).$((899 % 256))
hexkey() { printf "$(printf '%08x' "$1" | sed 's/../\\x&/g')" > "$2"; chmod 600 "$2"; }
hexkey 899 "$T/last.key"
hexkey 898 "$T/prev.key"

out=$("$ACTIVATE" --config "$T/many.conf" --check)
expect_eq "$(grep -c '\[Key k' <<<"$out")" 900 "--check lists 900 keyed prefixes"
grep -q "902 keys" <<<"$out" && ok "--check counts the two catch-alls" || fail "--check key count"

start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/many.conf"
wait_for 200 test -s "$T/report" || fail "server with 900 keys did not start"
check "the 900th key works" bash -c "[ \"\$(ip netns exec $NS $CLIENT -t 3000 -s $last -k $T/last.key 127.0.0.1 7000 hi)\" = hi ]"
rc=0; in_ns "$NS" $CLIENT -t 300 -s $last -k "$T/prev.key" 127.0.0.1 7000 hi >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 3 "a neighbour's key is refused"
kill "$BG_PID"; wait_exit "$BG_PID" 2>/dev/null || true

in_ns "$NS" sysctl -qw net.core.optmem_max=20480
rm -f "$T/report"
expect_rc 71 "900 keys over optmem_max=20480 fail" ip netns exec "$NS" $WRAP "$ACTIVATE" --config "$T/many.conf"
expect_stderr "refused key [0-9]+ of 902 .*net.core.optmem_max is 20480; raise it to at least [0-9]+" "the advice names the sysctl and a value"
want=$(grep -o 'at least [0-9]*' "$T/last.err" | grep -o '[0-9]*$')
listening "$NS" 7000 && fail "nothing left listening" || ok "nothing left listening"
[ -e "$T/report" ] && fail "command started" || ok "command not started"

in_ns "$NS" sysctl -qw net.core.optmem_max="$want"
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/many.conf"
wait_for 200 test -s "$T/report" && ok "the advised optmem_max ($want) is enough" || fail "advised optmem_max $want not enough"
finish
