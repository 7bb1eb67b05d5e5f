#!/bin/bash
# Exec mode against the real kernel: who gets through a keyed listener.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/office.key" office-secret
key "$T/lab.key" lab-secret
key "$T/wrong.key" not-the-secret
cat > "$T/svc.conf" <<CONF
[Socket]
ListenStream = 2222
ListenStream = 127.0.0.1:2223
FileDescriptorName = echo

[Service]
ExecStart = $ECHO_DAEMON $T/report

[Key office]
Peer = 127.0.0.0/8
Peer = ::1

# Longer prefix inside office's: this host must use the lab key.
[Key lab]
Peer = 127.0.0.7/32
SecretFile = $T/lab.key
CONF
cat >> "$T/svc.conf" <<CONF
[Key office]
SecretFile = $T/office.key
CONF
chmod 644 "$T/svc.conf" # no secret in it: others may read it

# Ignored and blocked signals in the activator must not reach the daemon.
trap '' PIPE HUP
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/svc.conf"
trap - PIPE HUP
check "listeners come up" wait_for 300 test -s "$T/report"
pid=$BG_PID
report=$(cat "$T/report")
expect_eq "$(sed -n 's/^pid=//p' <<<"$report")" "$pid" "the daemon is the exec'd activator (same pid)"
expect_eq "$(sed -n 's/^LISTEN_PID=//p' <<<"$report")" "$pid" "LISTEN_PID is the daemon's pid"
expect_eq "$(sed -n 's/^LISTEN_FDS=//p' <<<"$report")" "2" "LISTEN_FDS=2"
expect_eq "$(sed -n 's/^LISTEN_FDNAMES=//p' <<<"$report")" "echo:echo" "LISTEN_FDNAMES from FileDescriptorName"
expect_eq "$(grep -c 'stream=1 listening=1' <<<"$report")" "2" "fd 3 and 4 are listening stream sockets"
expect_eq "$(sed -n 's/^leaked=//p' <<<"$report")" "0" "no other fd reaches the daemon"
expect_eq "$(sed -n 's/^sigmask_empty=//p' <<<"$report")" "1" "the signal mask is empty"
expect_eq "$(sed -n 's/^sigign=//p' <<<"$report")" "0000000000000000" "no signal is ignored (SIGPIPE, SIGHUP were)"

check "signed IPv4 client on the dual-stack listener" echo_ok "$NS" "$T/office.key" 127.0.0.1 2222
check "signed IPv6 client on the dual-stack listener" echo_ok "$NS" "$T/office.key" ::1 2222
check "signed client on the IPv4 listener" echo_ok "$NS" "$T/office.key" 127.0.0.1 2223
check "unsigned IPv4 client dropped" echo_dropped "$NS" "" 127.0.0.1 2222
check "unsigned IPv6 client dropped" echo_dropped "$NS" "" ::1 2222
check "unsigned client dropped on the IPv4 listener" echo_dropped "$NS" "" 127.0.0.1 2223
check "wrong key dropped (IPv4)" echo_dropped "$NS" "$T/wrong.key" 127.0.0.1 2222
check "wrong key dropped (IPv6)" echo_dropped "$NS" "$T/wrong.key" ::1 2222

# Longest prefix wins: 127.0.0.7 needs lab, not office.
check "longest prefix: lab key from 127.0.0.7" \
        bash -c "out=\$(ip netns exec $NS $CLIENT -t 3000 -s 127.0.0.7 -k $T/lab.key 127.0.0.1 2222 hi) && [ \"\$out\" = hi ]"
rc=0; in_ns "$NS" $CLIENT -t 300 -s 127.0.0.7 -k "$T/office.key" 127.0.0.1 2222 hi >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 3 "longest prefix: office key from 127.0.0.7 dropped"

# A peer outside every prefix: an address we add to lo in this namespace.
in_ns "$NS" ip addr add 192.0.2.10/32 dev lo
rc=0; in_ns "$NS" $CLIENT -t 300 -s 192.0.2.10 -k "$T/office.key" 127.0.0.1 2222 hi >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 3 "peer outside every prefix dropped even with a key"
rc=0; in_ns "$NS" $CLIENT -t 300 -s 192.0.2.10 127.0.0.1 2222 hi >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 3 "peer outside every prefix dropped unsigned"
# And an IPv6 one on the dual-stack listener: ::1 has its own key, so only
# the IPv6 catch-all stands between this peer and an unsigned accept.
in_ns "$NS" ip addr add 2001:db8::10/128 dev lo nodad
rc=0; in_ns "$NS" $CLIENT -t 300 -s 2001:db8::10 ::1 2222 hi >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 3 "IPv6 peer outside every prefix dropped unsigned (the IPv6 catch-all)"
rc=0; in_ns "$NS" $CLIENT -t 300 -s 2001:db8::10 -k "$T/office.key" ::1 2222 hi >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 3 "IPv6 peer outside every prefix dropped even with a key"

# The environment passes through unchanged, stale LISTEN_* are replaced, the
# command line overrides ExecStart=, and no secret shows in --check or env.
kill "$pid"; wait_exit "$pid" 2>/dev/null || true
out=$(FOO='bar baz' LISTEN_FDS=9 LISTEN_FDNAMES=stale ip netns exec "$NS" $WRAP "$ACTIVATE" --config "$T/svc.conf" -- /usr/bin/env)
grep -qx 'FOO=bar baz' <<<"$out" && ok "environment passed through" || fail "environment passed through"
grep -qx 'LISTEN_FDS=2' <<<"$out" && ok "stale LISTEN_FDS replaced" || fail "stale LISTEN_FDS replaced"
grep -qx 'LISTEN_FDNAMES=echo:echo' <<<"$out" && ok "stale LISTEN_FDNAMES replaced" || fail "stale LISTEN_FDNAMES replaced"
grep -q 'secret' <<<"$out" && fail "a secret reached the environment" || ok "no secret in the environment"
out=$("$ACTIVATE" --config "$T/svc.conf" --check 2>&1)
grep -q 'secret' <<<"$out" && fail "a secret in --check output" || ok "no secret in --check output"
grep -Eq "\[Key lab\] SecretFile $T/lab.key \(10 bytes, fingerprint [0-9a-f]{16}\)" <<<"$out" && ok "--check shows source, length and fingerprint" || fail "--check shows source, length and fingerprint"
finish
