#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Malformed images: one damaged image per validation rule (tests/tools/vhdxmut.py), run through `vhdx check` and
`vhdx session`.  For each case: the exit statuses, message fragments on stderr (case-insensitive; a fragment
starting with '!' must NOT appear), the file byte-identical after `check` always and after a refused `session`; after
an accepted `session`: both headers valid with higher sequence numbers and zero LogGuid, `vhdx check` still passes,
the exported bytes listed in EXPORT_PROBES as before, and (unless a pending log was replayed) only the two header
blocks changed.  One protocol line per case.

Environment: VHDX (the tool; default build/host/vhdx under the repo root), MALFORMED_ONLY (substring filter).
"""
import hashlib
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
import vhdxlib as V  # noqa: E402
import vhdxmut as M  # noqa: E402

VHDX = os.environ.get("VHDX") or os.path.join(ROOT, "build", "host", "vhdx")

# name: (check exit, session exit, fragments for check's stderr, fragments for session's stderr or None = same)
W = "warning"
SESSION_REFUSED = ["nothing was written"]
CASES = {
    "file identifier bad signature": (1, 1, ["file identifier", "signature"], None),
    "file shorter than the header area": (1, 1, ["file identifier", "1 MiB header area"], None),
    "empty file": (1, 1, ["file identifier", "0 bytes"], None),
    "header 1 bad signature": (0, 0, [W, "header 1: signature", "using header 2"], []),
    "header 1 bad checksum": (0, 0, [W, "header 1: checksum", "using header 2"], []),
    "header 2 (current) bad checksum": (0, 0, [W, "header 2: checksum", "using header 1"], []),
    "both headers bad checksum": (1, 1, ["no valid header", "header 1: checksum", "header 2: checksum"], None),
    "both headers bad signature": (1, 1, ["no valid header", "header 1: signature", "header 2: signature"], None),
    "header 1 bad signature, header 2 bad checksum": (1, 1, ["no valid header", "header 1: signature",
                                                            "header 2: checksum"], None),
    "equal sequence different content": (1, 1, ["headers 1 and 2", "sequence number 6", "differ"], None),
    "equal sequence identical content": (0, 0, ["!" + W], []),
    "equal sequence, reserved bytes differ": (1, 1, ["headers 1 and 2", "differ"], None),
    "current header version 2": (1, 1, ["header 2: Version 2 is not 1"], None),
    "non-current header version 0": (1, 1, ["header 1: Version 0 is not 1"], None),
    "damaged header with version 2 is ignored": (0, 0, [W, "header 1: checksum"], []),
    "log version 1": (1, 1, ["header 2: LogVersion 1"], None),
    "log length not a 1 MiB multiple": (1, 1, ["header 2: LogLength 1052672"], None),
    "log offset not 1 MiB aligned": (1, 1, ["header 2: LogOffset 1052672"], None),
    "log offset zero (header area)": (1, 1, ["header 2: LogOffset 0"], None),
    "log beyond end of file": (1, 1, ["header 2: log at 7340032", "beyond the end of the file"], None),
    "log length overflows": (1, 1, ["header 2: log at", "beyond the end of the file"], None),
    # a pending log: check accepts it (reads see it replayed in memory); session replays it, then updates
    "LogGuid non-zero (pending log)": (0, 0, [W, "LogGuid", "replayed"], []),
    "pending log, two entries, the later wins": (0, 0, [W, "LogGuid"], []),
    "pending log, new block beyond the end of the file": (0, 0, [W, "LogGuid"], []),
    # LogGuid set but no valid entry: nothing to replay (as QEMU does); session clears LogGuid
    "pending log, no valid entry": (0, 0, [W, "LogGuid", "no valid sequence"], []),
    "pending log, entry checksum bad": (0, 0, [W, "LogGuid", "no valid sequence"], []),
    "pending log, entries carry another LogGuid": (0, 0, [W, "LogGuid", "no valid sequence"], []),
    "pending log, FlushedFileOffset beyond the file": (1, 1, ["FlushedFileOffset 67108864"], None),
    "pending log, descriptor targets a header": (1, 1, ["descriptor 0", "inside the headers or the log"], None),
    "pending log, descriptor beyond LastFileOffset": (1, 1, ["beyond LastFileOffset"], None),
    "LogGuid non-zero in the non-current header only": (0, 0, ["!LogGuid"], []),
    "sequence at UINT64_MAX": (0, 1, [], ["SequenceNumber 18446744073709551615", "cannot be raised"]
                               + SESSION_REFUSED),
    "sequence at UINT64_MAX-1": (0, 1, [], ["SequenceNumber 18446744073709551614", "cannot be raised"]
                                 + SESSION_REFUSED),
    "sequence at UINT64_MAX-2": (0, 0, [], []),
    "header 1 current (higher sequence)": (0, 0, [], []),
    "GUIDs not version 4 (QEMU style)": (0, 0, ["!" + W], []),
    "region table 1 bad checksum": (0, 0, [W, "region table 1: checksum", "using region table 2"], []),
    "region table 2 bad signature": (0, 0, [W, "region table 2: signature", "using region table 1"], []),
    "both region tables bad checksum": (1, 1, ["both region tables are damaged", "region table 1: checksum",
                                              "region table 2: checksum"], None),
    "region tables differ, both valid": (0, 0, [W, "region tables 1 and 2 differ"], []),
    "region table 1 damaged entry, table 2 good": (0, 0, [W, "region table 1: entry", "using region table 2"], []),
    "region entry count 2048": (1, 1, ["entry count 2048 exceeds 2047"], None),
    "BAT region missing": (1, 1, ["no BAT region"], None),
    "metadata region missing": (1, 1, ["no metadata region"], None),
    "region table empty": (1, 1, ["no BAT region"], None),
    "duplicate metadata region": (1, 1, ["second metadata region"], None),
    "duplicate BAT region": (1, 1, ["second BAT region"], None),
    "unknown required region": (1, 1, ["unknown required region", "12345678-9ABC-4DEF-8123-456789ABCDEF"], None),
    "unknown required region in table 2 only": (1, 1, ["region table 2", "unknown required region"], None),
    "unknown optional region": (0, 0, ["!" + W], []),
    "region not 1 MiB aligned": (1, 1, ["offset 3211264", "not a 1 MiB multiple"], None),
    "region length not a 1 MiB multiple": (1, 1, ["length 1044480", "multiple of 1 MiB"], None),
    "region length zero": (1, 1, ["length 0", "multiple of 1 MiB"], None),
    "region in the header area": (1, 1, ["file offset 0", "at least 1 MiB"], None),
    "region overlaps log": (1, 1, ["overlaps the log"], None),
    "regions overlap each other": (1, 1, ["overlaps entry"], None),
    "region beyond end of file": (1, 1, ["offset 67108864", "beyond the end of the file"], None),
    "region offset overflows": (1, 1, ["beyond the end of the file"], None),
    "metadata bad signature": (1, 1, ["metadata table: signature"], None),
    "metadata entry count 2048": (1, 1, ["metadata table: entry count 2048"], None),
    "metadata item offset below 64 KiB": (1, 1, ["offset 32768 is below 64 KiB"], None),
    "metadata item beyond region": (1, 1, ["runs beyond the metadata region"], None),
    "metadata item length over 1 MiB": (1, 1, ["length 1048592 exceeds 1 MiB"], None),
    "metadata items overlap": (1, 1, ["metadata table: entry 1 overlaps entry 0"], None),
    "metadata item length 0 with an offset": (1, 1, ["length 0 but offset"], None),
    "missing file parameters": (1, 1, ["File Parameters item is missing"], None),
    "missing virtual disk size": (1, 1, ["Virtual Disk Size item is missing"], None),
    "missing virtual disk id": (1, 1, ["Virtual Disk ID item is missing"], None),
    "missing logical sector size": (1, 1, ["Logical Sector Size item is missing"], None),
    "missing physical sector size": (1, 1, ["Physical Sector Size item is missing"], None),
    "duplicate known item": (1, 1, ["second Virtual Disk Size item"], None),
    "unknown required item": (1, 1, ["unknown required item", "12345678-9ABC-4DEF-8123-456789ABCDEF"], None),
    "unknown optional item": (0, 0, ["!" + W], []),
    "known item wrong length": (1, 1, ["File Parameters length 4 is not 8"], None),
    "block size not a power of two": (1, 1, ["BlockSize 3145728"], None),
    "block size 512 KiB": (1, 1, ["BlockSize 524288"], None),
    "block size 512 MiB": (1, 1, ["BlockSize 536870912"], None),
    "block size 0": (1, 1, ["BlockSize 0"], None),
    "virtual size 0": (1, 1, ["Virtual Disk Size 0"], None),
    "virtual size not a sector multiple": (1, 1, ["Virtual Disk Size 8388508"], None),
    "virtual size over 64 TiB": (1, 1, ["Virtual Disk Size 70368744178176"], None),
    "virtual size not a 4 KiB multiple with 4 KiB sectors": (1, 1, ["Virtual Disk Size 8388096"], None),
    "logical sector 1024": (1, 1, ["Logical Sector Size 1024"], None),
    "physical sector 8192": (1, 1, ["Physical Sector Size 8192"], None),
    "has parent without locator": (1, 1, ["HasParent", "Parent Locator"], None),
    "leave blocks allocated flag": (0, 0, [], []),
    # a differencing image is checked and updated only with its chain: no path to its parent means the parent is
    # not found, and session refuses (as the firmware does) and writes nothing
    "differencing disk with a valid parent locator": (2, 2, ["parent {11111111-2222-4333-8444-555555555555} not found",
                                                         "no relative_path or absolute_win32_path"], None),
    "parent locator duplicate key": (1, 1, ["Parent Locator entry 1", "a second parent_linkage"], None),
    "parent locator linkage not a GUID": (1, 1, ["parent_linkage", "\"11111111-2222\" is not a GUID in braces"],
                                          None),
    "parent locator value offset beyond the item": (1, 1, ["Parent Locator entry 0", "value 60000"], None),
    "partially present block without its sector bitmap": (1, 1, ["sector bitmap 0", "payload block 1 is partially present"],
                                                          None),
    "parent locator of unknown type": (1, 1, ["Parent Locator type"], None),
    "parent locator entry count too high": (1, 1, ["Parent Locator entry count 1000"], None),
    "parent locator key outside the item": (1, 1, ["Parent Locator entry 0", "outside"], None),
    "BAT region too small for entries": (1, 1, ["BAT region", "131072 entries", "needs 200048"], None),
    "BAT entry state 4": (1, 1, ["BAT entry 1", "state 4"], None),
    "BAT entry state 5": (1, 1, ["BAT entry 1", "state 5"], None),
    "BAT entry state 7 on non-differencing": (1, 1, ["BAT entry 2", "state 7"], None),
    "BAT states 1, 2, 3 accepted": (0, 0, ["!" + W], []),
    "BAT reserved bits set": (0, 0, [W, "reserved bits"], []),
    "block in the header area": (1, 1, ["BAT entry 1", "header area"], None),
    "block beyond end of file": (1, 1, ["BAT entry 1", "beyond the end of the file"], None),
    "block offset at the top of the address space": (1, 1, ["BAT entry 1", "beyond the end of the file"], None),
    "file truncated inside the last block": (1, 1, ["BAT entry 7", "beyond the end of the file"], None),
    "block overlaps log": (1, 1, ["BAT entry 1", "overlaps the log"], None),
    "block overlaps metadata": (1, 1, ["BAT entry 1", "overlaps the metadata region"], None),
    "block overlaps BAT": (1, 1, ["BAT entry 1", "overlaps the BAT region"], None),
    "two blocks overlap": (1, 1, ["BAT entry 2", "overlaps another block"], None),
    "2 MiB blocks overlap by 1 MiB": (1, 1, ["BAT entry 3", "overlaps another block"], None),
    "5 GiB disk, sector bitmap in the BAT region": (1, 1, ["BAT entry 4096", "sector bitmap 0",
                                                          "overlaps the BAT region"], None),
    "5 GiB disk, sector bitmap state 2": (1, 1, ["BAT entry 4096", "sector bitmap 0", "state 2"], None),
    "5 GiB disk, block 4096 present": (0, 0, [], []),
    "5 GiB disk, block 4096 overlaps block 0": (1, 1, ["BAT entry 4097", "payload block 4096",
                                                      "overlaps another block"], None),
    "4 KiB logical sectors": (0, 0, ["!" + W], []),
    "256 MiB blocks, partial last block": (0, 0, ["!" + W], []),
}

# extra content checks after `vhdx export`: name -> [(virtual offset, expected byte)]
EXPORT_PROBES = {
    # a pending log is replayed in memory for reads: the export shows the logged data, the file stays as it was
    "LogGuid non-zero (pending log)": [(0, 0x11), (4095, 0x11), (4096, ord("L")), (4103, ord("!")), (4104, 0xEE),
                                       (8187, 0xEE), (8188, ord("T")), (8191, ord("L")), (8192, 0x11)],
    "pending log, two entries, the later wins": [(0, 0xB2), (4095, 0xB2), (4096, 0x11), (2 * V.MiB, 0),
                                                 (2 * V.MiB + 8191, 0), (2 * V.MiB + 8192, 0x22)],
    "pending log, new block beyond the end of the file": [(0, 0x11), (V.MiB, 0xAB), (V.MiB + 4095, 0xAB),
                                                          (V.MiB + 4096, 0), (2 * V.MiB - 1, 0), (2 * V.MiB, 0x22)],
    "5 GiB disk, block 4096 present": [(0, 0x11), (V.MiB, 0), (4096 * V.MiB, 0x55), (4097 * V.MiB - 1, 0x55),
                                       (4097 * V.MiB, 0), (5 * V.GiB - 1, 0)],
    "256 MiB blocks, partial last block": [(0, 0), (256 * V.MiB, 0x42), (300 * V.MiB + 511, 0x42)],
    "BAT states 1, 2, 3 accepted": [(0, 0x11), (2 * V.MiB, 0x22), (4 * V.MiB, 0), (6 * V.MiB + 5, 0),
                                    (8 * V.MiB - 513, 0x77)],
    "4 KiB logical sectors": [(0, 0x11), (V.MiB, 0), (2 * V.MiB + 7, 0x22), (8 * V.MiB - 4097, 0x77)],
}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run(*args):
    p = subprocess.run([VHDX, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                       stdin=subprocess.DEVNULL, timeout=300)
    return p.returncode, p.stdout, p.stderr


def frag_problems(text, frags, what):
    out = []
    low = text.lower()
    for f in frags:
        if f.startswith("!"):
            if f[1:].lower() in low:
                out.append(f"{what} output has {f[1:]!r}")
        elif f.lower() not in low:
            out.append(f"{what} stderr lacks {f!r}")
    return out


def short(text):
    t = " | ".join(line for line in text.strip().splitlines() if line)[:300]
    return t or "(nothing)"


def probe(name, img, tmp, what):
    """Exports the virtual disk and checks the bytes listed in EXPORT_PROBES."""
    raw = os.path.join(tmp, "out.raw")
    rc, _, err = run("export", img, raw)
    if rc != 0:
        return [f"{what}: export exited {rc} ({short(err)})"]
    try:
        with open(raw, "rb") as f:
            for off, want in EXPORT_PROBES[name]:
                f.seek(off)
                got = f.read(1)
                if got != bytes([want]):
                    return [f"{what}: byte at {off} is {got.hex() or 'EOF'}, expected {want:02x}"]
    finally:
        os.unlink(raw)
    return []


def run_case(name, base, tmp):
    want_check, want_session, frags, sfrags = CASES[name]
    img = os.path.join(tmp, "img.vhdx")
    with open(img, "wb") as f:
        f.write(M.apply(name, base))
    problems = []

    before = sha256(img)
    rc, out, err = run("check", img)
    if rc != want_check:
        problems.append(f"check exited {rc}, expected {want_check} (stderr: {short(err)})")
    problems += frag_problems(err + out if any(x.startswith("!") for x in frags) else err, frags, "check")
    if rc != 0 and f"vhdx: {img}:" not in err:
        problems.append(f"check's error does not name the image as 'vhdx: IMAGE: ...' (stderr: {short(err)})")
    if sha256(img) != before:
        problems.append("check modified the file")

    if rc == 0 and name in EXPORT_PROBES:
        problems += probe(name, img, tmp, "export")

    old_hs = V.read_headers(img) if os.path.getsize(img) >= 132 * 1024 else None
    rc, out, err = run("session", img)
    if rc != want_session:
        problems.append(f"session exited {rc}, expected {want_session} (stderr: {short(err)})")
    problems += frag_problems(err, frags if sfrags is None else sfrags, "session")
    after = sha256(img)
    if want_session != 0:
        if after != before:
            problems.append("refused session modified the file")
    elif rc == 0:
        hs = V.read_headers(img)
        if not (hs[0]["valid"] and hs[1]["valid"]):
            problems.append("after session: not both headers valid")
        old_max = max((h["sequence"] for h in old_hs if h["valid"]), default=0)
        if not all(h["sequence"] > old_max for h in hs):
            problems.append(f"after session: sequences {[h['sequence'] for h in hs]} not above {old_max}")
        rc2, _, err2 = run("check", img)
        if rc2 != want_check:
            problems.append(f"check after session exited {rc2} ({short(err2)})")
        if any(h["log_guid"] != V.ZERO_GUID for h in hs if h["valid"]) or "LogGuid" in err2:
            problems.append(f"after session: LogGuid not zero ({short(err2)})")
        if name in EXPORT_PROBES:
            problems += probe(name, img, tmp, "after session")
    return problems


def changed_outside_headers(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        da, db = fa.read(), fb.read()
    if len(da) != len(db):
        return True
    for lo, hi in ((0, V.HEADER_OFFS[0]), (V.HEADER_OFFS[0] + V.HEADER_SIZE, V.HEADER_OFFS[1]),
                   (V.HEADER_OFFS[1] + V.HEADER_SIZE, len(da))):
        if da[lo:hi] != db[lo:hi]:
            return True
    return False


def main():
    only = os.environ.get("MALFORMED_ONLY", "")
    names = [n for n in M.MUTATIONS if only in n]
    missing = [n for n in M.MUTATIONS if n not in CASES]
    extra = [n for n in CASES if n not in M.MUTATIONS]
    print(f"# {len(names)} cases; tool {VHDX}")
    if missing or extra:
        print(f"not ok - malformed: case table matches vhdxmut: no expectation for {missing}, unknown {extra}")
    if not os.access(VHDX, os.X_OK):
        print(f"not ok - malformed: the vhdx tool {VHDX} is missing (build it with make)")
        return 1
    base = V.build_image()
    fails = 0
    with tempfile.TemporaryDirectory(prefix="vhdx-malformed.") as tmp:
        for name in names:
            if name not in CASES:
                continue
            try:
                problems = run_case(name, base, tmp)
                if CASES[name][1] == 0 and not problems and not name.startswith(("pending log", "LogGuid")):
                    # a second pass on a fresh copy, comparing bytes: only the header blocks may change
                    img, ref = os.path.join(tmp, "img.vhdx"), os.path.join(tmp, "ref.vhdx")
                    data = M.apply(name, base)
                    for p in (img, ref):
                        with open(p, "wb") as f:
                            f.write(data)
                    run("session", img)
                    if changed_outside_headers(ref, img):
                        problems.append("session changed bytes outside the two header blocks")
            except Exception as e:  # a harness problem is a failure of the case, not a crash of the suite
                problems = [f"harness error: {type(e).__name__}: {e}"]
            if problems:
                fails += 1
                print(f"not ok - malformed: {name}: " + "; ".join(problems))
            else:
                print(f"ok - malformed: {name}")
            sys.stdout.flush()
    return 1 if fails or missing or extra else 0


if __name__ == "__main__":
    sys.exit(main())
