#!/bin/bash
# examples/gunicorn as its README says, in exec and in supervise mode: the
# example's config (Peer= and paths changed, as the README asks), signed
# clients served with their REMOTE_ADDR, unsigned and wrong-key clients
# dropped, and in supervise mode a key rotation in the middle of a long
# streamed response, which completes.
. "$(dirname "$0")/../lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
EX=$SRC/examples/gunicorn
command -v gunicorn >/dev/null || skip_all "gunicorn not installed (tools/install-deps)"

netns_new "$NS"
mkdir -m 755 "$T/app" && cp "$EX/app.py" "$T/app/"
key "$T/gunicorn.key" office-secret
key "$T/old.key" office-secret
key "$T/new.key" office-rotated
key "$T/wrong.key" wrong-secret
sed -e 's|^Peer = 192.0.2.0/24|Peer = 127.0.0.0/8|; s|^Peer = 2001:db8:100::/48|Peer = ::1|' \
    -e "s|/etc/tcpmd5-activate/keys/|$T/|; s|/srv/app|$T/app|" "$EX/gunicorn.conf" > "$T/gunicorn.conf"
chmod 644 "$T/gunicorn.conf"

# get KEY PATH: the body of a signed HTTP/1.0 request.
get() {
        printf 'GET %s HTTP/1.0\r\n\r\n' "$2" |
                ip netns exec "$NS" timeout 20 "$CONNECT" --key-file "$1" 127.0.0.1 8000 | sed '1,/^\r$/d'
}
# The port is dual-stack ([::]:8000): an IPv4 peer is a v4-mapped address.
served() { [ "$(get "$1" /)" = "hello from gunicorn, REMOTE_ADDR=::ffff:127.0.0.1" ]; }
serves_v6() { [ "$(printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec "$NS" timeout 20 "$CONNECT" --key-file "$1" ::1 8000 |
                  sed '1,/^\r$/d')" = "hello from gunicorn, REMOTE_ADDR=::1" ]; }
refused() { # the signed port drops these SYNs
        echo_dropped "$NS" "" 127.0.0.1 8000 && echo_dropped "$NS" "$T/wrong.key" 127.0.0.1 8000
}

# Exec mode: gunicorn is the process that was started.
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/gunicorn.conf"
g=$BG_PID
check "exec mode: listening on 8000" wait_for 400 listening "$NS" 8000
check "exec mode: a signed client is served, with its REMOTE_ADDR" wait_for 100 served "$T/gunicorn.key"
check "exec mode: over IPv6 too (dual-stack port)" serves_v6 "$T/gunicorn.key"
check "exec mode: unsigned and wrong-key clients are dropped" refused
check "exec mode: gunicorn runs as the activator's process" \
        bash -c "ip netns exec $NS ss -Htlnp 'sport = :8000' | grep -q 'pid=$g,'"
kill -TERM "$g"
rc=0; wait_exit "$g" || rc=$?
expect_eq "$rc" 0 "exec mode: gunicorn stops on SIGTERM with 0"

# Supervise mode, as the template unit runs it.
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --config "$T/gunicorn.conf"
sup=$BG_PID
check "supervise mode: listening on 8000" wait_for 400 listening "$NS" 8000
check "supervise mode: a signed client is served" wait_for 100 served "$T/gunicorn.key"
check "supervise mode: unsigned and wrong-key clients are dropped" refused

# A 25-line response, 5 s long; the key rotates after its third line.
(get "$T/old.key" "/stream?25" > "$T/stream.out" 2>&1) &
stream=$!
PIDS+=("$stream")
check "the stream has begun" wait_for 200 grep -q "^line 2$" "$T/stream.out"
key "$T/gunicorn.key" office-rotated
kill -HUP "$sup"
check "the keys are reloaded" wait_for 200 grep -q "reloaded: 0 keys added, 2 replaced" "$T/bg.err"
check "the reload's SIGHUP goes on to gunicorn, which handles it" \
        wait_for 100 grep -q "reload: SIGHUP passed to [0-9]* (it handles SIGHUP)" "$T/bg.err"
check "the new key is served while the stream runs" served "$T/new.key"
check "the old key is dropped for new connections" echo_dropped "$NS" "$T/old.key" 127.0.0.1 8000
wait_exit "$stream" 600 || true
check "the stream was still running at the rotation" bash -c "! grep -q '^line 24$' <<<\"\$(sed -n '1,3p' '$T/stream.out')\""
expect_eq "$(tail -1 "$T/stream.out")" "end of stream" "the response that began before the rotation completes"
expect_eq "$(grep -c '^line ' "$T/stream.out")" 25 "with all its 25 lines"
check "gunicorn still serves after its workers were replaced" served "$T/new.key"
check "unsigned and wrong-key clients are still dropped" refused
kill -TERM "$sup"
rc=0; wait_exit "$sup" || rc=$?
expect_eq "$rc" 0 "supervise mode: SIGTERM stops gunicorn, whose 0 is passed on"
finish
