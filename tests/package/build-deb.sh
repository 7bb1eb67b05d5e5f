#!/bin/bash
# Prints the path of tcpmd5-activate_*.deb built by `dpkg-buildpackage -us
# -uc -b` in a clean clone of this repository's HEAD, building it the first
# time. The result is cached by commit, so the package test and the booted
# systemd test share one build. Only committed changes are in the package.
#
#   tests/package/build-deb.sh     print the .deb, building it if needed
#   TCPMD5_TEST_CACHE=DIR          cache directory (default below)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${TCPMD5_TEST_CACHE:-/var/cache/tcpmd5-activate-test}
command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
        { echo "build-deb: dpkg-buildpackage or debhelper missing (tools/install-deps)" >&2; exit 1; }
commit=$(git -C "$SRC" rev-parse HEAD)
[ -z "$(git -C "$SRC" status --porcelain --untracked-files=no)" ] ||
        echo "build-deb: uncommitted changes in $SRC are not in the package (commit $commit)" >&2
OUT=$CACHE/deb-${commit:0:12}

mkdir -p "$CACHE"
exec 9> "$CACHE/deb.lock"
flock -w 900 9 || { echo "build-deb: $CACHE/deb.lock held for 15 minutes" >&2; exit 1; }
debs=("$OUT"/tcpmd5-activate_*.deb)
if [ -f "$OUT/.complete" ] && [ -f "${debs[0]}" ]; then echo "${debs[0]}"; exit 0; fi

start=$(date +%s%N)
rm -rf "$OUT"
mkdir -p "$OUT"
git clone --quiet --no-checkout "$SRC" "$OUT/src"
# A detached HEAD is on no branch the clone fetched.
git -C "$OUT/src" checkout --quiet "$commit" 2>/dev/null ||
        { git -C "$OUT/src" fetch --quiet "$SRC" "$commit" && git -C "$OUT/src" checkout --quiet "$commit"; }
if ! (cd "$OUT/src" && dpkg-buildpackage -us -uc -b) > "$OUT/build.log" 2>&1; then
        echo "build-deb: dpkg-buildpackage failed; last lines of $OUT/build.log:" >&2
        tail -20 "$OUT/build.log" >&2
        exit 1
fi
rm -rf "$OUT/src"
touch "$OUT/.complete"
echo "build-deb: built ${commit:0:12} in $((($(date +%s%N) - start) / 1000000)) ms" >&2

# Packages of other commits older than a day only take space (a day, so
# another worktree's test never loses its package mid-run).
find "$CACHE" -maxdepth 1 -name 'deb-*' -type d -mtime +0 ! -path "$OUT" -exec rm -rf {} + 2>/dev/null || true
debs=("$OUT"/tcpmd5-activate_*.deb)
echo "${debs[0]}"
