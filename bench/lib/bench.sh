# Shared by the bench/* scripts: options, namespaces, medians and the
# result lines bench/run collects (the contract is in bench/README.md).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$(dirname "$BENCH_DIR")
BUILD=${BUILD:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
ACTIVATE=$BUILD/tcpmd5-activate
ECHO_DAEMON=$BUILD/tests/echo-daemon
BENCH_BIN=$BUILD/bench
BENCH_NAME=$(basename "$0")

QUICK=0
for arg in "$@"; do
        case $arg in
        --quick) QUICK=1 ;;
        *) echo "$BENCH_NAME: unknown option $arg (only --quick)" >&2; exit 64 ;;
        esac
done

for f in "$ACTIVATE" "$ECHO_DAEMON" "$BENCH_BIN/bench-startup"; do
        [ -x "$f" ] || { echo "$BENCH_NAME: $f missing; build first (ninja -C $BUILD)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "$BENCH_NAME: run as root (network namespaces)" >&2; exit 1; }

BT=$(mktemp -d /tmp/bench-"$BENCH_NAME".XXXXXX)
chmod 700 "$BT"
BENCH_NETNS=()
BENCH_PIDS=()
bench_cleanup() {
        local p n
        for p in "${BENCH_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
        for n in "${BENCH_NETNS[@]}"; do
                ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
                ip netns del "$n" 2>/dev/null || true
        done
        rm -rf "$BT"
}
trap bench_cleanup EXIT

# bench_netns VAR: a fresh namespace with lo up (name in $VAR), removed at
# exit. Names start with "bench-" so bench/run can sweep leftovers.
bench_netns_seq=0
bench_netns() {
        local name=bench-$BENCH_NAME-$$-$((bench_netns_seq++))
        ip netns add "$name"
        BENCH_NETNS+=("$name")
        ip -n "$name" link set lo up
        printf -v "$1" %s "$name"
}
# bench_netns_del NS: done with it early (frees its keys and sockets).
bench_netns_del() {
        ip netns pids "$1" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$1" 2>/dev/null || true
}

# bench_optmem NS NKEYS: room for NKEYS keys on one socket in NS (about
# 136 bytes each, as src/listener.c measured), never below the kernel default.
bench_optmem() {
        local bytes=$(( ($2 + 16) * 144 ))
        bytes=$(( (bytes + 4095) / 4096 * 4096 ))
        [ "$bytes" -ge 131072 ] || bytes=131072
        ip netns exec "$1" sysctl -qw net.core.optmem_max="$bytes"
}

# median: of the numbers on stdin, one a line.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; m = int((NR + 1) / 2);
        print (NR % 2) ? v[m] : (v[m] + v[m + 1]) / 2 }'; }
# field NAME: the value of NAME=... from "a=1 b=2" lines on stdin.
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }

# The contract's lines (tab-separated, bench/README.md).
# result METRIC OURS BASELINE-NAME BASELINE UNIT [GOAL]: GOAL like "<=1.2"
# bounds the ratio OURS/BASELINE.
result() { printf 'RESULT\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$BENCH_NAME" "$1" "$2" "$3" "$4" "$5" "${6:-}"; }
pending() { printf 'PENDING\t%s\t%s\n' "$BENCH_NAME" "$1"; }
note() { printf 'NOTE\t%s\t%s\n' "$BENCH_NAME" "$1"; }
log() { echo "# $BENCH_NAME: $*" >&2; }
