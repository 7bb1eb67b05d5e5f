#!/bin/bash
# Accept mode and SIGHUP: the keys on the listening socket change in place,
# a connection accepted before keeps going, the activator keeps serving.
. "$(dirname "$0")/../lib.sh"
SESSION=$BUILD/tests/md5-session

netns_new "$NS"
key "$T/k.key" accept-secret
key "$T/old.key" accept-secret
key "$T/new.key" accept-rotated
write_conf "$T/svc.conf" <<CONF
[Socket]
ListenStream = 2601
Accept = yes
Inetd = yes
[Service]
ExecStart = /bin/cat
[Key local]
Peer = 127.0.0.0/8
Peer = ::1
SecretFile = $T/k.key
CONF
reloads() { grep -c "reloaded:" "$T/bg.err" || true; }
count_is() { test "$($1)" = "$2"; }

start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/svc.conf"
pid=$BG_PID
check "listening" wait_for 100 listening "$NS" 2601
check "before: the key gets in" echo_ok "$NS" "$T/old.key" 127.0.0.1 2601

coproc SESS { ip netns exec "$NS" "$SESSION" -k "$T/old.key" 127.0.0.1 2601 2>&1; }
read -r -t 5 line <&"${SESS[0]}" || line=
expect_eq "$line" "connected" "a connection held open"

printf 'accept-rotated\n' > "$T/k.key"
kill -HUP "$pid"
check "reloaded" wait_for 100 count_is reloads 1
expect_eq "$(grep 'reloaded:' "$T/bg.err" | sed 's/.*reloaded: //')" \
        "0 keys added, 2 replaced, 0 deleted on 1 listener (2 setsockopt calls)" "one setsockopt per changed prefix"
check "after: the new key gets in (IPv4)" echo_ok "$NS" "$T/new.key" 127.0.0.1 2601
check "after: the new key gets in (IPv6)" echo_ok "$NS" "$T/new.key" ::1 2601
check "after: the old key is dropped" echo_dropped "$NS" "$T/old.key" 127.0.0.1 2601
echo held >&"${SESS[1]}"
read -r -t 5 line <&"${SESS[0]}" || line=
expect_eq "$line" "held" "the connection accepted before the reload still works"

head -c 81 /dev/zero | tr '\0' x > "$T/k.key"
kill -HUP "$pid"
check "an invalid reload is reported" wait_for 100 grep -q "the old keys stay" "$T/bg.err"
check "and the current key still gets in" echo_ok "$NS" "$T/new.key" 127.0.0.1 2601
exec {SESS[1]}>&-
kill -TERM "$pid"
rc=0; wait_exit "$pid" || rc=$?
expect_eq "$rc" 0 "SIGTERM: a clean stop"
finish
