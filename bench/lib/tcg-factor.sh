#!/bin/bash
# How TCG (the AO test VM's software emulation) bends bench/ao-vm's
# ratios: the same work natively and in the guest, to compare by hand
# (bench/README.md, ao-vm):
#   BUILD=$PWD/build bash bench/lib/tcg-factor.sh                   natively
#   BUILD=$PWD/build tests/vm/run-ao ../bench/lib/tcg-factor.sh     in the VM
# md5sum and sha1sum (coreutils: generic C, as the guest kernel's MD5 and
# SHA-1) over 64 MiB: a tight hashing loop; md5-connect-rate unsigned and
# signed (TCP MD5): the kernel's connection path, and signing's share of it.
# Prints "# factor ..." lines; a tests/lib.sh test, so run-ao frames it.
. "$(dirname "$0")/../../tests/lib.sh"
head -c 64M /dev/zero > "$T/z"
for _ in 1 2 3; do
        for t in md5sum sha1sum; do
                s=$(date +%s%N); "$t" "$T/z" > /dev/null; e=$(date +%s%N)
                echo "# factor $t 64 MiB: $(((e - s) / 1000000)) ms"
        done
done
netns_new "$NS"
rates() { in_ns "$NS" "$BUILD/bench/md5-connect-rate" -e "$1" 7001 300 9 | sed -n 's/^rate=//p' | sort -g | sed -n 5p; }
echo "# factor unsigned conn/s (median of 9): $(rates 0)"
echo "# factor TCP MD5 conn/s (median of 9): $(rates 1)"
ok "ran"
finish
