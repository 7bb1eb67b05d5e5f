#!/bin/bash
# A symbolic link anywhere on the path to a key file, config, drop-in or
# the client's -k file is judged like a directory is: its owner must be
# root (or the program's own user), even in a sticky directory where
# others may make links, and the directory it leads through is judged as
# walked, not as named. The layouts of an attack found from outside:
#   bob/ is nobody's; nobody makes bob/cur -> keys/ (root's): the admin's
#   path bob/cur/k1 reads root's key, chosen by nobody;
#   sticky/ is 1777; nobody makes sticky/k1 -> /proc/self/personality (a
#   root-owned 0400 file holding "00000000") and points bob/cur2 at
#   sticky/: the key in force becomes 00000000.
# Each is refused with exit 77 and a message naming the directory or link
# at fault, for key files, configs, drop-ins and tcpmd5-connect; nothing
# listens. The controls: the same layouts with root's links are accepted
# and serve the real key. Last, under --watch, a link squatted in a sticky
# directory during a rotation is refused at reload, and the attacker's key
# never gets in.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
marker=$T/started
printf '#!/bin/sh\ntouch %s\n' "$marker" > "$T/cmd"; chmod 755 "$T/cmd"
chmod 755 "$T" # for nobody's links
nobody_setup # defines AS_NOBODY
# fp SECRET: the fingerprint --check and tcpmd5-connect -v print for SECRET.
fp() { printf 'tcpmd5 key fingerprint v1\0%s' "$1" | sha256sum | cut -c1-16; }
GOOD_FP=$(fp good-secret-k1)
EVIL_FP=$(fp 00000000) # what /proc/self/personality holds
key "$T/good.key" good-secret-k1
key "$T/evil.key" 00000000

R=$T/srv
mkdir -m 755 "$R" "$R/keys" "$R/bob" "$R/rbob"
mkdir -m 1777 "$R/sticky"
chown nobody:nogroup "$R/bob"
key "$R/keys/k1" good-secret-k1
printf '[Key k]\nPeer = 127.0.0.0/8\nSecretFile = %s\n' "$R/keys/k1" > "$R/keys/key.conf"
chmod 600 "$R/keys/key.conf"
# nobody's links
"${AS_NOBODY[@]}" ln -s "$R/keys" "$R/bob/cur"
"${AS_NOBODY[@]}" ln -s /proc/self/personality "$R/sticky/k1"
"${AS_NOBODY[@]}" ln -s "$R/sticky" "$R/bob/cur2"
"${AS_NOBODY[@]}" ln -s "$R/keys/k1" "$R/sticky/nk1"
"${AS_NOBODY[@]}" ln -s "$R/keys/key.conf" "$R/sticky/nkey.conf"
# root's links: the controls
ln -s "$R/keys" "$R/rbob/cur"
ln -s ../sticky "$R/rbob/cur2"
ln -s ../keys/k1 "$R/sticky/rk1"

# conf FILE KEY-FILE: a config that would work with a trusted KEY-FILE; prints FILE.
conf() {
        write_conf "$1" '[Socket]' 'ListenStream = 127.0.0.1:2652' '[Service]' "ExecStart = $T/cmd" \
                '[Key k]' 'Peer = 127.0.0.0/8' "SecretFile = $2"
        echo "$1"
}
# refused DESCRIPTION PATTERN CONFIG: a real start and --check both exit
# 77 with PATTERN in the message; nothing listens, the command never
# starts, no fingerprint of the attacker's key is printed.
refused() {
        local what=$1 pattern=$2 config=$3 check
        for check in "" --check; do
                rm -f "$marker"
                expect_rc 77 "$what${check:+ ($check)}" in_ns "$NS" $WRAP "$ACTIVATE" --config "$config" $check
                expect_stderr "$pattern" "$what${check:+ ($check)}: the message names what is at fault"
                check "$what${check:+ ($check)}: nothing listening" bash -c "! ip netns exec $NS ss -Htln | grep -q LISTEN"
                check "$what${check:+ ($check)}: the command never started" test ! -e "$marker"
                check "$what${check:+ ($check)}: the attacker's key was not read" \
                        bash -c "! grep -q $EVIL_FP $T/last.out $T/last.err"
        done
}
# accepted DESCRIPTION CONFIG: --check passes and shows the real key.
accepted() {
        expect_rc 0 "$1 (--check)" in_ns "$NS" $WRAP "$ACTIVATE" --config "$2" --check
        check "$1: --check shows the real key's fingerprint" grep -q "fingerprint $GOOD_FP" "$T/last.out"
}
BOB_DIR="directory $R/bob is owned by another user, who can replace what is in it \(chown root $R/bob\)"
link_msg() { echo "symbolic link $1 is owned by nobody, who can point it anywhere \(.*chown -h root $1\)"; }

# --- key files
refused "key through nobody's link in nobody's directory (bob/cur -> keys)" "SecretFile=: refusing $R/bob/cur/k1: $BOB_DIR" \
        "$(conf "$T/k-bob.conf" "$R/bob/cur/k1")"
refused "key through bob/cur2 -> sticky/, sticky/k1 -> /proc/self/personality" "$BOB_DIR" \
        "$(conf "$T/k-bob2.conf" "$R/bob/cur2/k1")"
refused "nobody's link in a sticky directory (-> /proc/self/personality)" "$(link_msg "$R/sticky/k1")" \
        "$(conf "$T/k-sticky.conf" "$R/sticky/k1")"
refused "root's directory link, then nobody's link in the sticky directory" "$(link_msg "$R/sticky/k1")" \
        "$(conf "$T/k-rbob2.conf" "$R/rbob/cur2/k1")"
refused "nobody's link in a sticky directory to root's good key file" "$(link_msg "$R/sticky/nk1")" \
        "$(conf "$T/k-nk1.conf" "$R/sticky/nk1")"
accepted "control: root's link rbob/cur -> keys" "$(conf "$T/k-rbob.conf" "$R/rbob/cur/k1")"
accepted "control: root's relative link sticky/rk1 -> ../keys/k1" "$(conf "$T/k-rk1.conf" "$R/sticky/rk1")"
# Not fooled by a link name: a link's own mode is always 0777.
accepted "control: root's link reached through root's link into the sticky directory" \
        "$(conf "$T/k-rbob3.conf" "$R/rbob/cur2/rk1")"

# --- configs
conf "$R/keys/svc.conf" "$R/keys/k1" > /dev/null
refused "config through bob/cur -> keys" "$R/bob/cur/svc.conf: refusing this config: $BOB_DIR" "$R/bob/cur/svc.conf"
"${AS_NOBODY[@]}" ln -s "$R/keys/svc.conf" "$R/sticky/svc.conf"
refused "config through nobody's link in the sticky directory" \
        "$R/sticky/svc.conf: refusing this config: $(link_msg "$R/sticky/svc.conf")" "$R/sticky/svc.conf"
accepted "control: config through root's link rbob/cur -> keys" "$R/rbob/cur/svc.conf"

# --- drop-ins: the directory, and the files in it
# dirconf NAME: $R/NAME/svc.conf, a config whose key comes from a drop-in; prints it.
dirconf() {
        mkdir -m 755 "$R/$1"
        write_conf "$R/$1/svc.conf" '[Socket]' 'ListenStream = 127.0.0.1:2652' '[Service]' "ExecStart = $T/cmd"
        echo "$R/$1/svc.conf"
}
c=$(dirconf dA); ln -s "$R/bob/cur" "$c.d"
refused "drop-in directory: root's link into nobody's directory" "$c.d: refusing these drop-ins: $BOB_DIR" "$c"
c=$(dirconf dB); mkdir -m 755 "$c.d"; ln -s "$R/sticky/nkey.conf" "$c.d/10-key.conf"
refused "drop-in: root's link to nobody's link in the sticky directory" \
        "$c.d/10-key.conf: refusing this config: $(link_msg "$R/sticky/nkey.conf")" "$c"
c=$(dirconf dC); mkdir -m 755 "$c.d"; ln -s ../../keys/key.conf "$c.d/10-key.conf"
accepted "control: drop-in as root's relative link (../../keys/key.conf)" "$c"
mkdir -m 755 "$R/kd"; cp -p "$R/keys/key.conf" "$R/kd/"; ln -s "$R/kd" "$R/rbob/kd"
c=$(dirconf dD); ln -s ../rbob/kd "$c.d"
accepted "control: drop-in directory as root's link to root's link (kd/key.conf)" "$c"
c=$(dirconf dE); mkdir -m 755 "$c.d"; ln -s ../../keys/key.conf "$c.d/10-key.conf"
"${AS_NOBODY[@]}" ln -s /dev/null "$R/sticky/mask.conf"
ln -s "$R/sticky/mask.conf" "$c.d/10-key.conf.tmp"; mv -T "$c.d/10-key.conf.tmp" "$c.d/10-key.conf"
refused "drop-in masked through nobody's link: the mask is not taken from nobody" \
        "$(link_msg "$R/sticky/mask.conf")" "$c"

# --- tcpmd5-connect: -k and --config
# client_refused DESCRIPTION PATTERN ARGS...: exit 77, PATTERN in the message.
client_refused() {
        local what=$1 pattern=$2; shift 2
        expect_rc 77 "tcpmd5-connect: $what" in_ns "$NS" "$CONNECT" -v -t 0.3 "$@" 127.0.0.1 2652
        expect_stderr "$pattern" "tcpmd5-connect: $what: the message names what is at fault"
        check "tcpmd5-connect: $what: the attacker's key was not used" bash -c "! grep -q $EVIL_FP $T/last.err"
}
client_refused "-k through bob/cur -> keys" "--key-file: refusing $R/bob/cur/k1: $BOB_DIR" -k "$R/bob/cur/k1"
client_refused "-k through bob/cur2 -> sticky/k1 -> personality" "$BOB_DIR" -k "$R/bob/cur2/k1"
client_refused "-k nobody's link in the sticky directory" "$(link_msg "$R/sticky/k1")" -k "$R/sticky/k1"
client_refused "--config through bob/cur -> keys" "$BOB_DIR" --config "$R/bob/cur/key.conf"
client_refused "--config through nobody's link" "$(link_msg "$R/sticky/nkey.conf")" --config "$R/sticky/nkey.conf"
# The controls connect for real, to an activator serving key k1.
write_conf "$T/serve.conf" '[Socket]' 'ListenStream = 127.0.0.1:2652' '[Service]' "ExecStart = $ECHO_DAEMON $T/report" \
        '[Key k]' 'Peer = 127.0.0.0/8' "SecretFile = $R/keys/k1"
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/serve.conf"
check "the echo service comes up" wait_for 200 test -s "$T/report"
for k in "$R/rbob/cur/k1" "$R/sticky/rk1"; do
        out=$(echo hello | ip netns exec "$NS" "$CONNECT" -t 5 -k "$k" 127.0.0.1 2652 2>&1) || true
        expect_eq "$out" hello "control: tcpmd5-connect -k $k (root's links) gets an echo"
done
out=$(echo hello | ip netns exec "$NS" "$CONNECT" -t 5 --config "$R/rbob/cur/key.conf" 127.0.0.1 2652 2>&1) || true
expect_eq "$out" hello "control: tcpmd5-connect --config through root's link gets an echo"
kill -TERM "$BG_PID"; wait_exit "$BG_PID" || true

# --- --watch: a rotation that removes root's link and makes a new one
# leaves a moment in which nobody may put their own link there first.
ln -s "$R/keys/k1" "$R/sticky/w.key"
write_conf "$T/watch.conf" '[Socket]' 'ListenStream = 127.0.0.1:2653' '[Service]' "ExecStart = $ECHO_DAEMON $T/report2" \
        '[Key k]' 'Peer = 127.0.0.0/8' "SecretFile = $R/sticky/w.key"
next_tick
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --watch --config "$T/watch.conf"
sup=$BG_PID
check "--watch: the listener comes up" wait_for 200 test -s "$T/report2"
check "--watch: the real key gets in" echo_ok "$NS" "$T/good.key" 127.0.0.1 2653
check "--watch: the attacker's key does not" echo_dropped "$NS" "$T/evil.key" 127.0.0.1 2653
rm "$R/sticky/w.key"
"${AS_NOBODY[@]}" ln -s /proc/self/personality "$R/sticky/w.key"
check "--watch: the reload is refused, naming nobody's link" \
        wait_for 200 grep -q "$(link_msg "$R/sticky/w.key" | sed 's/\\(.*//')" "$T/bg.err"
check "--watch: the attacker's key never gets in" echo_dropped "$NS" "$T/evil.key" 127.0.0.1 2653
check "--watch: the real key, in force, still gets in" echo_ok "$NS" "$T/good.key" 127.0.0.1 2653
# A SIGHUP reads it again, with the same verdict.
refusals() { grep -c "owned by nobody" "$T/bg.err" || true; }
more_refusals() { [ "$(refusals)" -gt "$1" ]; }
n=$(refusals)
kill -HUP "$sup"
check "SIGHUP: refused again" wait_for 200 more_refusals "$n"
check "SIGHUP: the attacker's key never gets in" echo_dropped "$NS" "$T/evil.key" 127.0.0.1 2653
if exited "$sup"; then fail "the supervisor went on running"; else ok "the supervisor went on running"; fi
kill -TERM "$sup"; wait_exit "$sup" || true
finish
