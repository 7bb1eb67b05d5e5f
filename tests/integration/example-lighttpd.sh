#!/bin/bash
# examples/lighttpd as its README says (Peer= and paths changed; lighttpd
# stays root, as $T is root's only): signed clients get the page over IPv4
# and IPv6, unsigned and wrong-key clients are dropped, lighttpd opens no
# port of its own, a reload passes SIGHUP on to it and it keeps serving.
# Then without -D: lighttpd forks into the background, and the activator
# follows the forked process instead of exiting.
. "$(dirname "$0")/../lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
EX=$SRC/examples/lighttpd
LIGHTTPD=$(sed -n 's/^ExecStart = \([^ ]*\).*/\1/p' "$EX/lighttpd.conf")
[ -x "$LIGHTTPD" ] || skip_all "$LIGHTTPD not installed (tools/install-deps)"

netns_new "$NS"
mkdir -m 755 "$T/www" && echo "hello from lighttpd" > "$T/www/index.html"
key "$T/lighttpd.key" office-secret
key "$T/wrong.key" wrong-secret
sed -e 's|^Peer = 192.0.2.0/24|Peer = 127.0.0.0/8|; s|^Peer = 2001:db8:100::/48|Peer = ::1|' \
    -e "s|/etc/tcpmd5-activate/keys/|$T/|; s|/etc/lighttpd/tcpmd5.conf|$T/tcpmd5.conf|" \
    "$EX/lighttpd.conf" > "$T/lighttpd.conf"
chmod 644 "$T/lighttpd.conf"
sed -e "s|/var/www/html|$T/www|" -e '/^server\.\(user\|group\)name/d' "$EX/tcpmd5.conf" > "$T/tcpmd5.conf"

get() { # KEY ADDR: the body of a signed GET /
        printf 'GET / HTTP/1.0\r\nHost: x\r\n\r\n' |
                ip netns exec "$NS" timeout 20 "$CONNECT" --key-file "$1" "$2" 8080 | sed '1,/^\r$/d'
}
served() { [ "$(get "$1" "$2")" = "hello from lighttpd" ]; }
refused() { echo_dropped "$NS" "" 127.0.0.1 8080 && echo_dropped "$NS" "$T/wrong.key" 127.0.0.1 8080; }
# Every listening socket in the namespace: only the keyed one, on 8080.
only_our_port() { [ "$(ip netns exec "$NS" ss -Htln | awk '{ print $4 }' | sort -u)" = "*:8080" ]; }

start_bg "$NS" $WRAP "$ACTIVATE" --supervise --config "$T/lighttpd.conf"
sup=$BG_PID
check "lighttpd listens on 8080" wait_for 400 listening "$NS" 8080
check "a signed client gets the page (IPv4)" wait_for 100 served "$T/lighttpd.key" 127.0.0.1
check "a signed client gets the page (IPv6)" served "$T/lighttpd.key" ::1
check "unsigned and wrong-key clients are dropped" refused
check "lighttpd listens on no port of its own" only_our_port
check "lighttpd holds the inherited socket" \
        bash -c "ip netns exec $NS ss -Htlnp 'sport = :8080' | grep -q lighttpd"
kill -HUP "$sup"
check "a reload passes SIGHUP on: lighttpd handles it" \
        wait_for 200 grep -q "reload: SIGHUP passed to [0-9]* (it handles SIGHUP)" "$T/bg.err"
check "lighttpd still serves after the reload" wait_for 100 served "$T/lighttpd.key" 127.0.0.1
kill -TERM "$sup"
rc=0; wait_exit "$sup" || rc=$?
expect_eq "$rc" 0 "SIGTERM stops lighttpd, whose 0 is passed on"

# Without -D, as a user might forget it.
sed -i 's| -D | |' "$T/lighttpd.conf"
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --config "$T/lighttpd.conf"
sup=$BG_PID
check "without -D: lighttpd goes into the background, and the activator follows it" \
        wait_for 400 grep -q "went into the background: [0-9]* holds the listening sockets" "$T/bg.err"
check "without -D: the activator stays" kill -0 "$sup"
check "without -D: a signed client gets the page" wait_for 100 served "$T/lighttpd.key" 127.0.0.1
check "without -D: unsigned and wrong-key clients are dropped" refused
forked=$(sed -n 's/.*went into the background: \([0-9]*\) holds.*/\1/p' "$T/bg.err")
check "without -D: the forked lighttpd holds the socket" \
        bash -c "ip netns exec $NS ss -Htlnp 'sport = :8080' | grep -q 'pid=$forked,'"
kill -HUP "$sup"
check "without -D: a reload's SIGHUP goes to the forked lighttpd" \
        wait_for 200 grep -q "reload: SIGHUP passed to $forked (it handles SIGHUP)" "$T/bg.err"
kill -TERM "$sup"
rc=0; wait_exit "$sup" || rc=$?
expect_eq "$rc" 0 "without -D: SIGTERM reaches the forked lighttpd; its 0 is passed on"
check "nothing listens afterwards" bash -c "! ip netns exec $NS ss -Htln | grep -q ."
finish
