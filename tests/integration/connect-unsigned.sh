#!/bin/bash
# tcpmd5-connect never goes unsigned: when the kernel refuses its key, for
# every way it gets one (--key-file, --key-fd, --credential, --config, and
# with --source), it exits non-zero and sends no SYN at all. The witness is
# a plain socket with no key, which takes any unsigned connection: it must
# accept none, and the namespace's TcpActiveOpens (one per SYN a connect()
# sends) must not move. Controls: an unsigned client does reach it and
# moves both counters; a signed one sends its SYN and is dropped there.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault.sh"

netns_new "$NS"
key "$T/k.key" never-unsigned
mkdir "$T/creds"; key "$T/creds/peer" never-unsigned
write_conf "$T/client.conf" '[Key peer]' 'Peer = 127.0.0.0/8' "SecretFile = $T/k.key"

# The keyless listener: accepts, notes it, closes.
in_ns "$NS" /usr/bin/python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 2800)); s.listen(16)
print("listening")
while True:
    c, peer = s.accept(); print("accepted", peer[1]); c.close()
' > "$T/plain.out" 2> "$T/plain.err" &
PIDS+=($!)
check "a plain keyless listener is up" wait_for 200 grep -q listening "$T/plain.out"
accepted() { grep -c '^accepted' "$T/plain.out" || true; }
counter() { in_ns "$NS" nstat -asz "$1" | awk -v n="$1" '$1 == n { print $2 }'; }
snap() { echo "$(counter TcpActiveOpens) $(accepted) $(counter TcpExtTCPMD5Unexpected)"; }

# client WHAT ARGS...: tcpmd5-connect to the plain listener, stdin empty.
client() {
        local what=$1; shift
        expect_rc "${WANT_RC:-1}" "$what" in_ns "$NS" timeout 10 $WRAP "$CONNECT" -t 0.3 "$@" 127.0.0.1 2800
}
# deltas BEFORE: "SYNs accepted MD5Unexpected" since the snapshot BEFORE.
deltas() {
        local a0 c0 u0 a1 c1 u1
        read -r a0 c0 u0 <<< "$1"
        read -r a1 c1 u1 <<< "$(snap)"
        echo "$((a1 - a0)) $((c1 - c0)) $((u1 - u0))"
}

# --- controls ---
s=$(snap)
WANT_RC=0 client "control: an unsigned client connects to the keyless listener"
check "control: the listener accepted it" wait_for 100 test "$(accepted)" = 1
expect_eq "$(deltas "$s")" "1 1 0" "control: one SYN, one accepted, no signed segment"

# Each key source, working: its SYN leaves signed and the keyless socket drops it.
sources=(file fd credential config)
source_args() {
        case "$1" in
        file) echo "--key-file $T/k.key" ;;
        fd) echo "--key-fd 3" ;;
        credential) echo "--credential peer" ;;
        config) echo "--config $T/client.conf" ;;
        esac
}
with_source() { # SOURCE CMD...: CMD with the environment and fds the source needs
        local src=$1; shift
        case "$src" in
        fd) "$@" 3< "$T/k.key" ;;
        credential) CREDENTIALS_DIRECTORY=$T/creds "$@" ;;
        *) "$@" ;;
        esac
}
for src in "${sources[@]}"; do
        s=$(snap)
        with_source "$src" client "control --${src}: signed, dropped by the keyless listener" $(source_args "$src")
        d=$(deltas "$s")
        check "control --${src}: its SYN left signed (SYNs accepted MD5Unexpected: $d)" \
                test "${d% *}" = "1 0" -a "${d##* }" -ge 1
done

# --- the key's setsockopt fails: exit non-zero, no SYN, nothing accepted ---
# faulted SOURCE AT ERRNO WANT MESSAGE [ARG...]: setsockopt call AT (the
# key's) fails with ERRNO; the client must exit WANT and say MESSAGE.
faulted() {
        local src=$1 at=$2 err=$3 want=$4 msg=$5 s; shift 5
        local what="--${src}${1:+ $*}: key refused with $err"
        s=$(snap)
        rm -f "$T/fault.report"
        with_source "$src" expect_rc "$want" "$what" in_ns "$NS" timeout 10 env \
                "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" LD_PRELOAD="$FAULT_SO" \
                FAULT_TARGET="$CONNECT" FAULT_REPORT="$T/fault.report" FAULT_FUNC=setsockopt FAULT_AT="$at" \
                FAULT_ERRNO="$err" $VG "$CONNECT" -t 0.3 "$@" $(source_args "$src") 127.0.0.1 2800
        expect_eq "$(sed -n 's/^failed=//p' "$T/fault.report")" "setsockopt level=6 opt=14" \
                "$what: the failed call was the key's (TCP_MD5SIG)"
        expect_stderr "$msg" "$what: says so"
        expect_eq "$(deltas "$s")" "0 0 0" "$what: no SYN sent, nothing accepted"
}
for src in "${sources[@]}"; do
        faulted "$src" 1 ENOMEM 71 "cannot set the TCP MD5 key: Cannot allocate memory"
        faulted "$src" 1 EPERM 77 "cannot set the TCP MD5 key: Operation not permitted"
        faulted "$src" 1 ENOPROTOOPT 69 "this kernel has no TCP MD5 support"
        faulted "$src" 1 EINVAL 71 "cannot set the TCP MD5 key: Invalid argument"
done
# With --source, the key's setsockopt is the second (IP_BIND_ADDRESS_NO_PORT first).
faulted file 2 ENOMEM 71 "cannot set the TCP MD5 key: Cannot allocate memory" --source 127.0.0.1
faulted credential 2 EPERM 77 "cannot set the TCP MD5 key: Operation not permitted" --source 127.0.0.1
finish
