#!/bin/bash
# Per-peer staging for peers that cannot offer two keys (routers, patched
# daemons): each moves to the new key through a /32 of its own beside the
# /24 that keeps the old key; longest prefix wins. At no step, and during
# no reload, is a peer admitted unsigned or with a key it no longer has.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
for a in 10.0.0.1 10.0.0.11 10.0.0.12 10.0.0.13; do in_ns "$NS" ip addr add "$a/32" dev lo; done
mkdir -m 700 "$T/logs"
key "$T/old.key" staging-old
key "$T/new.key" staging-new
PEERS="10.0.0.11 10.0.0.12 10.0.0.13"
reloads() { grep -c "reloaded:" "$T/bg.err" || true; }
count_is() { test "$($1)" = "$2"; }

# conf MOVED...: the /24 on the old key, a /32 on the new key for each MOVED
# peer; "all": the /24 on the new key, no /32 left.
conf() {
        local wide=$T/old.key p
        [ "${1:-}" != all ] || { wide=$T/new.key; shift; }
        {
                printf '[Socket]\nListenStream = 10.0.0.1:2501\n[Service]\nExecStart = %s %s\n' \
                        "$ECHO_DAEMON" "$T/report"
                printf '[Key site]\nPeer = 10.0.0.0/24\nSecretFile = %s\n' "$wide"
                for p in "$@"; do printf '[Key moved-%s]\nPeer = %s/32\nSecretFile = %s\n' "$p" "$p" "$T/new.key"; done
        } > "$T/svc.conf.new"
        chmod 600 "$T/svc.conf.new"
        mv "$T/svc.conf.new" "$T/svc.conf"
}
# try SRC [KEY]: exit 0 when admitted (the echo came back); a dropped SYN
# fails after 0.3 s. admitted SRC KEY: the same, waiting up to 3 s.
try() {
        local out
        out=$(printf "x-$1" | in_ns "$NS" "$CONNECT" -t "${wait_s:-0.3}" -s "$1" ${2:+-k "$2"} 10.0.0.1 2501 \
                2>/dev/null) && [ "$out" = "x-$1" ]
}
admitted() { local wait_s=3; try "$@"; }
# step NAME MOVED...: each peer gets in with exactly its current key; the
# other key and no key are dropped.
step() {
        local name=$1 p right wrong; shift
        for p in $PEERS; do
                right=$T/old.key wrong=$T/new.key
                if [ "${1:-}" = all ] || [[ " $* " == *" $p "* ]]; then right=$T/new.key wrong=$T/old.key; fi
                check "$name: $p gets in with ${right##*/}" admitted "$p" "$right"
                if try "$p" "$wrong"; then fail "$name: $p admitted with ${wrong##*/}"; else ok "$name: $p dropped with ${wrong##*/}"; fi
                if try "$p"; then fail "$name: $p admitted unsigned"; else ok "$name: $p dropped unsigned"; fi
        done
}
# probe LOG SRC [KEY]...: attempts that must never get in, one after the
# other until $T/stop exists (at most 200): "in" lines in LOG if one does.
probe() {
        local log=$1 src=$2 i; shift 2
        for ((i = 0; i < 200; i++)); do
                [ ! -e "$T/stop" ] || break
                if try "$src" "$@"; then echo in; else echo out; fi
        done > "$log"
}
# reload_probed N MOVED...: write the config for MOVED, reload (the N-th),
# while revoked keys and unsigned SYNs are tried from the peers.
reload_probed() {
        local n=$1 probes=() p; shift
        rm -f "$T/stop"
        for p in $PEERS; do
                probe "$T/logs/unsigned-$p" "$p" & probes+=("$!")
        done
        for p in $REVOKED; do
                probe "$T/logs/revoked-$p" "$p" "$T/old.key" & probes+=("$!")
        done
        PIDS+=("${probes[@]}")
        sleep 0.5
        conf "$@"
        kill -HUP "$sup"
        check "reload $n applied" wait_for 300 count_is reloads "$n"
        sleep 0.5
        touch "$T/stop"
        for p in "${probes[@]}"; do wait_exit "$p" || true; done
        local ins tries
        ins=$(cat "$T"/logs/*-10.* | grep -c '^in' || true)
        tries=$(cat "$T"/logs/*-10.* | wc -l)
        expect_eq "$ins" 0 "reload $n: none of $tries unsigned or revoked-key attempts during the reload got in"
        rm -f "$T"/logs/*-10.*
}

conf
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --config "$T/svc.conf"
sup=$BG_PID
check "listening" wait_for 300 listening "$NS" 2501
step "step 0 (all on the old key)"

REVOKED=
reload_probed 1 10.0.0.11
step "step 1 (10.0.0.11/32 on the new key)" 10.0.0.11
REVOKED="10.0.0.11"
reload_probed 2 10.0.0.11 10.0.0.12
step "step 2 (10.0.0.11 and .12 moved)" 10.0.0.11 10.0.0.12
REVOKED="10.0.0.11 10.0.0.12"
reload_probed 3 10.0.0.11 10.0.0.12 10.0.0.13
step "step 3 (every peer moved by a /32)" 10.0.0.11 10.0.0.12 10.0.0.13
# The /24 takes the new key and the /32s go: adds and replaces come before
# deletes, so no moved peer falls back to the old key in between.
REVOKED="10.0.0.11 10.0.0.12 10.0.0.13"
reload_probed 4 all
step "step 4 (the /24 on the new key, the /32s gone)" all
expect_eq "$(grep -c 'Peer = 10.0.0.1[0-9]/32' "$T/svc.conf" || true)" 0 "step 4: the config has no /32 left"
kill "$sup"
wait_exit "$sup" || true
finish
