#!/bin/bash
# --status against live activators: in sync after start, after a reload
# (new prefixes shown), after a failed reload (the old keys, and the config
# that does not load), and with keys changed behind the activator's back
# (taken over with pidfd_getfd): drift shows. No secret byte in any output.
# --fingerprint equals what --check (with the credential) and
# tcpmd5-connect -v print. Supervise mode names a port the daemon opens
# itself, unkeyed (log, STATUS=, --status); accept mode counts
# connections per source. Without CAP_NET_ADMIN: exit 77, not "no keys".
. "$(dirname "$0")/../lib.sh"
KEYSWAP=$BUILD/tests/key-swap

netns_new "$NS"
key "$T/office.key" office-secret-1
key "$T/partner.key" partner-secret-2
SECRETS="office-secret-1 partner-secret-2 behind-your-back-3 office-rotated-4"

svc_conf() {
        write_conf "$T/svc.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:2223
ListenStream = 2222

[Service]
ExecStart = $ECHO_DAEMON $T/report ${1:-}

[Key office]
Peer = 127.0.0.0/8
Peer = ::1
SecretFile = $T/office.key
${2:-}
CONF
}
partner="[Key partner]
Peer = 192.0.2.0/24
SecretFile = $T/partner.key"
status() { in_ns "$NS" "$ACTIVATE" --status "$@"; }
# status_rc WANT WHAT [ARGS]: --status's exit code; its output in $T/status.N
N=0
status_rc() {
        local want=$1 what=$2; shift 2
        N=$((N + 1))
        expect_rc "$want" "$what" status "$@"
        cp "$T/last.out" "$T/status.$N"
}
line_of() { grep -F -- "$1" "$T/last.out" | grep -qF -- "$2"; } # a line holding both

fp_office=$("$ACTIVATE" --fingerprint "$T/office.key")
fp_partner=$("$ACTIVATE" --fingerprint "$T/partner.key")
check "--fingerprint prints 16 hex digits" grep -qxE '[0-9a-f]{16}' <<<"$fp_office"

# The credential: --check under systemd ($CREDENTIALS_DIRECTORY) prints
# what --fingerprint prints for the file LoadCredential= names.
mkdir -m 700 "$T/creds" && cp "$T/office.key" "$T/creds/office"
write_conf "$T/cred.conf" "[Socket]" "ListenStream = 2224" "[Service]" "ExecStart = /bin/true" \
        "[Key office]" "Peer = 127.0.0.0/8" "Credential = office"
expect_rc 0 "--check outside systemd" "$ACTIVATE" --check --config "$T/cred.conf"
check "--check: nothing on stderr" test ! -s "$T/last.err"
check "--check outside systemd says how to print the credential's fingerprint" \
        grep -q 'supplied by systemd at start (not checked here; tcpmd5-activate --fingerprint FILE prints its fingerprint)' "$T/last.out"
expect_rc 0 "--check with CREDENTIALS_DIRECTORY" env CREDENTIALS_DIRECTORY="$T/creds" "$ACTIVATE" --check --config "$T/cred.conf"
check "--check under systemd prints the fingerprint --fingerprint prints" grep -q "fingerprint $fp_office)" "$T/last.out"
in_ns "$NS" "$CONNECT" -v -t 1 -k "$T/office.key" 127.0.0.1 9 </dev/null 2> "$T/connect.err" || true
check "tcpmd5-connect -v prints the same fingerprint" grep -q "fingerprint $fp_office" "$T/connect.err"
expect_rc 78 "--fingerprint of a missing file" "$ACTIVATE" --fingerprint "$T/nothing.key"
expect_rc 64 "--fingerprint takes no config" "$ACTIVATE" --fingerprint "$T/office.key" --config "$T/svc.conf"
expect_rc 64 "--status takes no command" "$ACTIVATE" --status --config "$T/svc.conf" -- /bin/true

# ---- supervise mode: in sync, reload, failed reload, drift ----
svc_conf "" ""
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --config "$T/svc.conf"
sup=$BG_PID
check "listeners come up" wait_for 200 test -s "$T/report"
daemon=$(sed -n 's/^pid=//p' "$T/report")
status_rc 0 "after start: --status exits 0" --config "$T/svc.conf"
check "after start: 127.0.0.1:2223 in sync" grep -q '^listen 127.0.0.1:2223, socket [0-9]*: in sync$' "$T/last.out"
check "after start: [::]:2222 in sync" grep -q '^listen \[::\]:2222 (dual-stack), socket [0-9]*: in sync$' "$T/last.out"
check "the office prefix, named, with --fingerprint's fingerprint" \
        line_of "127.0.0.0/8 " "[Key office]         fingerprint $fp_office in sync"
check "its IPv6 prefix too" line_of "::1/128 " "[Key office]         fingerprint $fp_office in sync"
check "the catch-alls shown as such, not as drift" \
        test "$(grep -cE '^  (0\.0\.0\.0|::)/0 +catch-all +fingerprint [0-9a-f]{16} catch-all$' "$T/last.out")" = 3
check "the kernel's counters" grep -qE '^kernel counters( TcpExtTCPMD5(NotFound|Failure|Unexpected)=[0-9]+){3}$' "$T/last.out"
status_rc 0 "without a config: every keyed listener"
check "without a config: keys shown unnamed, with fingerprints" line_of "127.0.0.0/8 " "-                    fingerprint $fp_office"

# The counters move: an unsigned SYN at the keyed port is TCPMD5NotFound.
nf() { sed -n 's/.*TcpExtTCPMD5NotFound=\([0-9]*\).*/\1/p' "$T/status.$1"; }
before=$N
check "control: an unsigned client is dropped" echo_dropped "$NS" "" 127.0.0.1 2222
status_rc 0 "after an unsigned attempt" --config "$T/svc.conf"
check "TcpExtTCPMD5NotFound moved" test "$(nf $N)" -gt "$(nf $before)"

# Reload: a new key and prefix; the office key rotated.
key "$T/office.key" office-rotated-4
fp_rotated=$("$ACTIVATE" --fingerprint "$T/office.key")
svc_conf "" "$partner"
kill -HUP "$sup"
check "reload done" wait_for 200 grep -q 'reloaded:' "$T/bg.err"
status_rc 0 "after the reload: in sync" --config "$T/svc.conf"
check "after the reload: the new prefix, named" line_of "192.0.2.0/24 " "[Key partner]        fingerprint $fp_partner in sync"
check "after the reload: the rotated office key" line_of "127.0.0.0/8 " "fingerprint $fp_rotated in sync"
check "after the reload: the old office fingerprint is gone" bash -c "! grep -q $fp_office $T/last.out"

# A failed reload: the config on disk does not load. The view compares with
# the disk (what a reload would install); it cannot, says so, and shows the
# kernel's keys: still the last good ones.
printf 'Bogus = line\n' >> "$T/svc.conf"
kill -HUP "$sup"
check "the reload failed" wait_for 200 grep -q 'the old keys stay' "$T/bg.err"
status_rc 78 "after a failed reload: the config's exit code" --config "$T/svc.conf"
expect_stderr 'svc.conf:[0-9]+: ' "the config error is named with file:line"
check "it says the running keys stay" grep -q 'a reload would fail and keep the keys below' "$T/last.out"
check "the kernel still holds the last good keys" line_of "192.0.2.0/24 " "fingerprint $fp_partner"
svc_conf "" "$partner"
status_rc 0 "the config fixed: in sync again (nothing was changed by the failed reload)" --config "$T/svc.conf"

# A reload the kernel refuses (optmem): the config on disk is valid, the
# kernel keeps the keys in force. The view shows the difference: the
# prefixes the reload would have added are MISSING, the rest in sync.
many="[Key many]
SecretFile = $T/partner.key"
for i in $(seq 1 40); do many+=$'\n'"Peer = 2001:db8:$i::/48"; done
svc_conf "" "$partner
$many"
in_ns "$NS" sysctl -qw net.core.optmem_max=2048
kill -HUP "$sup"
check "the kernel refused the reload" wait_for 300 grep -q "raise net.core.optmem_max" "$T/bg.err"
in_ns "$NS" sysctl -qw net.core.optmem_max=131072
status_rc 1 "after a refused reload: --status exits 1" --config "$T/svc.conf"
expect_eq "$(grep -c '^  2001:db8:[0-9]*::/48 .*\[Key many\] .* MISSING$' "$T/last.out")" 40 \
        "the 40 prefixes the reload would have added are MISSING"
check "the keys in force are in sync" line_of "192.0.2.0/24 " "fingerprint $fp_partner in sync"
check "the IPv4-only listener, which got no new prefix, is in sync" \
        grep -q '^listen 127.0.0.1:2223, socket [0-9]*: in sync$' "$T/last.out"
svc_conf "" "$partner"
status_rc 0 "the config as in force again: in sync" --config "$T/svc.conf"

# Behind the activator's back: the daemon's fd 3 is 127.0.0.1:2223.
expect_eq "$(sed -n 's/^fd3=.*listening=//p' "$T/report")" 1 "fd 3 of the daemon is a listener"
in_ns "$NS" "$KEYSWAP" "$daemon" 3 127.0.0.0/8 behind-your-back-3 &&
in_ns "$NS" "$KEYSWAP" "$daemon" 3 10.0.0.0/8 behind-your-back-3 &&
in_ns "$NS" "$KEYSWAP" "$daemon" 4 ::1/128 -d
check "keys changed with pidfd_getfd" test $? = 0
key "$T/swapped.key" behind-your-back-3
fp_swapped=$("$ACTIVATE" --fingerprint "$T/swapped.key")
status_rc 1 "drift: --status exits 1" --config "$T/svc.conf"
check "127.0.0.1:2223: 2 prefixes differ" grep -q '^listen 127.0.0.1:2223, socket [0-9]*: 2 prefixes differ$' "$T/last.out"
check "a changed key: OTHER KEY, with the kernel's fingerprint" \
        bash -c "grep -A4 '^listen 127.0.0.1:2223' $T/last.out | grep -F '127.0.0.0/8 ' | grep -qF 'fingerprint $fp_swapped OTHER KEY'"
check "an added prefix: EXTRA" line_of "10.0.0.0/8 " "fingerprint $fp_swapped EXTRA"
check "[::]:2222: 1 prefix differs" grep -q '^listen \[::\]:2222 (dual-stack), socket [0-9]*: 1 prefix differs$' "$T/last.out"
check "a deleted key: MISSING, named" line_of "::1/128 " "[Key office]         fingerprint $fp_rotated MISSING"
check "control: the drifted prefix really lets the other key in" echo_ok "$NS" "$T/swapped.key" 127.0.0.1 2223
kill -HUP "$sup"
reloads_are() { test "$(grep -c 'reloaded:' "$T/bg.err")" = "$1"; }
check "a reload" wait_for 400 reloads_are 2
status_rc 1 "a reload mends only what it changes: the drift stays visible" --config "$T/svc.conf"

# Without CAP_NET_ADMIN the kernel leaves the keys out: not "no keys".
expect_rc 77 "without CAP_NET_ADMIN: exit 77" in_ns "$NS" setpriv --inh-caps=-all --bounding-set=-net_admin \
        "$ACTIVATE" --status --config "$T/svc.conf"
expect_stderr 'cannot read the keys the kernel holds without CAP_NET_ADMIN' "and it says why"
check "and it prints no keys" test ! -s "$T/last.out"
kill "$sup"
wait_exit "$sup" || true

# ---- a daemon that also listens on a port of its own, unkeyed ----
receiver() {
        python3 - "$T/notify.sock" "$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "w", buffering=1) as f:
    while True:
        try:
            m = s.recv(4096).decode()
        except socket.timeout:
            break
        f.write(m.replace("\n", "|") + "\n")
PY
        PIDS+=($!)
        check "notify socket ready" wait_for 100 test -S "$T/notify.sock"
}
receiver
rm -f "$T/report"
svc_conf "--also-listen=2299" ""
start_bg "$NS" env NOTIFY_SOCKET="$T/notify.sock" $WRAP "$ACTIVATE" --supervise --config "$T/svc.conf"
sup=$BG_PID
check "listeners come up" wait_for 200 test -s "$T/report"
daemon=$(sed -n 's/^pid=//p' "$T/report")
check "control: the daemon's own port 2299 takes an unsigned client" echo_ok "$NS" "" 127.0.0.1 2299
check "control: the handed-over port does not" echo_dropped "$NS" "" 127.0.0.1 2222
warning="port 127.0.0.1:2299 (pid $daemon echo-daemon) is not protected: configure the daemon to use the inherited socket, or add ListenStream="
check "the supervisor warns about it (a second after start)" wait_for 200 grep -qF -- "$warning" "$T/bg.err"
check "in STATUS=" wait_for 100 grep -qF "not protected: 127.0.0.1:2299 (pid $daemon echo-daemon)" "$T/notify.log"
check "only that port: the handed-over ones are not named" bash -c "! grep -E 'port .*:(2222|2223) ' $T/bg.err"
status_rc 1 "--status: exit 1 for an unprotected port" --config "$T/svc.conf"
check "--status names it" grep -qxF "unprotected 127.0.0.1:2299 (pid $daemon echo-daemon): not protected: configure the daemon to use the inherited socket, or add ListenStream=" "$T/last.out"
check "the listeners themselves are in sync" test "$(grep -c ': in sync$' "$T/last.out")" = 2
kill -HUP "$sup"
check "a reload" wait_for 200 grep -q 'reloaded:' "$T/bg.err"
sleep 1.5
check "after the reload it looks again, and warns once per port" test "$(grep -cF -- "$warning" "$T/bg.err")" = 1
check "STATUS= still names it after the reload" bash -c "tail -1 $T/notify.log | grep -qF 'not protected: 127.0.0.1:2299'"
kill "$sup"
wait_exit "$sup" || true

# ---- accept mode: connections per source ----
write_conf "$T/acc.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:2230
Accept = yes
Inetd = yes

[Service]
ExecStart = /bin/cat

[Key office]
Peer = 127.0.0.0/8
SecretFile = $T/office.key
CONF
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/acc.conf"
acc=$BG_PID
check "accept listener up" wait_for 200 listening "$NS" 2230
hold a "$NS" "$T/office.key" 127.0.0.2 127.0.0.1 2230
hold b "$NS" "$T/office.key" 127.0.0.2 127.0.0.1 2230
hold c "$NS" "$T/office.key" 127.0.0.3 127.0.0.1 2230
established() { test "$(in_ns "$NS" ss -Htn state established "sport = :2230" | wc -l)" = 3; }
check "three connections held" wait_for 400 established
status_rc 0 "accept mode: in sync" --config "$T/acc.conf"
check "2 connections from 127.0.0.2" grep -qx '  connections from 127.0.0.2/32: 2' "$T/last.out"
check "1 connection from 127.0.0.3" grep -qx '  connections from 127.0.0.3/32: 1' "$T/last.out"
check "3 in all" grep -qx '  connections: 3' "$T/last.out"
release a; release b; release c
kill "$acc"
wait_exit "$acc" || true

# A key set too large for one sock_diag dump message (32 kB: about 300
# keys), which the kernel's dump leaves out: asked for alone, it is shown.
in_ns "$NS" sysctl -qw net.core.optmem_max=1048576
{ printf '[Socket]\nListenStream = 127.0.0.1:2250\n[Service]\nExecStart = /bin/sleep 60\n'
  printf '[Key office]\nSecretFile = %s\n' "$T/office.key"
  for i in $(seq 1 600); do echo "Peer = 10.$((i / 250)).$((i % 250)).0/24"; done; } > "$T/big.conf"
chmod 600 "$T/big.conf"
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/big.conf"
big=$BG_PID
check "600 keys: listening" wait_for 400 listening "$NS" 2250
# What one dump gives on this kernel (6.18: nothing; ss -e shows no socket).
echo "# ss -tlnie, one dump, shows $(in_ns "$NS" ss -Htlnie "sport = :2250" | wc -l) socket(s) on port 2250"
status_rc 0 "600 keys: in sync" --config "$T/big.conf"
expect_eq "$(grep -c "\[Key office\] .* fingerprint $fp_rotated in sync$" "$T/last.out")" 600 "600 keys: each prefix in sync"
kill "$big"
wait_exit "$big" || true

# No secret byte in anything --status, --check or --fingerprint printed.
leaks=0
for s in $SECRETS; do
        for f in "$T"/status.* "$T/last.out" "$T/last.err" "$T/bg.err" "$T/notify.log"; do
                ! grep -qF -- "$s" "$f" || { leaks=1; echo "# $s in $f"; }
        done
        ! grep -qF -- "$(printf %s "$s" | xxd -p)" "$T"/status.* || { leaks=1; echo "# $s in hex"; }
done
expect_eq "$leaks" 0 "no secret (raw or hex) in any --status output ($N runs)"
finish
