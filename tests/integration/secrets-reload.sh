#!/bin/bash
# Secret hygiene across a key reload: the supervisor (and the accept-mode
# activator) must hold the current secrets, but once a reload has rotated
# them no byte of an old secret may stay anywhere in its memory: not in a
# freed heap block, the config text, inih's line buffer or a stack frame.
# Every kind of secret is rotated (SecretFile=, SecretHex=, Secret=), in a
# few [Key] sections, and in enough that the key array is reallocated while
# parsing.
. "$(dirname "$0")/../lib.sh"
memory_scan_setup

netns_new "$NS"
# secrets TAG: every secret of generation TAG (hex ones as the bytes and
# as the hex text of the config).
secrets() {
        local t=$1 i
        echo "file-secret-$t-AAAA"
        echo "hex-secret-$t-BBBB"
        printf 'hex-secret-%s-BBBB' "$t" | od -An -tx1 | tr -d ' \n'; echo
        echo "literal-secret-$t-CCCC"
        for ((i = 1; i <= NMANY; i++)); do echo "many$i-secret-$t-DDDD"; done
}
# gen_conf TAG MODE-LINES COMMAND: the config of generation TAG.
gen_conf() {
        local t=$1 i s
        mapfile -t s < <(secrets "$t")
        key "$T/k.key" "${s[0]}"
        {
                printf '[Socket]\nListenStream = 127.0.0.1:2500\nListenStream = 2501\n%s\n' "$2"
                printf '[Service]\nExecStart = %s\n' "$3"
                printf '[Key a]\nPeer = 127.0.0.0/8\nSecretFile = %s\n' "$T/k.key"
                printf '[Key b]\nPeer = 10.0.0.0/8\nSecretHex = %s\n' "${s[2]}"
                printf '[Key c]\nPeer = 10.1.0.0/16\nSecret = %s\n' "${s[3]}"
                for ((i = 1; i <= NMANY; i++)); do printf '[Key n%s]\nPeer = 10.2.%s.0/24\nSecret = %s\n' $i $i "${s[$((3 + i))]}"; done
        } | write_conf "$T/svc.conf"
}
reloads_are() { [ "$(grep -c 'reloaded:' "$T/bg.err")" = "$1" ]; }
# count TAG DUMP: how often each secret of TAG occurs in DUMP, as
# "SECRET COUNT" lines (one pass: an ASan process's dump is large).
count() {
        local s
        secrets "$1" > "$T/pattern"
        grep -aoF -f "$T/pattern" "$2" | sort | uniq -c > "$T/counts" || true
        while read -r s; do echo "$s $(awk -v s="$s" '$2 == s { print $1 }' "$T/counts")"; done < "$T/pattern"
}

# generations MODE MODE-LINES COMMAND: start with generation g1, reload to
# g2, then to g3; after each reload the previous generation must be gone
# and the current one there (the control: the dump can see secrets).
generations() {
        local mode=$1 pid g prev dump copies left s i
        NMANY=${FIRST_NMANY:-$NMANY} gen_conf "$mode-g1" "$2" "$3"
        start_bg "$NS" $WRAP "$ACTIVATE" "${@:4}" --config "$T/svc.conf"
        pid=$BG_PID
        check "$mode: listening" wait_for 200 listening "$NS" 2501
        # Served: so the activator now takes SIGHUP as a reload request.
        check "$mode: a client with the file key gets through" echo_ok "$NS" "$T/k.key" 127.0.0.1 2500
        for g in 2 3; do
                prev=$mode-g$((g - 1))
                gen_conf "$mode-g$g" "$2" "$3"
                kill -HUP "$pid"
                check "$mode: reload to g$g done" wait_for 200 reloads_are $((g - 1))
                dump=$T/$mode-g$g.mem
                # "reloaded:" may be logged a moment before the last old
                # copy is gone: retry a while (valgrind is slow).
                for ((i = 0; i < 40; i++)); do
                        "$MEMDUMP" "$pid" "$dump" > /dev/null
                        count "$mode-g$g" "$dump" | sed 3d > "$T/now"
                        copies=$(awk -v want="$COPIES" '$2 != want { printf "%s: %s copies ", $1, $2 }' "$T/now")
                        [ "$(wc -l < "$T/now")" = $((3 + NMANY)) ] || copies="not every secret counted"
                        [ -n "$copies" ] || break
                        sleep 0.25
                done
                expect_eq "$copies" "" \
                        "$mode: control: after reload $((g - 1)) the memory holds each current secret, $COPIES times (no stray copy)"
                left=$(count "$prev" "$dump" | awk '$2 { printf "%s ", $1 }')
                expect_eq "$left" "" "$mode: after reload $((g - 1)), no secret of the previous generation is left in memory"
                rm -f "$dump"
        done
        check "$mode: a client with the current file key gets through" echo_ok "$NS" "$T/k.key" 127.0.0.1 2500
        kill -TERM "$pid"
        wait_exit "$pid" || true
        ! grep -qaF -- "-secret-" "$T/bg.err" || fail "$mode: a secret is in the messages"
}
# The control: the same dump and count find a key file's secret that a
# process freed without wiping it (MALLOC_PERTURB_ unset, or they would not).
NMANY=0 gen_conf control "" /bin/true
check "control: a process frees the key file's secret unwiped" \
        unwiped_start "$T/unwiped.ready" "$UNWIPED" "$T/k.key" "$T/unwiped.ready"
"$MEMDUMP" "$UNWIPED_PID" "$T/unwiped.mem" > /dev/null
expect_eq "$(NMANY=0 count control "$T/unwiped.mem" | head -1)" "file-secret-control-AAAA 1" \
        "control: the scan finds a secret freed without a wipe"
kill "$UNWIPED_PID"; rm -f "$T/unwiped.mem"

# Where each secret lives, once per place: every resident mode reads
# configs for a reload in a child and keeps only the key table of each
# listener (every key here reaches both); accept mode frees its start-up
# config once the listeners are open. The config text either keeps has no
# secret in it.
COPIES=2 NMANY=0 generations supervise-small "" "$ECHO_DAEMON $T/report" --supervise --no-forward-reload
# From small to large: the tables grow, so the supervisor takes new ones.
COPIES=2 FIRST_NMANY=0 NMANY=6 generations supervise "" "$ECHO_DAEMON $T/report" --supervise --no-forward-reload
COPIES=2 NMANY=6 generations accept "Accept = yes
Inetd = yes" /bin/cat
finish
