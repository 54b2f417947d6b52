#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""logwriter.py - writes VHDX log entries into an image, to make dirty images QEMU never produced (stdlib only).

Takes a clean VHDX (from `qemu-img create -f vhdx`, `vhdx create`, or vhdxlib.build_image), writes log entries
into its log ring (header, data and zero descriptors, data sectors, CRC-32C checksum, sequence numbers, Tail,
LogGuid, FlushedFileOffset, LastFileOffset, placed anywhere in the ring with wrap-around), and sets LogGuid in the
current header (rewritten with a valid checksum).  Alongside, it keeps a model: the clean file with the
descriptors that must win applied directly, from which it computes the virtual disk a correct replay leaves.
Written from the format notes, not from the C core or the C test builder.

Usage:
  logwriter.py list                              scenario names, whether QEMU's replay agrees, expected outcome
  logwriter.py make NAME IN OUT [EXPECTED_RAW]   writes the dirty image OUT from the clean image IN (which is not
                                                 modified) and the virtual disk after replay to EXPECTED_RAW;
                                                 prints a JSON summary of the entries
  logwriter.py show IMAGE                        lists the entries found in IMAGE's log ring (JSON)

Scenarios (all deterministic):
  several        three entries: data into a present block, a BAT change that allocates a new block inside the
                 file (the tool appends one block of zeros first), data into it, zero descriptors, and a later
                 entry rewriting an earlier one's target
  wrap           three entries ending at the last ring sector, the last one's data wrapping to sector 0, over a
                 stale entry of an older sequence
  zero           zero descriptors: a whole present block, part of another, data written after a zero
  big-entry      one entry with 130 data descriptors (two descriptor sectors) and a second entry after it
                 (QEMU refuses to open a log whose entry has more than 126 descriptors: 126 opens, 127 does not)
  stale-guid     valid entries with another LogGuid and higher sequence numbers, before the live sequence
  stale-seq      an older sequence with the same LogGuid, and a live chain whose head's Tail skips its first entry
                 (QEMU does not look at Tail, so QEMU's own replay differs here)
  torn-head      the head entry's data sector torn (checksum fails): the entry before it is the head
  growth         LastFileOffset one block past the end of the file: a new block beyond the end, BAT change
                 (QEMU's replay only grows to an unaligned LastFileOffset, so QEMU's own replay differs here)
  flushed-beyond FlushedFileOffset beyond the end of the file: a replay must refuse (no expected content)
"""
import json
import os
import random
import struct
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vhdxlib as V  # noqa: E402

S = 4096
MiB = V.MiB
ENTRY_HDR = "<4sIIIQI4s16sQQ"  # signature, checksum, entry length, tail, sequence, count, reserved, guid, flushed, last


def round_up(n, m):
    return -(-n // m) * m


class Image:
    """A VHDX file in memory with the geometry needed to write a log and read the virtual disk."""

    def __init__(self, data):
        self.data = bytearray(data)
        hs = [V.parse_header(self.data, o) for o in V.HEADER_OFFS]
        self.cur = V.current_header(hs)
        if self.cur is None:
            raise ValueError("no valid header")
        h = hs[self.cur]
        if h["log_guid"] != V.ZERO_GUID:
            raise ValueError("the input image already has a pending log")
        self.log_off, self.log_len = h["log_offset"], h["log_length"]
        if self.log_len < MiB:
            raise ValueError("the image has no log area")
        self.sectors = self.log_len // S
        self.bat_off = V.find_region(self.data, V.GUID_BAT)["offset"]
        meta = V.find_region(self.data, V.GUID_METADATA)["offset"]
        e = V.meta_item(self.data, meta, V.GUID_FILE_PARAMS)
        self.block_size = struct.unpack_from("<I", self.data, meta + e["offset"])[0]
        e = V.meta_item(self.data, meta, V.GUID_VDISK_SIZE)
        self.virtual_size = struct.unpack_from("<Q", self.data, meta + e["offset"])[0]
        e = V.meta_item(self.data, meta, V.GUID_LOGICAL)
        self.lss = struct.unpack_from("<I", self.data, meta + e["offset"])[0]
        self.cr = V.chunk_ratio(self.block_size, self.lss)
        self.blocks = -(-self.virtual_size // self.block_size)

    def bat_pos(self, blk):
        return self.bat_off + 8 * V.bat_index(blk, self.cr)

    def block_off(self, blk, data=None):
        """File offset of a FULLY_PRESENT block, else None."""
        e = struct.unpack_from("<Q", self.data if data is None else data, self.bat_pos(blk))[0]
        return e & ~0xFFFFF if e & 7 == 6 else None

    def present(self):
        return [b for b in range(self.blocks) if self.block_off(b) is not None]

    def absent(self):
        return [b for b in range(self.blocks) if struct.unpack_from("<Q", self.data, self.bat_pos(b))[0] & 7 in (0, 2, 3)]

    def virtual(self, data):
        """The virtual disk of the file `data` (same geometry), reading FULLY_PRESENT blocks, zeros elsewhere."""
        out = bytearray(self.virtual_size)
        for b in range(self.blocks):
            e = struct.unpack_from("<Q", data, self.bat_pos(b))[0]
            if e & 7 == 7:
                raise ValueError("block %d is PARTIALLY_PRESENT: not modelled" % b)
            if e & 7 != 6:
                continue
            off, v = e & ~0xFFFFF, b * self.block_size
            n = min(self.block_size, self.virtual_size - v)
            chunk = data[off:off + n]
            out[v:v + len(chunk)] = chunk
        return out


def entry_bytes(seq, tail, descs, guid, flushed, last):
    """One log entry: header, descriptors, data sectors, checksum.  descs: ("data", file_offset, 4096 bytes) or
    ("zero", file_offset, length)."""
    n = len(descs)
    dsecs = (64 + 32 * n + S - 1) // S
    datas = [d for d in descs if d[0] == "data"]
    buf = bytearray((dsecs + len(datas)) * S)
    struct.pack_into(ENTRY_HDR, buf, 0, b"loge", 0, len(buf), tail, seq, n, bytes(4), guid, flushed, last)
    k = 0
    for i, d in enumerate(descs):
        o = 64 + 32 * i
        if d[0] == "zero":
            struct.pack_into("<4sIQQQ", buf, o, b"zero", 0, d[2], d[1], seq)
        else:
            content = d[2]
            assert len(content) == S
            struct.pack_into("<4s4s8sQQ", buf, o, b"desc", content[S - 4:], content[:8], d[1], seq)
            ds = (dsecs + k) * S
            buf[ds:ds + S] = content
            struct.pack_into("<4sI", buf, ds, b"data", seq >> 32)
            struct.pack_into("<I", buf, ds + S - 4, seq & 0xFFFFFFFF)
            k += 1
    V.fix_crc(buf, 0, len(buf))
    return buf


class LogWriter:
    """Writes entries into img's ring; the model gets the descriptors of the entries marked to apply."""

    def __init__(self, img, seed, guid=None):
        self.img = img
        self.rng = random.Random(seed)
        self.guid = guid or self.new_guid()
        self.model = bytearray(img.data)
        self.entries = []
        self.pos = 0

    def new_guid(self):
        return uuid.UUID(int=self.rng.getrandbits(128), version=4).bytes_le

    def content(self):
        return self.rng.randbytes(S)

    def grow(self, size):
        """Extends both the file and the model with zeros (a clean file may carry unused space at its end)."""
        for b in (self.img.data, self.model):
            if len(b) < size:
                b.extend(bytes(size - len(b)))

    def bat_desc(self, blk, off):
        """A data descriptor making blk FULLY_PRESENT at off, built on the model's current BAT sector."""
        p = self.img.bat_pos(blk)
        sec = p & ~(S - 1)
        content = bytearray(self.model[sec:sec + S])
        struct.pack_into("<Q", content, p - sec, off | 6)
        return ("data", sec, bytes(content))

    def entry(self, seq, descs, pos=None, tail=None, guid=None, flushed=None, last=None, apply=True):
        """Writes an entry at ring sector pos (default: after the previous one) with Tail at ring sector tail
        (default: pos).  flushed/last default to the file size.  Returns the entry's ring sector."""
        pos = self.pos if pos is None else pos
        tail = pos if tail is None else tail
        size = len(self.img.data)
        e = entry_bytes(seq, tail * S, descs, guid or self.guid, size if flushed is None else flushed,
                        size if last is None else last)
        n = len(e) // S
        if n > self.img.sectors:
            raise ValueError("entry of %d sectors does not fit the log" % n)
        for k in range(n):
            at = self.img.log_off + ((pos + k) % self.img.sectors) * S
            self.img.data[at:at + S] = e[k * S:(k + 1) * S]
        if apply:
            for d in descs:
                end = d[1] + (S if d[0] == "data" else d[2])
                if len(self.model) < end:
                    self.model.extend(bytes(end - len(self.model)))
                self.model[d[1]:end] = d[2] if d[0] == "data" else bytes(d[2])
            if last is not None and len(self.model) < last:
                self.model.extend(bytes(last - len(self.model)))
        self.entries.append(dict(seq=seq, pos=pos, sectors=n, tail=tail, descriptors=len(descs), applied=apply,
                                 guid=V.guid_text(guid or self.guid)))
        self.pos = (pos + n) % self.img.sectors
        return pos

    def tear(self, pos, sector):
        """Zeroes the middle of sector `sector` of the entry at ring sector pos (a write that half landed)."""
        at = self.img.log_off + ((pos + sector) % self.img.sectors) * S
        self.img.data[at + S // 2:at + S - 4] = bytes(S // 2 - 4)

    def dirty(self):
        """Sets LogGuid in the current header (checksum fixed): the image now has a pending log."""
        V.set_header(self.img.data, self.img.cur, log_guid=self.guid)

    def expected(self):
        return self.img.virtual(self.model)


# ---------------------------------------------------------------- scenarios
def _need(img, present=1, absent=0):
    p, a = img.present(), img.absent()
    if len(p) < present or len(a) < absent:
        raise ValueError("the base image needs %d present and %d absent blocks (has %d, %d)" % (present, absent,
                                                                                            len(p), len(a)))
    return p, a


def sc_several(w):
    img = w.img
    p, a = _need(img, 2, 1)
    b0, b1 = img.block_off(p[0]), img.block_off(p[-1])
    new = round_up(len(img.data), MiB)
    w.grow(new + img.block_size)
    w.entry(1000, [("data", b0 + S, w.content()), w.bat_desc(a[0], new), ("data", new, w.content()),
                   ("data", new + 2 * S, w.content())], tail=0, pos=0)
    w.entry(1001, [("data", b1, w.content()), ("zero", b1 + 64 * 1024, 128 * 1024), ("zero", new + 2 * S, S)], tail=0)
    w.entry(1002, [("data", b0 + S, w.content())], tail=0)


def sc_wrap(w):
    img = w.img
    p, _ = _need(img, 1)
    b0 = img.block_off(p[0])
    start = img.sectors - 6
    w.entry(7, [("data", b0 + 50 * S, w.content())], pos=2, apply=False)  # stale: an older sequence
    w.entry(20, [("data", b0, w.content()), ("data", b0 + S, w.content())], pos=start)
    w.entry(21, [("data", b0 + 7 * S, w.content())], tail=start)
    # its header in the last ring sector, its two data sectors wrapped to sectors 0 and 1
    w.entry(22, [("data", b0 + S, w.content()), ("zero", b0 + 16 * S, 4 * S), ("data", b0 + 30 * S, w.content())],
            tail=start)


def sc_zero(w):
    p, _ = _need(w.img, 2)
    b0, b1 = w.img.block_off(p[0]), w.img.block_off(p[1])
    w.entry(40, [("zero", b1, w.img.block_size), ("zero", b0 + 8 * S, 2 * S), ("data", b1 + 9 * S, w.content()),
                 ("zero", b0 + 100 * S, 3 * 64 * 1024 + S)], pos=5)


def sc_big_entry(w):
    p, _ = _need(w.img, 1)
    b0 = w.img.block_off(p[0])
    n = min(130, w.img.block_size // S)
    w.entry(300, [("data", b0 + i * S, w.content()) for i in range(n)], pos=10)
    w.entry(301, [("zero", b0 + 3 * S, 2 * S), ("data", b0 + 129 * S % w.img.block_size, w.content())], tail=10)


def sc_stale_guid(w):
    p, _ = _need(w.img, 1)
    b0 = w.img.block_off(p[0])
    other = w.new_guid()
    w.entry(500, [("data", b0 + 2 * S, w.content()), ("data", b0 + 3 * S, w.content())], pos=0, guid=other,
            apply=False)
    w.entry(501, [("data", b0 + 3 * S, w.content())], guid=other, tail=0, apply=False)
    w.entry(5, [("data", b0 + 5 * S, w.content())], pos=40)
    w.entry(6, [("data", b0 + 3 * S, w.content())], tail=40)


def sc_stale_seq(w):
    p, _ = _need(w.img, 1)
    b0 = w.img.block_off(p[0])
    w.entry(1, [("data", b0 + 20 * S, w.content())], pos=0, apply=False)
    w.entry(2, [("data", b0 + 21 * S, w.content())], tail=0, apply=False)
    first = w.entry(7, [("data", b0 + 22 * S, w.content())], pos=30, apply=False)  # before the head's Tail
    second = w.entry(8, [("data", b0 + 23 * S, w.content())], tail=first)
    w.entry(9, [("data", b0 + 24 * S, w.content())], tail=second)


def sc_torn_head(w):
    p, _ = _need(w.img, 1)
    b0 = w.img.block_off(p[0])
    w.entry(30, [("data", b0 + 40 * S, w.content())], pos=0)
    w.entry(31, [("data", b0 + 41 * S, w.content())], tail=0)
    head = w.entry(32, [("data", b0 + 40 * S, w.content())], tail=0, apply=False)
    w.tear(head, 1)


def sc_growth(w):
    img = w.img
    p, a = _need(img, 1, 1)
    b0 = img.block_off(p[0])
    new = round_up(len(img.data), MiB)
    last = new + img.block_size
    w.entry(60, [("data", b0, w.content())], pos=3)
    w.entry(61, [w.bat_desc(a[0], new), ("data", new + 3 * S, w.content()), ("data", new + 9 * S, w.content())],
            tail=3, last=last)


def sc_flushed_beyond(w):
    p, _ = _need(w.img, 1)
    size = len(w.img.data)
    w.entry(70, [("data", w.img.block_off(p[0]), w.content())], pos=0, flushed=size + MiB, last=size + MiB)


# name: (function, QEMU's own replay gives the same content, outcome)
SCENARIOS = {
    "several": (sc_several, True, "replay"),
    "wrap": (sc_wrap, True, "replay"),
    "zero": (sc_zero, True, "replay"),
    "big-entry": (sc_big_entry, False, "replay"),
    "stale-guid": (sc_stale_guid, True, "replay"),
    "stale-seq": (sc_stale_seq, False, "replay"),
    "torn-head": (sc_torn_head, True, "replay"),
    "growth": (sc_growth, False, "replay"),
    "flushed-beyond": (sc_flushed_beyond, False, "refused"),
}


def make(name, data, seed=None):
    """Returns (dirty image bytes, expected virtual disk or None, summary dict)."""
    fn, _, outcome = SCENARIOS[name]
    img = Image(data)
    w = LogWriter(img, seed if seed is not None else sum(name.encode()))
    fn(w)
    w.dirty()
    live = [e for e in w.entries if e["applied"]]
    summary = dict(scenario=name, log_guid=V.guid_text(w.guid), file_size=len(img.data), outcome=outcome,
                   model_size=len(w.model), entries=w.entries,
                   head_seq=max(e["seq"] for e in live) if live else None,
                   tail_seq=min(e["seq"] for e in live) if live else None)
    return img.data, (w.expected() if outcome == "replay" else None), summary


def show(data):
    """Entries found at every ring sector of the current header's log (signature and checksum checked)."""
    hs = [V.parse_header(data, o) for o in V.HEADER_OFFS]
    h = hs[V.current_header(hs)]
    off, n = h["log_offset"], h["log_length"] // S
    out = []
    for pos in range(n):
        at = off + pos * S
        if data[at:at + 4] != b"loge":
            continue
        f = struct.unpack_from(ENTRY_HDR, data, at)
        length = f[2]
        if length == 0 or length % S or length > h["log_length"]:
            continue
        ent = b"".join(bytes(data[off + ((pos + k) % n) * S:off + ((pos + k) % n + 1) * S]) for k in range(length // S))
        out.append(dict(pos=pos, sectors=length // S, tail=f[3] // S, seq=f[4], descriptors=f[5],
                        guid=V.guid_text(f[7]), flushed=f[8], last=f[9], checksum_ok=V.crc_ok(ent, 0, len(ent)),
                        live_guid=f[7] == h["log_guid"]))
    return dict(log_guid=V.guid_text(h["log_guid"]), log_offset=off, log_length=h["log_length"], entries=out)


def write_sparse(path, data, chunk=64 * 1024):
    """Writes data to path leaving all-zero chunks as holes."""
    zero = bytes(chunk)
    with open(path, "wb") as f:
        for off in range(0, len(data), chunk):
            piece = data[off:off + chunk]
            if piece != zero[:len(piece)]:
                f.seek(off)
                f.write(piece)
        f.truncate(len(data))


def main(argv):
    if argv[:1] == ["list"]:
        for name, (_, qemu, outcome) in SCENARIOS.items():
            print("%s qemu=%s outcome=%s" % (name, "same" if qemu else "differs", outcome))
        return 0
    if len(argv) in (4, 5) and argv[0] == "make":
        if argv[1] not in SCENARIOS:
            print("logwriter: unknown scenario %s" % argv[1], file=sys.stderr)
            return 2
        with open(argv[2], "rb") as f:
            data = f.read()
        try:
            dirty, expected, summary = make(argv[1], data)
        except ValueError as e:
            print("logwriter: %s: %s" % (argv[2], e), file=sys.stderr)
            return 1
        with open(argv[3], "wb") as f:
            f.write(dirty)
        if len(argv) == 5 and expected is not None:
            write_sparse(argv[4], expected)
        print(json.dumps(summary))
        return 0
    if len(argv) == 2 and argv[0] == "show":
        with open(argv[1], "rb") as f:
            print(json.dumps(show(f.read()), indent=1))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
