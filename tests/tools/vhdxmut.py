#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""vhdxmut.py - named mutations of a small valid VHDX image, for the malformed-image tests.

Usage: vhdxmut.py list                       names of all mutations, one a line
       vhdxmut.py base OUT                   write the base image (vhdxlib.build_image defaults)
       vhdxmut.py apply NAME IN OUT          apply mutation NAME to image IN (or '-' for the base image)

Each mutation breaks exactly one rule and fixes up every checksum that a later check depends on, so the damage is
seen by the rule under test and not by an earlier one.  The base image (see vhdxlib.build_image): 8 MiB - 512
virtual, 1 MiB blocks, 512-byte logical sectors; log at 1 MiB (1 MiB), metadata at 2 MiB, BAT at 3 MiB; payload
blocks 0, 2 and 7 (the partial last one) present at 4, 5 and 6 MiB, block 3 ZERO; file 7 MiB; header 1 sequence 5,
header 2 sequence 6 (current).  Mutations that need another shape build their own base.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vhdxlib as V  # noqa: E402

MiB = V.MiB
META = 2 * MiB
BAT = 3 * MiB
MUTATIONS = {}


def mut(name):
    def reg(fn):
        assert name not in MUTATIONS, name
        MUTATIONS[name] = fn
        return fn
    return reg


# ------------------------------------------------------------------ helpers
def regions(buf, fn, which=(0, 1)):
    """Rewrite region table copies: fn(list of entries) -> list of entries (or (entries, count))."""
    for w in which:
        r = fn([dict(e) for e in V.region_entries(buf, w)])
        ents, count = r if isinstance(r, tuple) else (r, None)
        V.write_region_table(buf, w, ents, count)
    return buf


def region_set(buf, guid, **kw):
    def f(ents):
        for e in ents:
            if e["guid"] == guid:
                e.update(kw)
        return ents
    return regions(buf, f)


def metas(buf, fn):
    r = fn([dict(e) for e in V.meta_entries(buf, META)])
    ents, count = r if isinstance(r, tuple) else (r, None)
    V.write_meta_table(buf, META, ents, count)
    return buf


def meta_set(buf, guid, **kw):
    def f(ents):
        for e in ents:
            if e["guid"] == guid:
                e.update(kw)
        return ents
    return metas(buf, f)


def meta_drop(buf, guid):
    return metas(buf, lambda ents: [e for e in ents if e["guid"] != guid])


def hdr(buf, which, **kw):
    V.set_header(buf, which, **kw)
    return buf


def extend(buf, nbytes):
    buf.extend(bytes(nbytes))
    return buf


def bat(buf, index, value):
    V.set_bat(buf, index, value, BAT)
    return buf


UNKNOWN = V.guid_bytes("12345678-9ABC-4DEF-8123-456789ABCDEF")

# ------------------------------------------------------------------ file identifier
mut("file identifier bad signature")(lambda b: b.__setitem__(slice(0, 8), b"vhdxfilf") or b)
mut("file shorter than the header area")(lambda b: b[:512 * 1024])
mut("empty file")(lambda b: bytearray())


# ------------------------------------------------------------------ headers
@mut("header 1 bad signature")
def _(b):
    return hdr(b, 0, signature=b"hEad")


@mut("header 1 bad checksum")
def _(b):
    return hdr(b, 0, fix=False, sequence=99)


@mut("header 2 (current) bad checksum")
def _(b):
    b[V.HEADER_OFFS[1] + 4] ^= 0x01
    return b


@mut("both headers bad checksum")
def _(b):
    b[V.HEADER_OFFS[0] + 100] ^= 0xFF
    b[V.HEADER_OFFS[1] + 4000] ^= 0xFF
    return b


@mut("both headers bad signature")
def _(b):
    hdr(b, 0, signature=b"daeh")
    return hdr(b, 1, signature=b"\0\0\0\0")


@mut("header 1 bad signature, header 2 bad checksum")
def _(b):
    hdr(b, 0, signature=b"HEAD")
    b[V.HEADER_OFFS[1] + 8] ^= 0x10
    return b


@mut("equal sequence different content")
def _(b):
    return hdr(b, 0, sequence=6)


@mut("equal sequence identical content")
def _(b):
    o0, o1 = V.HEADER_OFFS
    b[o0:o0 + V.HEADER_SIZE] = b[o1:o1 + V.HEADER_SIZE]
    return b


@mut("equal sequence, reserved bytes differ")
def _(b):
    o0, o1 = V.HEADER_OFFS
    b[o0:o0 + V.HEADER_SIZE] = b[o1:o1 + V.HEADER_SIZE]
    b[o0 + 2000] = 0x5A
    V.fix_crc(b, o0, V.HEADER_SIZE)
    return b


mut("current header version 2")(lambda b: hdr(b, 1, version=2))
mut("non-current header version 0")(lambda b: hdr(b, 0, version=0))


@mut("damaged header with version 2 is ignored")
def _(b):
    return hdr(b, 0, fix=False, version=2)


mut("log version 1")(lambda b: hdr(b, 1, log_version=1))
mut("log length not a 1 MiB multiple")(lambda b: hdr(b, 1, log_length=MiB + 4096))
mut("log offset not 1 MiB aligned")(lambda b: hdr(b, 1, log_offset=MiB + 4096))
mut("log offset zero (header area)")(lambda b: hdr(b, 1, log_offset=0))
mut("log beyond end of file")(lambda b: hdr(b, 1, log_offset=7 * MiB))
mut("log length overflows")(lambda b: hdr(b, 1, log_offset=0xFFFFFFFFFFF00000, log_length=16 * MiB))
# ------------------------------------------------------------------ log (LogGuid set: a log to replay)
LOG_GUID = V.guid_bytes("0F1E2D3C-4B5A-4968-8776-8594A3B2C1D0")
SECTOR_LT = b"LEADING!" + b"\xEE" * 4084 + b"TAIL"  # tells the leading 8 and trailing 4 bytes apart


def _log(b, entries, **kw):
    V.write_log(b, entries, LOG_GUID, **kw)
    return b


# payload block 0 lives at 4 MiB: virtual offset x of block 0 is file offset 4 MiB + x
mut("LogGuid non-zero (pending log)")(lambda b: _log(b, [[("data", 4 * MiB + 4096, SECTOR_LT)]]))
mut("pending log, two entries, the later wins")(
    lambda b: _log(b, [[("data", 4 * MiB, b"\xA1" * 4096)],
                       [("data", 4 * MiB, b"\xB2" * 4096), ("zero", 5 * MiB, 8192)]]))


@mut("pending log, new block beyond the end of the file")
def _(b):
    sec = bytearray(b[BAT:BAT + 4096])
    struct.pack_into("<Q", sec, 8, 7 * MiB | 6)  # BAT entry 1: payload block 1 at 7 MiB
    return _log(b, [[("data", BAT, sec), ("data", 7 * MiB, b"\xAB" * 4096), ("zero", 7 * MiB + 4096, MiB - 4096)]])


mut("pending log, no valid entry")(lambda b: hdr(b, 1, log_guid=LOG_GUID))


@mut("pending log, entry checksum bad")
def _(b):
    _log(b, [[("data", 4 * MiB + 4096, SECTOR_LT)]])
    b[MiB + 4096 + 100] ^= 1  # inside the data sector
    return b


mut("pending log, entries carry another LogGuid")(
    lambda b: _log(b, [[("data", 4 * MiB, SECTOR_LT)]], entry_guid=V.guid_bytes("99999999-8888-4777-8666-555555555555")))
mut("pending log, FlushedFileOffset beyond the file")(
    lambda b: _log(b, [[("data", 4 * MiB, SECTOR_LT)]], flushed=64 * MiB))
mut("pending log, descriptor targets a header")(lambda b: _log(b, [[("data", 64 * 1024, SECTOR_LT)]]))
mut("pending log, descriptor beyond LastFileOffset")(
    lambda b: _log(b, [[("data", 9 * MiB, SECTOR_LT)]], last=7 * MiB))
mut("LogGuid non-zero in the non-current header only")(
    lambda b: hdr(b, 0, log_guid=V.guid_bytes("0F1E2D3C-4B5A-4968-8776-8594A3B2C1D0")))


@mut("sequence at UINT64_MAX")
def _(b):
    hdr(b, 0, sequence=2**64 - 2)
    return hdr(b, 1, sequence=2**64 - 1)


mut("sequence at UINT64_MAX-1")(lambda b: hdr(b, 1, sequence=2**64 - 2))
mut("sequence at UINT64_MAX-2")(lambda b: hdr(b, 1, sequence=2**64 - 3))
mut("header 1 current (higher sequence)")(lambda b: hdr(b, 0, sequence=1000))


@mut("GUIDs not version 4 (QEMU style)")
def _(b):
    g = bytes(range(1, 17))
    hdr(b, 0, file_write_guid=g, data_write_guid=g)
    return hdr(b, 1, file_write_guid=g, data_write_guid=g)


# ------------------------------------------------------------------ region tables
@mut("region table 1 bad checksum")
def _(b):
    b[V.REGION_OFFS[0] + 16 + 64] ^= 0x01  # a byte past the entries: only the checksum notices
    return b


@mut("region table 2 bad signature")
def _(b):
    b[V.REGION_OFFS[1]:V.REGION_OFFS[1] + 4] = b"REGI"
    V.fix_crc(b, V.REGION_OFFS[1], V.REGION_SIZE)
    return b


@mut("both region tables bad checksum")
def _(b):
    for o in V.REGION_OFFS:
        b[o + 5] ^= 0x80
    return b


@mut("region tables differ, both valid")
def _(b):
    return regions(b, lambda ents: ents[::-1], which=(1,))


@mut("region table 1 damaged entry, table 2 good")
def _(b):
    return regions(b, lambda ents: [dict(e, offset=e["offset"] + 4096) for e in ents], which=(0,))


mut("region entry count 2048")(lambda b: regions(b, lambda ents: (ents, 2048)))
mut("BAT region missing")(lambda b: regions(b, lambda ents: [e for e in ents if e["guid"] != V.GUID_BAT]))
mut("metadata region missing")(lambda b: regions(b, lambda ents: [e for e in ents if e["guid"] != V.GUID_METADATA]))
mut("region table empty")(lambda b: regions(b, lambda ents: []))


@mut("duplicate metadata region")
def _(b):
    extend(b, MiB)
    return regions(b, lambda ents: ents + [dict(guid=V.GUID_METADATA, offset=7 * MiB, length=MiB, flags=1)])


@mut("duplicate BAT region")
def _(b):
    extend(b, MiB)
    return regions(b, lambda ents: ents + [dict(guid=V.GUID_BAT, offset=7 * MiB, length=MiB, flags=1)])


@mut("unknown required region")
def _(b):
    extend(b, MiB)
    return regions(b, lambda ents: ents + [dict(guid=UNKNOWN, offset=7 * MiB, length=MiB, flags=1)])


@mut("unknown required region in table 2 only")
def _(b):
    extend(b, MiB)
    return regions(b, lambda ents: ents + [dict(guid=UNKNOWN, offset=7 * MiB, length=MiB, flags=1)], which=(1,))


@mut("unknown optional region")
def _(b):
    extend(b, MiB)
    return regions(b, lambda ents: ents + [dict(guid=UNKNOWN, offset=7 * MiB, length=MiB, flags=0)])


mut("region not 1 MiB aligned")(lambda b: region_set(b, V.GUID_BAT, offset=BAT + 64 * 1024))
mut("region length not a 1 MiB multiple")(lambda b: region_set(b, V.GUID_BAT, length=MiB - 4096))
mut("region length zero")(lambda b: region_set(b, V.GUID_METADATA, length=0))
mut("region in the header area")(lambda b: region_set(b, V.GUID_METADATA, offset=0))
mut("region overlaps log")(lambda b: region_set(b, V.GUID_BAT, offset=MiB))
mut("regions overlap each other")(lambda b: region_set(b, V.GUID_BAT, offset=META))
mut("region beyond end of file")(lambda b: region_set(b, V.GUID_BAT, offset=64 * MiB))
mut("region offset overflows")(lambda b: region_set(b, V.GUID_BAT, offset=0xFFFFFFFFFFF00000))


# ------------------------------------------------------------------ metadata
@mut("metadata bad signature")
def _(b):
    b[META:META + 8] = b"metadatA"
    return b


mut("metadata entry count 2048")(lambda b: metas(b, lambda ents: (ents, 2048)))
mut("metadata item offset below 64 KiB")(lambda b: meta_set(b, V.GUID_FILE_PARAMS, offset=0x8000))
mut("metadata item beyond region")(lambda b: meta_set(b, V.GUID_VDISK_SIZE, offset=MiB - 4))
mut("metadata item length over 1 MiB")(lambda b: meta_set(b, V.GUID_PAGE83, length=MiB + 16))
mut("metadata items overlap")(lambda b: meta_set(b, V.GUID_VDISK_SIZE, offset=0x10004))
mut("metadata item length 0 with an offset")(lambda b: meta_set(b, V.GUID_PAGE83, length=0))
mut("missing file parameters")(lambda b: meta_drop(b, V.GUID_FILE_PARAMS))
mut("missing virtual disk size")(lambda b: meta_drop(b, V.GUID_VDISK_SIZE))
mut("missing virtual disk id")(lambda b: meta_drop(b, V.GUID_PAGE83))
mut("missing logical sector size")(lambda b: meta_drop(b, V.GUID_LOGICAL))
mut("missing physical sector size")(lambda b: meta_drop(b, V.GUID_PHYSICAL))
mut("duplicate known item")(
    lambda b: metas(b, lambda ents: ents + [dict(guid=V.GUID_VDISK_SIZE, offset=0x10040, length=8, flags=6)]))
mut("unknown required item")(
    lambda b: metas(b, lambda ents: ents + [dict(guid=UNKNOWN, offset=0x10040, length=16, flags=4)]))
mut("unknown optional item")(
    lambda b: metas(b, lambda ents: ents + [dict(guid=UNKNOWN, offset=0x10040, length=16, flags=1)]))
mut("known item wrong length")(lambda b: meta_set(b, V.GUID_FILE_PARAMS, length=4))


def _fp(b, block_size, flags=0):
    V.set_meta_value(b, V.GUID_FILE_PARAMS, "<II", block_size, flags, meta_offset=META)
    return b


mut("block size not a power of two")(lambda b: _fp(b, 3 * MiB))
mut("block size 512 KiB")(lambda b: _fp(b, 512 * 1024))
mut("block size 512 MiB")(lambda b: _fp(b, 512 * MiB))
mut("block size 0")(lambda b: _fp(b, 0))


def _vs(b, size):
    V.set_meta_value(b, V.GUID_VDISK_SIZE, "<Q", size, meta_offset=META)
    return b


mut("virtual size 0")(lambda b: _vs(b, 0))
mut("virtual size not a sector multiple")(lambda b: _vs(b, 8 * MiB - 100))
mut("virtual size over 64 TiB")(lambda b: _vs(b, 64 * V.TiB + 512))


@mut("virtual size not a 4 KiB multiple with 4 KiB sectors")
def _(b):
    V.set_meta_value(b, V.GUID_LOGICAL, "<I", 4096, meta_offset=META)
    return b


mut("logical sector 1024")(lambda b: V.set_meta_value(b, V.GUID_LOGICAL, "<I", 1024, meta_offset=META) or b)
mut("physical sector 8192")(lambda b: V.set_meta_value(b, V.GUID_PHYSICAL, "<I", 8192, meta_offset=META) or b)
mut("has parent without locator")(lambda b: _fp(b, MiB, 2))
mut("leave blocks allocated flag")(lambda b: _fp(b, MiB, 1))


def _locator(b, type_guid=V.GUID_PARENT_TYPE, count=None, key_off=None, value="{11111111-2222-4333-8444-555555555555}",
             twice=False, val_off=None):
    key = "parent_linkage".encode("utf-16-le")
    val = value.encode("utf-16-le")
    n = (2 if twice else 1) if count is None else count
    ko = 20 + 12 * (2 if twice else 1) if key_off is None else key_off
    vo = ko + len(key) if val_off is None else val_off
    entry = struct.pack("<IIHH", ko, vo, len(key), len(val))
    item = bytearray(type_guid + struct.pack("<HH", 0, n) + entry * (2 if twice else 1))
    item += key + val
    off = 0x10040
    b[META + off:META + off + len(item)] = item
    metas(b, lambda ents: ents + [dict(guid=V.GUID_PARENT_LOC, offset=off, length=len(item), flags=6)])
    return _fp(b, MiB, 2)


mut("differencing disk with a valid parent locator")(lambda b: _locator(b))
mut("parent locator of unknown type")(lambda b: _locator(b, type_guid=UNKNOWN))
mut("parent locator entry count too high")(lambda b: _locator(b, count=1000))
mut("parent locator key outside the item")(lambda b: _locator(b, key_off=4000))
mut("parent locator duplicate key")(lambda b: _locator(b, twice=True))
mut("parent locator linkage not a GUID")(lambda b: _locator(b, value="11111111-2222"))
mut("parent locator value offset beyond the item")(lambda b: _locator(b, val_off=60000))


def _partial_without_bitmap(b):
    b = _locator(b)
    off = -(-len(b) // MiB) * MiB
    b += bytes(off + MiB - len(b))
    bat(b, 1, off | 7)
    return b


mut("partially present block without its sector bitmap")(_partial_without_bitmap)


# ------------------------------------------------------------------ BAT
mut("BAT region too small for entries")(lambda b: _vs(b, 200000 * MiB))
mut("BAT entry state 4")(lambda b: bat(b, 1, 4))
mut("BAT entry state 5")(lambda b: bat(b, 1, 5))
mut("BAT entry state 7 on non-differencing")(lambda b: bat(b, 2, V.get_bat(b, 2, BAT) | 7))
mut("BAT states 1, 2, 3 accepted")(lambda b: bat(bat(bat(b, 4, 1), 5, 2), 6, 3))
mut("BAT reserved bits set")(lambda b: bat(b, 0, V.get_bat(b, 0, BAT) | 0x100))
mut("block in the header area")(lambda b: bat(b, 1, 6))
mut("block beyond end of file")(lambda b: bat(b, 1, 64 * MiB | 6))
mut("block offset at the top of the address space")(lambda b: bat(b, 1, 0xFFFFFFFFFFF00000 | 6))
mut("file truncated inside the last block")(lambda b: b[:6 * MiB + MiB // 2])
mut("block overlaps log")(lambda b: bat(b, 1, MiB | 6))
mut("block overlaps metadata")(lambda b: bat(b, 1, META | 6))
mut("block overlaps BAT")(lambda b: bat(b, 1, BAT | 6))
mut("two blocks overlap")(lambda b: bat(b, 2, 4 * MiB | 6))


@mut("2 MiB blocks overlap by 1 MiB")
def _(b):
    b = V.build_image(virtual_size=8 * MiB, block_size=2 * MiB, blocks={0: (6, None, 1), 3: (6, None, 2)})
    return bat(b, 3, 5 * MiB | 6)  # block 0 is at 4..6 MiB


def _big(blocks):
    return V.build_image(virtual_size=5 * V.GiB, blocks=blocks)


# 5 GiB with 1 MiB blocks: chunk ratio 4096, so BAT entry 4096 is sector bitmap 0 and payload block 4096 is entry 4097
mut("5 GiB disk, sector bitmap in the BAT region")(lambda b: bat(_big({0: (6, None, 1)}), 4096, BAT | 6))
mut("5 GiB disk, sector bitmap state 2")(lambda b: bat(_big({0: (6, None, 1)}), 4096, 2))
mut("5 GiB disk, block 4096 present")(lambda b: _big({0: (6, None, 0x11), 4096: (6, None, 0x55)}))
mut("5 GiB disk, block 4096 overlaps block 0")(lambda b: bat(_big({0: (6, None, 1)}), 4097, 4 * MiB | 6))
mut("4 KiB logical sectors")(lambda b: V.build_image(virtual_size=8 * MiB - 4096, logical_sector=4096))
mut("256 MiB blocks, partial last block")(
    lambda b: V.build_image(virtual_size=300 * MiB + 512, block_size=256 * MiB, blocks={1: (6, None, 0x42)}))


def apply(name, buf):
    out = MUTATIONS[name](bytearray(buf))
    return out if out is not None else buf


def main(argv):
    if argv[:1] == ["list"]:
        for n in MUTATIONS:
            print(n)
        return 0
    if len(argv) == 2 and argv[0] == "base":
        with open(argv[1], "wb") as f:
            f.write(V.build_image())
        return 0
    if len(argv) == 4 and argv[0] == "apply":
        if argv[1] not in MUTATIONS:
            print(f"vhdxmut: unknown mutation {argv[1]!r}", file=sys.stderr)
            return 2
        if argv[2] == "-":
            src = V.build_image()
        else:
            with open(argv[2], "rb") as f:
                src = f.read()
        with open(argv[3], "wb") as f:
            f.write(apply(argv[1], src))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
