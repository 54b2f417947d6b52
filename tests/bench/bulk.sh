#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/bench/bulk.sh - `make bench`: the bulk paths against their peers on the same bytes, in one run.
#
#   seal    `vhdx seal --sha256 IMG`            vs `openssl dgst -sha256 RAW` (RAW: qemu-img's raw export of IMG)
#   import  `vhdx create --from SRC IMG`        vs `qemu-img convert -f raw -O vhdx -o block_size=32M SRC IMG`
#   export  `vhdx export IMG OUT`               vs `qemu-img convert -f vhdx -O raw IMG OUT`
#
# SRC is a sparse raw file of BENCH_BULK_GIB GiB (default 4; 2 when memory is short) whose every other 32 MiB
# block is random data, the rest holes; IMG is `vhdx create --from SRC`.  Everything lives in a tmpfs
# (BENCH_SHM, default /dev/shm), so the figures are CPU and memory bandwidth, not a disk.  Each of BENCH_RUNS
# pairs (default 5) runs ours and the peer back to back, alternating which goes first; ratio = our wall time /
# the peer's in that pair, reported best and median (the machine is shared: single runs are noise).
# BENCH_BULK_OPS (e.g. "import") runs only the named operations' pairs and their table rows, nothing after.  Outputs are
# checked in the same run: the seal digest equals openssl's on every pair, the imported image exports to SRC's
# bytes (cmp) and qemu-img compare agrees, both exports equal SRC (cmp).  Max RSS comes from /usr/bin/time.
# Then the core's SHA-256 MB/s on each path (tests/bench/sha256bench.c; aarch64 under qemu-aarch64, for
# information), and under OVMF/TCG the time vhdxboot takes to require-sha256 a 1 GiB all-allocated image: this
# build, and BENCH_BASELINE_EFI (a vhdxboot.efi of an earlier build) when given.  Exit 1 when an output differs.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
VHDX=$BUILD/host/vhdx
SHABENCH=$BUILD/tests/bench/sha256bench
RUNS=${BENCH_RUNS:-5}
OPS=${BENCH_BULK_OPS:-seal import export}
want() { [[ " $OPS " == *" $1 "* ]]; }
BLOCK_MIB=32

for c in qemu-img openssl python3 /usr/bin/time cmp; do
	command -v "$c" >/dev/null || { echo "bench: $c is missing (run tests/deps.sh)" >&2; exit 1; }
done
[[ -x $VHDX && -x $SHABENCH ]] || { echo "bench: $VHDX or $SHABENCH is missing (make bench builds them)" >&2; exit 1; }

avail_gib=$(awk '/^MemAvailable:/ { print int($2 / 1048576) }' /proc/meminfo)
GIB=${BENCH_BULK_GIB:-$((avail_gib >= 12 ? 4 : 2))}
W=$(mktemp -d "${BENCH_SHM:-/dev/shm}/vhdx-bulk.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
echo
echo "bulk paths: $GIB GiB virtual disk, half of it data in $BLOCK_MIB MiB blocks, in $(df -P "$W" | awk 'NR == 2 { print $1 }') ($W); $RUNS pairs"

python3 - "$W/src" "$GIB" "$BLOCK_MIB" <<'PY'
import os, random, sys
path, gib, block = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) << 20
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.ftruncate(fd, gib << 30)
rng = random.Random(20261206)
for i in range(0, (gib << 30) // block, 2):
    os.pwrite(fd, rng.randbytes(block), i * block)
os.close(fd)
PY
"$VHDX" create --from "$W/src" "$W/img.vhdx" >/dev/null || { echo "bench: vhdx create failed" >&2; exit 1; }

fail=0
check() { # WHAT: a failed output check is reported and fails the bench
	echo "  output check FAILED: $1"
	fail=1
}
# timed NAME CMD...: runs CMD with its stdout to $W/NAME.out; appends "wall maxrss_kib" to $W/NAME.times
timed() {
	local name=$1
	shift
	/usr/bin/time -f '%e %M' -o "$W/$name.t" "$@" >"$W/$name.out" 2>"$W/$name.err" || {
		echo "bench: $name failed: $(tail -2 "$W/$name.err")" >&2
		return 1
	}
	cat "$W/$name.t" >>"$W/$name.times"
}
# pair I OURS_FN PEER_FN: both once, the first alternating with I
pair() {
	if (($1 % 2)); then "$3" && "$2"; else "$2" && "$3"; fi
}

# ---- import: a new image each time; the first of ours is checked; each removed after
import_ours() {
	rm -f "$W/imp.vhdx"
	timed import_ours "$VHDX" create --from "$W/src" "$W/imp.vhdx" || return 1
	if [[ ! -e $W/import.checked ]]; then
		touch "$W/import.checked"
		"$VHDX" export "$W/imp.vhdx" - | cmp -s - "$W/src" || check "import: vhdx export of the imported image differs from the source"
		qemu-img compare -q -f vhdx -F raw "$W/imp.vhdx" "$W/src" || check "import: qemu-img compare says the imported image differs"
	fi
	rm -f "$W/imp.vhdx"
}
import_peer() {
	rm -f "$W/imp.vhdx"
	timed import_peer qemu-img convert -f raw -O vhdx -o block_size=${BLOCK_MIB}M "$W/src" "$W/imp.vhdx" || return 1
	rm -f "$W/imp.vhdx"
}
want import && for ((i = 0; i < RUNS; i++)); do pair "$i" import_ours import_peer || exit 1; done

# ---- export: each output compared with the source, then removed, on both sides alike: freeing 2 GiB of tmpfs
# just before a run makes that run's page allocations measurably cheaper here, so neither side may do it alone
export_ours() {
	rm -f "$W/exp.raw"
	timed export_ours "$VHDX" export "$W/img.vhdx" "$W/exp.raw" || return 1
	cmp -s "$W/exp.raw" "$W/src" || check "export: vhdx export differs from the source"
	rm -f "$W/exp.raw"
}
export_peer() {
	rm -f "$W/peer.raw"
	timed export_peer qemu-img convert -f vhdx -O raw "$W/img.vhdx" "$W/peer.raw" || return 1
	cmp -s "$W/peer.raw" "$W/src" || check "export: qemu-img's raw export differs from the source"
	rm -f "$W/peer.raw"
}
want export && for ((i = 0; i < RUNS; i++)); do pair "$i" export_ours export_peer || exit 1; done

# ---- seal: the digest of the whole virtual disk against openssl over the raw export
seal_ours() { timed seal_ours "$VHDX" seal --sha256 "$W/img.vhdx"; }
seal_peer() { timed seal_peer openssl dgst -sha256 -r "$W/peer.raw"; }
want seal && qemu-img convert -f vhdx -O raw "$W/img.vhdx" "$W/peer.raw" # openssl's input
want seal && for ((i = 0; i < RUNS; i++)); do
	pair "$i" seal_ours seal_peer || exit 1
	ours=$(sed -n 's/^require-sha256 = //p' "$W/seal_ours.out")
	peer=$(cut -d' ' -f1 "$W/seal_peer.out")
	[[ -n $ours && $ours == "$peer" ]] || check "seal: digest $ours, openssl $peer"
done
rm -f "$W/peer.raw"

python3 - "$W" "$RUNS" <<'PY'
import statistics, sys
w, runs = sys.argv[1], int(sys.argv[2])
def load(name):
    rows = [l.split() for l in open(f"{w}/{name}.times")]
    return [float(r[0]) for r in rows], [int(r[1]) for r in rows]
print(f"  {'operation':<8} {'peer':<34} {'ours s':>7} {'peer s':>7} {'ratio best':>10} {'median':>7} {'target':>7} "
      f"{'RSS ours':>9} {'RSS peer':>9}  verdict (median)")
for op, peer, target in (("seal", "openssl dgst -sha256 (raw export)", 1.11),
                         ("import", "qemu-img convert -O vhdx", 1.0),
                         ("export", "qemu-img convert -O raw", 1.0)):
    try:
        t_o, r_o = load(f"{op}_ours")
    except FileNotFoundError:
        continue
    t_p, r_p = load(f"{op}_peer")
    ratios = [a / b for a, b in zip(t_o, t_p) if b > 0]
    best, med = min(ratios), statistics.median(ratios)
    print(f"  {op:<8} {peer:<34} {statistics.median(t_o):>7.2f} {statistics.median(t_p):>7.2f} {best:>10.2f} "
          f"{med:>7.2f} {'<=' + format(target, '.2f'):>7} {max(r_o) // 1024:>6} MiB {max(r_p) // 1024:>5} MiB  "
          f"{'PASS' if med <= target else 'MISS'}{'' if med <= target or best > target else ' (best PASS)'}")
print("  (ratio = our wall time / the peer's in the same pair; s = median wall seconds; RSS = the largest max RSS)")
PY
[[ -n ${BENCH_BULK_OPS:-} ]] && exit $fail

# ---- the core's SHA-256 on each path, CPU time over 256 MiB in memory
head -c $((256 << 20)) /dev/urandom >"$W/sha.bin"
echo
echo "SHA-256 of the core, 256 MiB in memory, CPU time (median of 5):"
"$SHABENCH" "$W/sha.bin" 5 | sed 's/^/  x86_64: /'
AA64_CC=aarch64-linux-gnu-gcc
AA64_LIB=$BUILD/aa64-user/core/libvhdxcore.a
if command -v qemu-aarch64 >/dev/null && command -v "$AA64_CC" >/dev/null &&
	make --no-print-directory BUILD="$BUILD" "$AA64_LIB" >/dev/null 2>&1 &&
	"$AA64_CC" -std=c11 -O2 -D_GNU_SOURCE -static -Icore tests/bench/sha256bench.c "$AA64_LIB" -o "$W/sha256bench-aa64" 2>/dev/null; then
	head -c $((32 << 20)) "$W/sha.bin" >"$W/sha32.bin"
	qemu-aarch64 "$W/sha256bench-aa64" "$W/sha32.bin" 3 | sed 's/^/  aarch64 under qemu-aarch64 (emulated: for information), 32 MiB: /'
else
	echo "  aarch64: skipped (needs qemu-aarch64 and gcc-aarch64-linux-gnu)"
fi
rm -f "$W"/sha*.bin

# ---- require-sha256 at boot under OVMF/TCG: 1 GiB, every block allocated
BOOT_TIMEOUT=${BOOT_TIMEOUT:-900}
source tests/boot/lib/common.bash >/dev/null
trap 'cleanup_work; rm -rf "$W"' EXIT # common.bash sets its own trap: keep removing the bench data too
need_tools
boot_hash() { # NAME MODULE: the module's own "hashed ... in about S s" line and the wall time of the boot
	new_case "$1"
	EFI_MODULE=$2 esp_module_as_bootx64
	make_vhdx "$C/d.vhdx" 1G "block_size=32M"
	qemu-io -f vhdx -c 'write -P 0x5c 0 1G' "$C/d.vhdx" >/dev/null
	local sha t0 t1
	sha=$("$VHDX" seal --sha256 "$C/d.vhdx" | sed -n 's/^require-sha256 = //p')
	printf 'next = \\payload.efi\r\nargs = marker=BENCH poweroff\r\nrequire-sha256 = %s\r\n' "$sha" >"$C/esp/EFI/BOOT/vhdxboot.conf"
	attach_virtio "$C/d.vhdx"
	with_rng
	t0=$(date +%s.%N)
	boot_guest >/dev/null 2>&1
	t1=$(date +%s.%N)
	local line
	line=$(sed -n 's/^vhdxboot: require-sha256: \(hashed .* in about [0-9]* s\)$/\1/p' "$C/log")
	grep -q '^vhdxboot: policy: the image matches require-sha256' "$C/log" || line="$line (no match line: see $C/log)"
	printf '  %-9s %s; whole boot %.0f s wall\n' "$1" "${line:-no hashed line}" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
	rm -f "$C/d.vhdx"
}
echo
echo "require-sha256 of a 1 GiB all-allocated image under OVMF/TCG (guest CPU max: TCG offers no SHA extensions, so"
echo "the firmware hashes with the portable path either way):"
if [[ -n ${BENCH_BASELINE_EFI:-} ]]; then
	boot_hash before "$BENCH_BASELINE_EFI"
else
	echo "  before    skipped (BENCH_BASELINE_EFI=path/to/an/earlier/vhdxboot.efi to compare)"
fi
boot_hash after "$EFI_MODULE"
exit $fail
