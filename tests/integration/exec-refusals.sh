#!/bin/bash
# Fail closed: every refusal of the security model (SECURITY.md) exits with its
# code and a message, leaves the port free and never starts the command.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/good.key" good-secret
marker=$T/started
cat > "$T/cmd" <<EOF2
#!/bin/sh
touch $marker
EOF2
chmod 755 "$T/cmd"
printf '#!/bin/sh\n' > "$T/noexec"; chmod 644 "$T/noexec"

# conf NAME [EXTRA-KEY-LINES...]: a config that would work, plus changes.
conf() {
        local f=$T/$1.conf; shift
        write_conf "$f" '[Socket]' 'ListenStream = 5555' 'ListenStream = 127.0.0.1:5556' '[Service]' "ExecStart = $T/cmd" \
                '[Key good]' 'Peer = any' "SecretFile = $T/good.key" "$@"
        echo "$f"
}

# refused WANT-RC STDERR-PATTERN DESCRIPTION ARGS...: run the activator in
# the namespace (a hang, e.g. on a FIFO, ends as exit 124 after 60 s).
refused() {
        local want=$1 pattern=$2 what=$3; shift 3
        rm -f "$marker"
        expect_rc "$want" "$what" timeout -k 5 60 ip netns exec "$NS" $WRAP "$ACTIVATE" "$@"
        expect_stderr "$pattern" "$what: message"
        if [ -e "$marker" ]; then fail "$what: the command was started"; fi
        if listening "$NS" 5555 || listening "$NS" 5556; then fail "$what: something is left listening"; fi
}

refused 64 "exactly one of" "no config given"
refused 64 "takes a name from the search path" "bad unit name" --unit ../etc/passwd
refused 64 "not a valid name" "unit name with a space" --unit "a b"
refused 64 "" "unknown option" --config "$(conf ok)" --bogus
refused 78 "nothere.conf: cannot open" "missing config" --config "$T/nothere.conf"
refused 78 "bad.conf:9: unknown setting Bogus=" "unknown setting" --config "$(conf bad 'Bogus = 1')"
refused 78 "sec.conf:9: unknown section \[Sec\]" "unknown section" --config "$(conf sec '[Sec]' 'X=1')"
refused 78 "cannot read $T/missing.key" "missing key file" --config "$(conf mk '[Key m]' 'Peer=192.0.2.0/24' "SecretFile=$T/missing.key")"
printf '%081d' 0 > "$T/long.key"; chmod 600 "$T/long.key"
refused 78 "holds 81 bytes, more than the 80" "81-byte key file" --config "$(conf lk '[Key l]' 'Peer=192.0.2.0/24' "SecretFile=$T/long.key")"
refused 78 "longer than 80 bytes" "81-byte Secret=" --config "$(conf ls '[Key l]' 'Peer=192.0.2.0/24' "Secret=$(printf '%081d' 0)")"
refused 78 "already claimed by \[Key good\]" "two keys for one prefix" --config "$(conf dup '[Key again]' 'Peer=::/0' 'SecretHex=0011')"
refused 78 "did you mean 192.0.2.0/24" "prefix with host bits" --config "$(conf hb '[Key h]' 'Peer=192.0.2.9/24' 'SecretHex=00')"
refused 78 "no such interface" "unknown Interface=" --config "$(conf if '[Key i]' 'Peer=192.0.2.0/24' 'SecretHex=00' 'Interface=nosuch0')"
refused 71 "Interface=lo: the kernel refused it; Interface= must name a VRF" "Interface= that is not a VRF" \
        --config "$(conf vrf '[Key v]' 'Peer=192.0.2.0/24' 'SecretHex=00' 'Interface=lo')"
cp "$T/good.key" "$T/open.key"; chmod 644 "$T/open.key"
refused 77 "group or other can read it" "key file readable by others" --config "$(conf ok '[Key o]' 'Peer=192.0.2.0/24' "SecretFile=$T/open.key")"
ln -sf "$T/open.key" "$T/link.key"
refused 77 "refusing $T/link.key: it leads to $T/open.key, and it holds a secret and group or other can read it" \
        "symlink to a key file others can read" --config "$(conf ok '[Key s]' 'Peer=192.0.2.0/24' "SecretFile=$T/link.key")"
cp "$T/good.key" "$T/nobody.key"; chown nobody "$T/nobody.key"
refused 77 "owned by another user" "key file owned by another user" --config "$(conf ok '[Key n]' 'Peer=192.0.2.0/24' "SecretFile=$T/nobody.key")"
f=$(conf lit '[Key l]' 'Peer=192.0.2.0/24' 'Secret=abc'); chmod 640 "$f"
refused 77 "lit.conf:11: Secret=: refusing a secret in this file" "Secret= in a group-readable config" --config "$f"
f=$(conf hex '[Key l]' 'Peer=192.0.2.0/24' 'SecretHex=0102'); chmod 604 "$f"
refused 77 "hex.conf:11: SecretHex=: refusing a secret in this file" "SecretHex= in an other-readable config" --config "$f"
f=$(conf ww); chmod 666 "$f"
refused 77 "group or other can write it" "world-writable config" --config "$f"
f=$(conf ln); chmod 666 "$f"; ln -sf "$f" "$T/linked.conf"
refused 77 "linked.conf: refusing this config: it leads to $f, and group or other can write it" \
        "symlink to a config others can write" --config "$T/linked.conf"
# The controls: links to safe files are followed.
ln -sf "$T/good.key" "$T/good-link.key"
chmod 600 "$f"
sed -i "s|^SecretFile = .*|SecretFile = $T/good-link.key|" "$f"
rm -f "$marker"
expect_rc 0 "control: a symlinked config naming a symlinked key file starts" \
        timeout -k 5 60 ip netns exec "$NS" $WRAP "$ACTIVATE" --config "$T/linked.conf"
check "control: the command started" test -e "$marker"
refused 127 "command not found" "command not found" --config "$(conf ok)" -- "$T/nope"
refused 126 "not executable" "command not executable" --config "$(conf ok)" -- "$T/noexec"
# Executable, but no program the kernel can run (no #!, no ELF): execve
# fails with ENOEXEC after the listeners exist. Shells exit 126 for it.
printf 'echo this is not a program\n' > "$T/garbage"; chmod 755 "$T/garbage"
refused 126 "$T/garbage: neither a program nor a script with a #! line: add one" \
        "a script without #!" --config "$(conf ok)" -- "$T/garbage"
refused 126 "$T/garbage: neither a program nor a script with a #! line" "the same, supervised" \
        --supervise --config "$(conf ok)" -- "$T/garbage"
# Bytes that are no text are left to execve(), whose ENOEXEC says the same.
printf '\001\002not a program\n' > "$T/binary"; chmod 755 "$T/binary"
refused 126 "cannot execute $T/binary: neither a program nor a script with a #! line" \
        "command with an exec format error" --config "$(conf ok)" -- "$T/binary"
refused 126 "cannot execute $T/binary: neither a program nor a script with a #! line" \
        "the same, supervised" --supervise --config "$(conf ok)" -- "$T/binary"
# Not a regular file: a FIFO (opening it must not wait for a writer), a
# device, a directory; refused as a config error, never read.
mkfifo -m 600 "$T/fifo.key"
refused 78 "SecretFile=: $T/fifo.key is not a regular file" "FIFO as key file" \
        --config "$(conf fk '[Key f]' 'Peer=192.0.2.0/24' "SecretFile=$T/fifo.key")"
refused 78 "SecretFile=: /dev/null is not a regular file" "device as key file" \
        --config "$(conf dk '[Key f]' 'Peer=192.0.2.0/24' "SecretFile=/dev/null")"
mkdir -m 700 "$T/dir.key"
refused 78 "SecretFile=: $T/dir.key is not a regular file" "directory as key file" \
        --config "$(conf dirk '[Key f]' 'Peer=192.0.2.0/24' "SecretFile=$T/dir.key")"
mkfifo -m 600 "$T/fifo.conf"
refused 78 "$T/fifo.conf: not a regular file" "FIFO as config" --config "$T/fifo.conf"

# Port in use by someone else: the second listener fails after the first was keyed and bound.
start_bg "$NS" python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",5556)); s.listen(); time.sleep(30)'
wait_for 300 listening "$NS" 5556 || fail "blocker did not start"
rm -f "$marker"
expect_rc 71 "address in use" ip netns exec "$NS" $WRAP "$ACTIVATE" --config "$(conf ok)"
expect_stderr "127.0.0.1:5556: cannot bind: Address already in use" "address in use: message"
listening "$NS" 5555 && fail "address in use: 5555 left listening" || ok "address in use: nothing else listening"
[ -e "$marker" ] && fail "address in use: command started" || ok "address in use: command not started"
kill "$BG_PID"; wait_exit "$BG_PID" 2>/dev/null || true

# A port below 1024 without CAP_NET_BIND_SERVICE: run as nobody.
nobody_setup # nobody runs copies: the checkout may be out of its reach
f=$(conf low); sed -i 's/ListenStream = 5555/ListenStream = 555/' "$f"; chmod 644 "$f"; chmod 755 "$T"
cp "$T/good.key" "$T/nobody2.key"; chown nobody "$T/nobody2.key"; sed -i "s|$T/good.key|$T/nobody2.key|" "$f"
rm -f "$marker"
expect_rc 77 "privileged port without the capability" ip netns exec "$NS" \
        "${AS_NOBODY[@]}" --inh-caps=-all $NB_WRAP "$NB_ACTIVATE" --config "$f"
expect_stderr "555: cannot bind: permission denied \(ports below 1024 need CAP_NET_BIND_SERVICE\)" \
        "privileged port: message"
[ -e "$marker" ] && fail "privileged port: command started" || ok "privileged port: command not started"
expect_rc 77 "--check: a privileged port without the capability, as a start refuses it" ip netns exec "$NS" \
        "${AS_NOBODY[@]}" --inh-caps=-all $NB_WRAP "$NB_ACTIVATE" --config "$f" --check
expect_stderr "555: cannot bind: permission denied \(ports below 1024 need CAP_NET_BIND_SERVICE\)" \
        "--check: the same message"
sed 's/ListenStream = 555$/ListenStream = 5555/' "$f" > "$T/high.conf"; chown nobody "$T/high.conf"; chmod 600 "$T/high.conf"
expect_rc 0 "control: --check as nobody of the same config on port 5555" ip netns exec "$NS" \
        "${AS_NOBODY[@]}" --inh-caps=-all $NB_WRAP "$NB_ACTIVATE" --config "$T/high.conf" --check
finish
