#!/bin/bash
# Two client namespaces on two subnets, each with its own key: each gets in
# with its own key only, over IPv4 and IPv6. And the catch-all is what
# stops strangers: with UnmatchedPeers=allow-unsigned they get in.
. "$(dirname "$0")/../lib.sh"

S=${NS}s A=${NS}a B=${NS}b
for n in $S $A $B; do netns_new $n; done
link() { # CLIENT-NS IFNAME V4NET V6NET
        ip link add "$2s" netns $S type veth peer name "$2" netns "$1"
        ip -n $S addr add "$3.1/24" dev "$2s"; ip -n "$1" addr add "$3.2/24" dev "$2"
        ip -n $S addr add "$4::1/64" dev "$2s" nodad; ip -n "$1" addr add "$4::2/64" dev "$2" nodad
        ip -n $S link set "$2s" up; ip -n "$1" link set "$2" up
}
link $A va 192.0.2 2001:db8:a
link $B vb 198.51.100 2001:db8:b
key "$T/a.key" alpha-secret
key "$T/b.key" bravo-secret

write_conf "$T/two.conf" <<CONF
[Socket]
ListenStream = 6000
[Service]
ExecStart = $ECHO_DAEMON $T/report
[Key alpha]
Peer = 192.0.2.0/24
Peer = 2001:db8:a::/48
SecretFile = $T/a.key
[Key bravo]
Peer = 198.51.100.0/24
Peer = 2001:db8:b::/48
SecretFile = $T/b.key
CONF
serve() { # (re)start the activator in $S with two.conf
        [ -z "${BG_PID:-}" ] || { kill "$BG_PID"; wait_exit "$BG_PID" 2>/dev/null || true; }
        rm -f "$T/report"
        start_bg $S $WRAP "$ACTIVATE" --config "$T/two.conf"
        wait_for 300 test -s "$T/report" || fail "server did not start"
}
serve
check "A with its key over IPv4" echo_ok $A "$T/a.key" 192.0.2.1 6000
check "A with its key over IPv6" echo_ok $A "$T/a.key" 2001:db8:a::1 6000
check "B with its key over IPv4" echo_ok $B "$T/b.key" 198.51.100.1 6000
check "B with its key over IPv6" echo_ok $B "$T/b.key" 2001:db8:b::1 6000
check "A with B's key dropped (IPv4)" echo_dropped $A "$T/b.key" 192.0.2.1 6000
check "A with B's key dropped (IPv6)" echo_dropped $A "$T/b.key" 2001:db8:a::1 6000
check "B with A's key dropped (IPv4)" echo_dropped $B "$T/a.key" 198.51.100.1 6000
check "B with A's key dropped (IPv6)" echo_dropped $B "$T/a.key" 2001:db8:b::1 6000
check "A unsigned dropped" echo_dropped $A "" 192.0.2.1 6000
check "B unsigned dropped" echo_dropped $B "" 2001:db8:b::1 6000

# Only alpha configured: B is a stranger. Dropped by default, admitted unsigned
# with allow-unsigned, which shows the catch-all key is what keeps it out.
sed -i '/\[Key bravo\]/,$d' "$T/two.conf"
serve
check "stranger B dropped unsigned (IPv4)" echo_dropped $B "" 198.51.100.1 6000
check "stranger B dropped unsigned (IPv6)" echo_dropped $B "" 2001:db8:b::1 6000
check "A still gets in" echo_ok $A "$T/a.key" 192.0.2.1 6000
mkdir "$T/two.conf.d"
printf '[Socket]\nUnmatchedPeers = allow-unsigned\n' > "$T/two.conf.d/allow.conf"
serve
check "allow-unsigned: stranger B admitted unsigned (IPv4)" echo_ok $B "" 198.51.100.1 6000
check "allow-unsigned: stranger B admitted unsigned (IPv6)" echo_ok $B "" 2001:db8:b::1 6000
check "allow-unsigned: A still needs its key" echo_dropped $A "" 192.0.2.1 6000
finish
