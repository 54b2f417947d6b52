#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/bench/bench.sh - `make bench`: vhdx check vs qemu-img check vs vhdiinfo, and CRC-32C throughput.
#
# Images (in a temporary folder, removed afterwards):
#   a 16 TiB dynamic image with 1 MiB blocks (qemu-img create -f vhdx -o block_size=1M 16T; 16 Mi BAT entries)
#   an 8 GiB fixed image with every block FULLY_PRESENT (qemu-img ... subformat=fixed,block_state_zero=off;
#   skipped with less than 20 GiB free)
# Prints one table (median wall time over BENCH_RUNS runs, default 5; peak RSS; ratios against qemu-img;
# PASS/MISS against the targets).  Not part of `make test`: timings depend on the machine and its load.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
VHDX=${VHDX:-$ROOT/$BUILD/host/vhdx}
CRCBENCH=${CRCBENCH:-$ROOT/$BUILD/tests/bench/crcbench}
RUNS=${BENCH_RUNS:-5}

for c in qemu-img vhdiinfo python3; do
	command -v "$c" >/dev/null || { echo "bench: $c is missing (run tests/deps.sh)" >&2; exit 1; }
done
for f in "$VHDX" "$CRCBENCH"; do
	[[ -x $f ]] || { echo "bench: $f is missing (run make bench)" >&2; exit 1; }
done

WORK=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/vhdx-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

echo "bench: making the images in $WORK" >&2
qemu-img create -q -f vhdx -o block_size=1M "$WORK/16t.vhdx" 16T
args=(--runs "$RUNS" --vhdx "$VHDX" --crcbench "$CRCBENCH" --img16t "$WORK/16t.vhdx")
free_kib=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
if ((free_kib >= 20 * 1024 * 1024)); then
	qemu-img create -q -f vhdx -o subformat=fixed,block_state_zero=off,block_size=1M "$WORK/8g.vhdx" 8G
	args+=(--img8g "$WORK/8g.vhdx")
else
	echo "bench: only $((free_kib / 1024 / 1024)) GiB free in $WORK: skipping the 8 GiB image (needs 20)" >&2
	args+=(--skip8g "less than 20 GiB free")
fi
echo "bench: $RUNS runs each (plus one warm-up)" >&2
python3 "$ROOT/tests/bench/bench.py" "${args[@]}"
BUILD=$BUILD bash "$ROOT/tests/bench/chainbench.sh" # differencing chains
