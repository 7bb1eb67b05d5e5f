#!/bin/bash
# The Debian package as an admin gets it: built by dpkg-buildpackage from a
# clean clone of HEAD (tests/package/build-deb.sh), lintian-clean, with
# every file where Debian puts it; installed into a Debian 12 root it
# enables and starts nothing, and a purge leaves only the admin's files
# in /etc/tcpmd5-activate.
. "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
not() { ! "$@"; }
SRC=$(cd "$HERE/../.." && pwd)

command -v dpkg-buildpackage >/dev/null && command -v lintian >/dev/null ||
        { fail "dpkg-dev, debhelper or lintian missing: run tools/install-deps"; finish; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }
t0=$(now_ms)
deb=$("$HERE/build-deb.sh" 2> "$T/build.err") || { sed 's/^/#   /' "$T/build.err"; fail "dpkg-buildpackage"; finish; }
sed 's/^/# /' "$T/build.err"
ok "dpkg-buildpackage -us -uc -b on a clean clone: $(basename "$deb")"
t1=$(now_ms)

# --- lintian: no error, no warning but the ones overridden with a reason ----
# (Overridden tags show as O:, pedantic ones as P:, and I: and N: inform.)
rc=0; lintian --pedantic --show-overrides "$deb" > "$T/lintian.out" 2>&1 || rc=$?
sed 's/^/#   lintian: /' "$T/lintian.out"
expect_eq "$rc" 0 "lintian runs"
check "lintian reports no error" not grep -q '^E:' "$T/lintian.out"
check "lintian reports no warning" not grep -q '^W:' "$T/lintian.out"
t2=$(now_ms)
sbu=$(dpkg-deb -f "$deb" Static-Built-Using)
check "Static-Built-Using names the inih linked in ($sbu)" grep -qE '^libinih \(= [^)]+\)$' <<<"$sbu"

# --- the files --------------------------------------------------------------
dpkg-deb -c "$deb" | awk '{ p = $6; sub(/^\./, "", p); print $1, p }' > "$T/files"
has() { grep -qx -- "$1" "$T/files"; }
check "the activator in /usr/sbin, executable" has "-rwxr-xr-x /usr/sbin/tcpmd5-activate"
check "the client in /usr/bin, executable" has "-rwxr-xr-x /usr/bin/tcpmd5-connect"
unit=$(grep -oE '/(usr/)?lib/systemd/system/tcpmd5-activate@\.service$' "$T/files" || true)
check "the unit template in systemd's unit directory ($unit)" test -n "$unit"
for page in man8/tcpmd5-activate.8 man5/tcpmd5-activate.conf.5 man1/tcpmd5-connect.1; do
        check "man page $page" has "-rw-r--r-- /usr/share/man/$page.gz"
done
doc=/usr/share/doc/tcpmd5-activate
for f in README.md.gz SECURITY.md.gz NEWS.md.gz copyright changelog.gz examples/sshd/sshd.conf \
         examples/sshd/keys.conf examples/sd-listen-fds/hello-daemon.c examples/socket-proxyd/web.conf \
         examples/container/Dockerfile; do
        check "$doc/$f" has "-rw-r--r-- $doc/$f"
done
check "bash completion for tcpmd5-activate" has "-rw-r--r-- /usr/share/bash-completion/completions/tcpmd5-activate"
check "bash completion for tcpmd5-connect" has "lrwxrwxrwx /usr/share/bash-completion/completions/tcpmd5-connect"
check "/etc/tcpmd5-activate/ is root's only (0700)" has "drwx------ /etc/tcpmd5-activate/"
check "nothing in /usr/local" not grep -q ' /usr/local' "$T/files"
check "no test or example daemon binary" not grep -qE 'echo-daemon|md5-client|hello-daemon$' "$T/files"
dpkg-deb --fsys-tarfile "$deb" | tar -xO ".$unit" > "$T/unit"
check "ExecStart= names /usr/sbin/tcpmd5-activate" grep -q '^ExecStart=/usr/sbin/tcpmd5-activate --supervise --unit %i$' "$T/unit"
dpkg-deb --fsys-tarfile "$deb" | tar -xO ".$doc/copyright" > "$T/copyright"
check "debian/copyright is machine-readable (DEP-5), MIT as Expat" \
        grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' "$T/copyright"
check "debian/copyright: the upstream license (Expat)" grep -qx 'License: Expat' "$T/copyright"
expect_eq "$(dpkg-deb -f "$deb" Depends)" "libc6 (>= 2.34)" "depends on libc only (inih is static, no libsystemd)"
dpkg-deb -e "$deb" "$T/control"
check "no maintainer script enables or starts a unit" \
        not grep -qE 'deb-systemd-helper|deb-systemd-invoke|systemctl +(enable|start|restart)' "$T"/control/*

# --- install, then purge, in a Debian 12 root -------------------------------
. "$SRC/tests/systemd/container.sh"
trap 'status=$?; ct_teardown; cleanup $status' EXIT
why=$(ct_unsupported)
if [ -n "$why" ]; then skip "install and purge in a Debian root: $why"; finish; fi
root=$("$SRC/tests/systemd/mkroot.sh") || { fail "building the Debian root (tests/systemd/mkroot.sh)"; finish; }
ct_prepare "$root"
in_root() { chroot "$CT_ROOT" env -i PATH=$CT_PATH LANG=C.UTF-8 "$@"; }
cp "$deb" "$CT_ROOT/tmp/"
expect_rc 0 "dpkg -i in a Debian 12 root" in_root dpkg -i "/tmp/$(basename "$deb")"
expect_eq "$(stat -c %a "$CT_ROOT/etc/tcpmd5-activate")" 700 "/etc/tcpmd5-activate is 0700 once installed"
expect_rc 0 "the installed activator runs (its libraries are there)" in_root tcpmd5-activate --version
expect_rc 0 "the installed client runs" in_root tcpmd5-connect --version
links=$(find "$CT_ROOT/etc/systemd" -name 'tcpmd5-activate*' 2>/dev/null || true)
expect_eq "$links" "" "nothing enabled: no tcpmd5-activate link under /etc/systemd"
# What the admin adds: a config and a key, in the package's directory.
in_root install -d -m 700 /etc/tcpmd5-activate/keys
printf '[Socket]\nListenStream = 2222\n' > "$CT_ROOT/etc/tcpmd5-activate/sshd.conf"
key "$CT_ROOT/etc/tcpmd5-activate/keys/office.key" admin-secret
expect_rc 0 "dpkg --purge" in_root dpkg --purge tcpmd5-activate
left=()
while read -r _ path; do
        case $path in
        /etc/tcpmd5-activate/) ;;                        # the admin's files are in it
        /usr/share/doc/tcpmd5-activate/*/ | /usr/share/doc/tcpmd5-activate/) [ ! -d "$CT_ROOT$path" ] || left+=("$path") ;;
        */) ;;                                           # shared: /usr/bin/, ...
        *) [ ! -e "$CT_ROOT$path" ] && [ ! -L "$CT_ROOT$path" ] || left+=("$path") ;;
        esac
done < "$T/files"
expect_eq "${left[*]-}" "" "purge removes every file of the package"
check "purge keeps the admin's config" test -s "$CT_ROOT/etc/tcpmd5-activate/sshd.conf"
check "purge keeps the admin's key" test -s "$CT_ROOT/etc/tcpmd5-activate/keys/office.key"
expect_eq "$(in_root dpkg-query -W -f='${db:Status-Abbrev}' tcpmd5-activate 2>/dev/null || true)" "" \
        "dpkg has forgotten the package"
# Control: without admin files, purge leaves no directory behind either.
rm -r "$CT_ROOT/etc/tcpmd5-activate"
expect_rc 0 "dpkg -i again" in_root dpkg -i "/tmp/$(basename "$deb")"
expect_rc 0 "dpkg --purge with nothing of the admin's" in_root dpkg --purge tcpmd5-activate
check "then /etc/tcpmd5-activate is gone too" test ! -e "$CT_ROOT/etc/tcpmd5-activate"
t3=$(now_ms)
echo "# package $((t1 - t0)) ms, lintian $((t2 - t1)) ms, install and purge $((t3 - t2)) ms"
finish
