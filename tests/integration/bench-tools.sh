#!/bin/bash
# The benchmark tools measure what they claim: the bench key set, the
# generated config and the limit program agree (the client is served by
# both, a wrong key is not), and bench/run turns RESULT lines into a table
# with ratios and goals, reports pending, failed and over-budget scripts,
# and removes namespaces a script leaves behind.
. "$(dirname "$0")/../lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BB=$BUILD/bench

netns_new "$NS"
python3 "$SRC/bench/lib/keyconf.py" "$T/keys.conf" 5 7101 "$ECHO_DAEMON"
expect_eq "$(stat -c %a "$T/keys.conf")" 600 "the generated config (it holds secrets) is mode 0600"
expect_rc 0 "bench-startup: tcpmd5-activate with the generated config serves the bench client" \
        in_ns "$NS" $GUARD "$BB/bench-startup" -w 5000 7101 "$ACTIVATE" --config "$T/keys.conf"
expect_eq "$(grep -Ec '^elapsed_us=[0-9]+ maxrss_kb=[1-9][0-9]* utime_us=[0-9]+ stime_us=[0-9]+$' "$T/last.out")" 1 \
        "bench-startup reports time, peak RSS and CPU"
expect_rc 0 "bench-startup: keyscale-limit serves the same client" \
        in_ns "$NS" "$BB/bench-startup" -w 5000 7102 "$BB/keyscale-limit" 5 7102 "$ECHO_DAEMON"
expect_rc 1 "bench-startup fails when the command never listens" \
        in_ns "$NS" "$BB/bench-startup" -w 300 7103 /bin/sleep 5

# Independently of the bench helpers: md5-client with the bench key gets
# through keyscale-limit's socket, a wrong key or none does not.
key "$T/bench.key" bench-key
key "$T/wrong.key" bench-kez
start_bg "$NS" "$BB/keyscale-limit" 5 7104 "$ECHO_DAEMON"
check "keyscale-limit listens" wait_for 100 listening "$NS" 7104
check "bench key served by keyscale-limit" echo_ok "$NS" "$T/bench.key" 127.0.0.1 7104
check "wrong key dropped by keyscale-limit" echo_dropped "$NS" "$T/wrong.key" 127.0.0.1 7104
check "unsigned dropped by keyscale-limit (catch-all key)" echo_dropped "$NS" "" 127.0.0.1 7104
expect_rc 0 "md5-connect-rate runs signed connections against 3 keys" in_ns "$NS" "$BB/md5-connect-rate" 3 7105 50 2
expect_eq "$(grep -Ec '^rate=[1-9][0-9]*$' "$T/last.out")" 2 "md5-connect-rate prints one positive rate per round"
# -a names each listener's kind (TCP MD5 here: the host has no TCP-AO; the
# AO VM's bench/ao-vm runs it with TCP-AO), -e adds a byte each way.
expect_rc 0 "md5-connect-rate -a md5 -a md5 -e: two listeners in turn" in_ns "$NS" "$BB/md5-connect-rate" -a md5 -a md5 -e 3 7106 50 2
expect_eq "$(grep -Ec '^alg=md5 rate=[1-9][0-9]*$' "$T/last.out")" 4 "... one named rate per listener and round"

# bench/run on fake benchmarks, from a copy of the runner.
mkdir -p "$T/fake/bench"
cp "$SRC/bench/run" "$T/fake/bench/run"
fake() { # NAME BODY...
        local f=$T/fake/bench/$1; shift
        printf '#!/bin/bash\n# bench-budget: 2 1\n' > "$f"
        printf '%s\n' "$@" >> "$f"
        chmod +x "$f"
}
fake good 'printf "RESULT\tgood\tspeed\t11\tthem\t10\tms\t<=1.2\n"' \
        'printf "RESULT\tgood\tcalls\t2\tthem\t100\tcalls\tours=1\n"' 'echo chatter' \
        'printf "NOTE\tgood\tnoted\n"' '[ "${1:-}" = --quick ] && printf "RESULT\tgood\tquick\t1\t-\t-\tx\n"; exit 0'
fake later 'printf "PENDING\tlater\tneeds a feature\n"'
fake broken 'exit 3'
fake slow 'sleep 30'
fake messy 'ip netns add bench-messy-$$'
printf '#!/bin/bash\necho not a benchmark\n' > "$T/fake/bench/tool"; chmod +x "$T/fake/bench/tool"
expect_rc 1 "bench/run exits 1 when a benchmark failed" "$T/fake/bench/run" --quick --no-build --build "$T/fake/build"
out=$T/last.out
check "ratio 1.10 and the goal met" grep -Eq '^good +speed +11 +them +10 +ms +1\.10 +<=1\.2 +met$' "$out"
check "a goal on our value, not met" grep -Eq '^good +calls +2 +them +100 +calls +0\.02 +ours=1 +NOT met$' "$out"
check "--quick reaches the script" grep -Eq '^good +quick +1 ' "$out"
check "other output stays out of the table" bash -c "! grep -q chatter '$out'"
check "notes listed" grep -q '^note: good: noted$' "$out"
check "pending listed" grep -q '^later: pending: needs a feature$' "$out"
check "a failed script is reported" grep -q '^broken: FAILED: exit 3' "$out"
check "an over-budget script is stopped and reported" grep -q '^slow: TIMEOUT after 1 s' "$out"
check "a left-behind namespace is reported" grep -q 'messy: left namespaces behind, removed: bench-messy-' "$out"
check "... and removed" bash -c "! ip netns list | grep -q bench-messy-"
check "executables without a budget line are not run" grep -q 'not benchmarks.*: tool$' "$T/last.err"
check "the machine is named" grep -Eq '^machine: [0-9]+ CPUs, .*Linux ' "$out"
finish
