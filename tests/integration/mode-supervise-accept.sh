#!/bin/bash
# --supervise (the shipped unit's command line) with a config that says
# Accept=yes runs accept mode, and nothing of a supervisor's set-up comes
# with it: no blocked SIGUSR1, no ignored SIGTTIN, no subreaper bit. The
# same checks against supervise mode are the control. Options that only a
# supervisor has are refused in accept mode with the line that made it,
# and nothing listens; --watch works there, and on demand.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/k.key" mode-secret
cat > "$T/orphan.sh" <<SH
#!/bin/sh
# leaves a background process behind: whose child does it become?
sh -c 'sleep 30 </dev/null >/dev/null 2>&1 & echo \$! > "\$1"' sh "$T/orphan.\$\$"
mv "$T/orphan.\$\$" "$T/orphan"
echo served
SH
chmod 755 "$T/orphan.sh"
conf() { # FILE ACCEPT PORT
        write_conf "$1" <<CONF
[Socket]
ListenStream = 127.0.0.1:$3
Accept = $2
Inetd = $2
[Service]
ExecStart = $T/orphan.sh
[Key k]
Peer = 127.0.0.1
SecretFile = $T/k.key
CONF
}
conf "$T/accept.conf" yes 2631
conf "$T/plain.conf" no 2632

# /proc/PID/status mask bit for signal N set?
sigbit() { # PID FIELD SIGNAL
        local hex; hex=$(sed -n "s/^$2:\s*//p" "/proc/$1/status")
        (( (16#$hex >> ($3 - 1)) & 1 ))
}
nosigbit() { ! sigbit "$@"; }
not_listening() { ! listening "$@"; }
orphan_parent() { ps --no-headers -o ppid= -p "$(cat "$T/orphan")" | tr -d ' '; }

start_bg "$NS" $WRAP "$ACTIVATE" --supervise --config "$T/accept.conf"
pid=$BG_PID
check "--supervise with Accept=yes: listening" wait_for 200 listening "$NS" 2631
check "a signed client is served (accept mode: the script runs per connection)" \
        wait_for 60 sh -c "ip netns exec $NS $CLIENT -t 3000 -k $T/k.key 127.0.0.1 2631 x | grep -q served"
check "an unsigned client is dropped" echo_dropped "$NS" "" 127.0.0.1 2631
check "the connection's process left its orphan" wait_for 100 test -s "$T/orphan"
if [ -z "$VG" ]; then # valgrind's own process holds other masks
        check "accept mode does not block SIGUSR1 (supervise mode's mask did not leak)" nosigbit "$pid" SigBlk 10
        check "accept mode does not ignore SIGTTIN" nosigbit "$pid" SigIgn 21
        check "accept mode is no subreaper: the orphan is not the activator's" test "$(orphan_parent)" != "$pid"
else
        skip "signal masks under valgrind"; skip "ignored signals under valgrind"; skip "subreaper under valgrind"
fi
kill "$(cat "$T/orphan")" 2>/dev/null || true
rm -f "$T/orphan"
kill -TERM "$pid"
rc=0; wait_exit "$pid" || rc=$?
expect_eq "$rc" 0 "accept mode stops cleanly on SIGTERM"

# The control: supervise mode, whose daemon (the same script) orphans a process.
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --config "$T/plain.conf"
pid=$BG_PID
check "supervise mode: the daemon left its orphan" wait_for 200 test -s "$T/orphan"
if [ -z "$VG" ]; then
        check "control: supervise mode blocks SIGUSR1 (read from its signalfd)" sigbit "$pid" SigBlk 10
        check "control: supervise mode ignores SIGTTIN" sigbit "$pid" SigIgn 21
        check "control: supervise mode is a subreaper: the orphan is its child" \
                wait_for 100 test "$(orphan_parent)" = "$pid"
else
        skip "signal masks under valgrind"; skip "ignored signals under valgrind"; skip "subreaper under valgrind"
fi
kill "$(cat "$T/orphan")" 2>/dev/null || true
wait_exit "$pid" || true

line=$(grep -n "^Accept" "$T/accept.conf" | cut -d: -f1)
expect_rc 78 "--supervise --process-group with Accept=yes is refused" \
        in_ns "$NS" $WRAP "$ACTIVATE" --supervise --process-group --config "$T/accept.conf"
expect_stderr "accept.conf:$line: Accept=yes runs accept mode, where no daemon is supervised: drop --process-group" \
        "the refusal names the line and what to write instead"
check "nothing listens after the refusal" not_listening "$NS" 2631
expect_rc 78 "--check refuses the same combination" \
        in_ns "$NS" $WRAP "$ACTIVATE" --check --supervise --no-forward-reload --config "$T/accept.conf"
expect_rc 0 "--on-demand on the command line overrides Accept=yes: the supervisor's options apply again (--check)" \
        in_ns "$NS" $WRAP "$ACTIVATE" --check --supervise --process-group --on-demand --config "$T/accept.conf"
expect_rc 78 "--watch in exec mode is refused once the config shows nothing else makes one" in_ns "$NS" $WRAP "$ACTIVATE" --watch --config "$T/plain.conf"
expect_stderr "--watch only applies to a mode that stays" "the usage error says where --watch applies"

# --watch in accept mode (the unit's --supervise with Accept=yes) and on
# demand: a key file replaced by a rename is picked up without SIGHUP.
reloads_are() { [ "$(grep -c 'reloaded:' "$T/bg.err" || true)" = "$1" ]; }
rotate() { printf '%s\n' "$1" > "$T/k.key.new"; chmod 600 "$T/k.key.new"; mv "$T/k.key.new" "$T/k.key"; }
key "$T/new.key" mode-rotated
key "$T/old.key" mode-secret
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --watch --config "$T/accept.conf"
pid=$BG_PID
check "--supervise --watch with Accept=yes: listening" wait_for 200 listening "$NS" 2631
check "accept --watch: the key gets in" \
        wait_for 60 sh -c "ip netns exec $NS $CLIENT -t 3000 -k $T/old.key 127.0.0.1 2631 x | grep -q served"
next_tick
rotate mode-rotated
check "accept --watch: the renamed key file is reloaded without SIGHUP" wait_for 200 reloads_are 1
check "accept --watch: the new key gets in" \
        wait_for 60 sh -c "ip netns exec $NS $CLIENT -t 3000 -k $T/new.key 127.0.0.1 2631 x | grep -q served"
check "accept --watch: the old key is dropped" echo_dropped "$NS" "$T/old.key" 127.0.0.1 2631
kill -TERM "$pid"
rc=0; wait_exit "$pid" || rc=$?
expect_eq "$rc" 0 "accept --watch: a clean stop"

key "$T/k.key" mode-secret
rm -f "$T/orphan"
start_bg "$NS" $WRAP "$ACTIVATE" --on-demand --watch --config "$T/plain.conf"
pid=$BG_PID
check "--on-demand --watch: listening" wait_for 200 listening "$NS" 2632
next_tick
rotate mode-rotated
check "on demand --watch: the renamed key file is reloaded before anyone came" wait_for 200 reloads_are 1
check "on demand --watch: the daemon has not started" test ! -e "$T/orphan"
check "on demand --watch: the old key is dropped" echo_dropped "$NS" "$T/old.key" 127.0.0.1 2632
ip netns exec "$NS" $CLIENT -t 1000 -k "$T/new.key" 127.0.0.1 2632 x >/dev/null 2>&1 || true
check "on demand --watch: a client with the new key starts the daemon" wait_for 200 test -s "$T/orphan"
kill "$(cat "$T/orphan" 2>/dev/null)" 2>/dev/null || true
wait_exit "$pid" || true
finish
