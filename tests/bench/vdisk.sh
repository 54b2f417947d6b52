#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/bench/vdisk.sh - the firmware-phase bench, for `make bench` (called by tests/bench/boot.sh).
#
# A FAT partition (200 MiB of random data in one file) on a raw GPT disk, and the same disk turned into a dynamic
# VHDX with 1 MiB blocks, every block present (qemu-img convert -S 0).  Each row is one QEMU run with both disks
# attached on the same bus: vhdxboot starts build/efi/partread.efi from inside the VHDX, which reads the whole
# partition through the partition's Block I/O (the firmware's partition driver over vhdxboot's virtual disk, and
# over the raw disk), request by request from both in turn, each call timed on its own, and compares checksums.
# "best" and "median" add up each request's best and median time over the passes (a host time slice on this shared
# machine spoils a pass total, hardly a per-request minimum or median); the per-pass ratios are printed as well.
# Target: virtual/raw >= 0.9 at 1 MiB requests, best and median.
#
# Rows (BENCH_ROWS, space-separated, default all): BUS:LAYOUT:ALIGN
#   virtio:inorder:0   the issue's case: page-aligned buffers, blocks in file order
#   nvme:inorder:0     the same on NVMe (OVMF's NVMe driver: IoAlign 8)
#   virtio:shuffled:0  the blocks moved around in the file (tests/tools/vhdxshuffle.py): no two file neighbours
#   nvme:inorder:1     buffers 1 byte past a page on an IoAlign 8 disk: every request through vhdxboot's bounce
#                      buffer (and through the firmware's DiskIo bounce on the raw side, hence a ratio far above 1)
# Environment: BUILD, BENCH_PASSES (default 11), BENCH_REQ_KIB (default 1024), BENCH_DATA_MIB (default 200),
# BENCH_ROWS, KEEP=1.  Prints "bench:" lines and a table; exit 0 unless a run failed outright.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
export ROOT
BUILD=${BUILD:-build}
PASSES=${BENCH_PASSES:-11}
REQ_KIB=${BENCH_REQ_KIB:-1024}
DATA_MIB=${BENCH_DATA_MIB:-200}
ROWS=${BENCH_ROWS:-virtio:inorder:0 nvme:inorder:0 virtio:shuffled:0 nvme:inorder:1}
source tests/boot/lib/common.bash
# the name in the result lines (common.bash names a suite after its file)
SUITE=bench-vdisk
need_tools
PARTREAD=$BUILD/efi/partread.efi
[[ -f $PARTREAD ]] || { echo "bench: $PARTREAD missing (make)"; exit 2; }

# ---- the disks, made once
IMG=$WORK/img
mkdir -p "$IMG"
part_mib=$((DATA_MIB + 8))
mkfs.vfat -C -n PARTREAD "$IMG/part.fat" $((part_mib * 1024)) >/dev/null
mcopy -i "$IMG/part.fat" "$PARTREAD" ::/partread.efi
head -c $((DATA_MIB << 20)) /dev/urandom >"$IMG/random.bin"
mcopy -i "$IMG/part.fat" "$IMG/random.bin" ::/random.bin
rm -f "$IMG/random.bin"
python3 tests/boot/lib/mkdisk.py "$IMG/raw" $((part_mib + 2)) "$IMG/part.fat" 512 >/dev/null
rm -f "$IMG/part.fat"
qemu-img convert -S 0 -f raw -O vhdx -o subformat=dynamic,block_size=1M "$IMG/raw" "$IMG/inorder.vhdx"
if [[ $ROWS == *shuffled* ]]; then
	cp "$IMG/inorder.vhdx" "$IMG/shuffled.vhdx"
	python3 tests/tools/vhdxshuffle.py "$IMG/shuffled.vhdx" >/dev/null
fi

# layout IMAGE: present blocks and the runs contiguous in the file (one backend read per run at best)
layout() {
	python3 - "$1" "$(stat -c %s "$IMG/raw")" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.environ["ROOT"], "tests", "tools"))
import vhdxlib
buf = open(sys.argv[1], "rb").read(8 << 20)
bat = vhdxlib.find_region(buf, vhdxlib.GUID_BAT)
cr = vhdxlib.chunk_ratio(1 << 20, 512)
present = runs = 0
prev = None
for b in range(-(-int(sys.argv[2]) // (1 << 20))):
    e = vhdxlib.get_bat(buf, vhdxlib.bat_index(b, cr), bat["offset"])
    off = e & ~0xFFFFF if e & 7 == 6 else None
    present += off is not None
    runs += off is not None and (prev is None or off != prev + (1 << 20))
    prev = off
print(f"{present}/{b + 1} blocks present, {runs} file run(s)")
PY
}

# ---- one guest run per row
table=()
for row in $ROWS; do
	IFS=: read -r bus lay align <<<"$row"
	new_case "$bus-$lay-$align"
	mkdir -p "$C/esp/EFI/BOOT"
	cp "$EFI_MODULE" "$C/esp/EFI/BOOT/BOOTX64.EFI"
	printf 'next = vhdx:\\partread.efi\r\nargs = req=%s passes=%s align=%s poweroff\r\n' "$REQ_KIB" "$PASSES" \
		"$align" >"$C/esp/EFI/BOOT/vhdxboot.conf"
	case $bus in
	virtio) attach_virtio "$IMG/$lay.vhdx" "" "readonly=on" && attach_virtio "$IMG/raw" "" "readonly=on" ;;
	ahci | nvme) "attach_$bus" "$IMG/$lay.vhdx" && "attach_$bus" "$IMG/raw" ;;
	*) echo "bench: row $row: the bus is virtio, ahci or nvme"; exit 2 ;;
	esac
	with_rng
	QEMU_MEM=512 BOOT_TIMEOUT=900 boot_guest >/dev/null
	echo "bench: partition read, row $row: $DATA_MIB MiB of random data, image $(layout "$IMG/$lay.vhdx")"
	grep -E '^(PARTREAD-|vhdxboot: virtual disk: [0-9]+ reads)' "$C/log" | sed 's/^/bench:   /'
	table+=("$(python3 - "$C/log" "$row" "$REQ_KIB" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
res = dict(re.findall(r"PARTREAD-RESULT: (\w+) best (\d+) MiB/s median \d+ MiB/s", t))
med = dict(re.findall(r"PARTREAD-RESULT: (\w+) best \d+ MiB/s median (\d+) MiB/s", t))
m = re.search(r"PARTREAD-RATIO: best (\d+) median (\d+) per-pass median (\d+)", t)
same = re.search(r"PARTREAD-CHECK: same checksum (\w+)", t)
if not m or len(res) != 2:
    print(f"| {sys.argv[2]} | {sys.argv[3]} KiB | partread did not report | | | | | FAILED |")
    sys.exit(0)
b, md, pp = (int(x) / 1000 for x in m.groups())
ok = b >= 0.9 and md >= 0.9 and same
print(f"| {sys.argv[2]} | {sys.argv[3]} KiB | {res['raw']} / {med['raw']} | {res['virtual']} / {med['virtual']} | "
      f"{b:.3f} | {md:.3f} | {pp:.3f} | {'same' if same else 'DIFFERENT'} | {'met' if ok else 'MISSED'} |")
PY
)")
done
echo "bench: firmware phase, FAT partition inside a dynamic VHDX (1 MiB blocks) vs the raw disk, same run, $PASSES passes"
echo "bench: | bus:layout:buffer offset | request | raw MiB/s best / median | virtual MiB/s best / median | ratio best | ratio median | median of pass ratios | checksums | target >= 0.9 |"
printf 'bench: %s\n' "${table[@]}"
