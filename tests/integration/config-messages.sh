#!/bin/bash
# The mistakes a new admin makes, most of them habits from systemd unit
# files: each is refused with file:line, a message that says what to do,
# and exit 78 (64 for a bad option); a key file with CRLF line ends is
# used with a warning. Then what --check prints, and the search path the
# build's prefix gives.
. "$(dirname "$0")/../lib.sh"

key "$T/k" secret-k
# says TEXT DESCRIPTION: the last expect_rc's stderr holds TEXT, as it is.
says() {
        if grep -qF -- "$1" "$T/last.err"; then ok "$2"; else
                fail "$2: stderr lacks '$1'"; sed 's/^/#   /' "$T/last.err" | head -5; fi
}
lacks() { # TEXT DESCRIPTION: ... and does not hold TEXT
        if grep -qF -- "$1" "$T/last.err" "$T/last.out"; then fail "$2"; sed 's/^/#   /' "$T/last.err" | head -5
        else ok "$2"; fi
}
# refused NAME TEXT DESCRIPTION LINE...: a config of LINEs is refused by
# --check with exit 78 and a message holding "NAME.conf:N: TEXT".
refused() {
        local name=$1 text=$2 what=$3; shift 3
        write_conf "$T/$name.conf" "$@" # 0600: Secret= lines are refused in files others can read
        expect_rc 78 "$what" $WRAP "$ACTIVATE" --config "$T/$name.conf" --check
        says "$T/$name.conf:$text" "$what: says what to do"
}
good=("[Socket]" "ListenStream = 127.0.0.1:7000" "[Service]" "ExecStart = /bin/true"
      "[Key a]" "Peer = 192.0.2.0/24" "SecretFile = $T/k")

# --- names: the nearest known one, when it is close --------------------------
refused typo "2: unknown setting ListenStrem= in [Socket] (did you mean ListenStream=?)" "a misspelt setting" \
        "[Socket]" "ListenStrem = 22"
refused case "2: unknown setting listenstream= in [Socket] (did you mean ListenStream=?)" "a setting in lower case" \
        "[Socket]" "listenstream = 22"
refused where "2: unknown setting ExecStart= in [Socket]: ExecStart= belongs in [Service]" \
        "a setting in the wrong section" "[Socket]" "ExecStart = /bin/true"
refused far "2: unknown setting Description= in [Socket]" "an unknown setting like no known one" \
        "[Socket]" "Description = x"
lacks "did you mean" "an unknown setting like no known one: no guess"
refused section "1: unknown section [key office] (did you mean [Key office]?)" "a section in lower case" \
        "[key office]" "Peer = any"
refused sokcet "1: unknown section [Sokcet] (did you mean [Socket]?)" "a misspelt section" "[Sokcet]" "Backlog = 1"
refused unit "1: unknown section [Unit] (expected [Socket], [Service] or [Key NAME])" \
        "a section of unit files" "[Unit]" "Description = x"
lacks "did you mean" "a section of unit files: no guess"
refused keyless "1: [Key] needs a name: [Key NAME]" "[Key] without a name" "[Key]" "Peer = any"

# --- values ----------------------------------------------------------------------
refused enum "2: BindIPv6Only=: 'true' is not one of the accepted values: default, both, ipv6-only" \
        "BindIPv6Only= as a boolean" "[Socket]" "BindIPv6Only = true"
refused unmatched "2: UnmatchedPeers=: 'deny' is not one of the accepted values: drop, allow-unsigned" \
        "UnmatchedPeers= out of its list" "[Socket]" "UnmatchedPeers = deny"
refused unix "2: ListenStream=: '/run/foo.sock' is a unix socket path, which is not supported: TCP MD5 needs TCP" \
        "ListenStream= of a unix socket" "[Socket]" "ListenStream = /run/foo.sock"
refused abstract "2: ListenStream=: '@foo' is an abstract unix socket, which is not supported: TCP MD5 needs TCP" \
        "ListenStream= of an abstract socket" "[Socket]" "ListenStream = @foo"
refused vsock "2: ListenStream=: 'vsock:2:22' is a vsock address, which is not supported: TCP MD5 needs TCP" \
        "ListenStream= of vsock" "[Socket]" "ListenStream = vsock:2:22"
refused hostport "2: ListenStream=: 'localhost:22' names a host: ListenStream= takes a numeric address" \
        "ListenStream= with a host name" "[Socket]" "ListenStream = localhost:22"
refused host "2: Peer=: 'router.example.org' is a host name: Peer= takes addresses and prefixes" \
        "Peer= with a host name" "[Key a]" "Peer = router.example.org"
refused badpeer "2: Peer=: 'fe80::1::2' is not an address, ADDRESS/LENGTH or 'any'" \
        "control: a broken address is no host name" "[Key a]" "Peer = fe80::1::2"
refused peerlist "2: Peer=: '192.0.2.0/24, 198.51.100.0/24' holds more than one prefix: one prefix per Peer= line; repeat Peer=" \
        "Peer= with two prefixes" "[Key a]" "Peer = 192.0.2.0/24, 198.51.100.0/24"
refused v6port "2: ListenStream=: '2001:db8::1:2222' is ambiguous: an IPv6 address with a port goes in brackets: write [2001:db8::1]:2222" \
        "ListenStream= of an IPv6 address and port without brackets" "[Socket]" "ListenStream = 2001:db8::1:2222"
refused hex0x "2: SecretHex=: write the secret as bare hex digits, two per byte" "SecretHex= with 0x" \
        "[Key a]" "SecretHex = 0xdeadbeef"
lacks "deadbeef" "SecretHex= with 0x: the secret is not in the message"
refused hexcolon "2: SecretHex=: write the secret as bare hex digits, two per byte (68656c6c6f), without '0x', ':' or spaces" \
        "SecretHex= with colons" "[Key a]" "SecretHex = de:ad:be:ef"
refused hexodd "2: SecretHex=: an odd number of hex digits; each byte takes two" "SecretHex= with an odd count" \
        "[Key a]" "SecretHex = abc"

# --- syntax that unit files have and this format has not --------------------------
refused semicolon "4: ExecStart=: ' ;' starts a comment in this file format, so the command would end before it; write the ';' as '\\;'" \
        "ExecStart= with ' ;' inside quotes (inih cut the line there)" \
        "[Socket]" "ListenStream = 7000" "[Service]" "ExecStart = /bin/sh -c 'echo a ; echo b'"
lacks "unterminated quote" "' ;': not blamed on the quote"
refused continued "4: ExecStart=: a '\\' at the end of a line continues it in systemd unit files, but this file format has no line continuation" \
        "ExecStart= continued with '\\'" "[Socket]" "ListenStream = 7000" "[Service]" 'ExecStart = /bin/sh \' "-c true"
lacks "invalid escape" "'\\' at the end: not blamed on an escape"
# What the message says to write instead works.
printf '%s\n' "${good[@]:0:3}" "ExecStart = /bin/sh -c 'echo a \\; echo b' x\\\\" "${good[@]:4}" > "$T/fixed.conf"
expect_rc 0 "ExecStart= with '\\;' and a trailing '\\\\' is accepted" $WRAP "$ACTIVATE" --config "$T/fixed.conf" --check
expect_eq "$(grep '^command' "$T/last.out")" "command /bin/sh -c 'echo a ; echo b' 'x\\'" \
        "--check shows the words the shell would read back"

# --- key files: too long, missing; a command that is no program ------------------
head -c 88 /dev/zero | tr '\0' a > "$T/long.key"; chmod 600 "$T/long.key"
printf '%s\n' "${good[@]:0:6}" "SecretFile = $T/long.key" > "$T/long.conf"
expect_rc 78 "a key file of 88 bytes" $WRAP "$ACTIVATE" --config "$T/long.conf" --check
says "$T/long.conf:7: SecretFile=: $T/long.key holds 88 bytes, more than the 80 a key can have" \
        "a key file of 88 bytes: its length and the limit"
says "make a new one: (umask 077; head -c 32 /dev/urandom | base64 -w0 > $T/long.key)" \
        "a key file of 88 bytes: the recipe"
printf '%s\n' "${good[@]:0:6}" "SecretFile = $T/none.key" > "$T/none.conf"
expect_rc 78 "a missing key file" $WRAP "$ACTIVATE" --config "$T/none.conf" --check
says "$T/none.conf:7: SecretFile=: cannot read $T/none.key: No such file or directory; to make a new key: (umask 077; head -c 32 /dev/urandom | base64 -w0 > $T/none.key)" \
        "a missing key file: how to make one with the right mode"
# What the recipe makes is a key the activator takes.
(umask 077; head -c 32 /dev/urandom | base64 -w0 > "$T/none.key")
expect_rc 0 "the recipe's key is accepted" $WRAP "$ACTIVATE" --config "$T/none.conf" --check
printf 'echo hi\n' > "$T/noshebang"; chmod 755 "$T/noshebang"
printf '%s\n' "${good[@]:0:3}" "ExecStart = $T/noshebang" "${good[@]:4}" > "$T/noshebang.conf"
for how in --check ""; do
        expect_rc 126 "ExecStart= of a script without #! ${how:-(a start)}" $WRAP "$ACTIVATE" --config "$T/noshebang.conf" $how
        says "$T/noshebang.conf:4: ExecStart=$T/noshebang: neither a program nor a script with a #! line: add one (#!/bin/sh) or name the interpreter (ExecStart = /bin/sh $T/noshebang)" \
                "a script without #! ${how:-(a start)}: file:line and what to write"
done
printf '#!/bin/sh\necho hi\n' > "$T/noshebang"
expect_rc 0 "control: with a #! line it is accepted" $WRAP "$ACTIVATE" --config "$T/noshebang.conf" --check

# --- a key file with CRLF line ends --------------------------------------------------
printf 'secret-k\r\n' > "$T/crlf.key"; chmod 600 "$T/crlf.key"
printf '%s\n' "${good[@]:0:6}" "SecretFile = $T/crlf.key" > "$T/crlf.conf"
expect_rc 0 "a key file with CRLF line ends is used" $WRAP "$ACTIVATE" --config "$T/crlf.conf" --check
says "$T/crlf.conf:7: SecretFile=: $T/crlf.key ends in a carriage return (\\r), which is used as part of the key: a file with CRLF line ends?" \
        "with a warning that names the file"
grep -q "SecretFile $T/crlf.key (9 bytes" "$T/last.out" && ok "the \\r counts in the length --check shows" ||
        fail "the \\r counts in the length --check shows"
printf '%s\n' "${good[@]}" > "$T/lf.conf"
expect_rc 0 "control: a key file with a plain newline" $WRAP "$ACTIVATE" --config "$T/lf.conf" --check
lacks "carriage return" "control: no warning"
netns_new "$NS"
expect_rc 1 "tcpmd5-connect --key-file of a CRLF file (to a closed port)" in_ns "$NS" "$CONNECT" -t 1 -k "$T/crlf.key" 127.0.0.1 9
says "tcpmd5-connect: --key-file: $T/crlf.key ends in a carriage return" "tcpmd5-connect warns too"
expect_rc 1 "tcpmd5-connect --key-fd of CRLF bytes (to a closed port)" in_ns "$NS" "$CONNECT" -t 1 --key-fd 3 127.0.0.1 9 3<"$T/crlf.key"
says "tcpmd5-connect: --key-fd 3: it ends in a carriage return" "--key-fd: warned too"
expect_rc 1 "control: tcpmd5-connect with a plain key file" in_ns "$NS" "$CONNECT" -t 1 -k "$T/k" 127.0.0.1 9
lacks "carriage return" "control: tcpmd5-connect does not warn"

# --- options ------------------------------------------------------------------------
for prog in "$ACTIVATE" "$CONNECT"; do
        name=${prog##*/}
        expect_rc 64 "$name --bogus" "$prog" --bogus
        says "unrecognized option '--bogus'" "$name --bogus: getopt names the option"
        says "Try '$name --help' for more information." "$name --bogus: says where to look"
        expect_rc 64 "$name --config without its argument" "$prog" --config
        says "Try '$name --help' for more information." "$name --config: says where to look"
done

# --- what --check prints ---------------------------------------------------------------
write_conf "$T/plan.conf" <<CONF
[Socket]
ListenStream = 7100
ListenStream = 127.0.0.1:7101
[Service]
ExecStart = /bin/echo -o "Banner none" "it's" '' \$HOME
[Key a]
Peer = 192.0.2.0/24
Peer = 2001:db8::/32
SecretFile = $T/k
[Key one]
Peer = 0.0.0.0/0
Secret = x
CONF
expect_rc 0 "--check of a dual-stack and an IPv4 listener" $WRAP "$ACTIVATE" --config "$T/plan.conf" --check
out=$(cat "$T/last.out")
cmd=$(sed -n 's/^command //p' <<<"$out")
expect_eq "$cmd" "/bin/echo -o 'Banner none' 'it'\\''s' '' '\$HOME'" "the command quoted as a shell would"
expect_eq "$(bash -c "printf '%s|' $cmd")" "/bin/echo|-o|Banner none|it's||\$HOME|" "a shell reads back the same words"
grep -qx 'fd names plan' <<<"$out" && ok "exec mode: the fd names" || fail "exec mode: the fd names"
grep -q '^  192\.0\.2\.0/24 \[v4-mapped ::ffff:192\.0\.2\.0\] *\[Key a\]' <<<"$out" &&
        ok "dual-stack: the IPv4 prefix as written, the v4-mapped form in brackets" ||
        fail "dual-stack: the IPv4 prefix as written, the v4-mapped form in brackets"
grep -q '^  0\.0\.0\.0/0 \[v4-mapped ::ffff:0\.0\.0\.0\] *\[Key one\]' <<<"$out" &&
        ok "dual-stack: a prefix-0 IPv4 key too" || fail "dual-stack: a prefix-0 IPv4 key too"
grep -q '^  ::ffff:' <<<"$out" && fail "no prefix shown as ::ffff:" || ok "no prefix shown as ::ffff:"
grep -q '^  192\.0\.2\.0/24  *\[Key a\]' <<<"$out" && ok "IPv4 listener: the prefix alone" ||
        fail "IPv4 listener: the prefix alone"
grep -q '^listen 127\.0\.0\.1:7101 backlog 4096, 2 keys$' <<<"$out" && ok "2 keys" || fail "2 keys"
grep -q '\[Key one\] Secret (1 byte, fingerprint' <<<"$out" && ok "1 byte" || fail "1 byte"
grep -q 'secret-k' <<<"$out" && fail "a secret in --check output" || ok "no secret in --check output"
printf '[Socket]\nListenStream = 127.0.0.1:7102\n[Service]\nExecStart = /bin/true\n[Key a]\nPeer = any\nSecretFile = %s\n' \
        "$T/k" > "$T/one.conf"
expect_rc 0 "--check of a listener with one key" "$ACTIVATE" --config "$T/one.conf" --check
grep -q '^listen 127\.0\.0\.1:7102 backlog 4096, 1 key$' "$T/last.out" && ok "1 key" || fail "1 key"
expect_rc 0 "--check in inetd mode" "$ACTIVATE" --config "$T/one.conf" --inetd --check
grep -q '^fd names' "$T/last.out" && fail "inetd: no fd names line" || ok "inetd: no fd names line"
grep -qx 'mode accept (inetd: stdin/stdout), MaxConnections=64, MaxConnectionsPerSource=unlimited' "$T/last.out" &&
        ok "MaxConnectionsPerSource= unset: unlimited" || fail "MaxConnectionsPerSource= unset: unlimited"
mkdir "$T/one.conf.d"
printf '[Socket]\nMaxConnectionsPerSource = 8\n' > "$T/one.conf.d/per.conf"
expect_rc 0 "--check in accept mode" "$ACTIVATE" --config "$T/one.conf" --accept --check
grep -qx 'fd names connection' "$T/last.out" && ok "accept: fd 3's name" || fail "accept: fd 3's name"
grep -q 'MaxConnectionsPerSource=8$' "$T/last.out" && ok "MaxConnectionsPerSource=8 as set" ||
        fail "MaxConnectionsPerSource=8 as set"

# --- the search path: the build's prefix, as the unit's --------------------------------
prefix=$(meson introspect --buildoptions "$BUILD" |
        python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
want="/etc/tcpmd5-activate /run/tcpmd5-activate /usr/lib/tcpmd5-activate"
[ "$prefix" = /usr ] || want="/etc/tcpmd5-activate /run/tcpmd5-activate $prefix/lib/tcpmd5-activate /usr/lib/tcpmd5-activate"
expect_rc 0 "--help" "$ACTIVATE" --help
expect_eq "$(sed -n 's/^Search path: //p' "$T/last.out")" "$want" "--help: the search path of prefix $prefix"
expect_rc 64 "--unit with .conf" "$ACTIVATE" --unit sshd.conf --check
says "--unit takes the name without .conf: --unit sshd" "--unit with .conf: says what to write"
expect_rc 64 "--unit with a path" "$ACTIVATE" --unit ./sshd --check
says "for a file by its path, use --config ./sshd" "--unit with a path: says to use --config"
expect_rc 78 "--unit that is nowhere" "$ACTIVATE" --unit nowhere-$$
expect_eq "$(sed -n 's/^tcpmd5-activate:   //p' "$T/last.err" | tr '\n' ' ')" "$want " "and the message lists where it looked"
finish
