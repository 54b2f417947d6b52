#!/usr/bin/env bash
# efi/bench-vdisk.sh - issue 10's firmware-phase bench, for `make bench` (called by efi/bench-boot.sh).
#
# A FAT partition (200 MiB of random data in one file) on a raw GPT disk, and the same disk turned into a dynamic
# VHDX with 1 MiB blocks, every block present (qemu-img convert -S 0).  One QEMU run with both disks attached:
# vhdxboot starts build/efi/partread.efi from inside the VHDX, which reads the whole partition through the
# partition's Block I/O (the firmware's partition driver over vhdxboot's virtual disk, and over the raw virtio
# disk) in 1 MiB requests, raw and virtual alternated, and compares checksums.  Target: virtual/raw >= 0.9.
# Environment: BUILD, BENCH_PASSES (default 7), BENCH_REQ_KIB (default 1024), BENCH_DATA_MIB (default 200),
# KEEP=1.  Prints "bench:" lines and a table row; exit 0 unless the run failed outright.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
export ROOT
BUILD=${BUILD:-build}
PASSES=${BENCH_PASSES:-7}
REQ_KIB=${BENCH_REQ_KIB:-1024}
DATA_MIB=${BENCH_DATA_MIB:-200}
ALIGN=${BENCH_ALIGN:-0}       # bytes past a page boundary for the request buffers
BUS=${BENCH_BUS:-virtio}       # both disks on virtio, ahci or nvme
LAYOUT=${BENCH_LAYOUT:-inorder} # or shuffled: the blocks moved around in the file (tests/tools/vhdxshuffle.py)
SUITE=bench-vdisk
source tests/boot/lib/common.bash
need_tools
PARTREAD=$BUILD/efi/partread.efi
[[ -f $PARTREAD ]] || { echo "bench: $PARTREAD missing (make)"; exit 2; }

new_case partread
part_mib=$((DATA_MIB + 8))
mkfs.vfat -C -n PARTREAD "$C/part.fat" $((part_mib * 1024)) >/dev/null
mcopy -i "$C/part.fat" "$PARTREAD" ::/partread.efi
head -c $((DATA_MIB << 20)) /dev/urandom >"$C/random.bin"
mcopy -i "$C/part.fat" "$C/random.bin" ::/random.bin
rm -f "$C/random.bin"
python3 tests/boot/lib/mkdisk.py "$C/raw" $((part_mib + 2)) "$C/part.fat" 512 >/dev/null
rm -f "$C/part.fat"
qemu-img convert -S 0 -f raw -O vhdx -o subformat=dynamic,block_size=1M "$C/raw" "$C/d.vhdx"
[[ $LAYOUT == shuffled ]] && python3 tests/tools/vhdxshuffle.py "$C/d.vhdx" >/dev/null
# how the blocks lie: present count and runs contiguous in the file (one backend read per run at best)
layout=$(python3 - "$C/d.vhdx" "$(stat -c %s "$C/raw")" <<'PY'
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
print(f"{present} of {b + 1} blocks present, in {runs} file-contiguous run(s)")
PY
)
mkdir -p "$C/esp/EFI/BOOT"
cp "$EFI_MODULE" "$C/esp/EFI/BOOT/BOOTX64.EFI"
printf 'next = vhdx:\\partread.efi\r\nargs = req=%s passes=%s align=%s poweroff\r\n' "$REQ_KIB" "$PASSES" "$ALIGN" \
	>"$C/esp/EFI/BOOT/vhdxboot.conf"
case $BUS in
virtio) attach_virtio "$C/d.vhdx" "" "readonly=on" && attach_virtio "$C/raw" "" "readonly=on" ;;
ahci | nvme) "attach_$BUS" "$C/d.vhdx" && "attach_$BUS" "$C/raw" ;;
*) echo "bench: BENCH_BUS=$BUS: virtio, ahci or nvme"; exit 2 ;;
esac
with_rng
QEMU_MEM=512 BOOT_TIMEOUT=900 boot_guest >/dev/null
echo "bench: firmware-phase partition read: $DATA_MIB MiB of random data, image: $layout"
grep -E '^(PARTREAD-|vhdxboot: virtual disk: [0-9]+ reads)' "$C/log" | sed 's/^/bench:   /'
python3 - "$C/log" "$REQ_KIB" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
res = dict(re.findall(r"PARTREAD-RESULT: (\w+) best (\d+ MiB/s median \d+) MiB/s", t))
m = re.search(r"PARTREAD-RATIO: best (\d+) median (\d+)", t)
same = re.search(r"PARTREAD-CHECK: same checksum (\w+)", t)
if not m or len(res) != 2:
    print("bench: partition read: partread did not report")
    sys.exit(0)
b, md = int(m.group(1)) / 1000, int(m.group(2)) / 1000
print("bench: | case | raw best/median | virtual best/median | ratio best | ratio median | checksum | target >= 0.9 |")
print(f"bench: | FAT partition, {sys.argv[2]} KiB requests | {res['raw']} MiB/s | {res['virtual']} MiB/s | "
      f"{b:.3f} | {md:.3f} | {'same ' + same.group(1) if same else 'DIFFERENT'} | "
      f"{'met' if b >= 0.9 and md >= 0.9 and same else 'MISSED'} |")
PY
