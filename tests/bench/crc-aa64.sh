#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/bench/crc-aa64.sh - `make bench`: CRC-32C throughput of the core's aarch64 paths (portable and
# the ARMv8 CRC32 instructions), the aarch64 build of tests/bench/crcbench.c run under qemu-aarch64 (user mode).
# Emulation makes the absolute figures meaningless, so the table gives each path as a ratio to the portable
# path measured in the same run; it also fails (exit 1) if crcbench's known answers or cross-checks fail.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
PROG=${AA64_CRCBENCH:-$BUILD/aa64-user/bench/crcbench}
MIB=${CRC_AA64_MIB:-64}
REPS=${CRC_AA64_REPS:-5}
CPU=${CRC_AA64_CPU:-cortex-a57}

echo
echo "CRC-32C, aarch64 build under qemu-aarch64 -cpu $CPU (user-mode emulation): $MIB MiB buffer, median of $REPS"
if ! command -v qemu-aarch64 >/dev/null; then
	echo "  skipped: qemu-aarch64 is missing (qemu-user; run tests/deps.sh)"
	exit 0
fi
if [[ ! -x $PROG ]]; then
	echo "  skipped: $PROG is not built (make aa64-unit; needs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross)"
	exit 0
fi
out=$(qemu-aarch64 -cpu "$CPU" "$PROG" "$MIB" "$REPS")
rc=$?
python3 - "$rc" <<PY
import sys
rc = int(sys.argv[1])
speeds, other = {}, []
for line in """$out""".splitlines():
    p = line.split()
    if len(p) >= 4 and p[0] == "crc32c" and p[3] == "GB/s":
        speeds[p[1]] = float(p[2])
    else:
        other.append(line)
rows = [("path", "GB/s under emulation", "ratio to portable")]
base = speeds.get("portable")
for path in ("portable", "armv8"):
    if path in speeds and base:
        rows.append((path, "%.3f" % speeds[path], "%.2fx" % (speeds[path] / base)))
    else:
        rows.append((path, "unavailable", ""))
w = [max(len(r[i]) for r in rows) for i in range(3)]
for i, r in enumerate(rows):
    print("| " + " | ".join(c.ljust(x) for c, x in zip(r, w)) + " |")
    if i == 0:
        print("|" + "|".join("-" * (x + 2) for x in w) + "|")
for line in other:
    print("  " + line)
if rc != 0:
    print("  crcbench (aarch64) FAILED: exit %d" % rc)
print("  (QEMU's TCG runs each crc32c instruction through a helper that works byte by byte, so under emulation the")
print("   instruction path can come out slower than the table path; the ratio compares code paths under emulation")
print("   only -- no ARM hardware was measured here.)")
PY
exit $rc
