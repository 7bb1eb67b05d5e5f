#!/bin/bash
# The guest half of bench/ao-vm: TCP-AO against TCP MD5 in the test VM
# (tests/vm/run-ao boots it; its kernel has CONFIG_TCP_AO), all in one boot.
# A tests/lib.sh test: its checks (every run really signed, every byte came
# back, every SYN was dropped for the reason expected) are TAP lines, and
# the figures are RESULT / NOTE lines (bench/README.md's contract) that
# bench/ao-vm picks out of the console. Only ratios AO/MD5 are reported:
# under TCG absolute figures mean nothing. Each part takes MD5, AO hmac and
# AO cmac in turn, round after round, so that a round's ratio compares runs
# a moment apart on a host whose load drifts; the median over rounds.
# Round 0 of each part is a warm-up, not counted: under TCG the first run of
# a kernel path pays for translating its code.
# AO_BENCH_QUICK=1 (from the kernel command line): fewer, shorter rounds.
. "$(dirname "$0")/../../tests/lib.sh"
BB=$BUILD/bench
INJECT=$BUILD/tests/rst-inject
KEYCONF=$(dirname "$0")/keyconf.py
NAME='ao-vm'
if [ "${AO_BENCH_QUICK:-0}" = 1 ]; then
        RATE_ROUNDS=5 RATE_MS=100 XFER_ROUNDS=3 XFER_MIB=2 SYN_ROUNDS=3 SYNS=2000
else
        RATE_ROUNDS=31 RATE_MS=200 XFER_ROUNDS=13 XFER_MIB=4 SYN_ROUNDS=9 SYNS=20000
fi
MODES=(md5 sha1 cmac)
declare -A ALG=([sha1]='hmac(sha1)' [cmac]='cmac(aes128)')

result() { printf 'RESULT\t%s\t%s\t%s\t-\t-\t%s\t\n' "$NAME" "$1" "$2" "$3"; }
note() { printf 'NOTE\t%s\t%s\n' "$NAME" "$1"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; m = int((NR + 1) / 2);
        print (NR % 2) ? v[m] : (v[m] + v[m + 1]) / 2 }'; }
# ratios A B: the median over rounds of A/B, files of one figure a round each.
ratios() { paste "$T/$1" "$T/$2" | awk '{ printf "%.3f\n", $1 / $2 }' | median; }
spread() { paste "$T/$1" "$T/$2" | awk '{ printf "%.2f\n", $1 / $2 }' | sort -g | sed -n '1p;$p' | paste -sd- -; }
# to ROUND FILE: where a round's figure goes (round 0, the warm-up: nowhere).
to() { if [ "$1" = 0 ]; then echo /dev/null; else echo "$T/$2"; fi; }
# (connections/s and --fdpass drop their warm-up lines themselves: tail -n +2.)
# rotated ROUND ITEM...: the ITEMs, starting with the ROUND-th.
rotated() { local r=$1 i; shift; for ((i = 0; i < $#; i++)); do echo "${@:(i + r) % $# + 1:1}"; done; }
echo "# rounds: rate $RATE_ROUNDS x $RATE_MS ms, --fdpass $XFER_ROUNDS x $XFER_MIB MiB, SYNs $SYN_ROUNDS x $SYNS"

# Which implementations the kernel picked: it decides how TCG distorts them.
drivers=$(awk '/^name/ { n = $3 } /^driver/ { if (n == "md5" || n == "sha1" || n == "aes") print n "=" $3 }' /proc/crypto | sort -u | paste -sd' ' -)
generic=
[ "$drivers" != "aes=aes-generic md5=md5-generic sha1=sha1-generic" ] || generic=" (generic C: no arch-accelerated MD5, SHA-1 or AES)"
note "guest kernel crypto drivers: ${drivers:-none loaded}$generic"

# ---- connections per second: plain keyed sockets, all in one process ----
# md5-connect-rate runs the three in turn, RATE_MS each, round after round:
# a round's three rates are measured within a second.
netns_new "$NS"
in_ns "$NS" "$BB/md5-connect-rate" -a md5 -a 'hmac(sha1)' -a 'cmac(aes128)' -e 1 7001 "$RATE_MS" $((RATE_ROUNDS + 1)) \
        > "$T/rate.out" || echo "# md5-connect-rate failed"
declare -A MODE_OF=([md5]=md5 ['hmac(sha1)']=sha1 ['cmac(aes128)']=cmac)
for alg in md5 'hmac(sha1)' 'cmac(aes128)'; do
        grep -F "alg=$alg rate=" "$T/rate.out" | tail -n +2 | sed 's/.*rate=//' > "$T/rate.${MODE_OF[$alg]}" || true
        grep -F "alg=$alg ao_good=" "$T/rate.out" | sed 's/.*ao_good=//' > "$T/good.${MODE_OF[$alg]}" || true
done
for m in "${MODES[@]}"; do
        echo "# conn/s $m: $(paste -sd' ' "$T/rate.$m")"
        check "connections/s, $m: $RATE_ROUNDS positive rates" \
                test "$(grep -c '^[1-9][0-9]*$' "$T/rate.$m")" = "$RATE_ROUNDS"
done
for m in sha1 cmac; do
        check "connections/s, $m: its listener verified TCP-AO segments ($(cat "$T/good.$m"))" \
                test "$(cat "$T/good.$m")" -gt 0
        result "connections/s (handshake, 1 byte each way, reset), AO ${ALG[$m]} / MD5" "$(ratios "rate.$m" rate.md5)" ratio
        note "connections/s, AO ${ALG[$m]} / MD5, per round: $(spread "rate.$m" rate.md5)"
done

# ---- bulk throughput through tcpmd5-connect --fdpass ----
key "$T/key" bench-secret
write_conf "$T/md5.conf" '[Socket]' 'ListenStream = 127.0.0.1:7012' '[Service]' "ExecStart = $ECHO_DAEMON $T/report-md5" \
        '[Key m]' 'Peer = 127.0.0.1' "SecretFile = $T/key"
write_conf "$T/ao.conf" '[Socket]' 'ListenStream = 127.0.0.1:7013' '[Service]' "ExecStart = $ECHO_DAEMON $T/report-ao" \
        '[Key s]' 'Peer = 127.0.1.0/24' 'Algorithm = hmac(sha1)' 'SendID = 1' 'RecvID = 1' "SecretFile = $T/key" \
        '[Key c]' 'Peer = 127.0.2.0/24' 'Algorithm = cmac(aes128)' 'SendID = 2' 'RecvID = 2' "SecretFile = $T/key"
for c in md5 ao; do start_bg "$NS" "$ACTIVATE" --config "$T/$c.conf"; done
check "--fdpass: both echo servers started" wait_for 600 test -s "$T/report-md5" -a -s "$T/report-ao"
# One ssh-xfer holds the three passed sockets (md5, sha1, cmac: conn 0, 1,
# 2) and echoes over each in turn, round after round.
fdpass=(--fdpass -t 10 -k "$T/key")
in_ns "$NS" "$BB/ssh-xfer" -r $((XFER_ROUNDS + 1)) fdpass $((XFER_MIB << 20)) \
        "$CONNECT" "${fdpass[@]}" 127.0.0.1 7012 \
        --also "$CONNECT" "${fdpass[@]}" -s 127.0.1.1 --ao 'hmac(sha1):1:1' 127.0.0.1 7013 \
        --also "$CONNECT" "${fdpass[@]}" -s 127.0.2.1 --ao 'cmac(aes128):2:2' 127.0.0.1 7013 \
        > "$T/xfer.out" 2> "$T/xfer.err" || echo "# ssh-xfer failed"
for c in 0 1 2; do
        grep "^conn=$c " "$T/xfer.out" | tail -n +2 | sed 's/.*MiB\/s=//' > "$T/xfer.${MODES[c]}" || true
done
sed 's/^/# ssh-xfer: /' "$T/xfer.err"
for m in "${MODES[@]}"; do
        echo "# --fdpass MiB/s $m: $(paste -sd' ' "$T/xfer.$m")"
        check "--fdpass, $m: every one of $XFER_ROUNDS echoes of $XFER_MIB MiB came back whole" \
                test "$(grep -c '^[0-9.]*[1-9][0-9.]*$' "$T/xfer.$m")" = "$XFER_ROUNDS"
done
for m in sha1 cmac; do
        result "--fdpass throughput, $XFER_MIB MiB echo, AO ${ALG[$m]} / MD5" "$(ratios "xfer.$m" xfer.md5)" ratio
        note "--fdpass throughput, AO ${ALG[$m]} / MD5, per round: $(spread "xfer.$m" xfer.md5)"
done
ip netns exec "$NS" nstat -asz TcpExtTCPAOGood > "$T/nstat.out" 2>&1 || true
check "--fdpass: the AO listener's connections verified TCP-AO segments (TcpExtTCPAOGood)" \
        grep -Eq 'TcpExtTCPAOGood +[1-9]' "$T/nstat.out"

# ---- an unsigned SYN against N keys: the activator's layouts ----
# MD5: N keys and the catch-all (UnmatchedPeers=drop); AO: N keys, hmac and
# cmac alternating, distinct prefixes, SendID = RecvID = i mod 256, and
# ao_required. The SYNs come from 127.0.0.2, which no key but MD5's
# catch-all covers. One listener per layout for all rounds: a dropped SYN
# leaves nothing behind.
declare -A SYN_NS
for n in 10 1000; do
        for k in md5 ao; do
                ns=$NS-$k-$n
                netns_new "$ns"
                SYN_NS[$k-$n]=$ns
                in_ns "$ns" sysctl -qw net.core.optmem_max=4194304
                ao=(); [ "$k" = md5 ] || ao=(--ao 'hmac(sha1),cmac(aes128)')
                python3 "$KEYCONF" "$T/syn-$k-$n.conf" "$n" 7004 "$ECHO_DAEMON $T/report-$k-$n" "${ao[@]}"
                start_bg "$ns" "$ACTIVATE" --config "$T/syn-$k-$n.conf"
        done
done
for l in "${!SYN_NS[@]}"; do
        check "SYN cost: the $l listener started" wait_for 1200 test -s "$T/report-$l"
done
# syn_cpu LAYOUT: CPU seconds (user + system, rusage) of sending the SYNs;
# on loopback their receive path runs in the sender's context. bash's
# `times` inside the namespace counts only the sender.
syn_cpu() {
        in_ns "${SYN_NS[$1]}" bash -c '"$@" > "$0"; times' "$T/sent" \
                "$INJECT" syn -n "$SYNS" -u 1000 127.0.0.2 127.0.0.1 7004 > "$T/times" || return 1
        grep -qx "sent $SYNS" "$T/sent" || { echo "# $1: $(cat "$T/sent")"; return 1; }
        sed -n 2p "$T/times" | awk '{ split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.4f\n", u[1] * 60 + u[2] + s[1] * 60 + s[2] }'
}
for ((r = 0; r <= SYN_ROUNDS; r++)); do
        for l in $(rotated "$r" md5-10 ao-10 md5-1000 ao-1000); do syn_cpu "$l" >> "$(to "$r" "syn.$l")" || echo "# $l: a burst failed"; done
done
for l in md5-10 ao-10 md5-1000 ao-1000; do
        echo "# SYN CPU s $l: $(paste -sd' ' "$T/syn.$l")"
        check "SYN cost, $l: $SYN_ROUNDS bursts of $SYNS sent" test "$(grep -c . "$T/syn.$l")" = "$SYN_ROUNDS"
        check "SYN cost, $l: none answered" test -z "$(in_ns "${SYN_NS[$l]}" ss -Htn state syn-recv)"
done
# The control: the drops were the key set's doing, in both layouts.
count() { in_ns "${SYN_NS[$1]}" nstat -asz "$2" | awk -v c="$2" '$1 == c { print $2 }'; }
for n in 10 1000; do
        got=$(count "md5-$n" TcpExtTCPMD5NotFound)
        check "SYN cost, md5-$n: every SYN dropped by the MD5 catch-all (TcpExtTCPMD5NotFound $got)" \
                test "${got:-0}" -ge $((SYNS * (SYN_ROUNDS + 1)))
        got=$(count "ao-$n" TcpExtTCPAORequired)
        check "SYN cost, ao-$n: every SYN dropped by ao_required (TcpExtTCPAORequired $got)" \
                test "${got:-0}" -ge $((SYNS * (SYN_ROUNDS + 1)))
done
for n in 10 1000; do
        result "CPU of $SYNS unsigned SYNs, N=$n keys, AO / MD5" "$(ratios "syn.ao-$n" "syn.md5-$n")" ratio
        note "unsigned SYN CPU, N=$n, AO / MD5, per round: $(spread "syn.ao-$n" "syn.md5-$n")"
done
for k in md5 ao; do
        result "CPU of $SYNS unsigned SYNs, $k, N=1000 / N=10" "$(ratios "syn.$k-1000" "syn.$k-10")" ratio
        paste "$T/syn.$k-1000" "$T/syn.$k-10" | awk '{ printf "%.4f\n", $1 - $2 }' > "$T/walk.$k"
done
# What the 990 more keys add, start-up and fixed path cancelled: the walk.
result "CPU that 990 more keys add to $SYNS unsigned SYNs (N=1000 minus N=10), AO / MD5" "$(ratios walk.ao walk.md5)" ratio
note "unsigned SYN, 990 more keys, AO / MD5, per round: $(spread walk.ao walk.md5)"
note "connections/s: md5-connect-rate -e, plain keyed sockets in one process (no activator, no process start per connection), one key on each listener, the three in turn $RATE_MS ms each"
note "--fdpass: bench/ssh-xfer -r over three sockets from tcpmd5-connect --fdpass (MD5, AO hmac, AO cmac), to tests/echo-daemon behind tcpmd5-activate, $XFER_MIB MiB over each in turn"
note "SYN cost: tests/rst-inject syn from 127.0.0.2 to tcpmd5-activate; MD5 N keys + catch-all, AO N keys (hmac/cmac alternating) + ao_required"
finish
