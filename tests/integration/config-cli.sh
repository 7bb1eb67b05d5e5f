#!/bin/bash
# The command line: --unit over --config-dir search paths with drop-ins,
# the default fd name, --help/--version, and option conflicts. --check as
# an admin runs it: Credential= keys outside the service, a command that a
# start would refuse, and --quiet.
. "$(dirname "$0")/../lib.sh"

mkdir -p "$T/etc/web.conf.d" "$T/lib/web.conf.d"
key "$T/k" secret-k
write_conf "$T/lib/web.conf" '[Socket]' 'ListenStream = 8080' '[Service]' 'ExecStart = /bin/true'
write_conf "$T/lib/web.conf.d/10-keys.conf" '[Key a]' 'Peer = 192.0.2.0/24' "SecretFile = $T/k"
write_conf "$T/lib/web.conf.d/20-extra.conf" '[Socket]' 'ListenStream = 9090'
write_conf "$T/etc/web.conf.d/20-extra.conf" '[Socket]' 'Backlog = 7'     # masks lib's 20-extra
ln -s /dev/null "$T/etc/web.conf.d/10-keys.conf.disabled"                 # not *.conf: ignored
chmod -R go-w "$T"

out=$("$ACTIVATE" --unit web --config-dir "$T/etc" --config-dir "$T/lib" --check)
expect_eq "$(grep '^config' <<<"$out" | tr '\n' ' ')" \
        "config $T/lib/web.conf config $T/lib/web.conf.d/10-keys.conf config $T/etc/web.conf.d/20-extra.conf " \
        "main file from the first dir that has it; drop-ins by name, earlier dir masks later"
grep -q '^listen \[::\]:8080 (dual-stack) backlog 7' <<<"$out" && ok "masking drop-in applied" || fail "masking drop-in applied"
grep -q ':9090' <<<"$out" && fail "masked drop-in was read" || ok "masked drop-in not read"
grep -qx 'fd names web' <<<"$out" && ok "fd name defaults to the unit name" || fail "default fd name"

ln -s /dev/null "$T/etc/web.conf.d/10-keys.conf"
expect_rc 78 "a drop-in masked with /dev/null drops its keys" "$ACTIVATE" --unit web --config-dir "$T/etc" --config-dir "$T/lib" --check
expect_stderr "no \\[Key NAME\\] section" "masked keys: message"
rm "$T/etc/web.conf.d/10-keys.conf"
# The main file masked in an earlier directory: the unit does not start,
# though a later directory has the file.
ln -s /dev/null "$T/etc/web.conf"
expect_rc 78 "a main file masked with /dev/null stops the unit" "$ACTIVATE" --unit web --config-dir "$T/etc" --config-dir "$T/lib" --check
expect_stderr "$T/etc/web.conf: masked \\(a symbolic link to /dev/null\\)" "masked main file: message"
expect_rc 78 "--config naming a masked file" "$ACTIVATE" --config "$T/etc/web.conf" --check
expect_stderr "masked" "masked --config: message"
rm "$T/etc/web.conf"

expect_rc 78 "unit missing from the search path" "$ACTIVATE" --unit nothere --config-dir "$T/etc"
expect_stderr "no nothere.conf in the search path" "missing unit: message"
expect_rc 64 "--config-dir needs --unit" "$ACTIVATE" --config "$T/lib/web.conf" --config-dir "$T/etc"
expect_rc 64 "--config and --unit together" "$ACTIVATE" --config "$T/lib/web.conf" --unit web
expect_rc 0 "--help" "$ACTIVATE" --help
grep -q -- '--config-dir=DIR' "$T/last.out" && ok "--help lists --config-dir" || fail "--help lists --config-dir"
expect_rc 0 "--version" "$ACTIVATE" --version
grep -Eq '^tcpmd5-activate [0-9]+\.[0-9]+' "$T/last.out" && ok "--version prints a version" || fail "--version output"

# --- --check outside the service: Credential= keys are systemd's to supply ---
mkdir -p "$T/cred/sshd.conf.d"
write_conf "$T/cred/sshd.conf" <<CONF
[Socket]
ListenStream = 2222
Accept = yes
Inetd = yes
[Service]
ExecStart = /bin/cat
[Key office]
Peer = 192.0.2.0/24
Credential = office.key
[Key lab]
Peer = 198.51.100.0/24
SecretFile = $T/k
CONF
chmod -R go-w "$T/cred"
expect_rc 0 "--check without \$CREDENTIALS_DIRECTORY" env -u CREDENTIALS_DIRECTORY \
        $WRAP "$ACTIVATE" --unit sshd --config-dir "$T/cred" --check
grep -q '192.0.2.0/24 .*\[Key office\] Credential office.key: supplied by systemd at start (not checked here; tcpmd5-activate --fingerprint FILE prints its fingerprint)$' \
        "$T/last.out" && ok "the credential is reported as supplied by systemd at start" ||
        fail "the credential is reported as supplied by systemd at start"
grep -q "\[Key lab\] SecretFile $T/k (8 bytes, fingerprint " "$T/last.out" && ok "the key file is still read and checked" ||
        fail "the key file is still read and checked"
expect_eq "$(cat "$T/last.err")" "" "nothing on stderr"
# What --check still refuses there: a key file it cannot use.
chmod 644 "$T/k"
expect_rc 77 "--check without \$CREDENTIALS_DIRECTORY still checks key files" env -u CREDENTIALS_DIRECTORY \
        "$ACTIVATE" --unit sshd --config-dir "$T/cred" --check
chmod 600 "$T/k"
# A start there has no credential to read: it fails closed, as before.
expect_rc 78 "a start without \$CREDENTIALS_DIRECTORY fails" env -u CREDENTIALS_DIRECTORY \
        "$ACTIVATE" --unit sshd --config-dir "$T/cred"
expect_stderr "sshd.conf:9: Credential=office.key: .CREDENTIALS_DIRECTORY is not set" "and says why, with file:line"
# Inside the unit (ExecReload=), the credential is checked as at start.
mkdir -m 700 "$T/creds"
expect_rc 78 "--check in the service with the credential missing" env CREDENTIALS_DIRECTORY="$T/creds" \
        "$ACTIVATE" --unit sshd --config-dir "$T/cred" --check
expect_stderr "sshd.conf:9: Credential=: cannot read $T/creds/office.key" "names the credential it lacks"
key "$T/creds/office.key" office-secret
expect_rc 0 "--check in the service with the credential" env CREDENTIALS_DIRECTORY="$T/creds" \
        $WRAP "$ACTIVATE" --unit sshd --config-dir "$T/cred" --check
grep -q '\[Key office\] Credential office.key (13 bytes, fingerprint ' "$T/last.out" && ok "the credential is read and measured" ||
        fail "the credential is read and measured"

# --- --check refuses the command a start would refuse --------------------------
printf '#!/bin/sh\n' > "$T/noexec"; chmod 644 "$T/noexec"
for cmd in "$T/nope:127:command not found" "$T/noexec:126:not executable"; do
        path=${cmd%%:*}; rest=${cmd#*:}; rc=${rest%%:*}; what=${rest#*:}
        sed "s|^ExecStart = .*|ExecStart = $path -i|" "$T/cred/sshd.conf" > "$T/cmd.conf"
        expect_rc "$rc" "--check: ExecStart= $what" env CREDENTIALS_DIRECTORY="$T/creds" \
                $WRAP "$ACTIVATE" --config "$T/cmd.conf" --check
        expect_stderr "^tcpmd5-activate: $T/cmd.conf:6: ExecStart=$path: $what\$" "--check: message with file:line"
        check "--check: no plan printed" test ! -s "$T/last.out"
        cp "$T/last.err" "$T/check.err"
        expect_rc "$rc" "start: ExecStart= $what" env CREDENTIALS_DIRECTORY="$T/creds" \
                "$ACTIVATE" --config "$T/cmd.conf"
        check "start: the same message" cmp -s "$T/last.err" "$T/check.err"
        expect_rc "$rc" "--check: COMMAND $what" env CREDENTIALS_DIRECTORY="$T/creds" \
                "$ACTIVATE" --config "$T/cred/sshd.conf" --check -- "$path"
        expect_stderr "^tcpmd5-activate: $path: $what\$" "--check: COMMAND message"
done

# --- --quiet: only what is wrong ---------------------------------------------
for q in --quiet -q; do
        expect_rc 0 "--check $q on a good config" env -u CREDENTIALS_DIRECTORY \
                $WRAP "$ACTIVATE" --unit sshd --config-dir "$T/cred" --check $q
        check "--check $q prints nothing" test ! -s "$T/last.out" -a ! -s "$T/last.err"
done
expect_rc 127 "--check --quiet still refuses a missing command" env CREDENTIALS_DIRECTORY="$T/creds" \
        "$ACTIVATE" --config "$T/cmd.conf" --check --quiet -- "$T/nope"
expect_stderr "$T/nope: command not found" "--check --quiet: the message is still there"
printf 'Backlog = x\n' > "$T/cred/sshd.conf.d/bad.conf"
expect_rc 78 "--check --quiet on a broken config" "$ACTIVATE" --unit sshd --config-dir "$T/cred" --check --quiet
expect_stderr "bad.conf:1: " "--check --quiet: file:line of the error"
check "--check --quiet: nothing on stdout" test ! -s "$T/last.out"
expect_rc 64 "--quiet without --check" "$ACTIVATE" --unit sshd --config-dir "$T/cred" --quiet
expect_stderr "--quiet only applies to --check" "--quiet without --check: message"
finish
