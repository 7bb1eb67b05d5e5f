#!/bin/bash
# Exec mode under fault injection: every socket, bind, listen, setsockopt
# and execve call fails in turn, and each time the activator must exit with
# the right code and a message naming the step, leaving nothing open or
# listening and the command not started.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault.sh"

netns_new "$NS"
key "$T/office.key" office-secret-0123
key "$T/lab.key" lab-secret-4567
FAULT_SECRETS=(office-secret-0123 lab-secret-4567 hex-secret-89ab 6865782d7365637265742d38396162)
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

[Key hex]
Peer = 10.0.0.0/8
SecretHex = 6865782d7365637265742d38396162
CONF
FAULT_CMD=("$ACTIVATE" --config "$T/svc.conf")
FAULT_MARKER=$T/started

fault_count || finish
expect_eq "${FAULT_COUNT[socket]}" 2 "one socket per listener"
expect_eq "${FAULT_COUNT[execve]}" 1 "one execve"
expect_eq "${FAULT_COUNT[fork]}" 0 "exec mode never forks"

fault_sweep socket EAFNOSUPPORT 71
fault_sweep socket EMFILE 71
fault_sweep setsockopt ENOMEM 71 10
fault_sweep setsockopt EPERM 77 10
fault_sweep bind EADDRINUSE 71
fault_sweep bind EACCES 77
fault_sweep listen EADDRINUSE 71
fault_sweep execve ENOENT 127
fault_sweep execve EACCES 126
fault_sweep execve ENOEXEC 126
fault_sweep execve E2BIG 71

# A kernel without CONFIG_TCP_MD5SIG refuses the first key (after
# SO_REUSEADDR and IPV6_V6ONLY) with ENOPROTOOPT: exit 69, and it says so.
fault_run FAULT_FUNC=setsockopt FAULT_AT=3 FAULT_ERRNO=ENOPROTOOPT
fault_check_exit setsockopt 3 "${FAULT_COUNT[setsockopt]}" ENOPROTOOPT 69
finish
