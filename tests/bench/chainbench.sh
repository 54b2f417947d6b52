#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/bench/chainbench.sh - differencing chains: `vhdx export` of the child of a 3-level chain
# (base + 3 children, data written into every level by tests/tools/diffwriter.py) against `vhdx export` of the
# same disk flattened into one dynamic image; best and median wall time of CHAIN_RUNS passes each (after one
# warm-up; output to /dev/null), the ratios, and whether both exports give the same bytes.  Run by `make bench` (tests/bench/bench.sh).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
VHDX=$ROOT/$BUILD/host/vhdx
RUNS=${CHAIN_RUNS:-${BENCH_RUNS:-5}}
SIZE_MIB=${CHAIN_SIZE_MIB:-1024}
WORK=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/vhdx-chainbench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
MiB=$((1024 * 1024))

# base: every MiB holds data, so the flattened image and the chain hold the same bytes and the difference is the
# chain's own cost (bitmap lookups, a read per run, a level per fall-through); each child rewrites scattered
# pieces (partial sectors, whole blocks)
python3 - "$WORK/base.raw" "$SIZE_MIB" <<'PY'
import random, sys
path, mib = sys.argv[1], int(sys.argv[2])
r = random.Random(1)
with open(path, "wb") as f:
    for m in range(mib):
        f.write(r.randbytes(1 << 20))
PY
"$VHDX" create --block-size 1M --from "$WORK/base.raw" "$WORK/base.vhdx" >/dev/null || exit 1
parent=$WORK/base.vhdx levels=""
for i in 1 2 3; do
	"$VHDX" create --parent "$parent" "$WORK/c$i.vhdx" >/dev/null || exit 1
	w=$(python3 -c "
import random; r = random.Random($i); mib = $SIZE_MIB
print(','.join('[%d, %d, %d]' % (r.randrange((mib << 20) - (2 << 20)) // 512 * 512 + r.randrange(512), r.choice([700, 70000, 1 << 20]), k) for k in range(mib // 8)))")
	levels+="${levels:+,}{\"image\": \"$WORK/c$i.vhdx\", \"writes\": [$w]}"
	parent=$WORK/c$i.vhdx
done
printf '{"size": %d, "base_raw": "%s", "reference": "%s", "levels": [%s]}\n' $((SIZE_MIB * MiB)) "$WORK/base.raw" \
	"$WORK/ref.raw" "$levels" >"$WORK/spec.json"
python3 "$ROOT/tests/tools/diffwriter.py" run "$WORK/spec.json" || exit 1
"$VHDX" create --block-size 1M --from "$WORK/ref.raw" "$WORK/flat.vhdx" >/dev/null || exit 1

python3 - "$VHDX" "$WORK" "$RUNS" "$SIZE_MIB" <<'PY'
import filecmp, statistics, subprocess, sys, time
vhdx, work, runs, mib = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
# timed: export to standard output into /dev/null (the reads, not the output file system); the passes of the two
# images alternate, so that a load spike on the shared machine hits both alike
t = {"chain": [], "flat": []}
imgs = {"chain": work + "/c3.vhdx", "flat": work + "/flat.vhdx"}
for k in range(runs + 1):  # pass 0 is the warm-up
    for name, img in imgs.items():
        s = time.monotonic()
        subprocess.run([vhdx, "export", img, "-"], check=True, stdout=subprocess.DEVNULL)
        if k:
            t[name].append(time.monotonic() - s)
chain_best, chain_med = min(t["chain"]), statistics.median(t["chain"])
flat_best, flat_med = min(t["flat"]), statistics.median(t["flat"])
for name, img in imgs.items():
    subprocess.run([vhdx, "export", img, work + "/" + name + ".raw"], check=True)
same = filecmp.cmp(work + "/chain.raw", work + "/flat.raw", shallow=False)
print("chain read (vhdx export to /dev/null, %d MiB virtual, depth 3: base + 3 children; %d passes + 1 warm-up): "
      "chain best %.3f s median %.3f s, flattened best %.3f s median %.3f s, ratio %.2fx (best) %.2fx (median), %s"
      % (mib, runs, chain_best, chain_med, flat_best, flat_med, chain_best / flat_best, chain_med / flat_med,
         "same bytes" if same else "OUTPUTS DIFFER"))
sys.exit(0 if same else 1)
PY
