#!/bin/bash
# A name swapped while the key file is being judged and opened: a second
# process exchanges two links, or two directories, in a tight loop
# (renameat2 RENAME_EXCHANGE, so both directions, as fast as the kernel
# goes), while tcpmd5-activate --check and tcpmd5-connect -k run in a loop.
# The attacker's way leads to /proc/self/personality, a root-owned 0400
# file holding "00000000": a key file by every rule but the way there.
# Whatever the timing, the attacker's key is never read: each run reads
# the real key through a trusted way, or refuses. The controls: the
# swapper really swaps (its count), and a plain read through the same path
# meanwhile sees the attacker's file and the real one. Last, the same
# under --watch: reload after reload, the attacker's key never gets in.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
chmod 755 "$T"
nobody_setup # nobody runs copies: the checkout may be out of its reach
SWAP=$NB_PATH_SWAP
fp() { printf 'tcpmd5 key fingerprint v1\0%s' "$1" | sha256sum | cut -c1-16; }
GOOD_FP=$(fp good-secret-k1)
EVIL_FP=$(fp 00000000)
# Thousands of tries, bounded in time; a few under valgrind.
TRIES=3000 LIMIT=10
[ -z "$VG" ] || { TRIES=15; LIMIT=60; }

# keys/k1: the real key. bob/ is nobody's, and so is bob/E/, whose k1
# links to /proc/self/personality. bob/D/ is root's (as keys/): a real key
# in a directory that happens to sit in nobody's.
R=$T/srv
mkdir -m 755 "$R" "$R/keys" "$R/bob"
key "$R/keys/k1" good-secret-k1
chown nobody:nogroup "$R/bob"
"${AS_NOBODY[@]}" mkdir -m 755 "$R/bob/E"
"${AS_NOBODY[@]}" ln -s /proc/self/personality "$R/bob/E/k1"
"${AS_NOBODY[@]}" ln -s "$R/keys" "$R/bob/L"
"${AS_NOBODY[@]}" ln -s "$R/bob/E" "$R/bob/L.alt"
mkdir -m 755 "$R/bob/D"; key "$R/bob/D/k1" good-secret-k1
ln -s "$R/keys" "$R/cur"
ln -s "$R/bob/E" "$R/cur.alt"

# swapper_start A B AS...: exchange A and B until swapper_stop.
swapper_start() {
        SWAPPING=("$@")
        local a=$1 b=$2; shift 2
        "$@" "$SWAP" "$a" "$b" 300 ${PAUSE:+"$PAUSE"} > "$T/swaps" 2> "$T/swap.err" &
        SWAPPER=$!
        PIDS+=("$SWAPPER")
}
# swapper_stop: the number of swaps in $SWAPS; A and B as they were.
swapper_stop() {
        kill -TERM "$SWAPPER"
        wait "$SWAPPER" || true
        SWAPS=$(cat "$T/swaps")
        SWAPS=${SWAPS:-0}
        if ((SWAPS % 2)); then
                "${SWAPPING[@]:2}" "$SWAP" "${SWAPPING[0]}" "${SWAPPING[1]}" 0 > /dev/null
        fi
}
# read_control PATH: reads PATH by name (bash's own open, no fork) until
# both the real key and the attacker's file were seen, for 15 s at most;
# counts in READ_GOOD and READ_EVIL. (Against a swapper that never pauses,
# the kernel's lookup retries after a rename favour one way so much that
# this can take long: the control swaps once a millisecond.)
read_control() {
        local line i start=$SECONDS
        READ_GOOD=0 READ_EVIL=0
        for ((i = 0; SECONDS - start < 15 && (READ_GOOD == 0 || READ_EVIL == 0); i++)); do
                { IFS= read -r line < "$1"; } 2> /dev/null || line=
                case $line in
                good-secret-k1) READ_GOOD=$((READ_GOOD + 1)) ;;
                00000000) READ_EVIL=$((READ_EVIL + 1)) ;;
                esac
        done
}
# tally RC OUTPUT: one run into ACCEPTED (real key's fingerprint shown),
# REFUSED (exit 77), EVIL (the attacker's fingerprint anywhere), OTHER.
tally() {
        RUNS=$((RUNS + 1))
        case $2 in *"$EVIL_FP"*) EVIL=$((EVIL + 1)); return ;; esac
        if [ "$1" = 77 ]; then REFUSED=$((REFUSED + 1))
        elif [[ $2 == *"fingerprint $GOOD_FP"* ]]; then ACCEPTED=$((ACCEPTED + 1))
        else OTHER=$((OTHER + 1)); [ -n "$OTHER_SAMPLE" ] || OTHER_SAMPLE="rc $1: $2"; fi
}
# race WHAT KEYPATH A B AS...: --check on a config reading KEYPATH in a
# loop while A and B are exchanged as AS; then tcpmd5-connect -k KEYPATH.
race() {
        local what=$1 path=$2 a=$3 b=$4 rc out start; shift 4
        write_conf "$T/race.conf" '[Socket]' 'ListenStream = 127.0.0.1:2654' '[Service]' 'ExecStart = /bin/true' \
                '[Key k]' 'Peer = 127.0.0.0/8' "SecretFile = $path"
        swapper_start "$a" "$b" "$@"
        RUNS=0 ACCEPTED=0 REFUSED=0 EVIL=0 OTHER=0 OTHER_SAMPLE=
        start=$SECONDS
        while ((RUNS < TRIES && SECONDS - start < LIMIT)); do
                rc=0; out=$($VG "$ACTIVATE" --config "$T/race.conf" --check 2>&1) || rc=$?
                tally "$rc" "$out"
        done
        echo "# $what, --check: $RUNS runs: $ACCEPTED read the real key, $REFUSED refused, $EVIL the attacker's, $OTHER other"
        expect_eq "$EVIL" 0 "$what: --check never read the attacker's key ($RUNS runs)"
        expect_eq "$OTHER" 0 "$what: --check read the real key or refused, every time${OTHER_SAMPLE:+ ($OTHER_SAMPLE)}"
        [ -z "${WANT_ALL_REFUSED:-}" ] || expect_eq "$REFUSED" "$RUNS" "$what: --check refused every time"
        RUNS=0 ACCEPTED=0 REFUSED=0 EVIL=0 OTHER=0 OTHER_SAMPLE=
        start=$SECONDS
        while ((RUNS < TRIES / 10 && SECONDS - start < LIMIT / 2)); do
                rc=0; out=$(in_ns "$NS" "$CONNECT" -v -t 0.05 -k "$path" 127.0.0.1 2654 < /dev/null 2>&1) || rc=$?
                tally "$rc" "$out"
        done
        echo "# $what, tcpmd5-connect -k: $RUNS runs: $ACCEPTED used the real key, $REFUSED refused, $EVIL the attacker's, $OTHER other"
        expect_eq "$EVIL" 0 "$what: tcpmd5-connect -k never used the attacker's key ($RUNS runs)"
        [ -z "${WANT_ALL_REFUSED:-}" ] || expect_eq "$REFUSED" "$RUNS" "$what: tcpmd5-connect -k refused every time"
        swapper_stop
        check "control: $what: the swapper swapped ($SWAPS times)" test "$SWAPS" -gt 0
        PAUSE=1 swapper_start "$a" "$b" "$@"
        read_control "$path"
        swapper_stop
        echo "# $what: a plain read through $path meanwhile: ${READ_GOOD} real, ${READ_EVIL} attacker's"
        check "control: $what: a plain read through the path meanwhile got the attacker's file" test "$READ_EVIL" -gt 0
        check "control: $what: ... and the real key" test "$READ_GOOD" -gt 0
}

# nobody, who owns bob/, swaps bob/L between -> keys and -> bob/E: refused
# whichever way it stands, as bob/ is nobody's.
WANT_ALL_REFUSED=1 race "nobody swaps links (bob/L)" "$R/bob/L/k1" "$R/bob/L" "$R/bob/L.alt" "${AS_NOBODY[@]}"
# nobody swaps root's directory bob/D with bob/E (both in bob/, which
# nobody may write): the same.
WANT_ALL_REFUSED=1 race "nobody swaps directories (bob/D)" "$R/bob/D/k1" "$R/bob/D" "$R/bob/E"  "${AS_NOBODY[@]}"
# cur is root's and leads to keys/ or, swapped, through nobody's bob/: the
# verdict follows the way each run actually took, so both happen, and
# never the attacker's key.
race "cur swapped between a trusted and an untrusted way" "$R/cur/k1" "$R/cur" "$R/cur.alt"

# --- --watch: reload after reload while cur flips every second.
key "$T/good.key" good-secret-k1
key "$T/evil.key" 00000000
write_conf "$T/watch.conf" '[Socket]' 'ListenStream = 127.0.0.1:2655' '[Service]' "ExecStart = $ECHO_DAEMON $T/report" \
        '[Key k]' 'Peer = 127.0.0.0/8' "SecretFile = $R/cur/k1"
expect_eq "$(readlink "$R/cur")" "$R/keys" "the swaps left cur as it was (leading to keys/)"
next_tick
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --watch --config "$T/watch.conf"
sup=$BG_PID
check "--watch: the listener comes up with the real key" wait_for 200 test -s "$T/report"
# A second between swaps: a reload (200 ms after the change, then a read
# that valgrind slows) sees the state the swap made, not the next one.
PAUSE=1000 swapper_start "$R/cur" "$R/cur.alt"
probes=0 evil_in=0 start=$SECONDS
while ((SECONDS - start < 8)); do
        probes=$((probes + 1))
        echo_dropped "$NS" "$T/evil.key" 127.0.0.1 2655 || evil_in=$((evil_in + 1))
done
swapper_stop
refusals=$(grep -c "directory $R/bob is owned by another user" "$T/bg.err" || true)
echo "# --watch: $SWAPS swaps, $refusals reloads refused, $probes probes with the attacker's key"
expect_eq "$evil_in" 0 "--watch: the attacker's key never got in ($probes probes)"
check "--watch: reloads were refused, the log naming bob/" test "$refusals" -gt 0
check "--watch: the real key gets in" echo_ok "$NS" "$T/good.key" 127.0.0.1 2655
kill -TERM "$sup"; wait_exit "$sup" || true
finish
