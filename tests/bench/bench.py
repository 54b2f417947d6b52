#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""bench.py - measures and prints the benchmark table (called by tests/bench/bench.sh, which makes the images).

Usage: bench.py --runs N --vhdx TOOL --crcbench PROG [--img16t IMAGE] [--img8g IMAGE | --skip8g REASON]

Each command runs once to warm the page cache, then N times under /usr/bin/time; wall time is the median, peak
RSS the largest "Maximum resident set size" (%M) of the runs.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time


def measure(cmd, runs, tmp):
    """Wall time around `/usr/bin/time -f %M -o FILE cmd` (a small C parent, so the child's ru_maxrss is the
    tool's own: a child forked from python would report python's RSS as its high-water mark)."""
    walls, rss, rcs = [], [], set()
    out = os.path.join(tmp, "rss")
    for i in range(runs + 1):
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out, *cmd], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        rcs.add(p.returncode)
        if i == 0:
            continue  # warm-up
        walls.append(wall)
        with open(out) as f:
            rss.append(int(f.read().split()[-1]))  # KiB
    return dict(median=statistics.median(walls), rss_kib=max(rss), rc=sorted(rcs))


def fmt_t(m):
    s = f"{m['median']:.3f} s" if m["median"] < 10 else f"{m['median']:.1f} s"
    return s + ("" if m["rc"] == [0] else f" (exit {m['rc']})")


def fmt_rss(m):
    return f"{m['rss_kib'] / 1024:.1f} MiB"


def verdict(ok):
    return "PASS" if ok else "MISS"


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--vhdx", required=True)
    ap.add_argument("--crcbench", required=True)
    ap.add_argument("--img16t")
    ap.add_argument("--img8g")
    ap.add_argument("--skip8g")
    a = ap.parse_args(argv)

    rows = []
    results = {}
    cases = []
    if a.img16t:
        cases.append(("16t", "16 TiB dynamic, 1 MiB blocks (sparse)", a.img16t))
    if a.img8g:
        cases.append(("8g", "8 GiB, every block allocated", a.img8g))
    for key, label, img in cases:
        tools = {
            "vhdx": [a.vhdx, "check", img],
            "qemu": ["qemu-img", "check", "-f", "vhdx", img],
            "vhdi": ["vhdiinfo", img],
        }
        r = {k: measure(cmd, a.runs, os.path.dirname(img)) for k, cmd in tools.items()}
        results[key] = r
        tr = r["vhdx"]["median"] / r["qemu"]["median"]
        mr = r["vhdx"]["rss_kib"] / r["qemu"]["rss_kib"]
        fine = r["vhdx"]["rc"] == [0]
        if key == "16t":
            t_target = f"{verdict(fine and tr <= 1.0)} (no slower than qemu-img)"
            m_target = f"{verdict(fine and r['vhdx']['rss_kib'] <= 16 * 1024)} (<= 16 MiB)"
        else:
            t_target = m_target = "(no target)"
        rows.append((f"check: {label}, median of {a.runs}", fmt_t(r["vhdx"]), fmt_t(r["qemu"]), fmt_t(r["vhdi"]),
                     f"{tr:.2f}x", t_target))
        rows.append((f"peak RSS: {label}", fmt_rss(r["vhdx"]), fmt_rss(r["qemu"]), fmt_rss(r["vhdi"]), f"{mr:.2f}x",
                     m_target))
    if not a.img8g and a.skip8g:
        rows.append(("check: 8 GiB, every block allocated", f"skipped: {a.skip8g}", "", "", "", ""))

    p = subprocess.run([a.crcbench, "64", "9"], stdout=subprocess.PIPE, text=True)
    speeds, best = {}, {}
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0] == "crc32c" and parts[3] == "GB/s":
            speeds[parts[1]] = float(parts[2])
            if "best" in parts:
                best[parts[1]] = parts[parts.index("best") + 1]
    if p.returncode != 0:
        rows.append(("CRC-32C", "crcbench failed: " + " / ".join(p.stdout.splitlines()[:3]), "", "", "", "MISS"))
    for path, label, target in (("sse42", "SSE4.2", 8.0), ("portable", "portable", 1.0)):
        if path in speeds:
            rows.append((f"CRC-32C {label}, 64 MiB buffer, median of 9", f"{speeds[path]:.2f} GB/s (best {best.get(path, '?')})", "", "", "",
                         f"{verdict(speeds[path] >= target)} (>= {target:g} GB/s)"))
        else:
            rows.append((f"CRC-32C {label}", "unavailable", "", "", "", "MISS"))

    head = ("benchmark", "vhdx", "qemu-img", "vhdiinfo", "vhdx / qemu-img", "target")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]

    def line(r):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"

    print(line(head))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))
    print()
    print(f"# machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
          f"{time.strftime('%Y-%m-%d %H:%M:%S')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
