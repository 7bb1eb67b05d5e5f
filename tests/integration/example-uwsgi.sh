#!/bin/bash
# examples/uwsgi as its README says (Peer= and paths changed): signed
# clients served with their REMOTE_ADDR, unsigned and wrong-key clients
# dropped, a key rotation with SIGHUP passed on, and the stop. Then the
# README's reasons, each shown: without --protocol http the inherited
# socket does not speak HTTP; without --http-socket a reload kills uwsgi.
. "$(dirname "$0")/../lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
EX=$SRC/examples/uwsgi
UWSGI=$(sed -n 's/^ExecStart = \([^ ]*\).*/\1/p' "$EX/uwsgi.conf")
[ -x "$UWSGI" ] || skip_all "$UWSGI not installed (tools/install-deps)"
[ -e /usr/lib/uwsgi/plugins/python3_plugin.so ] || skip_all "uwsgi-plugin-python3 not installed (tools/install-deps)"

netns_new "$NS"
mkdir -m 755 "$T/app" && cp "$EX/app.py" "$T/app/"
key "$T/uwsgi.key" office-secret
key "$T/old.key" office-secret
key "$T/new.key" office-rotated
key "$T/wrong.key" wrong-secret
# conf [SED-EXPRESSION]: the example's config, as the README asks, into $T/uwsgi.conf.
conf() {
        sed -e 's|^Peer = 192.0.2.0/24|Peer = 127.0.0.0/8|; s|^Peer = 2001:db8:100::/48|Peer = ::1|' \
            -e "s|/etc/tcpmd5-activate/keys/|$T/|; s|/srv/app|$T/app|" -e "${1:-}" "$EX/uwsgi.conf" > "$T/uwsgi.conf"
        chmod 644 "$T/uwsgi.conf"
}
get() { # KEY ADDR: the body of a signed GET /
        printf 'GET / HTTP/1.0\r\n\r\n' |
                ip netns exec "$NS" timeout 20 "$CONNECT" --key-file "$1" "$2" 9001 | sed '1,/^\r$/d'
}
served() { local a=${2:-127.0.0.1}; [ "$(get "$1" "$a")" = "hello from uWSGI, REMOTE_ADDR=$a" ]; } # KEY [ADDR]
refused() { echo_dropped "$NS" "" 127.0.0.1 9001 && echo_dropped "$NS" "$T/wrong.key" 127.0.0.1 9001; }
only_our_port() { [ "$(ip netns exec "$NS" ss -Htln | awk '{ print $4 }' | sort -u)" = "*:9001" ]; }
reloads_are() { [ "$(grep -c "reloaded:" "$T/bg.err" || true)" = "$1" ]; }
# start: the supervisor and uwsgi, up to its workers. The port listens
# from the start (the socket is ours); a signal sent before uwsgi set up
# its handlers could be lost on it.
start() {
        start_bg "$NS" $WRAP "$ACTIVATE" --supervise --config "$T/uwsgi.conf"
        sup=$BG_PID
        wait_for 400 listening "$NS" 9001 && wait_for 600 grep -q "spawned uWSGI worker 2" "$T/bg.err"
}

conf
check "uwsgi listens on 9001" start
check "a signed client is served, with its REMOTE_ADDR" wait_for 100 served "$T/uwsgi.key"
check "over IPv6 too" served "$T/uwsgi.key" ::1
check "unsigned and wrong-key clients are dropped" refused
check "uwsgi listens on no port of its own" only_our_port
key "$T/uwsgi.key" office-rotated
kill -HUP "$sup"
check "the key rotates" wait_for 200 reloads_are 1
check "the reload's SIGHUP goes on to uwsgi, which handles it" \
        wait_for 100 grep -q "reload: SIGHUP passed to [0-9]* (it handles SIGHUP)" "$T/bg.err"
check "after uwsgi's own reload, the new key is served" wait_for 400 served "$T/new.key"
check "the old key is dropped" echo_dropped "$NS" "$T/old.key" 127.0.0.1 9001
check "unsigned and wrong-key clients are still dropped" refused
check "still no port of its own" only_our_port
kill -TERM "$sup"
rc=0; wait_exit "$sup" || rc=$?
expect_eq "$rc" 0 "--die-on-term: SIGTERM stops uwsgi; its 0 is passed on"
key "$T/uwsgi.key" office-secret

# Without --protocol http: the inherited socket speaks uwsgi's protocol.
conf 's| --protocol http||'
check "without --protocol http: uwsgi listens" start
check "without --protocol http: a signed HTTP client gets no page" \
        bash -c "! grep -q 'hello from' <<<\"\$(printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec $NS timeout 10 $CONNECT --key-file $T/old.key 127.0.0.1 9001)\""
kill -TERM "$sup"
wait_exit "$sup" || true

# Without --http-socket: served until a reload, which kills uwsgi.
conf 's| --http-socket \[::\]:9001||'
check "without --http-socket: uwsgi listens" start
check "without --http-socket: served at first" wait_for 100 served "$T/old.key"
kill -HUP "$sup"
rc=0; wait_exit "$sup" || rc=$?
check "without --http-socket: a reload ends uwsgi, and the activator with it (exit $rc)" test "$rc" != 0
check "uwsgi said why" grep -q "The -s/--socket option is missing" "$T/bg.err"
finish
