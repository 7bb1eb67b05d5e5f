#!/bin/bash
# Secret hygiene: no key byte in argv, the environment, messages, --check
# output, the activator's memory at the moment of execve, or the daemon's
# memory; key files and configs that others could read or change, directly
# or at the end of a symlink, are refused with exit 77 and nothing listens.
. "$(dirname "$0")/../lib.sh"
memory_scan_setup

netns_new "$NS"
S_FILE=file-secret-AAAA1111
S_HEX_TEXT=hex-secret-BBBB2222
S_HEX=$(printf %s "$S_HEX_TEXT" | od -An -tx1 | tr -d ' \n')
S_LIT=literal-secret-CCCC3333
SECRETS=("$S_FILE" "$S_HEX_TEXT" "$S_HEX" "$S_LIT")
key "$T/k.key" "$S_FILE"

# secrets_conf FILE: a config using all three secret kinds.
secrets_conf() {
        write_conf "$1" <<CONF
[Socket]
ListenStream = 127.0.0.1:2500
[Service]
ExecStart = $ECHO_DAEMON $T/report
[Key a]
Peer = 127.0.0.0/8
SecretFile = ${KEYFILE:-$T/k.key}
[Key b]
Peer = 10.0.0.0/8
SecretHex = $S_HEX
[Key c]
Peer = 10.1.0.0/16
Secret = $S_LIT
CONF
}
# no_secret DESCRIPTION FILE...: none of the secrets in any FILE.
no_secret() {
        local what=$1 s; shift
        for s in "${SECRETS[@]}"; do
                if grep -qaF -- "$s" "$@"; then fail "$what: holds a secret ($s)"; return; fi
        done
        ok "$what: no secret"
}
# has_secrets DESCRIPTION FILE: the control: every secret is in FILE.
has_secrets() {
        local s missing=()
        for s in "$S_FILE" "$S_LIT" "$S_HEX_TEXT"; do grep -qaF -- "$s" "$2" || missing+=("$s"); done
        if [ ${#missing[@]} = 0 ]; then ok "$1"; else fail "$1: missing ${missing[*]}"; fi
}
secrets_conf "$T/svc.conf"

# --- the running daemon: argv, environment, memory
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/svc.conf"
check "daemon up" wait_for 100 test -s "$T/report"
pid=$BG_PID
tr '\0' '\n' < /proc/$pid/cmdline > "$T/cmdline"
tr '\0' '\n' < /proc/$pid/environ > "$T/environ"
check "the daemon's environment is readable (LISTEN_FDS there)" grep -q '^LISTEN_FDS=1$' "$T/environ"
no_secret "the daemon's argv" "$T/cmdline"
no_secret "the daemon's environment" "$T/environ"
# The memory image: every writable mapping (tests/helpers/memdump.py; a
# gcore of an ASan process would be tens of GB).
"$MEMDUMP" "$pid" "$T/daemon.mem" > /dev/null
check "the daemon's memory holds its environment (the grep can see memory)" grep -qaF "LISTEN_FDNAMES" "$T/daemon.mem"
no_secret "memory image of the exec'd daemon" "$T/daemon.mem"
no_secret "the activator's stderr" "$T/bg.err"
check "a signed client gets through (the keys were installed)" echo_ok "$NS" "$T/k.key" 127.0.0.1 2500
kill "$pid"; rm -f "$T/daemon.mem"

# --- the activator's memory at the execve system call, and (control) at
# its first setsockopt, when the secrets must still be there.
memory_at() { # SYSCALL DUMPFILE
        local e guard=()
        for e in "${GUARD_ENV[@]}"; do guard+=(-ex "set environment $e"); done
        in_ns "$NS" timeout 60 gdb -q -batch -ex 'set startup-with-shell off' "${guard[@]}" -ex "catch syscall $1" -ex run \
                -ex "python import gdb, subprocess; subprocess.run(['$MEMDUMP', str(gdb.selected_inferior().pid), '$2'])" \
                -ex kill --args "$ACTIVATE" --config "$T/svc.conf" > "$T/gdb.out" 2>&1 || true
}
memory_at setsockopt "$T/at-setsockopt.mem"
has_secrets "control: the activator's memory holds the secrets while it installs keys" "$T/at-setsockopt.mem"
memory_at execve "$T/at-execve.mem"
check "the activator's memory taken at execve (LISTEN_FDNAMES already set)" grep -qaF LISTEN_FDNAMES= "$T/at-execve.mem"
no_secret "the activator's memory at execve (every buffer wiped)" "$T/at-execve.mem"
rm -f "$T"/*.mem

# --- control: the same dump and grep find a key file's secret that a
# process freed without wiping it (MALLOC_PERTURB_ unset, or it would not).
check "control: a process frees the key file's secret unwiped" \
        unwiped_start "$T/unwiped.ready" "$UNWIPED" "$T/k.key" "$T/unwiped.ready"
"$MEMDUMP" "$UNWIPED_PID" "$T/unwiped.mem" > /dev/null
check "control: the scan finds a secret freed without a wipe" grep -qaF -- "$S_FILE" "$T/unwiped.mem"
kill "$UNWIPED_PID"; rm -f "$T/unwiped.mem"

# --- --check output
expect_rc 0 "--check" $WRAP "$ACTIVATE" --config "$T/svc.conf" --check
no_secret "--check output" "$T/last.out" "$T/last.err"

# --- error paths: each must fail without echoing the secret
bad() { # DESCRIPTION WANT-EXIT CONFIG-TEXT
        printf '%s\n' "$3" > "$T/bad.conf"; chmod 600 "$T/bad.conf"
        expect_rc "$2" "$1" $WRAP "$ACTIVATE" --config "$T/bad.conf"
        no_secret "$1: message" "$T/last.err" "$T/last.out"
}
head="[Socket]
ListenStream = 127.0.0.1:2500
[Service]
ExecStart = $ECHO_DAEMON $T/report
[Key a]
Peer = 127.0.0.0/8"
long=$(printf "$S_LIT%.0s" $(seq 5))
bad "secret too long" 78 "$head
Secret = $long"
bad "hex secret with odd length" 78 "$head
SecretHex = ${S_HEX}1"
bad "hex secret with a non-hex digit" 78 "$head
SecretHex = ${S_HEX}zz"
bad "secret with ' ;'" 78 "$head
Secret = $S_LIT ;x"
bad "secret with trailing whitespace" 78 "$head
Secret = $S_LIT "
bad "indented secret line" 78 "$head
 Secret = $S_LIT"
bad "unknown setting holding a secret" 78 "$head
Secrett = $S_LIT"
bad "secret outside any section" 78 "Secret = $S_LIT
$head"
bad "line too long with a secret" 78 "$head
Secret = $S_LIT$(printf 'x%.0s' $(seq 200))"
printf '%s%s\n' "$S_FILE" "$(printf 'y%.0s' $(seq 80))" > "$T/long.key"; chmod 600 "$T/long.key"
KEYFILE=$T/long.key secrets_conf "$T/longkey.conf"
expect_rc 78 "key file longer than 80 bytes" $WRAP "$ACTIVATE" --config "$T/longkey.conf"
no_secret "key file longer than 80 bytes: message" "$T/last.err"

# --- permissions: refused with 77, a message, nothing listening, no daemon
refused() { # DESCRIPTION PATTERN CONFIG
        rm -f "$T/report"
        expect_rc 77 "$1" in_ns "$NS" $WRAP "$ACTIVATE" --config "$3"
        expect_stderr "$2" "$1: says why"
        no_secret "$1: message" "$T/last.err"
        check "$1: nothing listening" bash -c "! ip netns exec $NS ss -Htln | grep -q LISTEN"
        check "$1: the daemon never started" test ! -e "$T/report"
}
key "$T/open.key" "$S_FILE"; chmod 644 "$T/open.key"
KEYFILE=$T/open.key secrets_conf "$T/c1.conf"
refused "key file readable by others (0644)" "group or other can read" "$T/c1.conf"
key "$T/gw.key" "$S_FILE"; chmod 620 "$T/gw.key"
KEYFILE=$T/gw.key secrets_conf "$T/c2.conf"
refused "key file writable by group (0620)" "group or other can write" "$T/c2.conf"
key "$T/nobody.key" "$S_FILE"; chown nobody "$T/nobody.key"
KEYFILE=$T/nobody.key secrets_conf "$T/c3.conf"
refused "key file owned by nobody" "owned by another user" "$T/c3.conf"
ln -s "$T/open.key" "$T/link.key"
KEYFILE=$T/link.key secrets_conf "$T/c4.conf"
refused "symlink to a key file others can read" "refusing $T/link.key: it leads to $T/open.key, and .*can read" "$T/c4.conf"
ln -s "$T/k.key" "$T/good-link.key"
KEYFILE=$T/good-link.key secrets_conf "$T/c4-ok.conf"
expect_rc 0 "control: a symlink to a safe key file is followed" $WRAP "$ACTIVATE" --config "$T/c4-ok.conf" --check
no_secret "control: --check output" "$T/last.out"
secrets_conf "$T/c5.conf"; chmod 644 "$T/c5.conf"
refused "config with Secret= readable by others (0644)" "refusing a secret in this file" "$T/c5.conf"
secrets_conf "$T/c6.conf"; sed -i '/^Secret\(Hex\)\? =/d; /^\[Key [bc]\]/,$d' "$T/c6.conf"; chmod 666 "$T/c6.conf"
refused "config without secrets writable by others (0666)" "group or other can write" "$T/c6.conf"
secrets_conf "$T/c7.conf"; chown nobody "$T/c7.conf"
refused "config owned by nobody" "owned by another user" "$T/c7.conf"
ln -s "$T/c6.conf" "$T/c8.conf"
refused "symlink to a config others can write" "c8.conf: refusing this config: it leads to $T/c6.conf, and group or other can write" "$T/c8.conf"
ln -s "$T/svc.conf" "$T/c8-ok.conf"
expect_rc 0 "control: a symlink to a safe config is followed" $WRAP "$ACTIVATE" --config "$T/c8-ok.conf" --check
mkdir -m 700 "$T/c9.conf.d"; secrets_conf "$T/c9.conf"; printf '[Key a]\nSecret = x\n' > "$T/c9.conf.d/x.conf"; chmod 644 "$T/c9.conf.d/x.conf"
refused "drop-in with Secret= readable by others" "refusing a secret in this file" "$T/c9.conf"
finish
