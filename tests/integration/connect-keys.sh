#!/bin/bash
# tcpmd5-connect's keys and addresses against tcpmd5-activate: every key
# source, --config choosing the longest prefix, wrong and missing keys
# failing fast with advice, every address of a name in turn, --source.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/office.key" office-secret
key "$T/lab.key" lab-secret
key "$T/beta.key" beta-secret
key "$T/wrong.key" not-the-secret

# server NAME LISTEN KEYNAME SECRETFILE [EXTRA-PEER-SECTION]: an echo server.
server() {
        write_conf "$T/$1.conf" <<CONF
[Socket]
ListenStream = $2
[Service]
ExecStart = $ECHO_DAEMON $T/report-$1
[Key $3]
Peer = 127.0.0.0/8
Peer = ::1
SecretFile = $4
CONF
        printf '%s\n' "${@:5}" >> "$T/$1.conf"
        start_bg "$NS" $GUARD "$ACTIVATE" --config "$T/$1.conf"
}
server main 2222 office "$T/office.key" "[Key lab]" "Peer = 127.0.0.7" "SecretFile = $T/lab.key"
server beta 127.0.0.2:2224 beta "$T/beta.key"
# gamma's secret is the hex of "gamma-secret", written inline in the client config below.
printf 'gamma-secret' > "$T/gamma.key"; chmod 600 "$T/gamma.key"
server gamma 127.0.0.3:2224 gamma "$T/gamma.key"
check "three signed servers listen" wait_for 300 test -s "$T/report-main" -a -s "$T/report-beta" -a -s "$T/report-gamma"

connect() { in_ns "$NS" $WRAP "$CONNECT" "$@"; }
# reply ARGS...: what comes back for "ping" (stdout of the last run in $T/last.out)
replies() { local out; out=$(printf ping | connect "$@" 2> "$T/last.err") && [ "$out" = ping ]; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# --- key sources ---
check "--key-file" replies --key-file "$T/office.key" 127.0.0.1 2222
check "-k, IPv6" replies -k "$T/office.key" ::1 2222
check "--key-fd 3" replies --key-fd 3 127.0.0.1 2222 3< "$T/office.key"
mkdir -p "$T/creds"; cp "$T/office.key" "$T/creds/office"; chmod 600 "$T/creds/office"
cred() { local out; out=$(printf ping | CREDENTIALS_DIRECTORY=$1 in_ns "$NS" $WRAP "$CONNECT" --credential office \
        127.0.0.1 2222 2> "$T/last.err") && [ "$out" = ping ]; }
check "--credential from \$CREDENTIALS_DIRECTORY" cred "$T/creds"
expect_rc 78 "--credential without \$CREDENTIALS_DIRECTORY" connect --credential office 127.0.0.1 2222
expect_stderr 'CREDENTIALS_DIRECTORY is not set' "--credential: says what is missing"

# --- wrong and missing keys: fail within the timeout, with advice ---
start=$(date +%s%N)
expect_rc 1 "wrong key: no connection" bash -c "printf x | ip netns exec $NS $CONNECT -k $T/wrong.key -t 0.3 127.0.0.1 2222"
took=$(ms_since "$start")
check "wrong key: gives up within the timeout (${took} ms)" test "$took" -lt 2000
expect_stderr "no answer within 0.3 s" "wrong key: says nothing answered"
expect_stderr "See TROUBLESHOOTING in tcpmd5-activate\(8\)" "wrong key: points to the troubleshooting section"
expect_stderr "key may differ" "wrong key: names the key as a cause"
expect_stderr "NAT" "wrong key: names NAT as a cause"
start=$(date +%s%N)
expect_rc 1 "no key: no connection" bash -c "printf x | ip netns exec $NS $CONNECT --timeout 0.3 127.0.0.1 2222"
took=$(ms_since "$start")
check "no key: gives up within the timeout (${took} ms)" test "$took" -lt 2000
expect_stderr "no key was given" "no key: says no key was given"
start=$(date +%s%N)
expect_rc 1 "default timeout is seconds, not minutes" bash -c "ip netns exec $NS $CONNECT -k $T/wrong.key 127.0.0.1 2222 < /dev/null"
took=$(ms_since "$start")
check "default timeout: gave up after ${took} ms (4.5..8 s)" test "$took" -ge 4500 -a "$took" -lt 8000
expect_rc 1 "closed port, unsigned: refused" connect 127.0.0.1 2299
expect_stderr "127.0.0.1 port 2299: Connection refused" "closed port, unsigned: says refused"
# The kernel's RST from a closed port is unsigned, and a keyed socket drops
# it: a signed client sees a closed port as silence, as the advice says.
expect_rc 1 "closed port, signed: no answer" connect -k "$T/office.key" -t 0.3 127.0.0.1 2299
expect_stderr "port may be closed" "closed port, signed: the advice names a closed port"

# --- key files are checked as SecretFile= is ---
cp "$T/office.key" "$T/open.key"; chmod 644 "$T/open.key"
expect_rc 77 "a key file others can read is refused" connect -k "$T/open.key" 127.0.0.1 2222
expect_stderr "group or other can read" "and the message says why"
head -c 81 /dev/zero | tr '\0' k > "$T/long.key"; chmod 600 "$T/long.key"
expect_rc 78 "an 81-byte key is refused, not cut" connect -k "$T/long.key" 127.0.0.1 2222
expect_stderr "holds 81 bytes, more than the 80" "and the message says so"
: > "$T/empty.key"; chmod 600 "$T/empty.key"
expect_rc 78 "an empty key is refused" connect -k "$T/empty.key" 127.0.0.1 2222
expect_rc 78 "a missing key file" connect -k "$T/nonexistent.key" 127.0.0.1 2222
mkdir -m 777 "$T/open"; cp "$T/office.key" "$T/open/k.key"
expect_rc 77 "a key file in a directory others can write is refused" connect -k "$T/open/k.key" 127.0.0.1 2222
expect_stderr "directory $T/open .*\(chmod go-w $T/open\)" "and the message names it and the fix"
mkfifo -m 600 "$T/fifo.key"
expect_rc 78 "a FIFO as key file is refused (without waiting for a writer)" timeout 20 $WRAP $CONNECT -k "$T/fifo.key" 127.0.0.1 2222
expect_stderr "not a regular file" "and the message says so"
expect_rc 64 "--config and --key-file exclude each other" connect -k "$T/office.key" --config "$T/office.key" 127.0.0.1 2222
expect_rc 64 "--key-fd 0 (stdin carries data)" connect --key-fd 0 127.0.0.1 2222
expect_rc 64 "--key-fd of a closed fd" connect --key-fd 9 127.0.0.1 2222
expect_rc 64 "a bad --timeout" connect -t 1.5s 127.0.0.1 2222
expect_rc 64 "HOST without PORT" connect 127.0.0.1
expect_rc 68 "an unknown host" connect -k "$T/office.key" no-such-host.invalid 22
expect_rc 0 "--help" connect --help
check "--help writes nothing on stderr" test ! -s "$T/last.err"
grep -q -- "--key-fd=N" "$T/last.out" && ok "--help lists --key-fd" || fail "--help lists --key-fd"

# --- --config: the longest prefix holding the resolved address ---
write_conf "$T/client.conf" <<CONF
# One file of keys for many hosts.
[Key decoy]
Peer = any
SecretFile = $T/wrong.key

[Key wide]
Peer = 127.0.0.0/8
SecretFile = $T/office.key

[Key beta]
Peer = 127.0.0.2

[Key gamma]
Peer = 127.0.0.3/32
SecretHex = $(printf gamma-secret | od -An -tx1 | tr -d ' \n')

[Key six]
Peer = ::1/128
SecretFile = $T/office.key
CONF
mkdir "$T/client.conf.d"
write_conf "$T/client.conf.d/beta.conf" '[Key beta]' "SecretFile = $T/beta.key"
cfg() { connect --config "$T/client.conf" -v -t 0.3 "$@"; }
check "--config: 127.0.0.1 takes [Key wide] (/8 over any)" replies --config "$T/client.conf" -v 127.0.0.1 2222
grep -q "with \[Key wide\]" "$T/last.err" && ok "--config: -v names [Key wide]" || fail "--config: -v names [Key wide]"
check "--config: 127.0.0.2 takes [Key beta] (secret from a drop-in)" replies --config "$T/client.conf" -v 127.0.0.2 2224
grep -q "with \[Key beta\]" "$T/last.err" && ok "--config: -v names [Key beta]" || fail "--config: -v names [Key beta]"
check "--config: 127.0.0.3 takes [Key gamma] (SecretHex=)" replies --config "$T/client.conf" 127.0.0.3 2224
check "--config: ::1 takes [Key six]" replies --config "$T/client.conf" ::1 2222
# A longer prefix with the wrong secret must win over a right shorter one.
sed -i "s|^Peer = ::1/128|Peer = ::/0|" "$T/client.conf"
sed -i "/^\[Key decoy\]/,/^$/ s|^Peer = any|Peer = ::1|" "$T/client.conf"
expect_rc 1 "--config: a longer prefix wins even with the wrong secret" cfg ::1 2222
expect_stderr "with \[Key decoy\]" "--config: it was [Key decoy] (::1/128 over ::/0)"
write_conf "$T/far.conf" '[Key only]' 'Peer = 192.0.2.0/24' "SecretFile = $T/office.key"
expect_rc 78 "--config: no key for the address" cfg --config "$T/far.conf" 127.0.0.1 2222
expect_stderr "no key for any address of 127.0.0.1" "--config: and says so"
write_conf "$T/nokeys.conf" '[Socket]' 'ListenStream = 22'
expect_rc 78 "--config without [Key]" connect --config "$T/nokeys.conf" 127.0.0.1 2222
write_conf "$T/nosecret.conf" '[Key x]' 'Peer = 127.0.0.1'
expect_rc 78 "--config: a key without a secret" connect --config "$T/nosecret.conf" 127.0.0.1 2222
expect_stderr "nosecret.conf:1: \[Key x\] has no secret" "--config: file:line of the bad key"

# --- every address of a name, -4/-6, --source ---
# A private /etc/hosts in a mount namespace of our own.
printf '::1 both.test\n127.0.0.1 both.test\n' > "$T/hosts"
named() { in_ns "$NS" unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$T/hosts" $WRAP "$CONNECT" "$@"; }
expect_rc 0 "-6 both.test" named -6 -v -k "$T/office.key" both.test 2222 < /dev/null
expect_stderr "connecting to ::1 port 2222" "-6: only ::1 is tried"
grep -q "127.0.0.1" "$T/last.err" && fail "-6: 127.0.0.1 not tried" || ok "-6: 127.0.0.1 not tried"
expect_rc 0 "-4 both.test" named -4 -v -k "$T/office.key" both.test 2222 < /dev/null
expect_stderr "connecting to 127.0.0.1 port 2222" "-4: 127.0.0.1 is tried"
grep -q "::1" "$T/last.err" && fail "-4: ::1 not tried" || ok "-4: ::1 not tried"
# beta listens on 127.0.0.2 only: ::1 does not answer (signed: silence,
# see above; unsigned: refused), and the next address does.
printf '::1 beta.test\n127.0.0.2 beta.test\n' > "$T/hosts"
expect_rc 0 "a silent address, then the next one" named -v -t 0.3 -k "$T/beta.key" beta.test 2224 < /dev/null
expect_stderr "::1 port 2224: no answer within 0.3 s" "every address in turn: ::1 first, no answer"
expect_stderr "connected to 127.0.0.2 port 2224" "every address in turn: then 127.0.0.2"
expect_rc 1 "unsigned: a refused address, then the next one (also closed)" named -v beta.test 2299 < /dev/null
expect_stderr "::1 port 2299: Connection refused" "unsigned: ::1 refused"
expect_stderr "127.0.0.2 port 2299: Connection refused" "unsigned: then 127.0.0.2 refused"

check "--source 127.0.0.7 with the lab key" replies --source 127.0.0.7 -k "$T/lab.key" 127.0.0.1 2222
expect_rc 1 "--source 127.0.0.7 with the office key: dropped" connect -s 127.0.0.7 -k "$T/office.key" -t 0.3 127.0.0.1 2222
expect_rc 1 "--source ::1 for an IPv4-only host" connect -s ::1 -k "$T/office.key" 127.0.0.1 2222
expect_stderr "no address of the family of --source" "--source: says why"
expect_rc 64 "--source that is not an address" connect -s not-an-address -k "$T/office.key" 127.0.0.1 2222
expect_rc 71 "--source not on this host: cannot bind, an OS error" connect -s 192.0.2.99 -k "$T/office.key" 127.0.0.1 2222
expect_stderr "--source=192.0.2.99: cannot bind" "--source not on this host: says so"

# --- the key follows the address actually used ---
# A v4-mapped HOST is IPv4 on the wire: the IPv4 prefix's key, not the one
# for IPv6 (Peer=any holds ::/0, which contains ::ffff:0:0/96).
write_conf "$T/mapped.conf" <<CONF
[Key decoy]
Peer = any
SecretFile = $T/wrong.key

[Key four]
Peer = 127.0.0.1
SecretFile = $T/office.key
CONF
check "v4-mapped HOST: echoed" replies --config "$T/mapped.conf" -v -t 1 ::ffff:127.0.0.1 2222
expect_stderr "connecting to 127.0.0.1 port 2222 with \[Key four\]" "v4-mapped HOST: connects as 127.0.0.1 with the IPv4 key"
check "[v4-mapped] in brackets, --key-file" replies -k "$T/office.key" "[::ffff:127.0.0.1]" 2222
# Control: for a real IPv6 address the same file chooses the decoy.
expect_rc 1 "control: ::1 takes [Key decoy] (Peer=any), which the server does not know" cfg --config "$T/mapped.conf" ::1 2222
expect_stderr "with \[Key decoy\]" "control: -v names [Key decoy]"

# A name with two addresses: each attempt signed with that address's key.
# twin listens on 127.0.0.1 only, so the attempt at ::1 finds a closed port:
# signed, it hears nothing (the kernel's RST is unsigned and dropped);
# unsigned, it would be refused at once.
write_conf "$T/twin.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:2226
[Service]
ExecStart = $ECHO_DAEMON $T/report-twin
[Key four]
Peer = 127.0.0.1
SecretFile = $T/beta.key
[Key six]
Peer = ::1
SecretFile = $T/lab.key
CONF
start_bg "$NS" "$ACTIVATE" --config "$T/twin.conf"
check "twin listens" wait_for 300 listening "$NS" 2226
write_conf "$T/twin-client.conf" <<CONF
[Key six]
Peer = ::1
SecretFile = $T/lab.key

[Key four]
Peer = 127.0.0.0/8
SecretFile = $T/beta.key
CONF
printf '::1 twin.test\n127.0.0.1 twin.test\n' > "$T/hosts"
expect_rc 0 "two addresses: ::1 silent, then 127.0.0.1" named -v -t 0.3 --config "$T/twin-client.conf" twin.test 2226 < /dev/null
expect_stderr "connecting to ::1 port 2226 with \[Key six\]" "first attempt: ::1 with [Key six]"
expect_stderr "::1 port 2226: no answer within 0.3 s" "::1 was signed: silence, not a refusal"
expect_stderr "connecting to 127.0.0.1 port 2226 with \[Key four\]" "second attempt: 127.0.0.1 with [Key four]"
expect_stderr "connected to 127.0.0.1 port 2226" "and the server took [Key four] for 127.0.0.1"
fp_six=$(sed -n 's/.*connecting to .*\[Key six\].*fingerprint \([0-9a-f]*\).*/\1/p' "$T/last.err")
fp_four=$(sed -n 's/.*connecting to .*\[Key four\].*fingerprint \([0-9a-f]*\).*/\1/p' "$T/last.err")
check "the two attempts show different fingerprints ($fp_six, $fp_four)" test -n "$fp_six" -a "$fp_six" != "$fp_four"
# An address without a key is skipped, never tried unsigned.
write_conf "$T/four-only.conf" '[Key four]' 'Peer = 127.0.0.1' "SecretFile = $T/beta.key"
expect_rc 0 "no key for ::1: skipped, 127.0.0.1 used" named -v -t 0.3 --config "$T/four-only.conf" twin.test 2226 < /dev/null
expect_stderr "no \[Key\] in .* holding ::1; not trying it" "says ::1 is not tried"
grep -q "connecting to ::1" "$T/last.err" && fail "::1 was tried without a key" || ok "::1 was not tried at all"

# --- fingerprints: -v and tcpmd5-activate --check print the same ---
expect_rc 0 "-v with --key-file" named -v -k "$T/beta.key" 127.0.0.1 2226 < /dev/null
expect_stderr "with the key of --key-file $T/beta.key \(11 bytes, fingerprint [0-9a-f]{16}\)" "-v: key source, length and fingerprint"
fp_client=$(sed -n 's/.*(11 bytes, fingerprint \([0-9a-f]\{16\}\)).*/\1/p' "$T/last.err")
fp_server=$("$ACTIVATE" --config "$T/twin.conf" --check | sed -n 's/.*\[Key four\].*fingerprint \([0-9a-f]*\)).*/\1/p' | sort -u)
check "--check prints the client's fingerprint for the same key ($fp_client = $fp_server)" test -n "$fp_client" -a "$fp_client" = "$fp_server"
grep -q "beta-secret" "$T/last.err" && fail "-v shows the secret" || ok "-v never shows the secret"
expect_rc 1 "-v with the wrong key" connect -v -t 0.3 -k "$T/wrong.key" 127.0.0.1 2226 < /dev/null
fp_wrong=$(sed -n 's/.*fingerprint \([0-9a-f]\{16\}\)).*/\1/p' "$T/last.err")
check "a different key shows a different fingerprint ($fp_wrong)" test -n "$fp_wrong" -a "$fp_wrong" != "$fp_server"
finish
