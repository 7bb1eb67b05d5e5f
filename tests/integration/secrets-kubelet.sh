#!/bin/bash
# Keys from a Kubernetes secret volume, rotated live with --watch. The test
# builds the kubelet's layout itself: a timestamped directory per
# generation, "..data" linking to the current one, and one link per key
# ("office.key -> ..data/office.key"); a rotation writes a new generation,
# renames a new link over "..data" and removes the old directory. Then a
# Docker/Podman-style secret: a link into a directory where the file is
# replaced by rename.
. "$(dirname "$0")/../lib.sh"
SESSION=$BUILD/tests/md5-session

netns_new "$NS"
key "$T/gen1.key" office-generation-1
key "$T/gen2.key" office-generation-2
key "$T/gen3.key" office-generation-3

# The volume as the kubelet writes it (its tmpfs root is 1777; the
# generation directories 0755; the files defaultMode).
V=$T/vol
mkdir -m 1777 "$V"
# generation NAME SECRET MODE: a timestamped directory holding office.key.
generation() {
        mkdir -m 755 "$V/$1"
        printf '%s\n' "$2" > "$V/$1/office.key"
        chmod "$3" "$V/$1/office.key"
}
G1=..2026_12_01_21_00_00.123456789
G2=..2026_12_01_21_05_00.987654321
generation "$G1" office-generation-1 0644 # the kubelet's default mode first
ln -s "$G1" "$V/..data"
ln -s ..data/office.key "$V/office.key"
write_conf "$T/svc.conf" <<CONF
[Socket]
ListenStream = 2222
[Service]
ExecStart = $ECHO_DAEMON $T/report
[Key office]
Peer = 127.0.0.0/8
SecretFile = $V/office.key
CONF

# Without defaultMode: 0400 the volume's files are 0644: refused, naming
# the file the links lead to.
expect_rc 77 "a secret volume file that others can read is refused" \
        in_ns "$NS" $WRAP "$ACTIVATE" --supervise --config "$T/svc.conf"
expect_stderr "SecretFile=: refusing $V/office.key: it leads to $V/$G1/office.key, and it holds a secret and group or other can read it" \
        "the message names the resolved file"
check "nothing listens after the refusal" bash -c "! ip netns exec $NS ss -Htln | grep -q :2222"

chmod 400 "$V/$G1/office.key" # defaultMode: 0400
reloads() { grep -c "reloaded:" "$T/bg.err" || true; }
count_is() { test "$($1)" = "$2"; }
next_tick
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --watch --config "$T/svc.conf"
sup=$BG_PID
check "listeners come up with generation 1" wait_for 100 test -s "$T/report"
check "generation 1 key gets in" echo_ok "$NS" "$T/gen1.key" 127.0.0.1 2222
check "unsigned is dropped" echo_dropped "$NS" "" 127.0.0.1 2222
check "generation 2 key is not in yet" echo_dropped "$NS" "$T/gen2.key" 127.0.0.1 2222

coproc SESS { ip netns exec "$NS" "$SESSION" -k "$T/gen1.key" 127.0.0.1 2222 2>&1; }
read -r -t 5 line <&"${SESS[0]}" || line=
expect_eq "$line" "connected" "a connection signed with generation 1 is open"

# The kubelet's atomic update: new generation, new link renamed over
# ..data, old generation removed. The removal comes after the checks here,
# so they show that the rename of ..data alone is seen.
generation "$G2" office-generation-2 0400
ln -s "$G2" "$V/..data_tmp"
start=$(date +%s%N)
mv -T "$V/..data_tmp" "$V/..data"
check "the ..data swap triggers a reload" wait_for 60 count_is reloads 1
check "generation 2 key gets in" echo_ok "$NS" "$T/gen2.key" 127.0.0.1 2222
echo "# generation 2 served $(( ($(date +%s%N) - start) / 1000000 )) ms after the swap"
check "generation 1 key is dropped" echo_dropped "$NS" "$T/gen1.key" 127.0.0.1 2222
rm -rf "${V:?}/$G1"
check "with generation 1 removed, generation 2 still gets in" echo_ok "$NS" "$T/gen2.key" 127.0.0.1 2222
echo still-here >&"${SESS[1]}"
read -r -t 5 line <&"${SESS[0]}" || line=
expect_eq "$line" "still-here" "the connection opened before the swap still echoes"
exec {SESS[1]}>&-

# Docker/Podman secrets: the file at /run/secrets/NAME is replaced whole.
# Here the config's path links into that directory, so the directory the
# link leads to is the one to watch.
mkdir -m 700 "$T/run-secrets" "$T/etc-keys"
key "$T/run-secrets/partner.key" partner-secret-1
ln -s "$T/run-secrets/partner.key" "$T/etc-keys/partner.key"
write_conf "$T/svc.conf.d.tmp" <<CONF
[Key partner]
Peer = 192.0.2.10
SecretFile = $T/etc-keys/partner.key
CONF
mkdir -m 755 "$T/svc.conf.d.new"
mv "$T/svc.conf.d.tmp" "$T/svc.conf.d.new/partner.conf"
mv "$T/svc.conf.d.new" "$T/svc.conf.d"
in_ns "$NS" ip addr add 192.0.2.10/32 dev lo
partner() { # KEYFILE: 0 when a signed echo from 192.0.2.10 comes back (1 s at most)
        local out
        out=$(ip netns exec "$NS" $CLIENT -t 1000 -s 192.0.2.10 -k "$1" 127.0.0.1 2222 hi) && [ "$out" = hi ]
}
key "$T/partner1.key" partner-secret-1
key "$T/partner2.key" partner-secret-2
check "the partner drop-in is loaded" wait_for 60 partner "$T/partner1.key"
key "$T/run-secrets/.partner.key.new" partner-secret-2
mv "$T/run-secrets/.partner.key.new" "$T/run-secrets/partner.key"
check "replacing the file a link leads to reloads: the new partner key gets in" wait_for 60 partner "$T/partner2.key"
rc=0; in_ns "$NS" $CLIENT -t 300 -s 192.0.2.10 -k "$T/partner1.key" 127.0.0.1 2222 hi >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 3 "the old partner key is dropped"

# A generation that others can read is refused at reload; the keys in
# force stay.
G3=..2026_12_01_21_10_00.555555555
generation "$G3" office-generation-3 0644
ln -s "$G3" "$V/..data_tmp"
mv -T "$V/..data_tmp" "$V/..data"
check "an unsafe generation fails the reload" wait_for 60 grep -q "it leads to $V/$G3/office.key" "$T/bg.err"
check "the key in force still gets in" echo_ok "$NS" "$T/gen2.key" 127.0.0.1 2222
check "the unsafe generation's key does not" echo_dropped "$NS" "$T/gen3.key" 127.0.0.1 2222

check "the daemon heard no SIGHUP" test ! -e "$T/report.hup"
kill -TERM "$sup"
rc=0; wait_exit "$sup" || rc=$?
expect_eq "$rc" 143 "SIGTERM passed on"
finish
