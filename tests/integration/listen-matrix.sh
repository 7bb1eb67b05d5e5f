#!/bin/bash
# No side door, whatever the listen form: every ListenStream= form x every
# key shape x every kind of client. An unsigned or wrong-key handshake never
# completes, a signed client inside a Peer= prefix is always served, and a
# form that cannot be keyed as written, or that would let another socket
# share the port (ReusePort=yes), is refused with exit 78.
#
# A new listen form is one line in FORMS; a new key shape one case in
# shape_conf and covers.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
# IPv6 peers: two addresses inside 2001:db8::/64, one outside; link-local
# ones on a veth (loopback has none), two inside fe80::/120, one outside.
for a in 2001:db8::1 2001:db8::2 2001:db8:ff::9; do in_ns "$NS" ip addr add "$a/128" dev lo nodad; done
in_ns "$NS" ip link add d0 type veth peer name d1
in_ns "$NS" ip link set d0 up
in_ns "$NS" ip link set d1 up
for a in fe80::1 fe80::2 fe80::1:9; do in_ns "$NS" ip addr add "$a/64" dev d0 nodad; done
in_ns "$NS" sysctl -qw net.ipv6.bindv6only=0
key "$T/k1" matrix-secret
key "$T/wrong" not-the-secret

# name | ListenStream= | extra [Socket] line | IPv4 target | IPv6 target | receives | IPv6 peer scope
# "receives" is what the socket must take: 4, 6, 46, or "refused" (exit 78).
# A target on a family the socket does not receive checks that nothing
# answers there either.
FORMS=(
        "ipv4-address|127.0.0.1:P||127.0.0.1||4|"
        "ipv4-any|0.0.0.0:P||127.0.0.1||4|"
        "ipv6-address|[2001:db8::1]:P|||2001:db8::1|6|global"
        "dual-stack|[::]:P|BindIPv6Only=both|127.0.0.1|2001:db8::1|46|global"
        "ipv6-only|[::]:P|BindIPv6Only=ipv6-only|127.0.0.1|2001:db8::1|6|global"
        "v4-mapped|[::ffff:127.0.0.1]:P||||refused|"
        "v4-mapped-any|[::ffff:0.0.0.0]:P||||refused|"
        "link-local|[fe80::1%d0]:P|||fe80::1%d0|6|link"
        "port-only|P||127.0.0.1|2001:db8::1|46|global"
        "reuseport|127.0.0.1:P|ReusePort=yes|||refused|"
)
SHAPES=(v4 v6 both any)
CLIENTS=(unsigned wrong-key signed-in signed-out)

shape_conf() { # SHAPE: the [Key] section
        printf '[Key m]\nSecretFile = %s\n' "$T/k1"
        case $1 in
        v4) printf 'Peer = 127.0.0.0/30\n' ;;
        v6) printf 'Peer = 2001:db8::/64\nPeer = fe80::/120\n' ;;
        both) printf 'Peer = 127.0.0.0/30\nPeer = 2001:db8::/64\nPeer = fe80::/120\n' ;;
        any) printf 'Peer = any\n' ;;
        esac
}
covers() { # SHAPE FAMILY: does the shape hold a key for peers of FAMILY?
        case $1 in v4) [ "$2" = 4 ] ;; v6) [ "$2" = 6 ] ;; *) true ;; esac
}
source_addr() { # FAMILY SCOPE IN|OUT
        case $1$2$3 in
        4*in) echo 127.0.0.2 ;; 4*out) echo 127.0.0.9 ;;
        6globalin) echo 2001:db8::2 ;; 6globalout) echo 2001:db8:ff::9 ;;
        6linkin) echo fe80::2%d0 ;; 6linkout) echo fe80::1:9%d0 ;;
        esac
}
# expected RECEIVES SHAPE FAMILY CLIENT: "served", "silent" (SYN dropped) or
# "nothing" (no socket of ours takes that family there).
expected() {
        local recv=$1 shape=$2 fam=$3 client=$4
        [[ $recv == *$fam* ]] || { echo nothing; return; }
        case $client in
        signed-in) covers "$shape" "$fam" && { echo served; return; } ;;
        signed-out) [ "$shape" = any ] && { echo served; return; } ;;
        esac
        echo silent
}
# attempt WANT FAMILY SCOPE CLIENT TARGET PORT: prints the md5-client exit
# code (0 echoed, 3 timed out: SYN dropped, other: refused or error). Only a
# client that should be served gets a long timeout.
attempt() {
        local want=$1 fam=$2 scope=$3 client=$4 target=$5 port=$6 k="" src rc=0 t=300
        [ "$want" != served ] || t=3000
        case $client in
        wrong-key) k=$T/wrong ;; signed-*) k=$T/k1 ;;
        esac
        [ "$client" = signed-out ] && src=$(source_addr "$fam" "$scope" out) || src=$(source_addr "$fam" "$scope" in)
        out=$(in_ns "$NS" $CLIENT -t "$t" ${k:+-k "$k"} -s "$src" "$target" "$port" "m-$client" 2>/dev/null) || rc=$?
        [ "$rc" != 0 ] || [ "$out" = "m-$client" ] || rc=1
        echo "$rc"
}
verdict() { # WANT RC
        case $1 in served) [ "$2" = 0 ] ;; silent) [ "$2" = 3 ] ;; nothing) [ "$2" != 0 ] ;; esac
}

write_cell_conf() { # CONF LISTEN EXTRA SHAPE PORT
        { printf '[Socket]\nListenStream = %s\n%s\n' "$2" "$3"
          printf '[Service]\nExecStart = %s %s\n' "$ECHO_DAEMON" "$T/report-$5"
          shape_conf "$4"; } | write_conf "$1"
}
# refusal FORM PORT: what the message of a refused form must say.
refusal() {
        case $1 in
        reuseport) echo "ReusePort=yes is refused: another socket of the same user could join the port" ;;
        *) echo "IPv4-mapped.*write it as (127\.0\.0\.1|0\.0\.0\.0):$2" ;;
        esac
}
refused_cell() { # CELL CONF PORT FORM
        # Bounded: an activator that took the form would serve for ever.
        expect_rc 78 "$1: refused" timeout 30 ip netns exec "$NS" $WRAP "$ACTIVATE" --config "$2"
        expect_stderr "$(refusal "$4" "$3")" "$1: says why and what to write instead"
        listening "$NS" "$3" && fail "$1: left listening" || ok "$1: nothing listening"
        check "$1: --check refuses it too" bash -c "! '$ACTIVATE' --config '$2' --check >/dev/null 2>&1"
        tally[refused]=$((${tally[refused]:-0} + 1))
}

# One form at a time, its key shapes side by side (a port each), and every
# client of the form at once: the silent ones each wait out their timeout.
port=20000
declare -A tally
for form in "${FORMS[@]}"; do
        IFS='|' read -r name listen extra t4 t6 recv scope <<<"$form"
        base=$port
        port=$((port + ${#SHAPES[@]}))
        declare -A pid_of=()
        for i in "${!SHAPES[@]}"; do
                shape=${SHAPES[$i]} p=$((base + i))
                write_cell_conf "$T/$name-$shape.conf" "${listen//P/$p}" "$extra" "$shape" "$p"
                if [ "$recv" = refused ]; then
                        refused_cell "$name x $shape" "$T/$name-$shape.conf" "$p" "$name"
                        continue
                fi
                ip netns exec "$NS" $WRAP "$ACTIVATE" --config "$T/$name-$shape.conf" 2> "$T/err-$p" &
                pid_of[$shape]=$!
                PIDS+=("$!")
        done
        [ "$recv" != refused ] || continue
        jobs=()
        for i in "${!SHAPES[@]}"; do
                shape=${SHAPES[$i]} p=$((base + i))
                if ! wait_for 600 test -s "$T/report-$p"; then
                        fail "$name x $shape: did not start"; sed 's/^/#   /' "$T/err-$p" | head
                        continue
                fi
                for fam in 4 6; do
                        target=t$fam
                        [ -n "${!target}" ] || continue
                        for client in "${CLIENTS[@]}"; do
                                want=$(expected "$recv" "$shape" "$fam" "$client")
                                attempt "$want" "$fam" "$scope" "$client" "${!target}" "$p" > "$T/rc.$p.$fam.$client" &
                                jobs+=("$!")
                        done
                done
        done
        wait "${jobs[@]}"
        for i in "${!SHAPES[@]}"; do
                shape=${SHAPES[$i]} p=$((base + i))
                for fam in 4 6; do
                        target=t$fam
                        [ -n "${!target}" ] && [ -s "$T/rc.$p.$fam.${CLIENTS[0]}" ] || continue
                        for client in "${CLIENTS[@]}"; do
                                want=$(expected "$recv" "$shape" "$fam" "$client")
                                rc=$(cat "$T/rc.$p.$fam.$client")
                                tally[$want]=$((${tally[$want]:-0} + 1))
                                if verdict "$want" "$rc"; then ok "$name x $shape: IPv$fam $client: $want"
                                else fail "$name x $shape: IPv$fam $client: wanted $want, client exit $rc"; fi
                        done
                done
                kill "${pid_of[$shape]}"; wait_exit "${pid_of[$shape]}" 2>/dev/null || true
        done
done
# A reload follows the same rule: a v4-mapped form is refused, the old keys stay.
port=$((port + 1))
conf=$T/reload.conf
write_reload_conf() {
        { printf '[Socket]\nListenStream = %s\n[Service]\nExecStart = %s %s\n' "$1" "$ECHO_DAEMON" "$T/report-$port"
          shape_conf v4; } | write_conf "$conf"
}
write_reload_conf "127.0.0.1:$port"
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --config "$conf"
sup=$BG_PID
check "reload: supervisor up" wait_for 400 test -s "$T/report-$port"
write_reload_conf "[::ffff:127.0.0.1]:$port"
kill -HUP "$sup"
check "reload: a v4-mapped ListenStream= is refused" wait_for 400 grep -q "the old keys stay" "$T/bg.err"
check "reload: the message gives the IPv4 spelling" grep -q "IPv4-mapped.*write it as 127.0.0.1:$port" "$T/bg.err"
check "reload: the signed client is still served" echo_ok "$NS" "$T/k1" 127.0.0.1 "$port"
check "reload: unsigned still dropped" echo_dropped "$NS" "" 127.0.0.1 "$port"
kill "$sup"; wait_exit "$sup" 2>/dev/null || true

echo "# cells: ${tally[served]:-0} served, ${tally[silent]:-0} silent, ${tally[nothing]:-0} nothing there, ${tally[refused]:-0} refused"
finish
