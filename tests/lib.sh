# Shared by the integration tests: a private network namespace per test,
# bounded waits, and assertions that print TAP (ok / not ok lines, and the
# plan from finish(), so meson counts each check).
set -euo pipefail

: "${BUILD:?BUILD must name the meson build directory}"
ACTIVATE=$BUILD/tcpmd5-activate
CONNECT=$BUILD/tcpmd5-connect
ECHO_DAEMON=$BUILD/tests/echo-daemon
CLIENT=$BUILD/tests/md5-client

T=$(mktemp -d /tmp/tcpmd5-test.XXXXXX)
chmod 700 "$T"
# A prefix for the activator. TEST_WRAPPER=valgrind (meson test --setup
# valgrind) runs it under memcheck, one quiet log per process, which
# finish() requires to be empty: no error, no definite leak. The log
# directory is open to all, for tests that run the activator as nobody.
mkdir -m 1777 "$T/vg"
VALGRIND="valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --log-file=$T/vg/valgrind.%p.log"
VG=
[ "${TEST_WRAPPER:-}" != valgrind ] || VG=$VALGRIND
# Every activator runs with tests/helpers/listen-guard.c preloaded: it
# aborts the activator on a listen() of a TCP socket that holds no TCP MD5
# key yet, and finish() fails the test on what it logged. A start that
# means a keyless listener (UnmatchedPeers=allow-unsigned, no [Key]) names
# its port in LISTEN_GUARD_UNSIGNED. ASan wants its runtime first in the
# preload list; the guard goes first, so that check is off.
LISTEN_GUARD_SO=$BUILD/tests/listen-guard.so
mkdir -m 1777 "$T/guard"
LISTEN_GUARD_LOG=$T/guard/abort.log
GUARD_ENV=("LD_PRELOAD=$LISTEN_GUARD_SO" "LISTEN_GUARD_TARGET=$ACTIVATE" "LISTEN_GUARD_LOG=$LISTEN_GUARD_LOG"
           "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
GUARD="env ${GUARD_ENV[*]}"
WRAP="$GUARD${VG:+ $VG}"
# The activator's executable name as /proc and ps show it (comm is cut at 15).
ACTIVATOR_EXE=tcpmd5-activate
[ "${TEST_WRAPPER:-}" != valgrind ] || ACTIVATOR_EXE=memcheck-amd64-linux
ACTIVATOR_COMM=${ACTIVATOR_EXE:0:15}
NS=t$$
FAILED=0
CHECKS=0   # ok and not ok lines so far: finish() prints the plan 1..CHECKS
PIDS=()
NETNS=()

# cleanup [STATUS]: at exit. A test that stopped before finish() (set -e,
# an exit of its own) fails, and still prints a plan and the guard's
# verdict, so that meson shows where it stopped.
cleanup() {
        local rc=${1:-$?}
        if [ -z "${PLANNED:-}" ]; then
                [ -n "${GUARD_REPORTED:-}" ] || [ ! -s "$LISTEN_GUARD_LOG" ] || listen_guard_verdict
                fail "the test stopped before finish()"
                echo "1..$CHECKS"
                if [ "$rc" = 0 ]; then rc=1; else echo "# exit status $rc"; fi
        fi
        for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
        for n in "${NETNS[@]}"; do
                ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
                ip netns del "$n" 2>/dev/null || true
        done
        [ -n "${KEEP_T:-}" ] || rm -rf "$T"   # KEEP_T=1: keep logs and captures for a post-mortem
        exit "$rc"
}
trap cleanup EXIT

ok() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
fail() { CHECKS=$((CHECKS + 1)); echo "not ok - $*"; FAILED=1; }
# skip WHAT: one check that cannot run here (a tool is missing);
# skip_all REASON: none can, the whole test is skipped.
skip() { CHECKS=$((CHECKS + 1)); echo "ok - # SKIP $*"; }
skip_all() { PLANNED=1; echo "1..0 # SKIP $*"; exit 0; }
# valgrind_verdict: every memcheck log of this test is empty. A test that
# runs nothing under $WRAP says so (it is then an ordinary rerun).
valgrind_verdict() {
        local logs=("$T"/vg/valgrind.*.log) l
        if [ ! -e "${logs[0]}" ]; then echo "# memcheck: nothing in this test ran under valgrind"; return; fi
        for l in "${logs[@]}"; do
                if [ -s "$l" ]; then fail "memcheck: errors in ${l##*/}"; sed 's/^/#   /' "$l" | head -40
                else ok "memcheck: ${l##*/} clean"; fi
        done
}
# listen_guard_verdict: no activator listened before its keys were on.
listen_guard_verdict() {
        GUARD_REPORTED=1
        if [ -s "$LISTEN_GUARD_LOG" ]; then fail "an activator listened on a socket without keys (listen-guard)"
                sed 's/^/#   /' "$LISTEN_GUARD_LOG" | head -20
        else ok "listen-guard: every listening socket held its keys first"; fi
}
finish() {
        listen_guard_verdict
        [ -z "${NB:-}" ] || nobody_verdict
        if grep -nE '^[^#]*\b(setpriv\b.*--reuid|runuser\b)' "$0" > "$T/setpriv.lines"; then
                fail "this test runs something as another user without AS_NOBODY (nobody_setup)"
                sed 's/^/#   /' "$T/setpriv.lines"
        fi
        [ "${TEST_WRAPPER:-}" != valgrind ] || valgrind_verdict
        PLANNED=1
        echo "1..$CHECKS"
        if [ "$FAILED" = 0 ]; then echo "# all checks passed"; exit 0; fi
        echo "# some checks failed"; exit 1
}

# netns_new NAME: a namespace with lo up, removed at exit.
netns_new() {
        ip netns add "$1"
        NETNS+=("$1")
        ip -n "$1" link set lo up
}
in_ns() { local n=$1; shift; ip netns exec "$n" "$@"; }

# key FILE SECRET: a key file as an admin would write it (0600).
key() { printf '%s\n' "$2" > "$1"; chmod 600 "$1"; }
# write_conf FILE [LINE...]: a config file (0600), one LINE a line, or
# standard input (a here-document) without LINEs.
write_conf() {
        local f=$1; shift
        if [ $# -gt 0 ]; then printf '%s\n' "$@" > "$f"; else cat > "$f"; fi
        chmod 600 "$f"
}

# expect_rc WANT DESCRIPTION CMD...: run CMD, compare its exit status.
expect_rc() {
        local want=$1 what=$2; shift 2
        local rc=0
        "$@" > "$T/last.out" 2> "$T/last.err" || rc=$?
        if [ "$rc" = "$want" ]; then ok "$what (exit $rc)"; else
                fail "$what: exit $rc, wanted $want"; sed 's/^/#   /' "$T/last.err" "$T/last.out" | head -20; fi
}
expect_stderr() { # PATTERN DESCRIPTION: about the last expect_rc
        if grep -Eq -- "$1" "$T/last.err"; then ok "$2"; else
                fail "$2: stderr lacks /$1/"; sed 's/^/#   /' "$T/last.err" | head -20; fi
}
expect_eq() { if [ "$1" = "$2" ]; then ok "$3"; else fail "$3: got '$1', wanted '$2'"; fi; }

# wait_for TRIES CMD...: retry CMD every 0.05 s, at most TRIES times.
# Also for messages of a process still running: its log line may trail what the test saw.
# Once the listen guard aborted an activator, nothing is worth waiting for:
# the test ends there, failed.
wait_for() {
        local n=$1 i; shift
        for ((i = 0; i < n; i++)); do
                "$@" >/dev/null 2>&1 && return 0
                [ ! -s "$LISTEN_GUARD_LOG" ] || finish
                sleep 0.05
        done
        return 1
}
# exited PID: PID is gone or a zombie (kill -0 succeeds on a zombie).
exited() { local s; s=$(ps --no-headers -o stat= -p "$1" 2>/dev/null) || true; [ -z "$s" ] || [ "${s:0:1}" = Z ]; }
# process_tree PID: PID and its descendants, with state and kernel wait
# channel, for the log of a process that would not end.
process_tree() {
        ps -e -o pid=,ppid=,stat=,wchan:24=,args= | awk -v root="$1" '
                { line[$1] = $0; parent[$1] = $2 }
                END { for (p in line) { q = p; for (i = 0; i < 64 && q != "" && q != root; i++) q = parent[q]
                                        if (q == root) print substr(line[p], 1, 160) } }'
}
# wait_exit PID [TRIES]: wait for the background job PID, at most TRIES *
# 0.05 s (default 15 s, 30 s under valgrind), and return its exit status.
# One still running then is a failure: it is killed (status 137) so that a
# broken build fails in seconds, not at meson's timeout.
wait_exit() {
        local pid=$1 n=${2:-$([ -z "$VG" ] && echo 300 || echo 600)} rc=0
        if ! wait_for "$n" exited "$pid"; then
                fail "pid $pid ($(ps --no-headers -o args= -p "$pid" | cut -c1-80)) still running after $((n / 20)) s: killed"
                process_tree "$pid" | sed 's/^/#   /'
                kill -9 "$pid" 2>/dev/null || true
        fi
        wait "$pid" || rc=$?
        return "$rc"
}
listening() { # NS PORT
        ip netns exec "$1" ss -Htln "sport = :$2" | grep -q LISTEN
}
# start_bg NS CMD...: run CMD in NS in the background; pid in $BG_PID.
start_bg() {
        local n=$1; shift
        ip netns exec "$n" "$@" > "$T/bg.out" 2> "$T/bg.err" &
        BG_PID=$!
        PIDS+=("$BG_PID")
}
# A --watch activator takes a file changed in the clock tick in which it
# read its files (4 ms at HZ=250) as changed since, and reloads once more
# (src/watch.c). Tests that count reloads start it a few ticks after their
# last write.
next_tick() { sleep 0.02; }
# signed NS KEY ADDR PORT: exit 0 when a signed echo comes back.
echo_ok() {
        local n=$1 k=$2 a=$3 p=$4 out
        out=$(ip netns exec "$n" $CLIENT -t 3000 ${k:+-k "$k"} "$a" "$p" "ping-$a") || return 1
        [ "$out" = "ping-$a" ]
}
# dropped NS KEY ADDR PORT: exit 0 when the connect times out (SYN dropped).
echo_dropped() {
        local n=$1 k=$2 a=$3 p=$4 rc=0
        ip netns exec "$n" $CLIENT -t 300 ${k:+-k "$k"} "$a" "$p" x >/dev/null 2>&1 || rc=$?
        [ "$rc" = 3 ]
}
check() { # DESCRIPTION CMD...: ok when CMD succeeds
        local what=$1; shift
        if "$@"; then ok "$what"; else fail "$what"; fi
}

# Accept mode helpers.
REPORT=$BUILD/tests/conn-report
# conn_report NS KEY SRC SPORT ADDR PORT: one signed exchange; the reply
# (conn-report's lines, then "end") lands in $T/conn.out.
conn_report() {
        ip netns exec "$1" $CLIENT -t 3000 ${2:+-k "$2"} -s "$3" -p "$4" "$5" "$6" end > "$T/conn.out" 2>&1
}
field() { sed -n "s/^$1=//p" "$T/conn.out"; }
# children PID: how many processes have PID as parent (zombies included).
# ps, not awk over every /proc/PID/stat file: mawk aborts, printing nothing, when a
# process ends between the glob and the open.
# (ps exits 1 when it selects nothing: under pipefail that is no error here.)
children() { { ps --no-headers --ppid "$1" -o stat= || true; } | wc -l; }
children_are() { [ "$(children "$1")" = "$2" ]; } # for wait_for
zombies() { { ps --no-headers --ppid "$1" -o stat= || true; } | { grep -c '^Z' || true; }; }
declare -A HOLD   # NAME -> pid of the sleep holding its fifo open
# hold NAME NS KEY SRC ADDR PORT: a connection kept open until release NAME.
# Only a sleep holds the fifo's write end, so nothing else delays the EOF.
hold() {
        local name=$1 n=$2 k=$3 src=$4 a=$5 p=$6
        mkfifo "$T/$name.fifo"
        ip netns exec "$n" $CONNECT ${k:+-k "$k"} -s "$src" "$a" "$p" < "$T/$name.fifo" > "$T/$name.out" 2>&1 &
        PIDS+=("$!")
        sleep 60 > "$T/$name.fifo" &
        PIDS+=("$!")
        HOLD[$name]=$!
}
release() { kill "${HOLD[$1]}"; }

# sshd_setup: a throwaway host key, user key and sshd_config in $T for
# "sshd -i" behind the activator (sshd in $SSHD, its /run/sshd made).
SSHD=/usr/sbin/sshd
sshd_setup() {
        mkdir -p -m 755 /run/sshd # sshd's privilege separation directory
        ssh-keygen -q -t ed25519 -N '' -f "$T/host_key" -C throwaway-host
        ssh-keygen -q -t ed25519 -N '' -f "$T/user_key" -C throwaway-user
        cp "$T/user_key.pub" "$T/authorized_keys"
        cat > "$T/sshd_config" <<CONF
HostKey $T/host_key
AuthorizedKeysFile $T/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
LogLevel VERBOSE
CONF
}

# Tests that look for secrets in memory. meson test sets MALLOC_PERTURB_
# to a random value, and glibc's free() then overwrites freed memory
# itself: a buffer freed without explicit_bzero() would look wiped.
# memory_scan_setup unsets it for the test and every process it starts.
# unwiped_start READY CMD...: the control, CMD being unwiped-secret (or
# $NB_UNWIPED as nobody) FILE READY, which holds FILE's secret in a heap
# buffer freed without a wipe; its pid in UNWIPED_PID once it is ready.
# A scan that cannot find the secret there is blind.
memory_scan_setup() {
        unset MALLOC_PERTURB_
        MEMDUMP=$SRC_ROOT/tests/helpers/memdump.py
        UNWIPED=$BUILD/tests/unwiped-secret
}
unwiped_start() {
        local ready=$1; shift
        rm -f "$ready"
        "$@" &
        UNWIPED_PID=$!
        PIDS+=("$UNWIPED_PID")
        wait_for 200 test -e "$ready"
}

# Runs as nobody. A checkout under a 0700 directory (a clone in /root) is
# out of nobody's reach, so nobody runs copies: nobody_setup puts the
# programs nobody needs in $NB (under $T, made traversable) and defines
# NB_ACTIVATE, NB_ECHO_DAEMON, NB_MEMDUMP, NB_UNWIPED, NB_PATH_SWAP, NB_WRAP (the guard
# and valgrind prefix for NB_ACTIVATE) and AS_NOBODY, the prefix that runs
# a command as nobody:nogroup ("${AS_NOBODY[@]}" [--setpriv-option...] CMD...).
# AS_NOBODY refuses, loudly, a command naming anything in the checkout or
# the build (in its arguments or in a .conf file they name), or a path nobody
# cannot reach; finish() then fails the test. Refusing the checkout keeps a
# test honest in a readable checkout too, where nobody could reach it.
SRC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
nobody_setup() {
        local f
        chmod 711 "$T"
        NB=$T/nb-bin
        mkdir -m 755 "$NB"
        for f in "$ACTIVATE" "$ECHO_DAEMON" "$LISTEN_GUARD_SO" "$BUILD/tests/unwiped-secret" "$BUILD/tests/path-swap" \
                 "$SRC_ROOT/tests/helpers/memdump.py"; do
                install -m 755 "$f" "$NB/"
        done
        NB_ACTIVATE=$NB/tcpmd5-activate
        NB_ECHO_DAEMON=$NB/echo-daemon
        NB_MEMDUMP=$NB/memdump.py
        NB_UNWIPED=$NB/unwiped-secret
        NB_PATH_SWAP=$NB/path-swap
        NB_WRAP="env LD_PRELOAD=$NB/listen-guard.so LISTEN_GUARD_TARGET=$NB_ACTIVATE LISTEN_GUARD_LOG=$LISTEN_GUARD_LOG"
        NB_WRAP+=" ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0${VG:+ $VG}"
        : > "$T/nobody-refused.log"
        {
                echo '#!/bin/bash'
                echo '# as-nobody [--setpriv-option...] CMD...: CMD as nobody (tests/lib.sh).'
                printf 'build=%q src=%q log=%q\n' "$(realpath "$BUILD")" "$SRC_ROOT" "$T/nobody-refused.log"
                cat <<'SCRIPT'
set -u
opts=(); while [[ $1 == --* ]]; do opts+=("$1"); shift; done
paths=() bad=()
for a in "$@"; do
        IFS='=: ' read -ra words <<< "$a"
        for w in "${words[@]}"; do [[ $w != /* ]] || paths+=("$w"); done
        [[ $a != *.conf ]] || [ ! -f "$a" ] || ! grep -qF -e "$build/" -e "$src/" "$a" || bad+=("$a names the checkout or the build")
done
for p in "${paths[@]}"; do
        case "$(realpath -m "$p")/" in "$build"/* | "$src"/*) bad+=("$p is in the checkout or the build") ;; esac
        [ ! -e "$p" ] || setpriv --reuid=nobody --regid=nogroup --clear-groups test -e "$p" || bad+=("nobody cannot reach $p")
done
if [ ${#bad[@]} -gt 0 ]; then
        printf 'as-nobody: refused: %s\n' "${bad[@]}" | tee -a "$log" >&2
        exit 125
fi
exec setpriv --reuid=nobody --regid=nogroup --clear-groups "${opts[@]}" "$@"
SCRIPT
        } > "$NB/as-nobody"
        chmod 755 "$NB/as-nobody"
        AS_NOBODY=("$NB/as-nobody")
}
nobody_verdict() {
        if [ -s "$T/nobody-refused.log" ]; then fail "as nobody: a command named what nobody cannot or must not run"
                sed 's/^/#   /' "$T/nobody-refused.log" | head -20
        else ok "as nobody: every command ran copies that nobody can reach"; fi
}
