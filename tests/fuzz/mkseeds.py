#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""mkseeds.py - writes the seed corpora tests/fuzz/seeds/<harness>/ (small inputs in the harness formats).

    mkseeds.py                write the committed seeds (run by hand after the set of bases changes)
    mkseeds.py raw DIR        write raw-mode seeds for fuzz_open into DIR (1.5 MiB files: not committed;
                              tests/fuzz/smoke.sh puts them into the working corpus under build/)

Base numbers follow fz_bases.c: the images fz_bases_init() creates, then the bases listed in bases/ORDER.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CREATED = ["create-dyn-8M-1M", "create-dyn-4k-odd", "create-fixed-3M", "create-dyn-chunk", "create-dyn-32M"]
EMBEDDED = [ln.strip() for ln in open(os.path.join(HERE, "bases", "ORDER")) if ln.strip() and not ln.startswith("#")]
BASES = CREATED + EMBEDDED
RAW = 0xFF
MiB = 1 << 20

# anchors (fuzzlib.h)
A_FILE, A_HDR1, A_HDR2, A_RGN1, A_RGN2, A_LOG, A_META, A_META_ITEMS, A_BAT, A_PAYLOAD, A_END, A_RGN1_ENT, A_LOG1 = range(13)


def base(name):
    return BASES.index(name)


def img(b, flags=0, arg=0, flags2=0, patches=()):
    out = bytearray([b, flags, arg, flags2])
    for anchor, off, data in patches:
        out += bytes([anchor]) + struct.pack("<I", off)[:3] + bytes([len(data)]) + data
    return bytes(out)


def ops(*o):
    """read ops: (mode, offset, length) -> the tail of a fuzz_read input"""
    out = bytearray()
    for mode, off, ln in o:
        out += struct.pack("<QI", (mode << 62) | off, ln)
    return bytes(out) + bytes([len(o)])


def q(v):
    return struct.pack("<Q", v)


def d(v):
    return struct.pack("<I", v)


def write(harness, name, data):
    p = os.path.join(HERE, "seeds", harness)
    os.makedirs(p, exist_ok=True)
    with open(os.path.join(p, name), "wb") as f:
        f.write(data)


def image_seeds():
    for i, n in enumerate(BASES):
        for h in ("open", "session", "replay"):
            write(h, f"base-{n}", img(i))
        write("read", f"base-{n}", img(i) + ops((1, 0, 1 << 20), (2, 12345, 70000), (1, 3 * MiB + 512, 2 * MiB + 7)))
    b0 = base("create-dyn-8M-1M")
    # open: a few structures pushed towards their limits (checksums are recomputed by the harness)
    write("open", "hasparent", img(b0, patches=[(A_META_ITEMS, 4, d(2))]))
    write("open", "seq-max", img(b0, patches=[(A_HDR2, 8, q(2**64 - 1))]))
    write("open", "region-count", img(b0, patches=[(A_RGN1, 8, d(2047))]))
    write("open", "meta-count", img(b0, patches=[(A_META, 10, struct.pack("<H", 2047))]))
    write("open", "bat-state7", img(b0, patches=[(A_BAT, 8, q(7))]))
    write("open", "bat-dup", img(b0, patches=[(A_BAT, 8, q(4 * MiB | 6)), (A_BAT, 16, q(4 * MiB | 6))]))
    write("open", "shrink", img(b0, flags=0x10, arg=0xFF))
    write("open", "huge", img(b0, flags=0x40, arg=1))
    write("open", "loglen", img(b0, patches=[(A_HDR2, 68, d(0))]))
    write("open", "logguid", img(b0, patches=[(A_HDR2, 48, b"\x11" * 16)]))
    lg = base("vhdxlib-log")
    write("open", "log-last", img(lg, patches=[(A_LOG, 56, q(1 << 40))]))
    write("replay", "log-last", img(lg, patches=[(A_LOG, 56, q(1 << 40))]))
    # session: read-only, and sequence numbers at the limit
    write("session", "ro", img(b0, flags=0x80))
    write("session", "seq-near-max", img(b0, patches=[(A_HDR1, 8, q(2**64 - 4)), (A_HDR2, 8, q(2**64 - 3))]))
    write("session", "seq-max", img(b0, patches=[(A_HDR2, 8, q(2**64 - 2))]))
    # injected allocation / read failures (flags2 >> 1: 1..63 allocation k, 64..127 read k - 63)
    for n in ("create-dyn-8M-1M", "vhdxlib-log", "vhdxlib-diff"):
        for k in (1, 2, 3, 4, 5, 64, 65, 67, 70, 75):
            write("open", f"fail{k}-{n}", img(base(n), flags2=k << 1))
        for k in (1, 64):
            write("session", f"fail{k}-{n}", img(base(n), flags2=k << 1))
        write("read", f"fail-read-{n}", img(base(n), flags2=2 << 1) + ops((1, 0, 1 << 20), (1, 5 << 20, 4096)))
    # replay: interrupted at each of the first writes
    for n in ("vhdxlib-log", "vhdxlib-log-wrap", "qemu-dirtylog"):
        for k in (1, 2, 3, 4, 6, 9):
            write("replay", f"stop{k}-{n}", img(base(n), flags2=k << 1))
        write("replay", f"ro-{n}", img(base(n), flags=0x80))


def create_seeds():
    def c(flags=0, vmode=1, vs=64 * MiB, bmode=1, braw=0, lss=0, pss=0, raw16=0, lmode=0, lraw=0, mask=0, seed=0,
          junk=0, rnd=b""):
        b = bytearray(101)
        b[0] = flags
        b[1] = vmode
        b[2:10] = q(vs)
        b[10] = bmode
        b[11:15] = d(braw)
        b[15], b[16] = lss, pss
        b[17:19] = struct.pack("<H", raw16)
        b[19] = lmode
        b[20:24] = d(lraw)
        b[24:32] = q(mask)
        b[32] = seed
        b[33:37] = d(junk)
        r = (rnd or bytes(range(7, 71)))[:64]
        b[37:37 + len(r)] = r
        return bytes(b)
    write("create", "dyn-64M", c())
    write("create", "dyn-default-bs", c(bmode=0, vs=100 * MiB + 512))
    write("create", "fixed-4M-data", c(flags=3, vs=4 * MiB, bmode=1, braw=0, mask=0b1011, seed=9))
    write("create", "dyn-4k-data", c(flags=2, vs=40 * MiB, bmode=1, braw=1, lss=2, pss=2, mask=0xF0F0, seed=3))
    write("create", "dyn-junk", c(flags=6, vs=8 * MiB, mask=0x5, junk=12000))
    write("create", "dyn-old-image", c(flags=0x42, vs=8 * MiB, mask=0x3))
    write("create", "fixed-noresize", c(flags=0x0D, vs=2 * MiB, junk=16000))
    write("create", "src-fail", c(flags=0x12, vs=8 * MiB, mask=0xFF, seed=2))
    write("create", "write-fail", c(flags=0x62, vs=8 * MiB, mask=0x3, junk=5))
    write("create", "64T", c(vmode=0, vs=64 * MiB * MiB, bmode=1, braw=8))
    write("create", "bad-bs", c(bmode=2, braw=3 * MiB))
    write("create", "bad-lss", c(lss=3, raw16=1024))
    write("create", "bad-log", c(lmode=2, lraw=MiB + 1))
    write("create", "log-8M", c(lmode=1, lraw=7, vs=16 * MiB))


def allocate_seeds():
    """fuzz_allocate: every base; as a device (flag bit 7); interrupted at the k-th write (flags2 >> 1)."""
    for i, n in enumerate(BASES):
        write("allocate", f"base-{n}", img(i))
    for n in ("create-dyn-8M-1M", "create-dyn-32M", "create-dyn-4k-odd", "vhdxlib-log", "vhdxlib-diff"):
        write("allocate", f"device-{n}", img(base(n), flags=0x80))
        for k in (1, 2, 3, 4, 5, 6, 8):
            write("allocate", f"stop{k}-{n}", img(base(n), flags2=k << 1))
    b0 = base("create-dyn-8M-1M")
    write("allocate", "seq-near-max", img(b0, patches=[(A_HDR1, 8, q(2**64 - 6)), (A_HDR2, 8, q(2**64 - 5))]))
    write("allocate", "loglen", img(b0, patches=[(A_HDR2, 68, d(0))]))


def parent_seeds():
    """fuzz_parent: chain mode over every base, with each way of making the parent; locator mode with
    items of every shape.  Tail: [p0 p1] then read ops (see fuzz_parent.c)."""
    def chain(b, p0=0, p1=0xFF, flags2=0, patches=(), o=None):
        o = o or ((1, 0, 8 * MiB), (1, MiB - 700, 70000), (1, 2 * MiB + 3 * 512 + 5, 4096 * 3), (2, 1, 600))
        return img(b, flags2=flags2, patches=patches) + bytes([p0, p1]) + ops(*o)
    for i, n in enumerate(BASES):
        write("parent", f"base-{n}", chain(i))
    for n in ("vhdxlib-diff", "vhdxlib-diff-runs"):
        b = base(n)
        for p0, what in ((0, "linkage"), (1, "linkage2"), (2, "wrong-guid"), (3, "no-parent"), (4, "writable"),
                         (8, "other-lss"), (0x10, "bs2M"), (0x30, "bs32M")):
            write("parent", f"{what}-{n}", chain(b, p0=p0, p1=0xA5))
        write("parent", f"fail-parent-read-{n}", chain(b, flags2=3 << 2))
        # the sector bitmap patched: bytes of the chunk's bitmap (block 1's sectors are bits 2048..4095)
        write("parent", f"bitmap-{n}", chain(b, patches=[(A_END, 2 * MiB, b"\x0f\xf0\x55\xaa")]))
    # locator mode: flags2 bit 1; the item follows the 4-byte header
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "tools"))
    import vhdxlib as V
    def item(pairs, count=None, fix=None):
        head = V.GUID_PARENT_TYPE
        out = bytearray(head) + struct.pack("<HH", 0, len(pairs) if count is None else count)
        table, strings = bytearray(), bytearray()
        base_off = 20 + 12 * len(pairs)
        for k, v in pairs:
            kb, vb = k.encode("utf-16-le"), v.encode("utf-16-le", "surrogatepass")
            ko = base_off + len(strings)
            strings += kb
            vo = base_off + len(strings)
            strings += vb
            table += struct.pack("<IIHH", ko, vo, len(kb), len(vb))
        out += table + strings
        if fix:
            fix(out)
        return bytes([0, 0, 0, 2]) + bytes(out)
    link = "{83C3B4A2-6D3E-4C2B-9C55-2B3E0E9B1F00}"
    write("parent", "loc-all-keys", item([("parent_linkage", link), ("parent_linkage2", link.lower()),
                                          ("relative_path", "..\\base.vhdx"), ("volume_path", "\\\\?\\Volume{1}\\b.vhdx"),
                                          ("absolute_win32_path", "C:\\b.vhdx"), ("vendor", "x")]))
    write("parent", "loc-unicode", item([("parent_linkage", link), ("relative_path", "d\u00e9j\u00e0\\\U0001F600.vhdx")]))
    write("parent", "loc-bad-surrogate", item([("parent_linkage", link), ("relative_path", "a\ud800b")]))
    write("parent", "loc-dup", item([("parent_linkage", link), ("parent_linkage", link)]))
    write("parent", "loc-no-linkage", item([("relative_path", "a.vhdx")]))
    write("parent", "loc-count-high", item([("parent_linkage", link)], count=4000))
    write("parent", "loc-offset-out", item([("parent_linkage", link)],
                                           fix=lambda b: struct.pack_into("<I", b, 24, 60000)))
    write("parent", "loc-long-path", item([("parent_linkage", link), ("absolute_win32_path", "x" * 1500)]))


def raw_seeds(out):
    """Raw-mode inputs: byte 0 selects raw mode, then the first 1.5 MiB of an image (built by vhdxlib)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "tools"))
    import vhdxlib as V
    os.makedirs(out, exist_ok=True)
    b = V.build_image()
    with open(os.path.join(out, "raw-vhdxlib"), "wb") as f:
        f.write(bytes([RAW]) + bytes(b[:3 * MiB // 2]))
    # a file that ends right after the header area: everything past the region tables lies beyond it
    with open(os.path.join(out, "raw-1M"), "wb") as f:
        f.write(bytes([RAW]) + bytes(b[:MiB]))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "raw":
        raw_seeds(sys.argv[2])
    else:
        image_seeds()
        create_seeds()
        allocate_seeds()
        parent_seeds()
