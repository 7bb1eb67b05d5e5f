#!/bin/bash
# No co-tenant on our ports (SO_REUSEPORT). The attack: a keyless socket of
# the same uid that sets SO_REUSEPORT and binds the same address joins a
# listener's group, and the kernel hands it a share of the connections,
# unsigned ones included, whatever keys the other members hold.
# The control shows the attack working against a keyed SO_REUSEPORT
# socket; then the activator: ReusePort=yes is refused (exit 78, nothing
# listens; a reload to it fails, the old keys stay), and without it the
# joiner cannot bind, before or after us.
. "$(dirname "$0")/../lib.sh"
REUSEPORT=$(dirname "$0")/../helpers/reuseport.py
TRIES=20

netns_new "$NS"
key "$T/k" reuse-secret

# joiner PORT NAME: starts reuseport.py (keyless) on 127.0.0.1:PORT; log $T/NAME.log.
joiner() {
        in_ns "$NS" python3 "$REUSEPORT" 127.0.0.1 "$1" "$T/$2.log" ${3:-} &
        PIDS+=("$!")
        wait_for 200 test -s "$T/$2.log"
}
accepted() { grep -c '^accepted' "$T/$1.log" || true; }
# unsigned_clients PORT: TRIES unsigned connects from 127.0.0.2..; none should be served.
unsigned_clients() {
        local i
        for ((i = 0; i < TRIES; i++)); do
                in_ns "$NS" $CLIENT -t 300 -s "127.0.0.$((2 + i % 8))" 127.0.0.1 "$1" x >/dev/null 2>&1 || true
        done
}

# Control: a keyed SO_REUSEPORT socket (a catch-all key, as the activator
# installs) and a keyless joiner. The keyed one drops every unsigned SYN;
# the joiner takes some: the side door.
joiner 21000 keyed --key
check "control: the keyed socket listens" grep -q '^listening' "$T/keyed.log"
joiner 21000 control-joiner
check "control: the keyless joiner joins its group" grep -q '^listening' "$T/control-joiner.log"
unsigned_clients 21000
n=$(accepted control-joiner)
check "control: the joiner took unsigned clients ($n of $TRIES)" test "$n" -gt 0
expect_eq "$(accepted keyed)" 0 "control: the keyed socket took none"

# The activator refuses ReusePort=yes, naming the line and saying why. On a
# build that took it, the joiner is let loose on what it listens on.
conf() { # PORT [EXTRA]
        write_conf "$T/$1.conf" "[Socket]" "ListenStream = 127.0.0.1:$1" "${2:-}" \
                "[Service]" "ExecStart = $ECHO_DAEMON $T/report-$1" \
                "[Key k]" "Peer = 127.0.0.0/24" "SecretFile = $T/k"
}
conf 21001 "ReusePort = yes"
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/21001.conf"
act=$BG_PID
wait_for 600 eval "exited $act || test -s $T/report-21001" || true
if [ -s "$T/report-21001" ]; then
        # A build that took it: the joiner is let loose on its listener.
        joiner 21001 taken-joiner || true
        unsigned_clients 21001
        fail "ReusePort=yes: started, and a keyless joiner took $(accepted taken-joiner) of $TRIES unsigned clients"
        kill "$act"
fi
rc=0; wait_exit "$act" || rc=$?
expect_eq "$rc" 78 "ReusePort=yes: refused with exit 78"
cp "$T/bg.err" "$T/last.err"
expect_stderr "21001.conf:3: ReusePort=yes is refused: another socket of the same user could join the port without keys and take connections" \
        "ReusePort=yes: the message names the line and says why"
expect_stderr "remove it" "ReusePort=yes: the message says what to do"
check "ReusePort=yes: --check refuses it too" bash -c "! '$ACTIVATE' --config '$T/21001.conf' --check >/dev/null 2>&1"
if listening "$NS" 21001; then fail "ReusePort=yes: something listens on 21001"; else ok "ReusePort=yes: nothing listens"; fi

# Without ReusePort=, a joiner after us cannot bind; unsigned clients get
# nothing, signed ones are served.
conf 21002
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/21002.conf"
act=$BG_PID
check "default: the activator serves" wait_for 400 test -s "$T/report-21002"
joiner 21002 late-joiner
check "default: a joiner after us cannot bind" grep -q '^bind: Address already in use' "$T/late-joiner.log"
unsigned_clients 21002
check "default: a signed client is served" echo_ok "$NS" "$T/k" 127.0.0.1 21002
check "default: an unsigned client is dropped" echo_dropped "$NS" "" 127.0.0.1 21002
kill "$act"; wait_exit "$act" 2>/dev/null || true

# A reload to ReusePort=yes is refused the same way; the old keys stay.
conf 21004
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --config "$T/21004.conf"
sup=$BG_PID
check "reload: supervisor up" wait_for 400 test -s "$T/report-21004"
conf 21004 "ReusePort = yes"
kill -HUP "$sup"
check "reload: ReusePort=yes is refused, the old keys stay" wait_for 400 grep -q "the old keys stay" "$T/bg.err"
check "reload: the message names the line and says why" \
        grep -q "21004.conf:3: ReusePort=yes is refused: another socket of the same user" "$T/bg.err"
check "reload: the signed client is still served" echo_ok "$NS" "$T/k" 127.0.0.1 21004
joiner 21004 reload-joiner
check "reload: a joiner still cannot bind" grep -q '^bind: Address already in use' "$T/reload-joiner.log"
kill "$sup"; wait_exit "$sup" 2>/dev/null || true

# A joiner that bound first: the activator cannot bind, fails closed, and
# starts nothing.
joiner 21003 early-joiner
check "early joiner: listening" grep -q '^listening' "$T/early-joiner.log"
conf 21003
expect_rc 71 "early joiner: the activator cannot bind" timeout 30 ip netns exec "$NS" $WRAP "$ACTIVATE" --config "$T/21003.conf"
expect_stderr "21003" "early joiner: the message names the address"
check "early joiner: no daemon started" test ! -e "$T/report-21003"
finish
