#!/bin/bash
# The listen matrix of TCP-AO, in the test VM (tests/vm: a kernel with
# CONFIG_TCP_AO), through the activator: listener layouts (AO keys for a
# /24 and for /32s, IPv4 and IPv6, a dual-stack [::] with v4-mapped keys, a
# rollover pair, Peer=any, AO beside MD5 where the plan allows it) x clients
# (unsigned, MD5, AO with the right key, a wrong secret or an unknown
# KeyID, from inside and outside every prefix). Every right-key client is
# served; no unsigned, MD5 or wrong-AO handshake completes where AO is
# required; each layout the config check or the plan refuses exits 78 with
# its message (as --check does), and nothing listens. The controls: a
# keyless listener serves the unsigned clients, and a listener that holds
# each client's own key (MD5, the wrong secret, KeyID 9, a key for O)
# serves every client: a "no handshake" elsewhere is the keys' doing, not
# a broken client.
# Process starts cost ~50x under TCG: the activators start side by side,
# and every client of every layout is one connection of a single ao-probe
# process (tests/helpers/ao-probe.c, "attempts"); the negative ones wait
# out their 1.5 s together. A new layout is a line in LAYOUTS (or REFUSED)
# and a case in layout_conf.
#   By hand, as root: BUILD=$PWD/build tests/vm/run-ao vm/ao-matrix.sh (tests/vm/README.md)
. "$(dirname "$0")/../lib.sh"
netns_new "$NS"
started=$SECONDS
# The peers: A the AO prefix, M the MD5 prefix, O outside every prefix; in
# IPv4 all of 127/8 is on lo, in IPv6 the addresses are added (and the
# listener's, 2001:db8::1).
A4=127.0.1. M4=127.0.2. O4=127.1.9. A6=2001:db8:1:: M6=2001:db8:2:: O6=2001:db8:9::
T4=127.0.0.1 T6=2001:db8::1
for a in "$T6" "$A6"{1..6} "$M6"{1..2} "$O6"{1..2}; do echo "address add $a/128 dev lo nodad"; done > "$T/addrs"
ip -n "$NS" -batch "$T/addrs"
K1S=ao-secret-one K2S=ao-secret-two WS=not-the-secret MS=md5-secret
printf '%s\n' "$K1S" > "$T/k1"
printf '%s\n' "$K2S" > "$T/k2"
printf '%s\n' "$WS" > "$T/wrong"
printf '%s\n' "$MS" > "$T/md5"

# short name | prefix | host part | how it signs (ao-probe attempts) | what it is
CLIENTS=(
        "uA|A|1|none|unsigned from A"
        "uM|M|1|none|unsigned from M"
        "uO|O|1|none|unsigned from O"
        "mM|M|2|md5:$MS|MD5 with the right MD5 secret from M"
        "mA|A|2|md5:$MS|MD5 (that secret) from A"
        "a1|A|3|ao:hmac(sha1):1:1:$K1S|AO key k1 (hmac(sha1), KeyID 1) from A"
        "a2|A|6|ao:cmac(aes128):2:2:$K2S|AO key k2 (cmac(aes128), KeyID 2) from A"
        "aW|A|4|ao:hmac(sha1):1:1:$WS|AO KeyID 1 with a wrong secret from A"
        "aU|A|5|ao:hmac(sha1):9:9:$K1S|AO with an unknown KeyID (9, k1's secret) from A"
        "aO|O|2|ao:hmac(sha1):1:1:$K1S|AO key k1 from O"
)
# name | client families | wanted for IPv4 clients | for IPv6 clients (Y served, - no handshake, in
# the order of CLIENTS) | AO required (only right-key clients may connect) | what it is
LAYOUTS=(
        "ao24|4|-----Y----||yes|AO k1 for 127.0.1.0/24 on 127.0.0.1"
        "ao32|4|-----Y----||yes|AO k1 for four /32s of A (a1 aW aU a2) on 127.0.0.1"
        "rollover|4|-----YY---||yes|AO k1 and k2 for 127.0.1.0/24 (a rollover pair) on 127.0.0.1"
        "any4|4|-----Y---Y||yes|AO k1 for Peer=any on 0.0.0.0"
        "ao-unsigned|4|-YY--Y----||no|AO k1 for 127.0.1.0/24, UnmatchedPeers=allow-unsigned"
        "mixed|4|--YY-Y----||no|AO k1 for 127.0.1.0/24 and MD5 for 127.0.2.0/24, allow-unsigned"
        "v6-ao64|6||-----YY---|yes|AO k1 and k2 for 2001:db8:1::/64 on [2001:db8::1]"
        "v6-ao128|6||-----Y----|yes|AO k1 for four /128s of A on [2001:db8::1]"
        "dual|46|-----YY---|-----YY---|yes|dual-stack [::], AO k1 and k2 for 127.0.1.0/24 (v4-mapped) and 2001:db8:1::/64"
        "dual-mixed|46|-YY--Y----|Y-YY------|no|dual-stack [::], AO k1 for 127.0.1.0/24, MD5 for 2001:db8:2::/64, allow-unsigned"
        "split|46|---Y------|-----Y----|no|0.0.0.0 and [::] ipv6-only: MD5 for 127.0.2.0/24 (IPv4), AO k1 for 2001:db8:1::/64 (IPv6)"
        "mirror-plain|46|YYY-------|YYY-------|no|control: no key, allow-unsigned"
        "mirror-keys|46|YYYYYYYYYY|YYYYYYYYYY|no|control: each client's own key (MD5 for mM and mA, kw, KeyID 9, k1 for O), allow-unsigned"
)
# name | client families | what stderr must say (after FILE:LINE:)
REFUSED=(
        "x-overlap|4|\[Key k1\] Peer=127\.0\.1\.0/24: TCP-AO key for peers that TCP MD5 \[Key m\] \(.*Peer=127\.0\.0\.0/16\) covers too"
        "x-inside|4|\[Key k1\] Peer=127\.0\.0\.0/16: TCP-AO key for peers that TCP MD5 \[Key m\] \(.*Peer=127\.0\.2\.0/24\) covers too"
        "x-md5-any|4|\[Key k1\] Peer=127\.0\.1\.0/24: TCP-AO key for peers that TCP MD5 \[Key m\] \(.*Peer=0\.0\.0\.0/0\) covers too"
        "x-v6-overlap|6|\[Key k1\] Peer=2001:db8:1::/64: TCP-AO key for peers that TCP MD5 \[Key m\] \(.*Peer=2001:db8::/32\) covers too"
        "x-mixed-drop|4|TCP-AO \[Key k1\] .* and TCP MD5 \[Key m\] .* both reach this listener, and UnmatchedPeers=drop"
        "x-dual-drop|46|TCP-AO \[Key k1\] .* and TCP MD5 \[Key m\] .* both reach this listener, and UnmatchedPeers=drop"
        "x-dual-any|46|TCP-AO \[Key k1\] .* is for every IPv4 peer \(0\.0\.0\.0/0\), which the kernel cannot hold"
        "x-zero|4|\[Key k1\] Peer=: the kernel takes no TCP-AO key for a prefix at the all-zeros address"
        "x-same-id|4|\[Key k3\] Peer=127\.0\.1\.0/25: SendID=1 is also \[Key k1\]'s"
        "x-host-bits|4|'127\.0\.1\.3/24' has host bits set \(did you mean 127\.0\.1\.0/24\?\)"
)

key_conf() { # NAME ALGORITHM SENDID RECVID SECRET-FILE PEER...: a [Key] (TCP MD5 without ALGORITHM)
        local name=$1 alg=$2 snd=$3 rcv=$4 file=$5 p; shift 5
        printf '[Key %s]\nSecretFile = %s\n' "$name" "$file"
        [ -z "$alg" ] || printf 'Algorithm = %s\nSendID = %s\nRecvID = %s\n' "$alg" "$snd" "$rcv"
        for p; do printf 'Peer = %s\n' "$p"; done
}
k1() { key_conf k1 'hmac(sha1)' 1 1 "$T/k1" "$@"; }
k2() { key_conf k2 'cmac(aes128)' 2 2 "$T/k2" "$@"; }
md5() { key_conf m '' '' '' "$T/md5" "$@"; }
listen() { printf '[Socket]\n'; printf 'ListenStream = %s\n' "$@"; }
unsigned() { printf '[Socket]\nUnmatchedPeers = allow-unsigned\n'; }
dual() { listen "[::]:$1"; printf 'BindIPv6Only = both\n'; }

layout_conf() { # NAME PORT: the layout's listeners and keys
        local p=$2
        case $1 in
        ao24) listen "$T4:$p"; k1 "${A4}0/24" ;;
        ao32) listen "$T4:$p"; k1 "${A4}3" "${A4}4" "${A4}5" "${A4}6" ;;
        rollover) listen "$T4:$p"; k1 "${A4}0/24"; k2 "${A4}0/24" ;;
        any4) listen "0.0.0.0:$p"; k1 any ;;
        ao-unsigned) listen "$T4:$p"; k1 "${A4}0/24"; unsigned ;;
        mixed) listen "$T4:$p"; k1 "${A4}0/24"; md5 "${M4}0/24"; unsigned ;;
        v6-ao64) listen "[$T6]:$p"; k1 "$A6/64"; k2 "$A6/64" ;;
        v6-ao128) listen "[$T6]:$p"; k1 "${A6}3" "${A6}4" "${A6}5" "${A6}6" ;;
        dual) dual "$p"; k1 "${A4}0/24" "$A6/64"; k2 "${A4}0/24" "$A6/64" ;;
        dual-mixed) dual "$p"; k1 "${A4}0/24"; md5 "$M6/64"; unsigned ;;
        split) listen "0.0.0.0:$p" "[::]:$p"; printf 'BindIPv6Only = ipv6-only\n'; k1 "$A6/64"; md5 "${M4}0/24" ;;
        mirror-plain) dual "$p"; unsigned ;;
        mirror-keys)
                dual "$p"; md5 "${M4}2" "${M6}2" "${A4}2" "${A6}2"; k1 "${A4}3" "${A6}3" "${O4}2" "${O6}2"
                k2 "${A4}6" "${A6}6"; key_conf kw 'hmac(sha1)' 1 1 "$T/wrong" "${A4}4" "${A6}4"
                key_conf k9 'hmac(sha1)' 9 9 "$T/k1" "${A4}5" "${A6}5"; unsigned ;;
        x-overlap) listen "$T4:$p"; k1 "${A4}0/24"; md5 127.0.0.0/16; unsigned ;;
        x-inside) listen "$T4:$p"; k1 127.0.0.0/16; md5 "${M4}0/24"; unsigned ;;
        x-md5-any) listen "$T4:$p"; md5 any; k1 "${A4}0/24"; unsigned ;;
        x-v6-overlap) listen "[$T6]:$p"; k1 "$A6/64"; md5 2001:db8::/32; unsigned ;;
        x-mixed-drop) listen "$T4:$p"; k1 "${A4}0/24"; md5 "${M4}0/24" ;;
        x-dual-drop) dual "$p"; k1 "${A4}0/24"; md5 "$M6/64" ;;
        x-dual-any) dual "$p"; k1 any ;;
        x-zero) listen "$T4:$p"; k1 0.0.0.0/8 ;;
        x-same-id) listen "$T4:$p"; k1 "${A4}0/24"; key_conf k3 'cmac(aes128)' 1 3 "$T/k2" "${A4}0/25" ;;
        x-host-bits) listen "$T4:$p"; k1 "${A4}3/24" ;;
        esac
}
write_layout() { # NAME PORT
        { layout_conf "$1" "$2"; printf '[Service]\nExecStart = %s %s\n' "$ECHO_DAEMON" "$T/report-$1"; } > "$T/$1.conf"
}

# ---- start: every layout side by side, a port each ----
port=7000
declare -A port_of pid_of check_pid_of res
for row in "${LAYOUTS[@]}" "${REFUSED[@]}"; do
        name=${row%%|*}
        port_of[$name]=$port
        write_layout "$name" "$port"
        port=$((port + 1))
done
chmod 600 "$T"/*.conf "$T/k1" "$T/k2" "$T/wrong" "$T/md5"
for row in "${REFUSED[@]}"; do
        name=${row%%|*}
        # Bounded: an activator that took the layout would serve for ever.
        timeout 60 ip netns exec "$NS" $WRAP "$ACTIVATE" --config "$T/$name.conf" > "$T/out-$name" 2> "$T/err-$name" &
        pid_of[$name]=$!
        timeout 60 "$ACTIVATE" --config "$T/$name.conf" --check > "$T/check-out-$name" 2> "$T/check-err-$name" &
        check_pid_of[$name]=$!
done
for row in "${LAYOUTS[@]}"; do
        name=${row%%|*}
        keyless_port=
        [ "$name" != mirror-plain ] || keyless_port=${port_of[$name]}
        LISTEN_GUARD_UNSIGNED=$keyless_port ip netns exec "$NS" $WRAP "$ACTIVATE" --config "$T/$name.conf" \
                > "$T/out-$name" 2> "$T/err-$name" &
        pid_of[$name]=$!
        PIDS+=("$!")
done
# ---- the refused layouts: exit 78 with their message ----
refused_verdict() { # NAME WHAT PID ERR-FILE MESSAGE: PID exited 78, ERR-FILE says FILE:LINE: MESSAGE
        local rc=0
        wait "$3" || rc=$?
        if [ "$rc" = 78 ] && grep -Eq -- "$1\.conf:[0-9]+: .*$5" "$4"; then
                ok "refused layout $1: $2 exits 78, naming the line and saying why"
        else
                fail "refused layout $1: $2 exit $rc (wanted 78), stderr /$1.conf:LINE: $5/?"
                sed 's/^/#   /' "$4" | head -5
        fi
}
for row in "${REFUSED[@]}"; do
        IFS='|' read -r name _ message <<<"$row"
        refused_verdict "$name" "the activator" "${pid_of[$name]}" "$T/err-$name" "$message"
        refused_verdict "$name" "--check" "${check_pid_of[$name]}" "$T/check-err-$name" "$message"
done
# Every served layout's echo daemon has reported: its listeners are up.
# An activator that exited instead is not waited for.
for ((i = 0; i < 300; i++)); do
        missing='' alive=''
        for row in "${LAYOUTS[@]}"; do
                name=${row%%|*}
                [ -s "$T/report-$name" ] || missing+=" $name"
                [ -s "$T/report-$name" ] || ! kill -0 "${pid_of[$name]}" 2>/dev/null || alive=1
        done
        [ -n "$alive" ] || break
        sleep 0.2
done
expect_eq "$missing" "" "every served layout's activator started (its daemon reported)"
for m in $missing; do sed "s/^/#   $m: /" "$T/err-$m" | head -5; done
echo "# the activators were up $((SECONDS - started)) s after the test began"

# ---- every client of every layout: one ao-probe process ----
source_of() { # PREFIX HOST FAMILY: into $src
        local v=$1$3
        src=${!v}$2
}
{
        for row in "${LAYOUTS[@]}"; do
                IFS='|' read -r name fams want4 want6 required what <<<"$row"
                for fam in 4 6; do
                        [[ $fams == *$fam* ]] || continue
                        want=want$fam target=T$fam
                        for i in "${!CLIENTS[@]}"; do
                                IFS='|' read -r short pfx host sign _ <<<"${CLIENTS[i]}"
                                source_of "$pfx" "$host" "$fam"
                                echo "$name/$fam/$short $src ${!target} ${port_of[$name]} $sign ${!want:i:1}"
                        done
                done
        done
        # Nothing listens where a layout was refused: an unsigned SYN gets a reset.
        for row in "${REFUSED[@]}"; do
                IFS='|' read -r name fams _ <<<"$row"
                for fam in 4 6; do
                        target=T$fam
                        [[ $fams == *$fam* ]] || continue
                        source_of A 1 "$fam"
                        echo "$name/$fam/closed $src ${!target} ${port_of[$name]} none -"
                done
        done
} > "$T/attempts"
t0=$SECONDS
rc=0
in_ns "$NS" "$BUILD/tests/ao-probe" attempts < "$T/attempts" > "$T/results" 2> "$T/probe.err" || rc=$?
check "ao-probe attempts ran $(wc -l < "$T/attempts") connections (exit $rc, $((SECONDS - t0)) s)" test "$rc" = 0
sed 's/^/# ao-probe: /' "$T/probe.err"
while read -r label r; do res[$label]=$r; done < "$T/results"

# ---- the matrix: a table in the log, a check per layout and family ----
cells() { # STRING: the clients by result, into $cells ("served a1 a2; no handshake uA ...")
        local i r word
        declare -A by=()
        for i in "${!CLIENTS[@]}"; do
                r=${1:i:1}
                by[$r]+=" ${CLIENTS[i]%%|*}"
        done
        cells=
        for r in Y - H R E '?'; do
                case $r in Y) word=served ;; -) word="no handshake" ;; H) word="handshake, no echo" ;;
                           R) word="reset" ;; E) word=error ;; *) word="no result" ;; esac
                [ -z "${by[$r]:-}" ] || cells+="${cells:+; }$word${by[$r]}"
        done
}
echo "# The TCP-AO listen matrix: Y served, - no handshake (H a handshake but no echo, R reset, E error;"
echo "# * not as wanted). A = 127.0.1.0/24 | 2001:db8:1::/64, M = 127.0.2.0/24 | 2001:db8:2::/64,"
echo "# O = 127.1.9.0 | 2001:db8:9:: (outside every prefix). Clients:"
for c in "${CLIENTS[@]}"; do IFS='|' read -r short _ _ _ what <<<"$c"; echo "#   $short  $what"; done
printf -v header '#   %-13s %-5s' layout peers
for c in "${CLIENTS[@]}"; do printf -v header '%s %-3s' "$header" "${c%%|*}"; done
echo "$header"
declare -A got_of
for row in "${LAYOUTS[@]}"; do
        IFS='|' read -r name fams want4 want6 required what <<<"$row"
        for fam in 4 6; do
                [[ $fams == *$fam* ]] || continue
                want=want$fam want=${!want} got=
                printf -v line '%-13s IPv%-2s' "$name" "$fam"
                for i in "${!CLIENTS[@]}"; do
                        r=${res[$name/$fam/${CLIENTS[i]%%|*}]:-?}
                        got+=$r
                        mark=" "
                        [ "$r" = "${want:i:1}" ] || mark="*"
                        line+="  $r$mark"
                done
                got_of[$name/$fam]=$got
                echo "#   $line  $what"
        done
done
for row in "${LAYOUTS[@]}"; do
        IFS='|' read -r name fams want4 want6 required what <<<"$row"
        for fam in 4 6; do
                [[ $fams == *$fam* ]] || continue
                want=want$fam want=${!want} got=${got_of[$name/$fam]}
                cells "$got"
                if [ "$got" = "$want" ]; then ok "layout $name, IPv$fam clients: $cells"
                else c=$cells; cells "$want"; fail "layout $name, IPv$fam clients: $c; wanted $cells"; fi
        done
done
# The rules, over every cell of the layouts (not the controls), whatever
# the wanted strings above say: where AO is required only right-key
# clients connect; wherever a right-key client from A is served, no
# unsigned, MD5, wrong-secret or unknown-KeyID client from A is; a wrong
# secret or an unknown KeyID is never served.
n_req=0 bad_req='' n_a=0 bad_a='' n_wrong=0 bad_wrong=''
for row in "${LAYOUTS[@]}"; do
        IFS='|' read -r name fams _ _ required _ <<<"$row"
        [[ $name != mirror-* ]] || continue
        for fam in 4 6; do
                [[ $fams == *$fam* ]] || continue
                for i in "${!CLIENTS[@]}"; do
                        IFS='|' read -r short pfx _ <<<"${CLIENTS[i]}"
                        r=${res[$name/$fam/$short]:-?}
                        if [ "$required" = yes ] && [[ $short != a[12O] ]]; then
                                n_req=$((n_req + 1)); [ "$r" = - ] || bad_req+=" $name/$fam/$short=$r"
                        fi
                        if [ "${res[$name/$fam/a1]:-}" = Y ] && [[ $short == [um]A || $short == a[WU] ]]; then
                                n_a=$((n_a + 1)); [ "$r" = - ] || bad_a+=" $name/$fam/$short=$r"
                        fi
                        if [[ $short == a[WU] ]]; then
                                n_wrong=$((n_wrong + 1)); [ "$r" = - ] || bad_wrong+=" $name/$fam/$short=$r"
                        fi
                done
        done
done
expect_eq "$bad_req" "" "where AO is required ($n_req cells), no unsigned, MD5, wrong-secret or unknown-KeyID client connected"
expect_eq "$bad_a" "" "wherever a1 is served, no unsigned, MD5, wrong-secret or unknown-KeyID client from A connected ($n_a cells)"
expect_eq "$bad_wrong" "" "a wrong secret or an unknown KeyID got no handshake anywhere ($n_wrong cells)"
expect_eq "${got_of[mirror-keys/4]}${got_of[mirror-keys/6]}" YYYYYYYYYYYYYYYYYYYY \
        "control: every client, IPv4 and IPv6, is served by a listener that holds its own key"

# ---- fail closed: nothing listens where a layout was refused ----
for row in "${REFUSED[@]}"; do
        IFS='|' read -r name fams _ <<<"$row"
        r=
        for fam in 4 6; do [[ $fams != *$fam* ]] || r+=${res[$name/$fam/closed]:-?}; done
        expect_eq "$r" "${r//?/R}" "refused layout $name: nothing listens on its port (an unsigned SYN is reset)"
done
ss_out=$(in_ns "$NS" ss -Htln) listed=''
for row in "${REFUSED[@]}"; do
        name=${row%%|*}
        [[ $ss_out != *":${port_of[$name]} "* ]] || listed+=" $name:${port_of[$name]}"
done
expect_eq "$listed" "" "ss shows no listener on the port of any refused layout"

for row in "${LAYOUTS[@]}"; do kill "${pid_of[${row%%|*}]}" 2>/dev/null || true; done
wait
echo "# the whole test took $((SECONDS - started)) s"
finish
