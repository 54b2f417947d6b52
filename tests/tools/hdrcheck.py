#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""hdrcheck.py - audits a session header update: compares an image before (OLD) and after (NEW) `vhdx session`.

Usage: hdrcheck.py [--name NAME] [--sessions N] OLD NEW

Prints one protocol line per check (`ok - NAME: ...` / `not ok - NAME: ...: reason`):
  - only bytes inside the two header blocks [64K,68K) and [128K,132K) differ, and the file size is unchanged
  - both headers valid (signature + CRC-32C over 4 KiB with the checksum field zeroed)
  - both sequence numbers higher than the old maximum; with --sessions N (default 1): the new ones are exactly
    old current + 2N - 1 and old current + 2N
  - the new FileWriteGuid is the same in both headers, differs from the old ones, and is RFC 4122 v4 in MS layout
  - DataWriteGuid of both new headers equals the old current header's; LogGuid unchanged (both)
  - LogVersion, Version, LogLength, LogOffset and the reserved bytes 80..4095 equal the old current header's
Exit status 1 if any check failed.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vhdxlib as V  # noqa: E402

HDR_RANGES = [(o, o + V.HEADER_SIZE) for o in V.HEADER_OFFS]


def changed_offsets(old, new, limit=100000):
    """Byte offsets (0-based) where OLD and NEW differ, via cmp -l (fast on large sparse files)."""
    p = subprocess.run(["cmp", "-l", old, new], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    offs = []
    for line in p.stdout.splitlines():
        parts = line.split()
        if parts and parts[0].isdigit():
            offs.append(int(parts[0]) - 1)
            if len(offs) >= limit:
                break
    return offs, p.stderr.strip()


def main(argv):
    name = "session"
    sessions = 1
    args = []
    i = 0
    while i < len(argv):
        if argv[i] == "--name":
            name = argv[i + 1]
            i += 2
        elif argv[i] == "--sessions":
            sessions = int(argv[i + 1])
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    old, new = args
    fails = 0

    def report(cond, what, why=""):
        nonlocal fails
        if cond:
            print(f"ok - {name}: {what}")
        else:
            fails += 1
            print(f"not ok - {name}: {what}: {why or 'failed'}")

    so, sn = os.path.getsize(old), os.path.getsize(new)
    report(so == sn, "file size unchanged", f"{so} -> {sn}")
    offs, err = changed_offsets(old, new)
    outside = [o for o in offs if not any(a <= o < b for a, b in HDR_RANGES)]
    report(not outside and not err, "only the two header blocks changed",
           err or "bytes changed at " + ", ".join(hex(o) for o in outside[:8]))

    ho = V.read_headers(old)
    hn = V.read_headers(new)
    cur = V.current_header(ho)
    if cur is None:
        report(False, "old image has a current header", "neither header valid before the session")
        return 1
    oc = ho[cur]
    report(hn[0]["valid"] and hn[1]["valid"], "both headers valid",
           f"header 1 valid={hn[0]['valid']}, header 2 valid={hn[1]['valid']}")
    old_max = max(h["sequence"] for h in ho if h["valid"])
    seqs = sorted(h["sequence"] for h in hn)
    report(all(s > old_max for s in seqs), "both sequence numbers raised", f"old max {old_max}, new {seqs}")
    want = [oc["sequence"] + 2 * sessions - 1, oc["sequence"] + 2 * sessions]
    report(seqs == want, "sequence numbers are current+1 and current+2 per session", f"got {seqs}, want {want}")
    fw = [h["file_write_guid"] for h in hn]
    report(fw[0] == fw[1], "same new FileWriteGuid in both headers", f"{V.guid_text(fw[0])} vs {V.guid_text(fw[1])}")
    report(all(f not in (ho[0]["file_write_guid"], ho[1]["file_write_guid"]) for f in fw), "FileWriteGuid is new",
           V.guid_text(fw[0]))
    report(all(V.guid_is_v4_ms(f) for f in fw), "FileWriteGuid is RFC 4122 v4 in MS layout",
           " ".join(V.guid_text(f) for f in fw))
    report(all(f != V.ZERO_GUID for f in fw), "FileWriteGuid not zero")
    report(all(h["data_write_guid"] == oc["data_write_guid"] for h in hn), "DataWriteGuid unchanged",
           f"old current {V.guid_text(oc['data_write_guid'])}, new "
           + " ".join(V.guid_text(h["data_write_guid"]) for h in hn))
    report(all(h["log_guid"] == oc["log_guid"] for h in hn), "LogGuid unchanged")
    same = all(all(h[k] == oc[k] for k in ("log_version", "version", "log_length", "log_offset")) for h in hn)
    report(same, "LogVersion, Version, LogLength, LogOffset unchanged")
    with open(old, "rb") as f:
        f.seek(V.HEADER_OFFS[cur])
        old_block = f.read(V.HEADER_SIZE)
    with open(new, "rb") as f:
        blocks = []
        for o in V.HEADER_OFFS:
            f.seek(o)
            blocks.append(f.read(V.HEADER_SIZE))
    report(all(b[80:] == old_block[80:] for b in blocks), "reserved bytes of the current header kept")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
