#!/bin/bash
# Stray inherited fds. A wrapper, a shell redirection or another service
# manager can start the activator with fds open that are not close-on-exec:
# here 3 and 7 on files and 9 on a socket. Whatever the activator starts
# holds exactly 0, 1 and 2 plus the sockets it hands over, numbered from 3:
# the per-connection process in accept mode (inetd style and fd-3 style),
# and the daemon in exec, on-demand and supervise mode. The control: the
# activator itself holds the strays, not close-on-exec.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/k.key" stray-secret
# conf NAME PORT1 PORT2 EXTRA-SOCKET-LINES COMMAND: prints the config's path.
conf() {
        write_conf "$T/$1.conf" <<CONF
[Socket]
ListenStream = $2
${3:+ListenStream = 127.0.0.1:$3}
$4
[Service]
ExecStart = $5
[Key local]
Peer = 127.0.0.0/8
Peer = ::1
SecretFile = $T/k.key
CONF
        echo "$T/$1.conf"
}
# stray_bg ARGS...: the activator with ARGS, started in the namespace
# with the stray fds; its pid in BG_PID (every step execs: the same pid).
stray_bg() {
        start_bg "$NS" bash -c 'exec 3</dev/null 7</etc/hostname 9<>/dev/udp/127.0.0.1/9 && exec "$@"' stray \
                $WRAP "$ACTIVATE" "$@"
}
# inherits WHAT PID: the control, PID holds fds 7 and 9 without FD_CLOEXEC.
inherits() {
        local fd flags ok=1
        for fd in 7 9; do
                flags=$(sed -n 's/^flags:\t*//p' "/proc/$2/fdinfo/$fd" 2>/dev/null) || true
                [ -n "$flags" ] && (( (8#$flags & 8#2000000) == 0 )) || ok=0
        done
        check "$1: control: the activator holds the stray fds 7 and 9, not close-on-exec" test $ok = 1
}
report_fds() { sed -n 's/^fds=//p' "$1"; }
stop() { kill "$1" 2>/dev/null || true; wait_exit "$1" 2>/dev/null || true; }

# --- accept mode, inetd style and fd-3 style
stray_bg --config "$(conf inetd 2800 '' $'Accept = yes\nInetd = yes' "$REPORT")"
pid=$BG_PID
check "inetd: listening" wait_for 200 listening "$NS" 2800
inherits inetd "$pid"
conn_report "$NS" "$T/k.key" 127.0.0.1 0 127.0.0.1 2800 || fail "inetd: a signed client is served"
expect_eq "$(field fds)" "0,1,2" "inetd: the child holds stdin, stdout, stderr and nothing else"
conn_report "$NS" "$T/k.key" ::1 0 ::1 2800 || fail "inetd: a signed IPv6 client is served"
expect_eq "$(field fds)" "0,1,2" "inetd: the next child too"
stop "$pid"

stray_bg --accept --config "$(conf fd3 2810 2811 '' "$REPORT")"
pid=$BG_PID
check "fd 3: listening" wait_for 200 listening "$NS" 2811
inherits "fd 3" "$pid"
conn_report "$NS" "$T/k.key" 127.0.0.1 0 127.0.0.1 2811 || fail "fd 3: a signed client is served"
expect_eq "$(field fds)" "0,1,2,3" "fd 3: the child holds stdio and its connection on fd 3, nothing else"
stop "$pid"

# --- on-demand: the activator waits, then becomes the daemon
stray_bg --config "$(conf od 2820 2821 'OnDemand = yes' "$ECHO_DAEMON $T/od.report")"
pid=$BG_PID
check "on-demand: listening" wait_for 200 listening "$NS" 2821
inherits on-demand "$pid"
check "on-demand: the first signed client is served" echo_ok "$NS" "$T/k.key" 127.0.0.1 2821
check "on-demand: the daemon reports" wait_for 200 test -s "$T/od.report"
expect_eq "$(report_fds "$T/od.report")" "0,1,2,3,4" "on-demand: the daemon holds stdio and its two listeners on 3 and 4, nothing else"
stop "$pid"

# --- exec: the daemon at once (the control is on the supervisor below:
# an exec'd activator is gone before it can be looked at)
stray_bg --config "$(conf ex 2830 2831 '' "$ECHO_DAEMON $T/ex.report")"
pid=$BG_PID
check "exec: the daemon reports" wait_for 200 test -s "$T/ex.report"
expect_eq "$(report_fds "$T/ex.report")" "0,1,2,3,4" "exec: the daemon holds stdio and its two listeners on 3 and 4, nothing else"
stop "$pid"

# --- supervise: the daemon is the activator's child
stray_bg --supervise --config "$(conf sv 2840 2841 '' "$ECHO_DAEMON $T/sv.report")"
pid=$BG_PID
check "supervise: the daemon reports" wait_for 200 test -s "$T/sv.report"
inherits supervise "$pid"
expect_eq "$(report_fds "$T/sv.report")" "0,1,2,3,4" "supervise: the daemon holds stdio and its two listeners on 3 and 4, nothing else"
check "supervise: a signed client is served" echo_ok "$NS" "$T/k.key" 127.0.0.1 2841
stop "$pid"
finish
