#!/bin/bash
# tcpmd5-connect offering several keys (a rollover): one keyed attempt per
# key, all at once, the first handshake wins; never an unsigned attempt; -v
# names the winner; --fdpass passes the winner; a key that cannot be set
# stops the client before any SYN; fingerprints match --check.
. "$(dirname "$0")/../lib.sh"
FDPASS_RECV=$(dirname "$0")/../helpers/fdpass-recv.py

netns_new "$NS"
key "$T/old.key" old-secret
key "$T/new.key" new-secret-longer
key "$T/other.key" neither-secret

# server NAME LISTEN KEYFILE: an echo server whose one key holds 127/8 and ::1.
server() {
        write_conf "$T/$1.conf" <<CONF
[Socket]
ListenStream = $2
[Service]
ExecStart = $ECHO_DAEMON $T/report-$1
[Key $1]
Peer = 127.0.0.0/8
Peer = ::1
SecretFile = $3
CONF
        start_bg "$NS" $GUARD "$ACTIVATE" --config "$T/$1.conf"
}
server old 127.0.0.1:2301 "$T/old.key"
server new 2302 "$T/new.key"
server other 127.0.0.1:2303 "$T/other.key"
check "three servers listen (old key, new key, a third key)" \
        wait_for 300 test -s "$T/report-old" -a -s "$T/report-new" -a -s "$T/report-other"

connect() { in_ns "$NS" $WRAP "$CONNECT" "$@"; }
replies() { local out; out=$(printf ping | connect "$@" 2> "$T/last.err") && [ "$out" = ping ]; }
counter() { in_ns "$NS" nstat -asz "$1" | awk -v n="$1" '$1 == n { print $2 }'; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
fp_check() { "$ACTIVATE" --config "$T/$1.conf" --check | sed -n "s/.*\[Key $1\].*fingerprint \([0-9a-f]*\)).*/\1/p" | sort -u; }
fp_old=$(fp_check old) fp_new=$(fp_check new)
check "--check prints a fingerprint for each key ($fp_old, $fp_new)" test -n "$fp_old" -a -n "$fp_new" -a "$fp_old" != "$fp_new"
notfound0=$(counter TcpExtTCPMD5NotFound)

# --- the newer key is right ---
check "-k old -k new, server on the new key: echoed" replies -v -k "$T/old.key" -k "$T/new.key" 127.0.0.1 2302
expect_stderr "connected to 127.0.0.1 port 2302 with the key of --key-file $T/new.key \(fingerprint $fp_new\)" \
        "-v names the winner, the new key, by file and fingerprint"
n=$(grep -c "connecting to 127.0.0.1 port 2302 with the key of" "$T/last.err" || true)
expect_eq "$n" 2 "-v: two attempts, one per key"
first=$(grep -m1 "connecting to" "$T/last.err" | sed -n 's/.*--key-file \([^ ]*\) .*/\1/p')
expect_eq "$first" "$T/new.key" "the newer key (the later -k) is tried first"
grep -q "fingerprint $fp_old)" "$T/last.err" && ok "-v: the old key's fingerprint matches --check ($fp_old)" \
        || fail "-v: the old key's fingerprint matches --check"
grep -q -e old-secret -e new-secret "$T/last.err" && fail "-v shows a secret" || ok "-v never shows a secret"

check "IPv6: -k old -k new to ::1, server on the new key: echoed" replies -v -k "$T/old.key" -k "$T/new.key" ::1 2302
expect_stderr "connected to ::1 port 2302 with the key of --key-file $T/new.key" "IPv6: the new key won"

# --- only the older key is right: no timeout first ---
fail0=$(counter TcpExtTCPMD5Failure)
start=$(date +%s%N)
check "-k old -k new, server on the old key: echoed" replies -v -t 4 -k "$T/old.key" -k "$T/new.key" 127.0.0.1 2301
took=$(ms_since "$start")
expect_stderr "connected to 127.0.0.1 port 2301 with the key of --key-file $T/old.key \(fingerprint $fp_old\)" \
        "-v names the winner, the old key"
# Tried one after the other, the new key's attempt would have waited out -t 4 first.
check "the old key won without waiting for the new key's timeout (${took} ms < 4000)" test "$took" -lt 4000
grep -q "no answer" "$T/last.err" && fail "a timeout was reported" || ok "no timeout was reported"
fails=$(( $(counter TcpExtTCPMD5Failure) - fail0 ))
check "the server counted the losing SYN as TCPMD5Failure ($fails)" test "$fails" -ge 1

# --- the order on the command line says which is newer, not the file names ---
check "-k new -k old (old is newer now), server on the new key: echoed" \
        replies -v -k "$T/new.key" -k "$T/old.key" 127.0.0.1 2302
first=$(grep -m1 "connecting to" "$T/last.err" | sed -n 's/.*--key-file \([^ ]*\) .*/\1/p')
expect_eq "$first" "$T/old.key" "the later -k is tried first"
expect_stderr "connected to .* with the key of --key-file $T/new.key" "and the right key still wins"

# --- neither key is right ---
# One timeout for all keys: against the single-key client in the same
# run, a client that tried the keys in turn would take 2 s (-t 2) longer.
start=$(date +%s%N)
expect_rc 1 "control: one wrong key: no connection" connect -t 2 -k "$T/new.key" 127.0.0.1 2303
took_one=$(ms_since "$start")
start=$(date +%s%N)
expect_rc 1 "both keys wrong: no connection" connect -t 2 -k "$T/old.key" -k "$T/new.key" 127.0.0.1 2303
took=$(ms_since "$start")
expect_stderr "no answer within 2 s.*keys \(every one offered\) may differ" "both wrong: one timeout, naming every key"
check "both wrong: gives up after one timeout, not one per key (${took} ms, one key ${took_one} ms)" \
        test "$took" -lt $((took_one + 1500))

# --- every key source, mixed: --key-fd and --credential too ---
mkdir -p "$T/creds"; cp "$T/new.key" "$T/creds/new"; chmod 600 "$T/creds/new"
out=$(printf ping | CREDENTIALS_DIRECTORY=$T/creds in_ns "$NS" $WRAP "$CONNECT" -v --key-fd 3 --credential new \
        127.0.0.1 2302 3< "$T/old.key" 2> "$T/last.err") || true
expect_eq "$out" ping "--key-fd (old) and --credential (new): echoed"
expect_stderr "connected to .* with the key of --credential new \($T/creds/new\) \(fingerprint $fp_new\)" \
        "-v names the credential that won"
out=$(printf ping | in_ns "$NS" $WRAP "$CONNECT" -v --key-fd 3 --key-fd 4 127.0.0.1 2301 \
        3< "$T/old.key" 4< "$T/other.key" 2> "$T/last.err") || true
expect_eq "$out" ping "--key-fd twice: the older fd's key wins on the old server"
expect_stderr "connected to .* with the key of --key-fd 3 \(fingerprint $fp_old\)" "-v names --key-fd 3"

# --- the same secret twice is offered once (two attempts could both complete) ---
cp "$T/new.key" "$T/new-copy.key"
check "-k new -k copy-of-new: echoed" replies -v -k "$T/new.key" -k "$T/new-copy.key" 127.0.0.1 2302
n=$(grep -c "connecting to" "$T/last.err" || true)
expect_eq "$n" 1 "one attempt for one secret given twice"

# --- --config: every [Key] of the longest prefix, a later section newer ---
write_conf "$T/client.conf" <<CONF
[Key decoy]
Peer = any
SecretFile = $T/other.key

[Key old]
Peer = 127.0.0.0/8
SecretFile = $T/old.key

[Key new]
Peer = 127.0.0.0/8
SecretFile = $T/new.key
CONF
check "--config with [Key old] and [Key new] for 127/8: old server echoed" \
        replies -v --config "$T/client.conf" 127.0.0.1 2301
expect_stderr "connected to .* with \[Key old\] of $T/client.conf \(fingerprint $fp_old\)" "-v names [Key old]"
grep -q "\[Key decoy\]" "$T/last.err" && fail "the shorter prefix was offered too" \
        || ok "the shorter prefix ([Key decoy], any) is not offered"
check "--config: new server echoed" replies -v --config "$T/client.conf" 127.0.0.1 2302
expect_stderr "connected to .* with \[Key new\] of $T/client.conf \(fingerprint $fp_new\)" "-v names [Key new]"
first=$(grep -m1 "connecting to" "$T/last.err" | sed -n 's/.*\[Key \([a-z]*\)\].*/\1/p')
expect_eq "$first" new "--config: the later section is tried first"
# The activator still refuses two keys for one prefix: a listener holds one.
write_conf "$T/dup-server.conf" '[Socket]' 'ListenStream = 127.0.0.1:2309' '[Service]' "ExecStart = $ECHO_DAEMON /dev/null"
cat "$T/client.conf" >> "$T/dup-server.conf"
expect_rc 78 "tcpmd5-activate refuses the same two sections" "$ACTIVATE" --config "$T/dup-server.conf" --check
expect_stderr "already claimed by \[Key old\]" "and says the prefix is claimed twice"

# --- --fdpass passes the winner ---
out=$(in_ns "$NS" python3 "$FDPASS_RECV" fdpass-ping $WRAP "$CONNECT" --fdpass -k "$T/new.key" -k "$T/old.key" \
        127.0.0.1 2301 2> "$T/last.err") || true
expect_eq "$out" fdpass-ping "--fdpass with two keys: the passed socket is the connected one (old key)"
out=$(in_ns "$NS" python3 "$FDPASS_RECV" fdpass-ping $WRAP "$CONNECT" --fdpass -k "$T/old.key" -k "$T/new.key" \
        127.0.0.1 2302 2> "$T/last.err") || true
expect_eq "$out" fdpass-ping "--fdpass with two keys: the passed socket is the connected one (new key)"

# --- never an unsigned attempt ---
expect_eq "$(( $(counter TcpExtTCPMD5NotFound) - notfound0 ))" 0 \
        "no unsigned segment reached a keyed listener in all of the above (TcpExtTCPMD5NotFound)"
expect_rc 1 "control: an unsigned client" connect -t 0.3 127.0.0.1 2302
check "control: its SYN is counted as TcpExtTCPMD5NotFound" test "$(( $(counter TcpExtTCPMD5NotFound) - notfound0 ))" -ge 1

# --- a key that cannot be set: exit 71 before any SYN ---
# The second key's setsockopt fails (FAULT_AT=2: no --source, so the keys
# are the only setsockopt calls before connect()).
opens0=$(counter TcpActiveOpens)
expect_rc 71 "the second key cannot be set (ENOMEM): OS error" in_ns "$NS" env LD_PRELOAD="$BUILD/tests/faultinject.so" \
        "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
        FAULT_TARGET="$CONNECT" FAULT_FUNC=setsockopt FAULT_AT=2 FAULT_ERRNO=ENOMEM FAULT_REPORT="$T/fault.report" \
        "$CONNECT" -k "$T/old.key" -k "$T/new.key" 127.0.0.1 2302
expect_stderr "cannot set the TCP MD5 key" "and says which step failed"
check "the fault hit the second key (faultinject: failed=setsockopt)" grep -q "^failed=setsockopt" "$T/fault.report"
expect_eq "$(( $(counter TcpActiveOpens) - opens0 ))" 0 "no SYN was sent (TcpActiveOpens unchanged)"
# Control: the same count of active opens moves for a client that connects.
check "control: a two-key client" replies -k "$T/old.key" -k "$T/new.key" 127.0.0.1 2302
check "control: its attempts are counted as TcpActiveOpens" test "$(( $(counter TcpActiveOpens) - opens0 ))" -ge 2

# --- limits and usage ---
args=(); for i in 1 2 3 4 5 6 7 8 9; do args+=(-k "$T/old.key"); done
expect_rc 64 "nine keys: refused" connect "${args[@]}" 127.0.0.1 2302
expect_stderr "at most 8 keys" "and says the limit"
expect_rc 64 "--config with -k: refused" connect --config "$T/client.conf" -k "$T/old.key" 127.0.0.1 2302
head -c 81 /dev/zero | tr '\0' k > "$T/long.key"; chmod 600 "$T/long.key"
expect_rc 78 "an 81-byte second key: refused before connecting" connect -k "$T/old.key" -k "$T/long.key" 127.0.0.1 2302
finish
