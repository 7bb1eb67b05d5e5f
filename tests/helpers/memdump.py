#!/usr/bin/python3
# memdump.py PID OUTFILE: writes every writable mapping of PID (heap,
# stack, data, anonymous: where a program's own data can be) to OUTFILE,
# for grepping a process's memory for secrets. Like a core dump, but it skips mappings over
# 1 GiB: ASan's shadow reservations (tens of TiB, nearly all untouched) would
# make gcore write a 60 GB core. ASan's heap lives in small mappings, so it
# is still read.
# memdump.py --count NEEDLE PID: prints how often NEEDLE occurs in those
# mappings and how many bytes were read, writing nothing (an ASan process
# has hundreds of MB of them).
import os
import sys

LIMIT = 1 << 30
# Under valgrind the program shares its address space with the tool, which
# keeps the program's registers (the guest state) in its own memory, from
# here up on amd64: a native process has no such copy, so it is not read.
VALGRIND_OWN = 0x1002000000


def mappings(pid):
    # mem first: a reader refused there (not dumpable) must fail on it, as
    # callers expect, not on the readlink, which the same rule refuses.
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        exe = os.readlink(f"/proc/{pid}/exe")
        valgrind = "/valgrind/" in exe
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            perms = fields[1]
            name = fields[5] if len(fields) > 5 else ""
            if perms[:2] != "rw" or name in ("[vvar]", "[vsyscall]", "[vdso]") or end - start > LIMIT:
                continue
            if valgrind and (start >= VALGRIND_OWN or name == exe):
                continue
            try:
                mem.seek(start)
                yield mem.read(end - start)
            except OSError:
                continue


if sys.argv[1] == "--count":
    needle, pid = sys.argv[2].encode(), sys.argv[3]
    found = total = 0
    for data in mappings(pid):
        found += data.count(needle)
        total += len(data)
    print(f"found {found} in {total} bytes")
    sys.exit(0)

pid, out = sys.argv[1], sys.argv[2]
total = 0
with open(out, "wb") as dump:
    for data in mappings(pid):
        dump.write(data)
        total += len(data)
print(f"dumped {total} bytes")
