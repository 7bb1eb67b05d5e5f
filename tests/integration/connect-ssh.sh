#!/bin/bash
# Real OpenSSH through tcpmd5-connect: ProxyUseFdpass (the socket handed to
# ssh, no process left), the relay's quiet end, an unsigned attempt that
# gets nothing, and the jump-host pattern. sshd runs as "sshd -i" behind
# tcpmd5-activate --accept --inetd, as in accept-sshd.sh.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/k.key" ssh-md5-secret
sshd_setup
write_conf "$T/ssh.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:2222
ListenStream = [::1]:2222
Accept = yes
Inetd = yes
MaxConnections = 8
[Service]
ExecStart = $SSHD -i -e -f $T/sshd_config
[Key ssh]
Peer = 127.0.0.0/8
Peer = ::1
SecretFile = $T/k.key
CONF
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/ssh.conf"
log=$T/bg.err # the activator's stderr, where sshd -e logs too
check "activator listens on 2222" wait_for 100 listening "$NS" 2222
sessions() { grep -c 'Connection from' "$log" || true; }

# The client side as a user would write it in ~/.ssh/config.
cat > "$T/ssh_config" <<CONF
Host fdpass
    HostName 127.0.0.1
    Port 2222
    ProxyUseFdpass yes
    ProxyCommand $CONNECT --fdpass --key-file $T/k.key -- %h %p
Host fdpass6
    HostName ::1
    Port 2222
    ProxyUseFdpass yes
    ProxyCommand $CONNECT --fdpass --key-file $T/k.key -- %h %p
Host relay
    HostName 127.0.0.1
    Port 2222
    ProxyCommand $CONNECT --key-file $T/k.key -- %h %p
Host unsigned
    HostName 127.0.0.1
    Port 2222
    ProxyUseFdpass yes
    ProxyCommand $CONNECT --fdpass -t 0.3 -- %h %p
# The jump-host pattern: "jump" is reached signed (fdpass); tcpmd5-connect
# runs there, with a key file there, and signs the last hop to "target".
Host jump
    HostName 127.0.0.1
    Port 2222
    ProxyUseFdpass yes
    ProxyCommand $CONNECT --fdpass --key-file $T/k.key -- %h %p
Host target
    HostName ::1
    Port 2222
    ProxyCommand ssh -F $T/ssh_config jump $CONNECT --key-file $T/k.key -- %h %p
    # two logins in a row on a busy test machine
    ConnectTimeout 30
Host *
    User root
    IdentityFile $T/user_key
    IdentitiesOnly yes
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    GlobalKnownHostsFile /dev/null
    BatchMode yes
    ConnectTimeout 5
CONF

# ssh_to HOST REMOTE-COMMAND: output in $T/last.out and .err, status returned.
ssh_to() {
        local rc=0
        in_ns "$NS" timeout 60 ssh -F "$T/ssh_config" "$1" "$2" > "$T/last.out" 2> "$T/last.err" || rc=$?
        return $rc
}
connect_lines() { grep -c '^tcpmd5-connect' "$T/last.err" || true; }

rc=0; ssh_to fdpass 'echo remote-ok; echo $SSH_CONNECTION' || rc=$?
expect_eq "$rc" 0 "ssh with ProxyUseFdpass and --fdpass runs a remote command"
expect_eq "$(head -1 "$T/last.out")" remote-ok "the remote command's output comes back"
expect_eq "$(sed -n 2p "$T/last.out" | awk '{ print $1, $3, $4 }')" "127.0.0.1 127.0.0.1 2222" \
        "sshd sees the client's own address: the socket is ssh's now"
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/last.err" "$log" | tail -20
rc=0; ssh_to fdpass6 'echo remote-ok' || rc=$?
expect_eq "$rc/$(cat "$T/last.out")" 0/remote-ok "--fdpass over IPv6 too"
expect_eq "$(connect_lines)" 0 "--fdpass: nothing from tcpmd5-connect on ssh's stderr"

# While a session is open: which processes of the namespace are
# tcpmd5-connect (the activator and sshd live there too).
connect_procs() {
        local p n=0 c
        for p in $(ip netns pids "$NS"); do
                c=$(cat "/proc/$p/comm" 2>/dev/null) || continue
                [ "$c" != tcpmd5-connect ] || n=$((n + 1))
        done
        echo "$n"
}
# open_session HOST: a session that runs until $T/hold is written to.
open_session() {
        rm -f "$T/hold" "$T/open.out"
        mkfifo "$T/hold"
        in_ns "$NS" timeout 30 ssh -F "$T/ssh_config" "$1" 'echo open; read x; echo closing' \
                < "$T/hold" > "$T/open.out" 2> "$T/open.err" &
        SESSION=$!
        PIDS+=("$SESSION")
        sleep 60 > "$T/hold" & # holds the fifo open until close_session
        HOLDER=$!
        PIDS+=("$HOLDER")
}
# Opened read-write, the fifo never blocks the writer, even when ssh is gone.
close_session() {
        echo bye 1<> "$T/hold"
        kill "$HOLDER" 2>/dev/null || true
        wait_exit "$SESSION" || true
}
signed_wire() { # the session's segments on the wire, checked by tcpdump -M
        in_ns "$NS" timeout 20 tcpdump -i lo -n -l -M ssh-md5-secret 'tcp port 2222' > "$T/wire.txt" 2> "$T/wire.err" &
        TCPDUMP=$!
        PIDS+=("$TCPDUMP")
        wait_for 300 grep -q 'listening on' "$T/wire.err"
}

check "tcpdump is listening" signed_wire
open_session fdpass
check "fdpass session is open" wait_for 300 grep -q open "$T/open.out"
expect_eq "$(connect_procs)" 0 "fdpass session open: no tcpmd5-connect process exists"
# ...and the ssh client has no child at all (a ProxyCommand would be one).
ssh_pids() {
        local p
        for p in $(ip netns pids "$NS"); do
                [ "$(cat "/proc/$p/comm" 2>/dev/null)" != ssh ] || echo "$p"
        done
}
ssh_pid=$(ssh_pids)
check "fdpass session: ssh (pid ${ssh_pid:-none}) has no child process" \
        test -n "$ssh_pid" -a -z "$(pgrep -P "${ssh_pid:-1}" || true)"
close_session
expect_eq "$(tail -1 "$T/open.out")" closing "fdpass session: ends normally"
client_fin() { grep -qE '\.[0-9]+ > 127\.0\.0\.1\.2222: Flags \[F' "$T/wire.txt"; }
check "the capture saw the session to its end (the client's FIN)" wait_for 300 client_fin
kill "$TCPDUMP" 2>/dev/null || true; wait_exit "$TCPDUMP" 2>/dev/null || true
n_client=$(grep -cE '\.[0-9]+ > 127\.0\.0\.1\.2222:' "$T/wire.txt" || true)
n_valid=$(grep -E '\.[0-9]+ > 127\.0\.0\.1\.2222:' "$T/wire.txt" | grep -c 'md5 valid' || true)
check "fdpass session: client segments captured ($n_client)" test "$n_client" -ge 10
expect_eq "$n_valid" "$n_client" "fdpass session: every client segment is signed (tcpdump: md5 valid)"
# Control: the relay keeps a process for the whole session.
open_session relay
check "relay session is open" wait_for 300 grep -q open "$T/open.out"
expect_eq "$(connect_procs)" 1 "control: a relay session keeps one tcpmd5-connect"
ssh_pid=$(ssh_pids)
check "control: there ssh (pid ${ssh_pid:-none}) has a child" test -n "$(pgrep -P "${ssh_pid:-1}" || true)"
close_session

# Sessions that end in every ordinary way leave nothing from the relay on
# ssh's stderr ("Connection to ... closed." is ssh's own).
quiet=0
ssh_to relay 'echo hi' || true
[ "$(connect_lines)" = 0 ] || { quiet=1; sed 's/^/#   /' "$T/last.err"; }
in_ns "$NS" timeout 30 script -qec "ssh -F $T/ssh_config -tt relay 'echo hi; exit 3'" /dev/null \
        < /dev/null > "$T/last.err" 2>&1 || true
[ "$(connect_lines)" = 0 ] || { quiet=1; sed 's/^/#   /' "$T/last.err"; }
expect_eq "$quiet" 0 "relay: nothing from tcpmd5-connect after ordinary ends (with and without a tty)"

n=$(sessions)
start=$(date +%s)
rc=0; ssh_to unsigned true || rc=$?
expect_eq "$rc" 255 "--fdpass without a key: ssh cannot connect"
expect_eq "$(sessions)" "$n" "no sshd was started for the unsigned attempt"
check "it gave up within its timeout ($(($(date +%s) - start)) s)" test $(($(date +%s) - start)) -le 10

# The jump host: ssh to jump (signed, fdpass), tcpmd5-connect there signs
# the hop to target. Here both are the same sshd; target is its ::1 side.
rc=0; ssh_to target 'echo $SSH_CONNECTION' || rc=$?
expect_eq "$rc" 0 "jump-host pattern: ssh target through jump"
expect_eq "$(awk '{ print $1, $3 }' "$T/last.out")" "::1 ::1" "jump-host pattern: target was reached over ::1 from jump"
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/last.err" | tail -10
check "no sshd is left running" wait_for 200 children_are "$BG_PID" 0
finish
