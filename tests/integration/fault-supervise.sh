#!/bin/bash
# Supervise mode under fault injection: every socket, bind, listen and
# setsockopt call of start-up fails in turn (in the child, which reads the
# config and opens the listeners before it becomes the daemon), then the
# fork of that child, then its dup2 of each listener to fd 3.., then its
# execve. Each time the supervisor must exit with the right code (the
# child's 71/127/126 passed through for a failed dup2 or execve), name the
# step, leave nothing open or listening, and the daemon never runs.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault.sh"

netns_new "$NS"
key "$T/office.key" office-secret-0123
key "$T/lab.key" lab-secret-4567
FAULT_SECRETS=(office-secret-0123 lab-secret-4567)
write_conf "$T/svc.conf" <<CONF
[Socket]
ListenStream = 2222
ListenStream = 127.0.0.1:2223
BindIPv6Only = both

[Service]
ExecStart = $ECHO_DAEMON $T/started

[Key office]
Peer = 127.0.0.0/8
Peer = ::1
SecretFile = $T/office.key

[Key lab]
Peer = 127.0.0.7/32
SecretFile = $T/lab.key
CONF
FAULT_CMD=("$ACTIVATE" --supervise --config "$T/svc.conf")
FAULT_MARKER=$T/started

fault_count || finish
expect_eq "${FAULT_COUNT[socket]}" 2 "one socket per listener"
expect_eq "${FAULT_COUNT[fork]}" 1 "one fork: the daemon, which reads the config and opens the listeners first"
expect_eq "${FAULT_COUNT[execve]}" 1 "one execve, in the child"
expect_eq "${FAULT_COUNT[dup2]}" 2 "one dup2 per listener, in the child"

fault_sweep socket EMFILE 71
fault_sweep setsockopt ENOMEM 71 8
fault_sweep setsockopt EPERM 77 8
fault_sweep bind EADDRINUSE 71
fault_sweep listen EADDRINUSE 71
# The fork of the daemon: nothing starts, nothing is read or opened.
fault_sweep fork EAGAIN 71
fault_sweep fork ENOMEM 71
# A step in the child fails: it says why and exits; the supervisor reaps it
# and leaves with its status, having closed the listeners.
fault_sweep dup2 EBADF 71 2
fault_sweep execve ENOENT 127
fault_sweep execve EACCES 126
fault_sweep execve ENOEXEC 126
fault_sweep execve E2BIG 71
finish
