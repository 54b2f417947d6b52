#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""imgcheck - host-side checks of a VHDX after a guest run, for tests/boot.

  imgcheck.py session BEFORE AFTER [RUNS]
                                     exactly one (or RUNS) session update(s) happened: both headers valid, sequences
                                     old+1 and old+2, FileWriteGuid new (v4, MS layout) and equal in both,
                                     DataWriteGuid, LogGuid and the other fields unchanged, reserved bytes kept,
                                     nothing outside the two 4 KiB header blocks changed
  imgcheck.py same BEFORE AFTER      byte-identical
  imgcheck.py seq IMAGE              the current sequence number
Prints one reason per problem on stdout; exit 0 when the check holds.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import vhdxlib  # noqa: E402

KiB = 1024
HDR = (64 * KiB, 128 * KiB)


def session(before, after, runs=1):
    bad = []
    a = open(before, "rb").read()
    b = open(after, "rb").read()
    if len(a) != len(b):
        bad.append(f"size changed {len(a)} -> {len(b)}")
        return bad
    hb = [vhdxlib.parse_header(a, o) for o in HDR]
    ha = [vhdxlib.parse_header(b, o) for o in HDR]
    cb = vhdxlib.current_header(hb)
    if cb is None:
        return ["no valid header before the run"]
    old = hb[cb]
    for i, h in enumerate(ha):
        if not h["valid"]:
            bad.append(f"header {i + 1} invalid after the run")
    if bad:
        return bad
    seqs = sorted(h["sequence"] for h in ha)
    want = [old["sequence"] + 2 * runs - 1, old["sequence"] + 2 * runs]
    if seqs != want:
        bad.append(f"sequences {seqs}, expected {want}")
    if ha[0]["file_write_guid"] != ha[1]["file_write_guid"]:
        bad.append("the two headers carry different FileWriteGuids")
    fwg = ha[0]["file_write_guid"]
    if fwg == old["file_write_guid"]:
        bad.append("FileWriteGuid unchanged")
    if not vhdxlib.guid_is_v4_ms(fwg):
        bad.append(f"new FileWriteGuid {vhdxlib.guid_text(fwg)} is not v4 in MS layout")
    for f in ("data_write_guid", "log_guid", "log_version", "version", "log_length", "log_offset"):
        for i, h in enumerate(ha):
            if h[f] != old[f]:
                bad.append(f"header {i + 1} {f} changed")
    for i, o in enumerate(HDR):
        if b[o + 80:o + 4096] != a[HDR[cb] + 80:HDR[cb] + 4096]:
            bad.append(f"header {i + 1} reserved bytes differ from the old current header's")
    # everything outside the two 4 KiB header blocks
    spans = [(0, HDR[0]), (HDR[0] + 4096, HDR[1]), (HDR[1] + 4096, len(a))]
    for s, e in spans:
        if a[s:e] != b[s:e]:
            first = next(i for i in range(s, e) if a[i] != b[i])
            bad.append(f"bytes changed outside the header blocks (first at offset {first})")
            break
    return bad


def main(argv):
    if len(argv) in (4, 5) and argv[1] == "session":
        bad = session(argv[2], argv[3], int(argv[4]) if len(argv) == 5 else 1)
    elif len(argv) == 4 and argv[1] == "same":
        bad = [] if open(argv[2], "rb").read() == open(argv[3], "rb").read() else ["image changed"]
    elif len(argv) == 3 and argv[1] == "seq":
        hs = vhdxlib.read_headers(argv[2])
        c = vhdxlib.current_header(hs)
        print("none" if c is None else hs[c]["sequence"])
        return 0
    else:
        print(__doc__)
        return 2
    for r in bad:
        print(r)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
