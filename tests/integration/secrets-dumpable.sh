#!/bin/bash
# An activator that keeps secrets after start-up (accept mode for life,
# on-demand until the first connection, supervise mode for life) is not
# dumpable: run as an unprivileged user, another process of that user
# (such as the per-connection child) cannot read its memory through
# /proc/PID/mem, and a crash writes no core. The control: a plain process
# of the same user holding the secret is read by the same reader. What it
# starts is dumpable again after execve, and holds no secret.
. "$(dirname "$0")/../lib.sh"
memory_scan_setup
nobody_setup # nobody runs copies: the checkout may be out of its reach

netns_new "$NS"
SECRET=dumpable-secret-QQQQ7777
# The activator's files, owned by the user it runs as (nobody).
U=$T/nobody
mkdir -m 700 "$U"
key "$U/k.key" "$SECRET"
chown -R nobody:nogroup "$U"
key "$T/client.key" "$SECRET" # the clients run as root
PY=/usr/bin/python3 # not a shim in root's home, which nobody cannot run

# conf NAME MODE-LINE COMMAND: a config owned by nobody; prints its path.
conf() {
        local f=$U/$1.conf
        write_conf "$f" '[Socket]' 'ListenStream = 127.0.0.1:2900' "$2" '[Service]' "ExecStart = $3" \
                '[Key k]' 'Peer = 127.0.0.0/8' "SecretFile = $U/k.key"
        chown nobody:nogroup "$f"
        echo "$f"
}
# scan_as WHO PID: WHO (nobody or root) reads PID's memory and counts the
# secret in it: "found N in M bytes" in $T/scan.out, errors in $T/scan.err.
scan_as() {
        local as=()
        [ "$1" = root ] || as=("${AS_NOBODY[@]}")
        "${as[@]}" $PY "$NB_MEMDUMP" --count "$SECRET" "$2" > "$T/scan.out" 2> "$T/scan.err"
}
found() { sed -n 's/^found \([0-9]*\) in.*/\1/p' "$T/scan.out"; }
read_bytes() { sed -n 's/.* in \([0-9]*\) bytes$/\1/p' "$T/scan.out"; }
mem_owner() { stat -c %U "/proc/$1/mem"; }
maps_readable() { "${AS_NOBODY[@]}" head -c1 "/proc/$1/maps" > /dev/null; }

# holds_unreadable WHAT PID [no-control]: PID holds the secret (root, with
# CAP_SYS_PTRACE, finds it), yet nobody cannot read PID's memory, because
# it is not dumpable: the kernel then gives /proc/PID/* to root.
holds_unreadable() {
        local what=$1 pid=$2
        if [ "${3:-}" = no-control ]; then :
        elif scan_as root "$pid" && [ "$(found)" -ge 1 ]; then ok "$what: root finds the secret in its memory (it holds it)"
        else fail "$what: root does not find the secret in its memory"; sed 's/^/#   /' "$T/scan.out" "$T/scan.err"; fi
        expect_eq "$(mem_owner "$pid")" root "$what: not dumpable (/proc/PID/mem owned by root)"
        if scan_as nobody "$pid"; then fail "$what: a process of its own uid read its memory ($(cat "$T/scan.out"))"
        elif grep -Eq "PermissionError: .*'/proc/$pid/(maps|mem)'" "$T/scan.err"; then
                ok "$what: a process of its own uid cannot read its memory (/proc/PID/maps and mem: permission denied)"
        else fail "$what: the reader failed for another reason"; sed 's/^/#   /' "$T/scan.err"; fi
}
# dumpable WHAT PID: PID (exec'd by the activator) is dumpable again: its
# /proc files are nobody's, and nobody may read its memory map.
dumpable() {
        expect_eq "$(mem_owner "$2")" nobody "$1: dumpable again after execve (/proc/PID/mem owned by nobody)"
        check "$1: a process of its own uid reads its memory map" maps_readable "$2"
}
# dumpable_clean WHAT PID: that, and its whole memory, read by its own uid,
# holds no secret.
dumpable_clean() {
        local what=$1 pid=$2
        dumpable "$what" "$pid"
        if scan_as nobody "$pid" && [ "$(read_bytes)" -gt 0 ]; then
                ok "$what: a process of its own uid reads its memory ($(read_bytes) bytes)"
                expect_eq "$(found)" 0 "$what: ... and finds no secret there"
        else fail "$what: its own uid cannot read its memory"; sed 's/^/#   /' "$T/scan.err"; fi
}
child_of() { pgrep -P "$1" | head -1; }
has_child() { [ -n "$(child_of "$1")" ]; }
daemon_of() { pgrep -P "$1" -x echo-daemon; } # supervise mode: its child that is the daemon
runs() { [ "$(basename "$(readlink "/proc/$1/exe")")" = "$2" ]; } # PID PROGRAM
stop() { kill "$1" 2>/dev/null || true; wait_exit "$1" 2>/dev/null || true; }

# --- control: a plain process of the same user that read the secret and
# freed it without a wipe (tests/helpers/unwiped-secret.c)
check "control: the plain process has read the key" \
        unwiped_start "$U/plain.ready" "${AS_NOBODY[@]}" "$NB_UNWIPED" "$U/k.key" "$U/plain.ready"
plain=$UNWIPED_PID
expect_eq "$(mem_owner "$plain")" nobody "control: a plain process is dumpable"
check "control: nobody reads the memory of a plain process of its own" scan_as nobody "$plain"
check "control: ... and finds the secret there ($(cat "$T/scan.out"))" test "$(found)" -ge 1
stop "$plain"

# --- accept mode: for life; the per-connection child is dumpable
start_bg "$NS" "${AS_NOBODY[@]}" $NB_WRAP "$NB_ACTIVATE" --config "$(conf acc $'Accept = yes\nInetd = yes' /bin/cat)"
pid=$BG_PID
check "accept: listening" wait_for 200 listening "$NS" 2900
holds_unreadable "accept-mode activator" "$pid"
hold conn "$NS" "$T/client.key" 127.0.0.1 127.0.0.1 2900
check "accept: a signed connection has its child" wait_for 200 has_child "$pid"
child=$(child_of "$pid")
check "accept: the child runs cat" wait_for 200 runs "$child" cat
dumpable_clean "accept mode's per-connection child" "$child"
holds_unreadable "accept-mode activator, while serving" "$pid" no-control
release conn
stop "$pid"

# --- on-demand: until the first connection; then it is the daemon
start_bg "$NS" "${AS_NOBODY[@]}" $NB_WRAP "$NB_ACTIVATE" --config "$(conf od 'OnDemand = yes' "$NB_ECHO_DAEMON $U/od.report")"
pid=$BG_PID
check "on-demand: listening" wait_for 200 listening "$NS" 2900
holds_unreadable "on-demand activator, waiting" "$pid"
check "on-demand: a signed client starts the daemon and is served" echo_ok "$NS" "$T/client.key" 127.0.0.1 2900
check "on-demand: the daemon is up" wait_for 200 test -s "$U/od.report"
dumpable_clean "on-demand: the daemon (same pid)" "$pid"
stop "$pid"

# --- supervise mode: for life; the daemon is its child
start_bg "$NS" "${AS_NOBODY[@]}" $NB_WRAP "$NB_ACTIVATE" --supervise --config "$(conf sv '' "$NB_ECHO_DAEMON $U/sv.report")"
pid=$BG_PID
check "supervise: the daemon is up" wait_for 200 test -s "$U/sv.report"
holds_unreadable "supervisor" "$pid"
dumpable "supervise mode's daemon" "$(daemon_of "$pid")"
check "supervise: a signed client is served" echo_ok "$NS" "$T/client.key" 127.0.0.1 2900
stop "$pid"

# --- exec mode: the activator is the daemon at once, dumpable again
start_bg "$NS" "${AS_NOBODY[@]}" $NB_WRAP "$NB_ACTIVATE" --config "$(conf ex '' "$NB_ECHO_DAEMON $U/ex.report")"
pid=$BG_PID
check "exec: the daemon is up" wait_for 200 test -s "$U/ex.report"
dumpable "exec mode: the daemon (same pid)" "$pid"
stop "$pid"
finish
