#!/bin/bash
# Prints the path of a Debian root that systemd-nspawn can boot, building it
# with debootstrap the first time. The root is cached, keyed by a hash of
# this recipe, so a warm run costs nothing; tests must not write into it
# (tests/systemd/container.sh boots an overlay on top).
#
#   tests/systemd/mkroot.sh            print the root, building it if needed
#   TCPMD5_TEST_CACHE=DIR              cache directory (default below)
set -euo pipefail

CACHE=${TCPMD5_TEST_CACHE:-/var/cache/tcpmd5-activate-test}
SUITE=bookworm
# What the installed binaries need (libinih1, libsystemd0 via systemd), what
# the tests drive (systemd, dbus for logind, iproute2's ss, procps' kill for
# ExecReload=, sshd), and the sanitizer runtimes so an ASan build runs too.
PACKAGES=systemd,dbus,iproute2,procps,openssh-server,libinih1,libasan8,libubsan1

# The first deb mirror apt uses here: debootstrap goes where apt goes.
mirror() {
        local m
        m=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)[[:space:]]*$/\1/p' \
                /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
        [ -n "$m" ] || m=$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ { print $2; exit }' \
                /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null)
        echo "${m:-http://deb.debian.org/debian}"
}

# Bump when the steps after debootstrap change, so cached roots are rebuilt.
RECIPE_VERSION=1

MIRROR=$(mirror)
RECIPE="$SUITE $PACKAGES $MIRROR $RECIPE_VERSION"
KEY=$(printf '%s' "$RECIPE" | sha256sum | cut -c1-12)
ROOT=$CACHE/rootfs-$KEY

mkdir -p "$CACHE"
exec 9> "$CACHE/lock"
flock -w 900 9 || { echo "mkroot: $CACHE/lock held for 15 minutes" >&2; exit 1; }
if [ -f "$ROOT/.complete" ]; then echo "$ROOT"; exit 0; fi

command -v debootstrap >/dev/null || { echo "mkroot: debootstrap missing (tools/install-deps)" >&2; exit 1; }
start=$(date +%s)
rm -rf "$ROOT.tmp"
mkdir -p "$CACHE/debs"
echo "mkroot: building $ROOT from $MIRROR ($SUITE, minbase + $PACKAGES)" >&2
if ! debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$CACHE/debs" \
                "$SUITE" "$ROOT.tmp" "$MIRROR" > "$CACHE/debootstrap.log" 2>&1; then
        echo "mkroot: debootstrap failed; last lines of $CACHE/debootstrap.log:" >&2
        tail -20 "$CACHE/debootstrap.log" >&2
        exit 1
fi

# The tests start sshd themselves, through tcpmd5-activate, on port 22.
systemctl --root="$ROOT.tmp" disable ssh.service ssh.socket >/dev/null 2>&1 || true
systemctl --root="$ROOT.tmp" mask ssh.service ssh.socket >/dev/null 2>&1
# A booted container needs no consoles and no periodic jobs.
systemctl --root="$ROOT.tmp" mask console-getty.service getty@.service \
        apt-daily.timer apt-daily-upgrade.timer >/dev/null 2>&1 || true
echo tcpmd5-test > "$ROOT.tmp/etc/hostname"
rm -f "$ROOT.tmp/etc/machine-id"
rm -rf "$ROOT.tmp/var/cache/apt/archives/"*.deb "$ROOT.tmp/var/lib/apt/lists/"*
touch "$ROOT.tmp/.complete"

# Older roots of other recipes only take space.
for old in "$CACHE"/rootfs-*; do
        [ "$old" = "$ROOT.tmp" ] || [ ! -d "$old" ] || rm -rf "$old"
done
mv "$ROOT.tmp" "$ROOT"
echo "mkroot: built in $(($(date +%s) - start)) s" >&2
echo "$ROOT"
