#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""gen_bases.py - regenerates the embedded base images of the fuzz harnesses (tests/fuzz/bases/*.sparse).

Run by hand when a base should change (needs qemu-img, qemu-io, bunzip2); the outputs are committed, so the
build itself needs neither qemu nor this script.  embed.py turns the .sparse files into C at build time.

A .sparse file keeps only the non-zero 512-byte sectors of an image:
    b"VHDXSPR1", u64 file size, then runs of (u64 offset, u32 length, bytes), ended by offset 2**64-1.
Payload blocks are cut down to their first 4 KiB (the rest zeroed) so the files stay small; that changes data, not
structure.
"""
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
import vhdxlib as V  # noqa: E402

MiB = V.MiB
OUT = os.path.join(HERE, "bases")


def sparse(buf):
    out = bytearray(b"VHDXSPR1")
    out += struct.pack("<Q", len(buf))
    i, n = 0, len(buf)
    while i < n:
        if not any(buf[i:i + 512]):
            i += 512
            continue
        j = i
        while j < n and any(buf[j:j + 512]):
            j += 512
        j = min(j, n)
        out += struct.pack("<QI", i, j - i) + bytes(buf[i:j])
        i = j
    out += struct.pack("<QI", 2**64 - 1, 0)
    return bytes(out)


def trim_payload(buf, block_size=MiB, keep=4096):
    """Zero every present block beyond its first `keep` bytes (structure unchanged)."""
    bat = V.find_region(buf, V.GUID_BAT)
    for i in range(bat["length"] // 8):
        e = struct.unpack_from("<Q", buf, bat["offset"] + 8 * i)[0]
        if e & 7 in (6, 7):
            off = e & ~0xFFFFF
            end = min(off + block_size, len(buf))
            if off + keep < end:
                buf[off + keep:end] = bytes(end - off - keep)
    return buf


def save(name, buf):
    data = sparse(buf)
    with open(os.path.join(OUT, name + ".sparse"), "wb") as f:
        f.write(data)
    print(f"{name}: {len(buf)} bytes, sparse {len(data)}")


def qemu(name, size, opts, writes):
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "q.vhdx")
        cmd = ["qemu-img", "create", "-q", "-f", "vhdx"]
        if opts:
            cmd += ["-o", opts]
        subprocess.run(cmd + [p, str(size)], check=True)
        for pat, off, ln in writes:
            subprocess.run(["qemu-io", "-f", "vhdx", "-c", f"write -P {pat} {off} {ln}", p], check=True,
                           stdout=subprocess.DEVNULL)
        buf = bytearray(open(p, "rb").read())
    save(name, buf)


def add_locator(buf, keys):
    """HasParent and a Parent Locator item with the (key, value) pairs, at metadata item offset 0x10100."""
    meta = V.find_region(buf, V.GUID_METADATA)["offset"]
    fp = V.meta_item(buf, meta, V.GUID_FILE_PARAMS)
    struct.pack_into("<I", buf, meta + fp["offset"] + 4, 2)  # HasParent
    ents = V.meta_entries(buf, meta)
    loc = bytearray(V.GUID_PARENT_TYPE)
    loc += struct.pack("<HH", 0, len(keys))
    strings = bytearray()
    base = 20 + 12 * len(keys)
    table = bytearray()
    for k, v in keys:
        kb, vb = k.encode("utf-16-le"), v.encode("utf-16-le")
        ko = base + len(strings)
        strings += kb
        vo = base + len(strings)
        strings += vb
        table += struct.pack("<IIHH", ko, vo, len(kb), len(vb))
    loc += table + strings
    lo = 0x10100
    ents.append(dict(guid=V.GUID_PARENT_LOC, offset=lo, length=len(loc), flags=4))
    V.write_meta_table(buf, meta, ents)
    buf[meta + lo:meta + lo + len(loc)] = loc


def differencing():
    """A differencing disk by hand: HasParent, a parent locator, PARTIALLY_PRESENT blocks and a sector bitmap."""
    vs, bs = 8 * MiB - 512, MiB
    buf = V.build_image(virtual_size=vs, block_size=bs, blocks={0: (6, None, 0x11), 3: (2, None, 0)})
    add_locator(buf, [("parent_linkage", "{83C3B4A2-6D3E-4C2B-9C55-2B3E0E9B1F00}"), ("relative_path", ".\\parent.vhdx"),
                      ("absolute_win32_path", "C:\\vms\\parent.vhdx")])
    # block 1 PARTIALLY_PRESENT and the sector bitmap of chunk 0 (BAT index chunk_ratio), each one MiB at the end
    cr = V.chunk_ratio(bs, 512)
    pp = len(buf)
    buf += bytearray(MiB)
    buf[pp:pp + 4096] = b"\x22" * 4096
    V.set_bat(buf, V.bat_index(1, cr), pp | 7)
    sb = len(buf)
    buf += bytearray(MiB)
    buf[sb:sb + 64] = b"\xff" * 64
    V.set_bat(buf, cr, sb | 6)
    save("vhdxlib-diff", trim_payload(buf))


def differencing_runs():
    """A differencing disk whose sector bitmap has runs of every shape (for fuzz_parent): all five locator
    keys; block 0 FULLY_PRESENT; block 1 PARTIALLY_PRESENT with single sectors, runs across bitmap bytes, a long
    run and the block's last sector; block 2 PARTIALLY_PRESENT but for one clear byte; block 3 NOT_PRESENT; block
    4 ZERO; block 5 UNMAPPED; block 6 PARTIALLY_PRESENT with no sector of its own; block 7 (the last) NOT_PRESENT."""
    vs, bs, spb = 8 * MiB, MiB, MiB // 512
    buf = V.build_image(virtual_size=vs, block_size=bs, blocks={0: (6, None, 0x31), 4: (2, None, 0),
                                                               5: (3, None, 0)})
    add_locator(buf, [("parent_linkage", "{5A1E0C77-0D6B-4F4E-9A3C-7B2E1D0F6C11}"),
                      ("parent_linkage2", "{0B8F2D4C-3E1A-4C6B-8D7E-9F1A2B3C4D5E}"),
                      ("relative_path", "..\\golden\\base.vhdx"),
                      ("volume_path", "\\\\?\\Volume{26a21bda-a627-11d7-9931-806e6f6e6963}\\golden\\base.vhdx"),
                      ("absolute_win32_path", "C:\\golden\\base.vhdx")])
    cr = V.chunk_ratio(bs, 512)
    sb = len(buf)
    buf += bytearray(MiB)
    V.set_bat(buf, cr, sb | 6)
    runs = {1: [(0, 1), (3, 7), (15, 2), (31, 1), (100, 512), (spb - 1, 1)], 2: [(0, 64), (72, spb - 72)], 6: []}
    for blk, rs in runs.items():
        at = len(buf)
        buf += bytearray(MiB)
        for i in range(0, 16384, 2):  # the first 32 sectors hold data of the block's own
            buf[at + i] = (blk * 29 + i // 512) & 0xFF
            buf[at + i + 1] = 0xC0 | blk
        V.set_bat(buf, V.bat_index(blk, cr), at | 7)
        for first, n in rs:
            for s in range(blk * spb + first, blk * spb + first + n):
                buf[sb + s // 8] |= 1 << (s % 8)
    save("vhdxlib-diff-runs", trim_payload(buf, keep=16384))


def logged():
    """Images with a pending log written by vhdxlib's log writer: plain, growing the file, and wrapping the ring."""
    buf = V.build_image()
    bat = V.find_region(buf, V.GUID_BAT)["offset"]
    a = V.get_bat(buf, 0, bat) & ~0xFFFFF
    b = V.get_bat(buf, 2, bat) & ~0xFFFFF
    trim_payload(buf)
    grow = len(buf)  # block 1 becomes present here, beyond the current end of the file
    batsec = bytearray(buf[bat:bat + 4096])
    struct.pack_into("<Q", batsec, 8, grow | 6)
    guid = V.guid_bytes("5D4A1C3B-2E1F-4A0B-9C8D-7E6F5A4B3C2D")
    pat = bytes((i * 3 + 1) & 0xFF for i in range(4096))
    V.write_log(buf, [[("data", a, b"\x5a" * 4096)],
                      [("zero", b, 8192), ("data", bat, bytes(batsec)), ("data", grow, pat)]],
                guid, last=grow + MiB)
    save("vhdxlib-log", buf)

    # one entry of three sectors starting two sectors before the end of the 1 MiB ring
    buf = V.build_image()
    trim_payload(buf)
    hs = [V.parse_header(buf, o) for o in V.HEADER_OFFS]
    cur = V.current_header(hs)
    base, length = hs[cur]["log_offset"], hs[cur]["log_length"]
    e = V.log_entry(77, guid, [("data", a + 4096, pat), ("data", a + 8192, b"\x77" * 4096), ("zero", a, 4096)],
                    tail=length - 8192, flushed=len(buf), last=len(buf))
    assert len(e) == 12288
    buf[base + length - 8192:base + length] = e[:8192]
    buf[base:base + 4096] = e[8192:]
    V.set_header(buf, cur, log_guid=guid)
    save("vhdxlib-log-wrap", buf)


def main():
    os.makedirs(OUT, exist_ok=True)
    qemu("qemu-dyn-64M", 64 * MiB, None, [("0x5a", 0, 4096), ("0xa5", 9 * MiB + 512, 4096),
                                         ("0x33", 64 * MiB - 512, 512)])
    qemu("qemu-1M-odd", 5 * MiB + 512, "block_size=1M,log_size=1M", [("0x11", MiB, 4096),
                                                                     ("0x22", 5 * MiB, 512)])
    qemu("qemu-fixed-3M", 3 * MiB, "subformat=fixed,block_size=1M", [("0x44", MiB, 4096)])
    qemu("qemu-log4M-32M", 100 * MiB, "log_size=4M,block_size=32M", [("0x66", 40 * MiB, 8192)])
    save("vhdxlib-default", trim_payload(V.build_image()))
    save("vhdxlib-4k", trim_payload(V.build_image(virtual_size=20 * MiB, block_size=2 * MiB, logical_sector=4096,
                                                  physical_sector=4096, seqs=(3, 2)), 2 * MiB))
    differencing()
    differencing_runs()
    logged()
    # QEMU's dirty-log sample: keep the structures and the log, drop the payload beyond 8 MiB
    fx = os.path.join(ROOT, "tests", "fixtures", "iotest-dirtylog-10G-4M.vhdx.bz2")
    raw = bytearray(subprocess.run(["bunzip2", "-c", fx], check=True, stdout=subprocess.PIPE).stdout)
    raw[8 * MiB:] = bytes(len(raw) - 8 * MiB)
    save("qemu-dirtylog", raw)


if __name__ == "__main__":
    if sys.argv[1:]:  # only the named generators (no qemu needed for the vhdxlib ones): gen_bases.py differencing_runs
        for name in sys.argv[1:]:
            globals()[name]()
    else:
        main()
