#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""createcheck.py - audits an image made by `vhdx create` against what was asked, with an independent parse.

Usage: createcheck.py --name NAME IMAGE [--raw RAW] [--size N] [--block N] [--logical N] [--physical N]
                      [--log N] [--fixed]

One protocol line per check: both headers valid with equal sequence-ordered content, FileWriteGuid, DataWriteGuid
and the Virtual Disk ID are RFC 4122 v4 in MS layout, LogGuid zero, log length as asked and log placed at or after
1 MiB; metadata values as asked; the file identifier signature; and the BAT: a fixed image has every block
FULLY_PRESENT, a dynamic one exactly the blocks whose RAW content is not all zeros (NOT_PRESENT or ZERO for the
rest), every present block 1 MiB aligned inside the file.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vhdxlib as V  # noqa: E402


def main(argv):
    opt = {"name": "create", "raw": None, "size": None, "block": 32 * V.MiB, "logical": 512, "physical": 4096,
           "log": V.MiB, "fixed": False}
    args = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--fixed":
            opt["fixed"] = True
            i += 1
        elif a.startswith("--"):
            k = a[2:]
            opt[k] = argv[i + 1] if k in ("name", "raw") else int(argv[i + 1])
            i += 2
        else:
            args.append(a)
            i += 1
    img = args[0]
    name = opt["name"]
    fails = 0

    def report(cond, what, why=""):
        nonlocal fails
        if cond:
            print(f"ok - {name}: {what}")
        else:
            fails += 1
            print(f"not ok - {name}: {what}: {why or 'failed'}")

    with open(img, "rb") as f:
        data = bytearray(f.read(V.MiB))
        fsize = os.fstat(f.fileno()).st_size
        report(data[:8] == V.SIG_IDENT, "file identifier signature")
        hs = [V.parse_header(data, o) for o in V.HEADER_OFFS]
        report(hs[0]["valid"] and hs[1]["valid"], "both headers valid")
        cur = hs[V.current_header(hs) or 0]
        report(V.guid_is_v4_ms(cur["file_write_guid"]) and V.guid_is_v4_ms(cur["data_write_guid"]),
               "FileWriteGuid and DataWriteGuid are v4 (MS layout)",
               f"{V.guid_text(cur['file_write_guid'])} {V.guid_text(cur['data_write_guid'])}")
        report(cur["file_write_guid"] != cur["data_write_guid"], "FileWriteGuid differs from DataWriteGuid")
        report(cur["log_guid"] == V.ZERO_GUID, "LogGuid zero")
        report(cur["log_length"] == opt["log"] and cur["log_offset"] >= V.MiB and cur["log_offset"] % V.MiB == 0,
               "log length as asked, 1 MiB aligned", f"offset {cur['log_offset']} length {cur['log_length']}")
        report(cur["version"] == 1 and cur["log_version"] == 0, "Version 1, LogVersion 0")
        t1 = bytes(data[V.REGION_OFFS[0]:V.REGION_OFFS[0] + V.REGION_SIZE])
        t2 = bytes(data[V.REGION_OFFS[1]:V.REGION_OFFS[1] + V.REGION_SIZE])
        report(V.crc_ok(data, V.REGION_OFFS[0], V.REGION_SIZE) and t1 == t2, "region tables valid and identical")
        bat = V.find_region(data, V.GUID_BAT)
        meta = V.find_region(data, V.GUID_METADATA)
        f.seek(meta["offset"])
        mbuf = bytearray(f.read(meta["length"]))
        items = {e["guid"]: e for e in V.meta_entries(mbuf, 0)}

        def item(g, fmt):
            return struct.unpack_from(fmt, mbuf, items[g]["offset"])

        bs, flags = item(V.GUID_FILE_PARAMS, "<II")
        vs = item(V.GUID_VDISK_SIZE, "<Q")[0]
        ls = item(V.GUID_LOGICAL, "<I")[0]
        ps = item(V.GUID_PHYSICAL, "<I")[0]
        did = bytes(mbuf[items[V.GUID_PAGE83]["offset"]:items[V.GUID_PAGE83]["offset"] + 16])
        want_size = opt["size"]
        if want_size is None and opt["raw"]:
            rs = os.path.getsize(opt["raw"])
            want_size = -(-rs // opt["logical"]) * opt["logical"]
        got = (bs, vs, ls, ps)
        want = (opt["block"], want_size, opt["logical"], opt["physical"])
        report(got == want, "metadata: block size, virtual size, logical and physical sector", f"{got} != {want}")
        report(V.guid_is_v4_ms(did), "Virtual Disk ID is v4 (MS layout)", V.guid_text(did))
        report((flags & 2) == 0, "no HasParent flag")

        cr = V.chunk_ratio(bs, ls)
        pb = -(-vs // bs)
        n = V.bat_entry_count(vs, bs, ls)
        f.seek(bat["offset"])
        entries = [e for (e,) in struct.iter_unpack("<Q", f.read(8 * n))]
        raw = open(opt["raw"], "rb") if opt["raw"] else None
        wrong = []
        for b in range(pb):
            e = entries[V.bat_index(b, cr)]
            st, off = e & 7, e & ~0xFFFFF
            if opt["fixed"]:
                want_present = True
            elif raw:
                raw.seek(b * bs)
                chunk = raw.read(bs)
                want_present = chunk.count(0) != len(chunk)
            else:
                want_present = False
            if want_present and (st != 6 or off < V.MiB or off + min(bs, vs - b * bs) > fsize):
                wrong.append(f"block {b}: entry {e:#x}, expected present inside the file")
            if not want_present and st not in (0, 2):
                wrong.append(f"block {b}: state {st}, expected NOT_PRESENT or ZERO (all-zero data)")
        for c in range(1, -(-pb // cr)):
            if entries[c * (cr + 1) - 1] & 7 not in (0, 6):
                wrong.append(f"sector bitmap {c - 1}: bad state")
        report(not wrong, "BAT states match the content", "; ".join(wrong[:4]))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
