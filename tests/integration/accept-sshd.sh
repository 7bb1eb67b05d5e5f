#!/bin/bash
# Real OpenSSH end to end: upstream sshd has no LISTEN_FDS support, so it
# runs as "sshd -i", once per connection, from Accept=yes + Inetd=yes. The
# real ssh client reaches it only through tcpmd5-connect as ProxyCommand.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/k.key" ssh-md5-secret
key "$T/wrong.key" not-the-secret
sshd_setup
expect_rc 0 "sshd accepts the test config" $SSHD -t -f "$T/sshd_config"
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
pid=$BG_PID
log=$T/bg.err # the activator's stderr, where sshd -e logs too
check "activator listens on 2222" wait_for 100 listening "$NS" 2222

# ssh HOST PROXYCOMMAND REMOTE-COMMAND: output in $T/last.out, exit status returned.
ssh_via() {
        local rc=0
        ip netns exec "$NS" timeout 30 ssh -F /dev/null -i "$T/user_key" -o IdentitiesOnly=yes \
                -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null \
                -o BatchMode=yes -o ConnectTimeout=5 -o LogLevel=ERROR -o ProxyCommand="$2" \
                -p 2222 root@"$1" "$3" > "$T/last.out" 2> "$T/last.err" || rc=$?
        return $rc
}
sessions() { grep -c 'Connection from' "$log" || true; }

rc=0; ssh_via 127.0.0.1 "$CONNECT -k $T/k.key %h %p" 'echo remote-ok; echo $SSH_CONNECTION' || rc=$?
expect_eq "$rc" 0 "ssh through tcpmd5-connect as ProxyCommand runs a remote command (IPv4)"
expect_eq "$(head -1 "$T/last.out")" remote-ok "the remote command's output comes back"
expect_eq "$(sed -n 2p "$T/last.out" | awk '{ print $1, $3, $4 }')" "127.0.0.1 127.0.0.1 2222" \
        "sshd -i sees the real peer and local address on its stdin socket"
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/last.err" "$log" | tail -20
rc=0; ssh_via ::1 "$CONNECT -k $T/k.key %h %p" 'echo remote-ok' || rc=$?
expect_eq "$rc/$(cat "$T/last.out")" 0/remote-ok "ssh over IPv6 too"
n=$(sessions)
expect_eq "$n" 2 "one sshd per connection, logging to the activator's stderr"

start=$(date +%s)
rc=0; ssh_via 127.0.0.1 "$CONNECT -t 1 %h %p" true || rc=$?
expect_eq "$rc" 255 "without the key ssh cannot connect"
rc=0; ssh_via 127.0.0.1 "$CONNECT -t 1 -k $T/wrong.key %h %p" true || rc=$?
expect_eq "$rc" 255 "with a wrong key ssh cannot connect"
rc=0; ip netns exec "$NS" timeout 30 ssh -F /dev/null -o BatchMode=yes -o ConnectTimeout=1 -p 2222 root@127.0.0.1 true \
        > /dev/null 2>&1 || rc=$?
expect_eq "$rc" 255 "plain ssh without a ProxyCommand cannot connect either"
elapsed=$(($(date +%s) - start))
check "the refusals took no longer than their short timeouts (${elapsed}s)" test "$elapsed" -le 10
expect_eq "$(sessions)" "$n" "no sshd was started for the unsigned attempts"
check "no sshd is left running" wait_for 100 children_are "$pid" 0
finish
