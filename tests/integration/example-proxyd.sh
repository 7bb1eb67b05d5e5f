#!/bin/bash
# examples/socket-proxyd as its README says: the example's web.conf (Peer=
# changed, as the README asks; the key as a credential) in front of a plain
# HTTP service on 127.0.0.1:8080, and the README's client commands run as
# written, with "server" being this host: the piped one-shot request gets
# no reply (systemd-socket-proxyd closes both ways on the client's
# half-close), curl through the local forwarder gets the page.
. "$(dirname "$0")/../lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
EX=$SRC/examples/socket-proxyd
PROXYD=$(sed -n 's/^ExecStart = \([^ ]*\).*/\1/p' "$EX/web.conf")
[ -x "$PROXYD" ] || skip_all "$PROXYD not installed"
command -v curl >/dev/null || skip_all "curl not installed (tools/install-deps)"

netns_new "$NS"
mkdir -m 755 "$T/www" && echo "hello from the backend" > "$T/www/index.html"
start_bg "$NS" python3 -m http.server -b 127.0.0.1 -d "$T/www" 8080
check "the plain service listens on 127.0.0.1:8080" wait_for 200 listening "$NS" 8080

mkdir -m 700 "$T/creds"
key "$T/creds/web.key" web-secret
cp "$T/creds/web.key" "$T/web.key"
sed 's|^Peer = 192.0.2.0/24|Peer = 127.0.0.0/8|; s|^Peer = 2001:db8:100::/48|Peer = ::1|' "$EX/web.conf" > "$T/web.conf"
chmod 644 "$T/web.conf"
# ExecStart= of the example's drop-in, CREDENTIALS_DIRECTORY as systemd sets it.
start_bg "$NS" env CREDENTIALS_DIRECTORY="$T/creds" $WRAP "$ACTIVATE" --supervise --no-forward-reload \
        --config "$T/web.conf"
check "the example listens on 8443" wait_for 200 listening "$NS" 8443

# block N: the Nth ```sh block after "Clients:", with the server here. The
# forwarder moves to 9443, as 8443 is the server's own port on this host.
block() {
        awk -v want="$1" '/^Clients:/ { on = 1 } on && /^```sh$/ { n++; inblock = (n == want); next }
                /^```$/ { inblock = 0 } on && inblock' "$EX/README.md" |
                sed -e 's/ server 8443/ 127.0.0.1 8443/' -e 's/127\.0\.0\.1:8443/127.0.0.1:9443/g'
}
run_block() { # N: run it in the namespace, in $T, with our tcpmd5-connect first in PATH
        block "$1" > "$T/block$1.sh"
        (cd "$T" && PATH=$BUILD:$PATH timeout 20 ip netns exec "$NS" bash -c \
                ". ./block$1.sh; jobs -p | xargs -r kill" > "$T/block$1.out" 2> "$T/block$1.err") || true
}
check "the README has the one-shot pipe" grep -q "^printf 'GET / HTTP/1.0" <<<"$(block 1)"
run_block 1
expect_eq "$(cat "$T/block1.out")" "" "the piped one-shot request gets no reply, as the README says"

# Control: the same request, its side kept open until the reply is in.
mkfifo "$T/in"
(cd "$T" && ip netns exec "$NS" "$CONNECT" --key-file web.key 127.0.0.1 8443 < "$T/in" > "$T/held.out" 2>&1) &
PIDS+=($!)
exec 9> "$T/in"
printf 'GET / HTTP/1.0\r\n\r\n' >&9
check "the same request with its side held open gets the page" wait_for 200 grep -q "hello from the backend" "$T/held.out"
exec 9>&-

check "the README has the forwarder and curl" grep -q '^curl http://127.0.0.1:9443/' <<<"$(block 2)"
# The block as written, except that curl waits for the forwarder to listen.
block 2 | sed 's|^curl |for i in $(seq 100); do ss -Htln "sport = :9443" \| grep -q LISTEN \&\& break; sleep 0.05; done; curl -sS |' > "$T/block2.sh"
(cd "$T" && PATH=$BUILD:$PATH timeout 20 ip netns exec "$NS" bash -c \
        ". ./block2.sh; jobs -p | xargs -r kill" > "$T/block2.out" 2> "$T/block2.err") || true
expect_eq "$(cat "$T/block2.out")" "hello from the backend" "curl through the README's forwarder gets the page"
[ -s "$T/block2.out" ] || sed 's/^/#   /' "$T/block2.err" | head
finish
