#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""vhdxlib - a small, independent VHDX toolkit for the tests (python3 stdlib only).

CRC-32C, GUIDs in the Microsoft on-disk layout, header / region table / metadata / BAT parsing, checksum fix-ups,
and a builder of small valid images with a fully controlled layout.  Written from the format notes, not from the
C core, so that the tests cross-check the core instead of echoing it.

CLI:  vhdxlib.py headers IMAGE      print both headers as JSON
      vhdxlib.py build OUT [key=value ...]   build an image (see build_image for keys)
      vhdxlib.py session IMAGE    a python model of the session header update (to test the test tools)
"""
import json
import struct
import sys
import uuid

KiB = 1024
MiB = 1024 * 1024
GiB = 1024 * MiB
TiB = 1024 * GiB

HEADER_OFFS = (64 * KiB, 128 * KiB)
REGION_OFFS = (192 * KiB, 256 * KiB)
HEADER_SIZE = 4096
REGION_SIZE = 64 * KiB

SIG_IDENT = b"vhdxfile"
SIG_HEAD = b"head"
SIG_REGI = b"regi"
SIG_META = b"metadata"

# ---------------------------------------------------------------- CRC-32C
_CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)
del _i, _c


def crc32c(data, crc=0):
    """CRC-32C (Castagnoli), reflected, init/xorout 0xFFFFFFFF; crc continues a previous result."""
    t = _CRC_TABLE
    c = crc ^ 0xFFFFFFFF
    for b in bytes(data):
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def struct_crc(buf, off, length, csum_off=4):
    """Checksum of buf[off:off+length] with the 4-byte checksum field at off+csum_off taken as zero."""
    blk = bytearray(buf[off:off + length])
    blk[csum_off:csum_off + 4] = b"\0\0\0\0"
    return crc32c(blk)


def fix_crc(buf, off, length, csum_off=4):
    struct.pack_into("<I", buf, off + csum_off, struct_crc(buf, off, length, csum_off))


def crc_ok(buf, off, length, csum_off=4):
    return struct.unpack_from("<I", buf, off + csum_off)[0] == struct_crc(buf, off, length, csum_off)


# ---------------------------------------------------------------- GUIDs (MS layout)
def guid_bytes(text):
    """'xxxxxxxx-xxxx-...' -> 16 bytes in the MS on-disk layout."""
    return uuid.UUID(text).bytes_le


def guid_text(b):
    return str(uuid.UUID(bytes_le=bytes(b))).upper()


def guid_is_v4_ms(b):
    data3 = struct.unpack_from("<H", b, 6)[0]
    return (data3 >> 12) == 4 and (b[8] & 0xC0) == 0x80


def guid_v4_random():
    return uuid.uuid4().bytes_le


ZERO_GUID = bytes(16)
GUID_BAT = guid_bytes("2DC27766-F623-4200-9D64-115E9BFD4A08")
GUID_METADATA = guid_bytes("8B7CA206-4790-4B9A-B8FE-575F050F886E")
GUID_FILE_PARAMS = guid_bytes("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")
GUID_VDISK_SIZE = guid_bytes("2FA54224-CD1B-4876-B211-5DBED83BF4B8")
GUID_PAGE83 = guid_bytes("BECA12AB-B2E6-4523-93EF-C309E000C746")
GUID_LOGICAL = guid_bytes("8141BF1D-A96F-4709-BA47-F233A8FAAB5F")
GUID_PHYSICAL = guid_bytes("CDA348C7-445D-4471-9CC9-E9885251C556")
GUID_PARENT_LOC = guid_bytes("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C")
GUID_PARENT_TYPE = guid_bytes("B04AEFB7-D19E-4A81-B789-25B8E9445913")

# ---------------------------------------------------------------- headers
HDR_FMT = "<4sIQ16s16s16sHHIQ"  # 80 bytes


def parse_header(buf, off):
    f = struct.unpack_from(HDR_FMT, buf, off)
    h = dict(signature=f[0], checksum=f[1], sequence=f[2], file_write_guid=f[3], data_write_guid=f[4],
             log_guid=f[5], log_version=f[6], version=f[7], log_length=f[8], log_offset=f[9])
    h["valid"] = f[0] == SIG_HEAD and crc_ok(buf, off, HEADER_SIZE)
    return h


def read_headers(path):
    with open(path, "rb") as f:
        f.seek(0)
        data = f.read(132 * KiB)
    if len(data) < 132 * KiB:
        data = data + bytes(132 * KiB - len(data))
    return [parse_header(data, o) for o in HEADER_OFFS]


def current_header(hs):
    """Index of the current header per the notes' rules, or None."""
    v = [h["valid"] for h in hs]
    if v[0] and v[1]:
        if hs[0]["sequence"] == hs[1]["sequence"]:
            return 0
        return 0 if hs[0]["sequence"] > hs[1]["sequence"] else 1
    if v[0]:
        return 0
    if v[1]:
        return 1
    return None


def set_header(buf, which, fix=True, **fields):
    """Change header fields (names as in parse_header) of header `which` (0/1); fix the checksum unless told not."""
    off = HEADER_OFFS[which]
    h = parse_header(buf, off)
    h.update(fields)
    struct.pack_into(HDR_FMT, buf, off, h["signature"], h["checksum"], h["sequence"], h["file_write_guid"],
                     h["data_write_guid"], h["log_guid"], h["log_version"], h["version"], h["log_length"],
                     h["log_offset"])
    if fix:
        fix_crc(buf, off, HEADER_SIZE)


# ---------------------------------------------------------------- region table
def region_entries(buf, which=0):
    off = REGION_OFFS[which]
    count = struct.unpack_from("<I", buf, off + 8)[0]
    out = []
    for i in range(min(count, 2047)):
        g, o, ln, fl = struct.unpack_from("<16sQII", buf, off + 16 + 32 * i)
        out.append(dict(guid=g, offset=o, length=ln, flags=fl))
    return out


def write_region_table(buf, which, entries, count=None, fix=True):
    off = REGION_OFFS[which]
    buf[off:off + REGION_SIZE] = bytes(REGION_SIZE)
    struct.pack_into("<4sII", buf, off, SIG_REGI, 0, len(entries) if count is None else count)
    for i, e in enumerate(entries):
        struct.pack_into("<16sQII", buf, off + 16 + 32 * i, e["guid"], e["offset"], e["length"], e["flags"])
    if fix:
        fix_crc(buf, off, REGION_SIZE)


def find_region(buf, guid, which=0):
    for e in region_entries(buf, which):
        if e["guid"] == guid:
            return e
    return None


# ---------------------------------------------------------------- metadata
def meta_entries(buf, meta_off):
    count = struct.unpack_from("<H", buf, meta_off + 10)[0]
    out = []
    for i in range(min(count, 2047)):
        g, o, ln, fl = struct.unpack_from("<16sIII", buf, meta_off + 32 + 32 * i)
        out.append(dict(guid=g, offset=o, length=ln, flags=fl))
    return out


def write_meta_table(buf, meta_off, entries, count=None):
    buf[meta_off:meta_off + 64 * KiB] = bytes(64 * KiB)
    struct.pack_into("<8sHH", buf, meta_off, SIG_META, 0, len(entries) if count is None else count)
    for i, e in enumerate(entries):
        struct.pack_into("<16sIII", buf, meta_off + 32 + 32 * i, e["guid"], e["offset"], e["length"], e["flags"])


def meta_item(buf, meta_off, guid):
    for e in meta_entries(buf, meta_off):
        if e["guid"] == guid:
            return e
    return None


# ---------------------------------------------------------------- geometry
def chunk_ratio(block_size, logical_sector):
    return (1 << 23) * logical_sector // block_size


def bat_entry_count(virtual_size, block_size, logical_sector, differencing=False):
    cr = chunk_ratio(block_size, logical_sector)
    pb = -(-virtual_size // block_size)
    if differencing:
        return -(-pb // cr) * (cr + 1)
    return pb + (pb - 1) // cr


def bat_index(block, cr):
    return block + block // cr


# ---------------------------------------------------------------- builder
def _stored(b, block_size, virtual_size):
    """Bytes a present block takes in the file: a partial last block only the MiBs it covers (as QEMU does)."""
    covered = min(block_size, virtual_size - b * block_size)
    return -(-covered // MiB) * MiB


def build_image(virtual_size=8 * MiB - 512, block_size=MiB, logical_sector=512, physical_sector=4096,
                log_offset=MiB, log_length=MiB, meta_offset=2 * MiB, bat_offset=3 * MiB, bat_length=MiB,
                blocks=None, seqs=(5, 6), seed=1):
    """A valid image as a bytearray.  blocks: {block_number: (state, file_offset or None, fill byte)}; present
    blocks (state 6) without a file offset are laid out after the BAT in order.  Defaults: three present blocks
    (0, 2 and the last, partial one), block 3 ZERO, the rest NOT_PRESENT."""
    pb = -(-virtual_size // block_size)
    cr = chunk_ratio(block_size, logical_sector)
    if blocks is None:
        blocks = {0: (6, None, 0x11), 2: (6, None, 0x22), pb - 1: (6, None, 0x77)}
        if pb > 4:
            blocks[3] = (2, None, 0)
    end = max(bat_offset + bat_length, meta_offset + MiB, log_offset + log_length)
    end = -(-end // MiB) * MiB
    layout = {}
    for b in sorted(blocks):
        st, fo, fill = blocks[b]
        if st == 6 and fo is None:
            fo = end
            end += _stored(b, block_size, virtual_size)
        layout[b] = (st, fo or 0, fill)
    buf = bytearray(end)
    # file identifier
    buf[0:8] = SIG_IDENT
    creator = "vhdxlib.py test builder".encode("utf-16-le")
    buf[8:8 + len(creator)] = creator
    # headers: same DataWriteGuid in both, distinct FileWriteGuids, zero LogGuid
    rnd = __import__("random").Random(seed)
    g = lambda: uuid.UUID(int=rnd.getrandbits(128), version=4).bytes_le  # noqa: E731
    dwg = g()
    for i, seq in enumerate(seqs):
        struct.pack_into(HDR_FMT, buf, HEADER_OFFS[i], SIG_HEAD, 0, seq, g(), dwg, ZERO_GUID, 0, 1, log_length,
                         log_offset)
        fix_crc(buf, HEADER_OFFS[i], HEADER_SIZE)
    regions = [dict(guid=GUID_BAT, offset=bat_offset, length=bat_length, flags=1),
               dict(guid=GUID_METADATA, offset=meta_offset, length=MiB, flags=1)]
    for i in (0, 1):
        write_region_table(buf, i, regions)
    # metadata
    m = meta_offset
    items = [dict(guid=GUID_FILE_PARAMS, offset=0x10000, length=8, flags=4),
             dict(guid=GUID_VDISK_SIZE, offset=0x10008, length=8, flags=6),
             dict(guid=GUID_PAGE83, offset=0x10010, length=16, flags=6),
             dict(guid=GUID_LOGICAL, offset=0x10020, length=4, flags=6),
             dict(guid=GUID_PHYSICAL, offset=0x10024, length=4, flags=6)]
    write_meta_table(buf, m, items)
    struct.pack_into("<II", buf, m + 0x10000, block_size, 0)
    struct.pack_into("<Q", buf, m + 0x10008, virtual_size)
    buf[m + 0x10010:m + 0x10020] = g()
    struct.pack_into("<I", buf, m + 0x10020, logical_sector)
    struct.pack_into("<I", buf, m + 0x10024, physical_sector)
    # BAT and payload
    for b, (st, fo, fill) in layout.items():
        struct.pack_into("<Q", buf, bat_offset + 8 * bat_index(b, cr), (fo & ~0xFFFFF) | st)
        if st == 6:
            n = min(_stored(b, block_size, virtual_size), len(buf) - fo)
            buf[fo:fo + n] = bytes([fill]) * n
    return buf


def set_meta_value(buf, guid, fmt, *values, meta_offset=None):
    if meta_offset is None:
        meta_offset = find_region(buf, GUID_METADATA)["offset"]
    e = meta_item(buf, meta_offset, guid)
    struct.pack_into(fmt, buf, meta_offset + e["offset"], *values)


def set_bat(buf, index, value, bat_offset=None):
    if bat_offset is None:
        bat_offset = find_region(buf, GUID_BAT)["offset"]
    struct.pack_into("<Q", buf, bat_offset + 8 * index, value)


def get_bat(buf, index, bat_offset=None):
    if bat_offset is None:
        bat_offset = find_region(buf, GUID_BAT)["offset"]
    return struct.unpack_from("<Q", buf, bat_offset + 8 * index)[0]


# ---------------------------------------------------------------- log writer
def log_entry(seq, log_guid, ops, tail=0, flushed=0, last=0):
    """One log entry as bytes.  ops: ("data", file_offset, 4096 bytes) or ("zero", file_offset, length)."""
    ndesc = len(ops)
    dsecs = -(-(64 + 32 * ndesc) // 4096)
    datas = [op for op in ops if op[0] == "data"]
    length = 4096 * (dsecs + len(datas))
    e = bytearray(length)
    struct.pack_into("<4sIIIQII16sQQ", e, 0, b"loge", 0, length, tail, seq, ndesc, 0, log_guid, flushed, last)
    k = 0
    for i, op in enumerate(ops):
        d = 64 + 32 * i
        if op[0] == "zero":
            struct.pack_into("<4sIQQQ", e, d, b"zero", 0, op[2], op[1], seq)
        else:
            sector = bytes(op[2])
            assert len(sector) == 4096
            struct.pack_into("<4s4s8sQQ", e, d, b"desc", sector[4092:], sector[:8], op[1], seq)
            o = 4096 * (dsecs + k)
            struct.pack_into("<4sI", e, o, b"data", seq >> 32)
            e[o + 8:o + 4092] = sector[8:4092]
            struct.pack_into("<I", e, o + 4092, seq & 0xFFFFFFFF)
            k += 1
    struct.pack_into("<I", e, 4, crc32c(e))
    return e


def write_log(buf, entries, log_guid, which=None, start=0, flushed=None, last=None, entry_guid=None):
    """Writes entries (lists of ops) as one sequence at ring offset `start` of the current header's log, tail at
    the first; sets LogGuid in header `which` (default: the current one).  FlushedFileOffset defaults to the file
    size, LastFileOffset to the end of the furthest write of the sequence (at least the file size); entry_guid
    (default log_guid) is the LogGuid written into the entries.  Returns the ring offsets used."""
    hs = [parse_header(buf, o) for o in HEADER_OFFS]
    cur = current_header(hs) if which is None else which
    base, length = hs[cur]["log_offset"], hs[cur]["log_length"]
    if flushed is None:
        flushed = len(buf)
    if last is None:
        last = max([len(buf)] + [_ops_end(ops) for ops in entries])
    pos, offs = start, []
    for i, ops in enumerate(entries):
        e = log_entry(1000 + i, entry_guid or log_guid, ops, tail=start, flushed=flushed, last=last)
        assert pos + len(e) <= length
        buf[base + pos:base + pos + len(e)] = e
        offs.append(pos)
        pos += len(e)
    set_header(buf, cur, log_guid=log_guid)
    return offs


def _ops_end(ops):
    return max((op[1] + (len(op[2]) if op[0] == "data" else op[2]) for op in ops), default=0)


def reference_session(path):
    """A python model of the session header update (for testing the test tools themselves)."""
    with open(path, "r+b") as f:
        data = bytearray(f.read(132 * KiB))
        hs = [parse_header(data, o) for o in HEADER_OFFS]
        cur = current_header(hs)
        fwg = guid_v4_random()
        for _ in range(2):
            other = 1 - cur
            block = bytearray(data[HEADER_OFFS[cur]:HEADER_OFFS[cur] + HEADER_SIZE])
            data[HEADER_OFFS[other]:HEADER_OFFS[other] + HEADER_SIZE] = block
            set_header(data, other, sequence=hs[cur]["sequence"] + 1, file_write_guid=fwg)
            f.seek(HEADER_OFFS[other])
            f.write(data[HEADER_OFFS[other]:HEADER_OFFS[other] + HEADER_SIZE])
            f.flush()
            hs = [parse_header(data, o) for o in HEADER_OFFS]
            cur = other


def _jsonable(h):
    out = {}
    for k, v in h.items():
        if isinstance(v, bytes):
            out[k] = v.decode("latin-1") if k == "signature" else guid_text(v)
        else:
            out[k] = v
    return out


def main(argv):
    if len(argv) >= 2 and argv[0] == "headers":
        print(json.dumps([_jsonable(h) for h in read_headers(argv[1])], indent=1))
        return 0
    if len(argv) >= 2 and argv[0] == "build":
        kw = {}
        for a in argv[2:]:
            k, v = a.split("=", 1)
            kw[k] = int(v, 0)
        with open(argv[1], "wb") as f:
            f.write(build_image(**kw))
        return 0
    if len(argv) >= 2 and argv[0] == "session":
        reference_session(argv[1])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
