#!/bin/bash
# `meson install` into a DESTDIR puts every file where a Debian admin looks,
# and `systemd-analyze verify` accepts the installed unit, alone and with
# each example drop-in, without a single warning.
. "$(dirname "$0")/../lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)

command -v systemd-analyze >/dev/null || skip_all "systemd-analyze not installed"

D=$T/dest
expect_rc 0 "meson install --destdir" meson install -C "$BUILD" --no-rebuild --destdir "$D" --quiet
prefix=$(meson introspect "$BUILD" --buildoptions | python3 -c \
        'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
unit=$(find "$D" -name 'tcpmd5-activate@.service' -path '*/systemd/system/*' | head -1)
check "the unit is in systemd's unit directory" test -n "$unit"
check "the unit is under DESTDIR" test "${unit#"$D"/}" != "$unit"
check "the activator in sbin" test -x "$D$prefix/sbin/tcpmd5-activate"
check "the client in bin" test -x "$D$prefix/bin/tcpmd5-connect"
for c in tcpmd5-activate tcpmd5-connect; do
        check "bash completion for $c" test -s "$D$prefix/share/bash-completion/completions/$c"
done
for page in man8/tcpmd5-activate.8 man5/tcpmd5-activate.conf.5 man1/tcpmd5-connect.1; do
        check "man page $page" test -s "$D$prefix/share/man/$page"
done
ex=$D$prefix/share/doc/tcpmd5-activate/examples
for f in sshd/sshd.conf sshd/keys.conf sshd/ssh_config sd-listen-fds/hello-daemon.c \
         socket-proxyd/README.md container/Dockerfile; do
        check "example $f" test -s "$ex/$f"
done
grep -q "^ExecStart=$prefix/sbin/tcpmd5-activate " "$unit" && ok "ExecStart= names the installed binary" ||
        fail "ExecStart= does not name $prefix/sbin/tcpmd5-activate"
# Each example has its own key file: one that regenerated office.key would
# lock out the clients the sshd quick start gave that key to.
check "the sd-listen-fds example keeps to its own key file" \
        bash -c "! grep -rq 'keys/office\.key' '$SRC/examples/sd-listen-fds'"
check "and its commands, drop-in and config agree on it" \
        bash -c "grep -q 'keys/hello.key)\?\$' '$SRC/examples/sd-listen-fds/README.md' &&
                 grep -q '^LoadCredential=hello.key:/etc/tcpmd5-activate/keys/hello.key\$' '$SRC/examples/sd-listen-fds/hardening.conf' &&
                 grep -q '^Credential = hello.key\$' '$SRC/examples/sd-listen-fds/hello.conf'"
grep -q "^ExecReload=$prefix/sbin/tcpmd5-activate --check --quiet " "$unit" &&
        ok "ExecReload= checks quietly (no plan in the journal at every reload)" ||
        fail "ExecReload= does not run --check --quiet"

# verify checks that ExecStart= exists, so point it into DESTDIR.
# verify DESCRIPTION INSTANCE [DROP-IN...]: no output, exit 0.
verify() {
        local what=$1 inst=$2; shift 2
        local dir=$T/verify-$inst rc=0
        mkdir -p "$dir/tcpmd5-activate@$inst.service.d"
        sed "s|$prefix/sbin/|$D$prefix/sbin/|g" "$unit" > "$dir/tcpmd5-activate@$inst.service"
        for d in "$@"; do
                sed "s|^ExecStart=tcpmd5-activate |ExecStart=$D$prefix/sbin/tcpmd5-activate |" "$d" \
                        > "$dir/tcpmd5-activate@$inst.service.d/$(basename "$d")"
        done
        systemd-analyze verify --man=no "$dir/tcpmd5-activate@$inst.service" > "$T/verify.out" 2>&1 || rc=$?
        if [ "$rc" = 0 ] && [ ! -s "$T/verify.out" ]; then ok "systemd-analyze verify: $what"; else
                fail "systemd-analyze verify: $what (exit $rc)"; sed 's/^/#   /' "$T/verify.out"; fi
}
verify "the template" echo
verify "with the sshd drop-ins" sshd "$SRC/examples/sshd/keys.conf" "$SRC/examples/sshd/service.conf"
verify "with the hardening drop-in" hello "$SRC/examples/sd-listen-fds/hardening.conf"
verify "with the socket-proxyd drop-in" web "$SRC/examples/socket-proxyd/keys.conf"
# A unit that must fail, so a verify that always passes is caught.
printf '[Service]\nExecStart=\nExecStart=/nonexistent/tcpmd5\n' > "$T/bad.conf"
dir=$T/verify-bad; mkdir -p "$dir/tcpmd5-activate@bad.service.d"
cp "$unit" "$dir/tcpmd5-activate@bad.service"; cp "$T/bad.conf" "$dir/tcpmd5-activate@bad.service.d/"
rc=0; systemd-analyze verify --man=no "$dir/tcpmd5-activate@bad.service" >/dev/null 2>&1 || rc=$?
check "verify rejects a unit whose ExecStart= is missing" test "$rc" != 0
finish
