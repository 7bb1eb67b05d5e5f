#!/bin/bash
# --watch: rotating a key file (by rename, as deployment tools do) or adding
# a drop-in reloads the keys without a SIGHUP, and the daemon hears nothing.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
in_ns "$NS" ip addr add 192.0.2.10/32 dev lo
mkdir -m 700 "$T/keys" "$T/noise"
key "$T/keys/office.key" office-secret
key "$T/old.key" office-secret
key "$T/new.key" office-rotated
key "$T/partner.key" partner-secret
write_conf "$T/svc.conf" <<CONF
[Socket]
ListenStream = 2222
[Service]
ExecStart = $ECHO_DAEMON $T/report
[Key office]
Peer = 127.0.0.0/8
SecretFile = $T/keys/office.key
CONF
reloads() { grep -c "reloaded:" "$T/bg.err" || true; }
count_is() { test "$($1)" = "$2"; }

next_tick
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --watch --config "$T/svc.conf"
sup=$BG_PID
check "listeners come up" wait_for 100 test -s "$T/report"
check "before: office key" echo_ok "$NS" "$T/old.key" 127.0.0.1 2222

# Unrelated files in a watched directory cause no reload.
touch "$T/unrelated" "$T/keys/other"
sleep 0.5
expect_eq "$(reloads)" 0 "unrelated files in watched directories: no reload"

# Rotation by rename: write a new file, then move it over the old one.
key "$T/keys/.office.key.new" office-rotated
mv "$T/keys/.office.key.new" "$T/keys/office.key"
check "a renamed key file triggers a reload" wait_for 200 count_is reloads 1
check "the new key gets in" echo_ok "$NS" "$T/new.key" 127.0.0.1 2222
check "the old key is dropped" echo_dropped "$NS" "$T/old.key" 127.0.0.1 2222

# A drop-in directory created after start, then a drop-in in it.
mkdir -m 755 "$T/svc.conf.d"
write_conf "$T/svc.conf.d/partner.conf" <<CONF
[Key partner]
Peer = 192.0.2.10
SecretFile = $T/partner.key
CONF
check "a new drop-in triggers a reload" wait_for 200 bash -c "grep 'reloaded:' $T/bg.err | grep -q '[1-9] keys\? added'"
rc=0; in_ns "$NS" $CLIENT -t 3000 -s 192.0.2.10 -k "$T/partner.key" 127.0.0.1 2222 hi >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 0 "the drop-in's key gets in"
# A reload once more may follow the one that added it (the file changed
# while its new directory was not watched yet): look at every later line.
n=$(reloads)
rm "$T/svc.conf.d/partner.conf"
check "removing it reloads too" wait_for 200 bash -c "grep 'reloaded:' $T/bg.err | tail -n +$((n + 1)) | grep -q '[1-9] deleted'"
rc=0; in_ns "$NS" $CLIENT -t 300 -s 192.0.2.10 -k "$T/partner.key" 127.0.0.1 2222 hi >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 3 "and its prefix is dropped again"

check "the daemon heard no SIGHUP" test ! -e "$T/report.hup"
kill -TERM "$sup"
rc=0; wait_exit "$sup" || rc=$?
expect_eq "$rc" 143 "SIGTERM passed on"

# A change between reading the files and watching their directories sends
# no event. The daemon makes one as it starts: it creates a drop-in
# directory and a drop-in, and only then lets its activator (held by
# tests/helpers/watch-hold.c) add its first watch. The activator sees the
# change by its time stamp and reloads once more.
cat > "$T/adds-dropin.sh" <<SH
mkdir -m 755 $T/late.conf.d
printf '[Key partner]\nPeer = 192.0.2.10\nSecretFile = $T/partner.key\n' > $T/late.conf.d/partner.conf
chmod 600 $T/late.conf.d/partner.conf
touch $T/late.made
exec $ECHO_DAEMON $T/late.report
SH
write_conf "$T/late.conf" <<CONF
[Socket]
ListenStream = 2223
[Service]
ExecStart = /bin/sh $T/adds-dropin.sh
[Key office]
Peer = 127.0.0.0/8
SecretFile = $T/old.key
CONF
ip netns exec "$NS" env "${GUARD_ENV[@]}" LD_PRELOAD="$LISTEN_GUARD_SO $BUILD/tests/watch-hold.so" \
        WATCH_HOLD_UNTIL="$T/late.made" $VG "$ACTIVATE" --supervise --watch --config "$T/late.conf" \
        > "$T/late.out" 2> "$T/late.err" &
sup=$!
PIDS+=("$sup")
check "started" wait_for 100 test -s "$T/late.report"
check "a drop-in made while the activator started gets in" wait_for 40 \
        bash -c "ip netns exec $NS $CLIENT -t 500 -s 192.0.2.10 -k $T/partner.key 127.0.0.1 2223 hi"
kill -TERM "$sup"
rc=0; wait_exit "$sup" || rc=$?
expect_eq "$rc" 143 "SIGTERM passed on"
finish
