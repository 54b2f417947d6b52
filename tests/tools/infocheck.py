#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""infocheck.py - cross-checks `vhdx info --json IMAGE` against an independent parse of IMAGE (vhdxlib).

Usage: infocheck.py IMAGE JSONFILE      prints one line: `ok - NAME` or `not ok - NAME: differences`
       (NAME from --name, default "info --json")

Compared: both headers (validity, sequence, the three GUIDs, log offset/length), the current header, the region
table's BAT and metadata regions, the metadata values (block size, virtual size, sector sizes, disk id, flags),
BAT geometry (entries, chunk ratio, payload blocks) and the count of payload entries in each state.
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vhdxlib as V  # noqa: E402

STATES = {0: "not_present", 1: "undefined", 2: "zero", 3: "unmapped", 6: "fully_present", 7: "partially_present"}


def independent(path):
    with open(path, "rb") as f:
        head = bytearray(f.read(V.MiB))
        hs = [V.parse_header(head, o) for o in V.HEADER_OFFS]
        regs = V.region_entries(head, 0)
        bat = next(e for e in regs if e["guid"] == V.GUID_BAT)
        meta = next(e for e in regs if e["guid"] == V.GUID_METADATA)
        f.seek(meta["offset"])
        mbuf = bytearray(f.read(meta["length"]))
        items = {e["guid"]: e for e in V.meta_entries(mbuf, 0)}

        def item(g, fmt):
            return struct.unpack_from(fmt, mbuf, items[g]["offset"])

        bs, flags = item(V.GUID_FILE_PARAMS, "<II")
        vs = item(V.GUID_VDISK_SIZE, "<Q")[0]
        ls = item(V.GUID_LOGICAL, "<I")[0]
        ps = item(V.GUID_PHYSICAL, "<I")[0]
        disk_id = V.guid_text(mbuf[items[V.GUID_PAGE83]["offset"]:items[V.GUID_PAGE83]["offset"] + 16])
        cr = V.chunk_ratio(bs, ls)
        pb = -(-vs // bs)
        n = V.bat_entry_count(vs, bs, ls, bool(flags & 2))
        counts = dict.fromkeys(STATES.values(), 0)
        f.seek(bat["offset"])
        idx = 0
        while idx < n:
            k = min(n - idx, 1 << 17)
            chunk = f.read(8 * k)
            for j, (e,) in enumerate(struct.iter_unpack("<Q", chunk)):
                i = idx + j
                if (i + 1) % (cr + 1) == 0:
                    continue  # a sector-bitmap entry
                b = i - i // (cr + 1)
                if b < pb:
                    counts[STATES.get(e & 7, "other")] = counts.get(STATES.get(e & 7, "other"), 0) + 1
            idx += k
    return dict(hs=hs, cur=V.current_header(hs), bat=bat, meta=meta, bs=bs, flags=flags, vs=vs, ls=ls, ps=ps,
                disk_id=disk_id, cr=cr, pb=pb, n=n, counts=counts)


def compare(x, j):
    diffs = []

    def eq(what, got, want):
        if got != want:
            diffs.append(f"{what}: json {got!r}, image {want!r}")

    copies = j["headers"]["copies"]
    eq("current header", j["headers"]["current"], x["cur"] + 1)
    for i, h in enumerate(x["hs"]):
        c = copies[i]
        eq(f"header {i + 1} valid", c["valid"], h["valid"])
        if h["valid"]:
            eq(f"header {i + 1} sequence", c["sequence"], h["sequence"])
            for k in ("file_write_guid", "data_write_guid", "log_guid"):
                eq(f"header {i + 1} {k}", c[k].upper(), V.guid_text(h[k]))
            eq(f"header {i + 1} log_offset", c["log_offset"], h["log_offset"])
            eq(f"header {i + 1} log_length", c["log_length"], h["log_length"])
    rt = j["region_tables"]
    eq("BAT region", (rt["bat"]["offset"], rt["bat"]["length"]), (x["bat"]["offset"], x["bat"]["length"]))
    eq("metadata region", (rt["metadata"]["offset"], rt["metadata"]["length"]),
       (x["meta"]["offset"], x["meta"]["length"]))
    m = j["metadata"]
    eq("block_size", m["block_size"], x["bs"])
    eq("virtual_size", m["virtual_size"], x["vs"])
    eq("logical_sector_size", m["logical_sector_size"], x["ls"])
    eq("physical_sector_size", m["physical_sector_size"], x["ps"])
    eq("disk_id", m["disk_id"].upper(), x["disk_id"])
    eq("leave_blocks_allocated", m["leave_blocks_allocated"], bool(x["flags"] & 1))
    eq("has_parent", m["has_parent"], bool(x["flags"] & 2))
    b = j["bat"]
    eq("bat entries", b["entries"], x["n"])
    eq("chunk_ratio", b["chunk_ratio"], x["cr"])
    eq("payload_blocks", b["payload_blocks"], x["pb"])
    for k, v in x["counts"].items():
        eq(f"bat state {k}", b["states"].get(k), v)
    return diffs


def main(argv):
    name = "info --json"
    if len(argv) >= 2 and argv[0] == "--name":
        name, argv = argv[1], argv[2:]
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(argv[1]) as f:
            j = json.load(f)
        diffs = compare(independent(argv[0]), j)
    except Exception as e:  # malformed JSON or a missing key is a failure of this check
        diffs = [f"{type(e).__name__}: {e}"]
    if diffs:
        print(f"not ok - {name}: " + "; ".join(diffs[:6]))
        return 1
    print(f"ok - {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
