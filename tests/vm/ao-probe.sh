#!/bin/bash
# The kernel facts the TCP-AO design rests on (tests/helpers/ao-probe.c):
# handshakes, failures, rollover on a live connection, counters, and what
# a listener allows when AO and MD5 keys share it. Runs in the test VM.
. "$(dirname "$0")/../lib.sh"
netns_new "$NS"

rc=0
in_ns "$NS" "$BUILD/tests/ao-probe" > "$T/probe.out" 2> "$T/probe.err" || rc=$?
while IFS= read -r line; do
        case $line in
        "ok - "*) ok "${line#ok - }" ;;
        "not ok - "*) fail "${line#not ok - }" ;;
        *) echo "$line" ;;
        esac
done < "$T/probe.out"
sed 's/^/# stderr: /' "$T/probe.err"
check "ao-probe ran to its end (exit $rc; 0: every check passed, 1: some failed)" test "$rc" -le 1
finish
