#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""sparsecmp.py - byte comparison of two (large, sparse) files that reads only where either has data.

Usage: sparsecmp.py A B      exit 0 identical, 1 different (first difference on stderr), 2 error

Holes read as zeros, so two files are equal when their sizes match and every byte in the union of their data
extents (SEEK_DATA / SEEK_HOLE) is equal.  Falls back to a full read where the file system has no SEEK_DATA.
"""
import os
import sys

CHUNK = 1 << 20


def extents(fd, size):
    out = []
    pos = 0
    try:
        while pos < size:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:  # ENXIO: no more data
                break
            end = os.lseek(fd, start, os.SEEK_HOLE)
            out.append((start, min(end, size)))
            pos = end
    except (AttributeError, OSError):
        return [(0, size)]
    return out


def merge(a, b):
    out = []
    for s, e in sorted(a + b):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    fa, fb = (os.open(p, os.O_RDONLY) for p in argv)
    sa, sb = os.fstat(fa).st_size, os.fstat(fb).st_size
    if sa != sb:
        print(f"sparsecmp: sizes differ: {sa} vs {sb}", file=sys.stderr)
        return 1
    for s, e in merge(extents(fa, sa), extents(fb, sb)):
        pos = s
        while pos < e:
            n = min(CHUNK, e - pos)
            x, y = os.pread(fa, n, pos), os.pread(fb, n, pos)
            if x != y:
                i = next(k for k in range(min(len(x), len(y))) if x[k] != y[k]) if len(x) == len(y) else 0
                print(f"sparsecmp: first difference at byte {pos + i}", file=sys.stderr)
                return 1
            pos += n
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
