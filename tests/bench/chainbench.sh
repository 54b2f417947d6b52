#!/usr/bin/env bash
# tests/bench/chainbench.sh - differencing chains (issue 11): `vhdx export` of the child of a 3-level chain
# (base + 3 children, data written into every level by tests/tools/diffwriter.py) against `vhdx export` of the
# same disk flattened into one dynamic image; median wall time of CHAIN_RUNS runs each, and the ratio.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
VHDX=$ROOT/$BUILD/host/vhdx
RUNS=${CHAIN_RUNS:-${BENCH_RUNS:-5}}
SIZE_MIB=${CHAIN_SIZE_MIB:-1024}
WORK=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/vhdx-chainbench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
MiB=$((1024 * 1024))

# base: every 4th MiB holds data; each child rewrites scattered pieces (partial sectors, whole blocks)
python3 - "$WORK/base.raw" "$SIZE_MIB" <<'PY'
import random, sys
path, mib = sys.argv[1], int(sys.argv[2])
r = random.Random(1)
with open(path, "wb") as f:
    f.truncate(mib << 20)
    for m in range(0, mib, 4):
        f.seek(m << 20)
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
def timed(img, out):
    t = []
    for k in range(runs + 1):  # one warm-up
        s = time.monotonic()
        subprocess.run([vhdx, "export", img, out], check=True)
        if k:
            t.append(time.monotonic() - s)
    return statistics.median(t)
chain = timed(work + "/c3.vhdx", work + "/chain.raw")
flat = timed(work + "/flat.vhdx", work + "/flat.raw")
same = filecmp.cmp(work + "/chain.raw", work + "/flat.raw", shallow=False)
print("chain read (export, %d MiB virtual): 3-level chain %.3f s, flattened %.3f s, ratio %.2fx%s"
      % (mib, chain, flat, chain / flat, "" if same else "  (OUTPUTS DIFFER)"))
sys.exit(0 if same else 1)
PY
