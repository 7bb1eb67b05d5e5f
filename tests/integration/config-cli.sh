#!/bin/bash
# The command line: --unit over --config-dir search paths with drop-ins,
# the default fd name, --help/--version, and option conflicts.
. "$(dirname "$0")/../lib.sh"

mkdir -p "$T/etc/web.conf.d" "$T/lib/web.conf.d"
key "$T/k" secret-k
printf '[Socket]\nListenStream = 8080\n[Service]\nExecStart = /bin/true\n' > "$T/lib/web.conf"
printf '[Key a]\nPeer = 192.0.2.0/24\nSecretFile = %s\n' "$T/k" > "$T/lib/web.conf.d/10-keys.conf"
printf '[Socket]\nListenStream = 9090\n' > "$T/lib/web.conf.d/20-extra.conf"
printf '[Socket]\nBacklog = 7\n' > "$T/etc/web.conf.d/20-extra.conf"     # masks lib's 20-extra
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

expect_rc 78 "unit missing from the search path" "$ACTIVATE" --unit nothere --config-dir "$T/etc"
expect_stderr "no nothere.conf in the search path" "missing unit: message"
expect_rc 64 "--config-dir needs --unit" "$ACTIVATE" --config "$T/lib/web.conf" --config-dir "$T/etc"
expect_rc 64 "--config and --unit together" "$ACTIVATE" --config "$T/lib/web.conf" --unit web
expect_rc 0 "--help" "$ACTIVATE" --help
grep -q -- '--config-dir=DIR' "$T/last.out" && ok "--help lists --config-dir" || fail "--help lists --config-dir"
expect_rc 0 "--version" "$ACTIVATE" --version
grep -Eq '^tcpmd5-activate [0-9]+\.[0-9]+' "$T/last.out" && ok "--version prints a version" || fail "--version output"
finish
