#!/usr/bin/python3
# memdump.py PID OUTFILE: writes every writable mapping of PID (heap,
# stack, data, anonymous: where a program's own data can be) to OUTFILE,
# for grepping a process's memory for secrets. Like a core dump, but it skips mappings over
# 1 GiB: ASan's shadow reservations (tens of TiB, nearly all untouched) would
# make gcore write a 60 GB core. ASan's heap lives in small mappings, so it
# is still read.
import sys

pid, out = sys.argv[1], sys.argv[2]
LIMIT = 1 << 30
total = 0
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem, open(out, "wb") as dump:
    for line in maps:
        fields = line.split()
        start, end = (int(x, 16) for x in fields[0].split("-"))
        perms = fields[1]
        name = fields[5] if len(fields) > 5 else ""
        if perms[:2] != "rw" or name in ("[vvar]", "[vsyscall]", "[vdso]") or end - start > LIMIT:
            continue
        try:
            mem.seek(start)
            data = mem.read(end - start)
        except OSError:
            continue
        dump.write(data)
        total += len(data)
print(f"dumped {total} bytes")
