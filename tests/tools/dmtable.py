#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""dmtable - checks a device-mapper table printed by `vhdx map` against the bytes it must present.

  dmtable.py TABLE EXPECTED_RAW RAW_OFFSET RAW_LENGTH [--rw]

TABLE's `linear` segments name files (the devices or image files given to `vhdx map --device`: one, or one per
level of a differencing chain); the table is resolved the way device-mapper would (linear: that file's bytes at the
segment's sector; zero: zeros) and compared with EXPECTED_RAW's bytes RAW_OFFSET..RAW_OFFSET+RAW_LENGTH.  Also
checked: segments start at 0, follow one another without gaps and cover RAW_LENGTH exactly; no two neighbours
could have been merged (two zeros, or two linears whose device sectors follow on); with --rw, no zero segment.
Prints one reason per problem; exit 0 when the table is right.  Last line: `segments N`.
"""
import sys

SECTOR = 512
CHUNK = 1 << 20


def main(argv):
    if len(argv) not in (5, 6):
        print(__doc__)
        return 2
    table, raw, off, length = argv[1], argv[2], int(argv[3]), int(argv[4])
    rw = len(argv) == 6 and argv[5] == "--rw"
    segs = []
    for n, line in enumerate(open(table), 1):
        f = line.split()
        if len(f) == 3 and f[2] == "zero":
            segs.append((int(f[0]), int(f[1]), None, 0))
        elif len(f) == 5 and f[2] == "linear":
            segs.append((int(f[0]), int(f[1]), f[3], int(f[4])))
        else:
            print(f"line {n}: not a zero or linear segment: {line.strip()!r}")
            return 1
    bad = []
    pos = 0
    for i, (start, count, dev, dsec) in enumerate(segs):
        if start != pos:
            bad.append(f"segment {i}: starts at sector {start}, expected {pos}")
        if count <= 0:
            bad.append(f"segment {i}: length {count}")
        pos = start + count
        if i:
            p = segs[i - 1]
            if dev is None and p[2] is None:
                bad.append(f"segments {i - 1} and {i}: two zero segments in a row")
            if dev is not None and p[2] == dev and p[3] + p[1] == dsec:
                bad.append(f"segments {i - 1} and {i}: linear runs that follow on were not merged")
        if rw and dev is None:
            bad.append(f"segment {i}: a zero segment in a read-write table")
    if pos * SECTOR != length:
        bad.append(f"the table covers {pos * SECTOR} bytes, the range is {length}")
    files = {}
    with open(raw, "rb") as r:
        for i, (start, count, dev, dsec) in enumerate(segs):
            done = 0
            while done < count * SECTOR and not bad:
                n = min(CHUNK, count * SECTOR - done)
                r.seek(off + start * SECTOR + done)
                want = r.read(n).ljust(n, b"\0")
                if dev is None:
                    got = bytes(n)
                else:
                    fh = files.setdefault(dev, open(dev, "rb"))
                    fh.seek(dsec * SECTOR + done)
                    got = fh.read(n).ljust(n, b"\0")
                if got != want:
                    k = next(j for j in range(n) if got[j] != want[j])
                    bad.append(f"segment {i} ({'zero' if dev is None else 'linear'}): byte {start * SECTOR + done + k} "
                               f"of the range differs")
                done += n
    for b in bad[:20]:
        print(b)
    print(f"segments {len(segs)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
