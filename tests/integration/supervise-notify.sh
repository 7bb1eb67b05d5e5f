#!/bin/bash
# sd_notify in supervise mode, on a notify socket the test owns:
# READY=1, then RELOADING=1 with MONOTONIC_USEC= and READY=1 again on
# SIGHUP, STOPPING=1 on SIGTERM. The daemon does not get NOTIFY_SOCKET.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/k.key" k-secret
cat > "$T/svc.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:2222
ListenStream = 2223
[Service]
ExecStart = $ECHO_DAEMON $T/report
[Key k]
Peer = 127.0.0.1
SecretFile = $T/k.key
CONF
chmod 644 "$T/svc.conf"

# Receiver: one line per datagram (newlines as '|'), with our monotonic
# clock at arrival, until 30 s pass quietly.
python3 - "$T/notify.sock" "$T/notify.log" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
with open(sys.argv[2], "w", buffering=1) as f:
    while True:
        try:
            m = s.recv(4096).decode()
        except socket.timeout:
            break
        f.write("%d %s\n" % (time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6, m.replace("\n", "|")))
PY
PIDS+=($!)
check "notify socket ready" wait_for 100 test -S "$T/notify.sock"

lines() { test "$(wc -l < "$T/notify.log")" -ge "$1"; }
start_bg "$NS" env NOTIFY_SOCKET="$T/notify.sock" $WRAP "$ACTIVATE" --supervise --config "$T/svc.conf"
sup=$BG_PID
check "first message" wait_for 100 lines 1
check "the daemon is up" wait_for 100 test -s "$T/report"
msg() { sed -n "${1}p" "$T/notify.log" | cut -d' ' -f2-; }
# 5 keys: 127.0.0.1:2222 has k and the IPv4 catch-all; [::]:2223 also the IPv6 one.
expect_eq "$(msg 1)" "READY=1|STATUS=2 listeners, 5 keys installed" "READY=1 with listener and key counts"
daemon=$(sed -n 's/^pid=//p' "$T/report")
expect_eq "$(tr '\0' '\n' < /proc/$daemon/environ | grep -c '^NOTIFY_SOCKET=' || true)" 0 \
        "the daemon does not get NOTIFY_SOCKET (the supervisor is the main process)"

kill -HUP "$sup"
check "two more messages after SIGHUP" wait_for 100 lines 3
expect_eq "$(msg 2 | sed 's/MONOTONIC_USEC=[0-9]*/MONOTONIC_USEC=N/')" \
        "RELOADING=1|STATUS=reloading keys|MONOTONIC_USEC=N" "then RELOADING=1 with MONOTONIC_USEC="
at=$(sed -n 2p "$T/notify.log" | cut -d' ' -f1)
usec=$(msg 2 | sed -n 's/.*MONOTONIC_USEC=\([0-9]*\).*/\1/p')
check "MONOTONIC_USEC is CLOCK_MONOTONIC now (within 2 s of arrival)" \
        test "$(( at > usec ? at - usec : usec - at ))" -lt 2000000
expect_eq "$(msg 3)" "READY=1|STATUS=2 listeners, 5 keys installed" "then READY=1 again"

# A failed reload still ends in READY=1, saying so.
printf '\n' > "$T/k.key"
kill -HUP "$sup"
check "two more after a failed reload" wait_for 100 lines 5
expect_eq "$(msg 4 | cut -d'|' -f1)" "RELOADING=1" "RELOADING=1"
expect_eq "$(msg 5)" "READY=1|STATUS=2 listeners, 5 keys installed; last reload failed, old keys kept" \
        "READY=1, with the failure in STATUS="

kill -TERM "$sup"
rc=0; wait_exit "$sup" || rc=$?
expect_eq "$rc" 143 "exit after SIGTERM"
expect_eq "$(msg 6)" "STOPPING=1" "STOPPING=1 on SIGTERM"
finish
