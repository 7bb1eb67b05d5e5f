#!/bin/bash
# Accept mode under fault injection. Start-up: every socket, bind, listen
# and setsockopt call fails in turn, as in exec mode (exit code, message,
# nothing open or listening, no command started even for a signed client).
# Per connection, inetd style and fd-3 style, every step of starting
# connection N's program fails in turn: the activator's pipe2 and clone
# (no child: that client is reset at once, a message says why), the
# child's dup2 calls and execve (the activator says why, the child exits
# 71, 127 or 126). Each time the next client is served, the activator's
# fds are back to where they were and it goes on.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault.sh"

netns_new "$NS"
key "$T/office.key" office-secret-0123
FAULT_SECRETS=(office-secret-0123)
# conf INETD COMMAND
conf() {
        write_conf "$T/svc.conf" <<CONF
[Socket]
ListenStream = 2322
ListenStream = 127.0.0.1:2323
BindIPv6Only = both
Accept = yes
Inetd = $1

[Service]
ExecStart = /bin/sh -c "touch $T/started; $2"

[Key office]
Peer = 127.0.0.0/8
Peer = ::1
SecretFile = $T/office.key
CONF
}
conf yes "exec cat"
FAULT_CMD=("$ACTIVATE" --config "$T/svc.conf")
FAULT_MARKER=$T/started

# A signed client, once the activator listens or has given up: the command
# must not start for it unless everything went well.
listens_or_gone() { exited "$FAULT_PID" || ip netns exec "$NS" ss -Htln | grep -q LISTEN; }
try_client() {
        wait_for 100 listens_or_gone || true
        # A signed SYN to a closed port meets an unsigned RST, which the
        # client drops: a short timeout.
        ip netns exec "$NS" $CLIENT -t 300 -k "$T/office.key" 127.0.0.1 2323 x > /dev/null 2>&1 || true
}
FAULT_START=try_client
fault_count || finish
FAULT_TRIGGER=try_client
expect_eq "${FAULT_COUNT[socket]}" 2 "one socket per listener"
expect_eq "${FAULT_COUNT[fork]}" 1 "one fork for the one connection"
expect_eq "${FAULT_COUNT[execve]}" 1 "one execve, in its child"
expect_eq "${FAULT_COUNT[pipe2]}" 1 "one pipe for the child's report"
expect_eq "${FAULT_COUNT[dup2]}" 2 "two dup2 in the child: stdin, stdout"

fault_sweep socket EMFILE 71
fault_sweep setsockopt ENOMEM 71 6
fault_sweep setsockopt EPERM 77 6
fault_sweep bind EADDRINUSE 71
fault_sweep listen EADDRINUSE 71

# ---- per connection
activator_pid() { # the child of timeout (FAULT_PID): the activator
        local c
        c=$(cat "/proc/$FAULT_PID/task/$FAULT_PID/children") && [ -n "$c" ] && echo "${c%% *}"
}
nfds() { ls "/proc/$1/fd" | wc -l; }
fds_are() { [ "$(nfds "$1")" = "$2" ]; }
reaped_has() { grep -q "^reaped=.*\b$1\b" "$T/fault.report"; }
# client_lost: a signed client whose connection is closed without a reply,
# promptly (no hang until its 3 s read timeout).
client_lost() {
        local t0 t1 out
        t0=$(date +%s%N)
        out=$(ip netns exec "$NS" $CLIENT -t 3000 -k "$T/office.key" 127.0.0.1 2323 lost 2>/dev/null) || true
        t1=$(date +%s%N)
        [ -z "$out" ] && [ $(((t1 - t0) / 1000000)) -lt 2000 ]
}

# conn_fault FUNC ERRNO AT CONN [EXIT]: call AT of FUNC, which belongs to
# connection CONN, fails. With EXIT a child was made and exits so.
conn_fault() {
        local func=$1 err=$2 at=$3 conn=$4 code=${5:-} what="$1 call $3 fails with $2 (connection $4)" pid base i
        fault_run FAULT_FUNC="$func" FAULT_AT="$at" FAULT_ERRNO="$err"
        if ! wait_for 200 listening "$NS" 2323 || ! pid=$(activator_pid) || [ -z "$pid" ]; then
                fail "$what: the activator did not start"; return
        fi
        base=$(nfds "$pid")
        for ((i = 1; i < conn; i++)); do
                check "$what: connection $i is served" echo_ok "$NS" "$T/office.key" 127.0.0.1 2323
        done
        check "$what: that client is closed at once, without a reply" client_lost
        check "$what: the next signed client is served" echo_ok "$NS" "$T/office.key" ::1 2322
        check "$what: the activator's fds are back to $base" wait_for 100 fds_are "$pid" "$base"
        check "$what: the activator is still running" kill -0 "$pid"
        if [ -z "$code" ]; then
                check "$what: the activator says why" wait_for 300 grep -q "connection refused: cannot start a process" "$T/fault.err"
        else
                check "$what: the activator says why" wait_for 300 grep -Eq "cannot start /bin/sh for a connection" "$T/fault.err"
                check "$what: the child exited $code" wait_for 100 reaped_has "$code"
        fi
        check "$what: no other error" test "$(grep -c . "$T/fault.err")" = 1
        kill -TERM "$pid"
        local rc=0
        wait_exit "$FAULT_PID" || rc=$?
        expect_eq "$rc" 0 "$what: SIGTERM: a clean stop"
        check "$what: nothing open at exit" grep -q '^exit_new_fds=0$' "$T/fault.report"
        check "$what: nothing listening afterwards" bash -c "! ip netns exec $NS ss -Htln | grep -q LISTEN"
}
# Every step of the start, for connections 1 to 3.
for conn in 1 2 3; do
        conn_fault pipe2 EMFILE $conn $conn
        conn_fault fork EAGAIN $conn $conn
        conn_fault dup2 EBADF $((2 * conn - 1)) $conn 71
        conn_fault dup2 EBADF $((2 * conn)) $conn 71
        conn_fault execve ENOENT $conn $conn 127
done
conn_fault fork ENOMEM 2 2
conn_fault pipe2 ENFILE 2 2
conn_fault execve EACCES 2 2 126
conn_fault execve ENOEXEC 2 2 126

# fd-3 style: the connection on fd 3 (one dup2 to there).
conf no "exec cat <&3 >&3"
FAULT_TRIGGER=:
fault_count || finish
expect_eq "${FAULT_COUNT[dup2]}" 1 "fd 3 style: one dup2 in the child"
for conn in 1 2; do
        conn_fault pipe2 EMFILE $conn $conn
        conn_fault fork EAGAIN $conn $conn
        conn_fault dup2 EBADF $conn $conn 71
        conn_fault execve ENOENT $conn $conn 127
done
finish
