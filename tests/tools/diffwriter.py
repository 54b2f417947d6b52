#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""diffwriter - writes data into a differencing VHDX the way a VHDX writer would, for the chain tests.

qemu cannot write differencing VHDX and the core has no virtual-disk writer, so the tests put data into the
levels of a chain with this tool (vhdxlib.py for the structures, nothing from the C core):
  - a block that is NOT_PRESENT gets a new 1 MiB-aligned place at the end of the file; if the write covers it
    whole it becomes FULLY_PRESENT, otherwise PARTIALLY_PRESENT with its sectors marked in the chunk's sector
    bitmap block (allocated on first use, 1 MiB, one bit per logical sector);
  - a partial sector takes the rest of its bytes from the chain's current content (the model), as a real writer
    reads the parent to fill it.
The model (`Model`) is the reference: the flat virtual disk of the chain, bytes written where the writes say.

CLI:  diffwriter.py run SPEC.json  - SPEC: {"size": N, "base_raw": PATH, "levels": [{"image": PATH, "writes":
      [[off, len, seed], ...]}, ...], "reference": PATH}; writes each level's data (levels must exist: made by
      `vhdx create --parent`), then the model's flat image to "reference".
"""
import json
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vhdxlib as V  # noqa: E402

MiB = V.MiB


class DiffImage:
    def __init__(self, path):
        self.f = open(path, "r+b")
        head = self.read(0, 320 * 1024)
        bat = V.find_region(head, V.GUID_BAT)
        meta = V.find_region(head, V.GUID_METADATA)
        self.bat_off = bat["offset"]
        mt = self.read(meta["offset"], 64 * 1024)
        vals = {}
        for e in V.meta_entries(mt, 0):
            vals[e["guid"]] = self.read(meta["offset"] + e["offset"], e["length"])
        self.block_size, flags = struct.unpack("<II", vals[V.GUID_FILE_PARAMS])
        assert flags & 2, "not a differencing image"
        self.vsize = struct.unpack("<Q", vals[V.GUID_VDISK_SIZE])[0]
        self.lss = struct.unpack("<I", vals[V.GUID_LOGICAL])[0]
        self.cr = V.chunk_ratio(self.block_size, self.lss)

    def read(self, off, n):
        self.f.seek(off)
        return self.f.read(n).ljust(n, b"\0")

    def write(self, off, data):
        self.f.seek(off)
        self.f.write(data)

    def entry(self, idx):
        return struct.unpack("<Q", self.read(self.bat_off + 8 * idx, 8))[0]

    def set_entry(self, idx, v):
        self.write(self.bat_off + 8 * idx, struct.pack("<Q", v))

    def allocate(self, n):
        end = os.fstat(self.f.fileno()).st_size
        off = -(-end // MiB) * MiB
        self.f.truncate(off + n)
        return off

    def write_sectors(self, first, data):
        """Writes whole logical sectors starting at sector `first`."""
        ss, bs = self.lss, self.block_size
        pos, voff = 0, first * ss
        while pos < len(data):
            b, inb = voff // bs, voff % bs
            n = min(bs - inb, len(data) - pos)
            idx = V.bat_index(b, self.cr)
            e = self.entry(idx)
            state, boff = e & 7, e & ~(MiB - 1) & 0xFFFFFFFFFFFFFFFF
            if state not in (6, 7):
                boff = self.allocate(bs)
                state = 6 if (inb == 0 and n == bs) else 7
                self.set_entry(idx, boff | state)
            self.write(boff + inb, data[pos:pos + n])
            if state == 7:
                self.mark(b, inb // ss, n // ss)
            pos += n
            voff += n

    def mark(self, b, first, count):
        c = b // self.cr
        sidx = c * (self.cr + 1) + self.cr
        e = self.entry(sidx)
        if e & 7 != 6:
            off = self.allocate(MiB)
            self.set_entry(sidx, off | 6)
        else:
            off = e & ~(MiB - 1) & 0xFFFFFFFFFFFFFFFF
        # sector index inside the chunk
        s0 = (b % self.cr) * (self.block_size // self.lss) + first
        lo, hi = s0 // 8, (s0 + count - 1) // 8
        bm = bytearray(self.read(off + lo, hi - lo + 1))
        for s in range(s0, s0 + count):
            bm[s // 8 - lo] |= 1 << (s % 8)
        self.write(off + lo, bytes(bm))

    def close(self):
        self.f.close()


class Model:
    """The chain's virtual disk as a sparse dict of sector contents over a base raw file."""

    def __init__(self, size, base_raw, lss):
        self.size, self.lss, self.sectors = size, lss, {}
        self.base = open(base_raw, "rb") if base_raw else None

    def sector(self, s):
        if s in self.sectors:
            return self.sectors[s]
        if self.base:
            self.base.seek(s * self.lss)
            return self.base.read(self.lss).ljust(self.lss, b"\0")
        return bytes(self.lss)

    def write(self, off, data):
        """Applies a byte write; returns (first sector, whole-sector data) for the image writer."""
        ss = self.lss
        first, last = off // ss, (off + len(data) - 1) // ss
        buf = bytearray(b"".join(self.sector(s) for s in range(first, last + 1)))
        buf[off - first * ss:off - first * ss + len(data)] = data
        for i, s in enumerate(range(first, last + 1)):
            self.sectors[s] = bytes(buf[i * ss:(i + 1) * ss])
        return first, bytes(buf)

    def save(self, path):
        with open(path, "wb") as out:
            if self.base:
                self.base.seek(0)
                while True:
                    chunk = self.base.read(4 * MiB)
                    if not chunk:
                        break
                    out.write(chunk)
            out.truncate(self.size)
            for s, d in sorted(self.sectors.items()):
                out.seek(s * self.lss)
                out.write(d)


def run(spec):
    img0 = DiffImage(spec["levels"][0]["image"])
    model = Model(spec["size"], spec.get("base_raw"), img0.lss)
    img0.close()
    for lv in spec["levels"]:
        img = DiffImage(lv["image"])
        for off, n, seed in lv["writes"]:
            assert 0 <= off and n > 0 and off + n <= spec["size"], "write %d+%d beyond the disk" % (off, n)
            data = random.Random(seed).randbytes(n)
            first, whole = model.write(off, data)
            img.write_sectors(first, whole)
        img.close()
    model.save(spec["reference"])


def main(argv):
    if len(argv) == 3 and argv[1] == "run":
        with open(argv[2]) as f:
            run(json.load(f))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
