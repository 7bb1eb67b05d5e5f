#!/bin/bash
# examples/rsync as its README says (the key file's path changed): the
# README's client command, through tcpmd5-connect, from a source address
# that "hosts allow" lets in gets the module; from one that is signed but
# outside "hosts allow", rsync refuses it, judging the same address the
# activator puts in REMOTE_ADDR; unsigned and wrong-key SYNs are dropped.
. "$(dirname "$0")/../lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
EX=$SRC/examples/rsync
command -v rsync >/dev/null || skip_all "rsync not installed (tools/install-deps)"

netns_new "$NS"
in_ns "$NS" ip addr add 192.0.2.10/32 dev lo   # inside hosts allow = 192.0.2.0/25
in_ns "$NS" ip addr add 192.0.2.200/32 dev lo  # signed (Peer = 192.0.2.0/24), outside it
key "$T/rsync.key" office-secret
key "$T/wrong.key" wrong-secret
mkdir -m 755 "$T/pub" && echo "a public file" > "$T/pub/file.txt" && chmod 644 "$T/pub/file.txt"
sed -e "s|/etc/tcpmd5-activate/keys/|$T/|; s|/etc/rsyncd-keyed.conf|$T/rsyncd-keyed.conf|" \
    "$EX/rsync.conf" > "$T/rsync.conf"
chmod 644 "$T/rsync.conf"
sed -e "s|/srv/pub|$T/pub|" -e "/^reverse lookup/a log file = $T/rsyncd.log" "$EX/rsyncd-keyed.conf" > "$T/rsyncd-keyed.conf"

start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/rsync.conf"
sup=$BG_PID
check "listening on 873" wait_for 400 listening "$NS" 873

# fetch KEY SRC DEST: the README's client command, from source address SRC.
fetch() {
        ip netns exec "$NS" env RSYNC_CONNECT_PROG="$CONNECT --key-file $1 -s $2 %H 873" \
                timeout 30 rsync -a rsync://127.0.0.1/pub/ "$3/"
}
expect_rc 0 "rsync from 192.0.2.10 (in hosts allow) with the key" fetch "$T/rsync.key" 192.0.2.10 "$T/got"
expect_eq "$(cat "$T/got/file.txt" 2>/dev/null)" "a public file" "the module's file arrived"
expect_rc 5 "rsync from 192.0.2.200 (signed, outside hosts allow) is refused by rsync" \
        fetch "$T/rsync.key" 192.0.2.200 "$T/refused"
expect_stderr "access denied to pub from .*192\.0\.2\.200" "rsync names the refused address"
check "nothing arrived from the refused address" test ! -e "$T/refused/file.txt"
check "rsync's log: 192.0.2.10 allowed" grep -q "allowed access on module pub from .*(192.0.2.10)" "$T/rsyncd.log"
check "rsync's log: 192.0.2.200 denied" grep -q "denied on module pub from .*(192.0.2.200)" "$T/rsyncd.log"
expect_rc 1 "rsync with a wrong key gets no connection" \
        bash -c "ip netns exec $NS env RSYNC_CONNECT_PROG='$CONNECT -t 2 --key-file $T/wrong.key -s 192.0.2.10 %H 873' timeout 30 rsync -a rsync://127.0.0.1/pub/ $T/wrong/ >/dev/null 2>&1 && exit 0; exit 1"
check "unsigned SYNs are dropped" bash -c "ip netns exec $NS $CLIENT -t 300 -s 192.0.2.10 127.0.0.1 873 x >/dev/null 2>&1; [ \$? = 3 ]"
check "wrong-key SYNs are dropped" \
        bash -c "ip netns exec $NS $CLIENT -t 300 -k $T/wrong.key -s 192.0.2.10 127.0.0.1 873 x >/dev/null 2>&1; [ \$? = 3 ]"
kill -TERM "$sup"
rc=0; wait_exit "$sup" || rc=$?
expect_eq "$rc" 0 "the activator stops on SIGTERM"
finish
