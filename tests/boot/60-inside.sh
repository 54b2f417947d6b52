#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 60-inside: boot from inside the VHDX.  A raw GPT disk with an EFI system partition holding the test
# payload, turned into a VHDX by qemu-img convert (dynamic with 1 MiB blocks, dynamic default, fixed) and by
# `vhdx create --from` with 4 KiB logical sectors; vhdxboot validates it, does the session update, presents the
# virtual disk as a block device and starts the payload from the partition inside.
source "$(dirname "$0")/lib/common.bash"
need_tools
MKDISK=$ROOT/tests/boot/lib/mkdisk.py
VHDX=${VHDX:-$BUILD/host/vhdx}

# raw_disk OUT SECTOR: 64 MiB GPT disk, ESP with \EFI\BOOT\BOOTX64.EFI and \inside.efi (both the payload)
raw_disk() {
	local out=$1 ss=$2
	rm -f "$out.fat"
	mkfs.vfat -C -S "$ss" -n INSIDE "$out.fat" 32768 >/dev/null
	mmd -i "$out.fat" ::/EFI ::/EFI/BOOT
	mcopy -i "$out.fat" "$EFI_PAYLOAD" ::/EFI/BOOT/BOOTX64.EFI
	mcopy -i "$out.fat" "$EFI_PAYLOAD" ::/inside.efi
	python3 "$MKDISK" "$out" 64 "$out.fat" "$ss"
}

inside_case() { # NAME MARKER NEXT IMAGE-MAKER...
	local name=$1 marker=$2 next=$3
	shift 3
	new_case "$name"
	esp_module_as_bootx64
	printf 'next = %s\r\nargs = marker=%s poweroff\r\n' "$next" "$marker" >"$C/esp/EFI/BOOT/vhdxboot.conf"
	if ! "$@" >"$C/make.log" 2>&1; then
		notok "$name: image" "$(tail -1 "$C/make.log")"
		return 1
	fi
	cp "$C/d.vhdx" "$C/before.vhdx"
	attach_virtio "$C/d.vhdx"
	with_rng
	boot_guest
	show_log
	expect "$name: virtual disk installed" log_has '^vhdxboot: virtual disk: [0-9]+ MiB, (512|4096)-byte sectors, read-only, at .*VenMedia\(35D09D52-059D-40A1-8D0B-4C9A929CDCC0'
	expect "$name: payload found inside" log_has "^vhdxboot: virtual disk: .* found on .*VenMedia.*HD\\(1,GPT"
	expect "$name: payload from inside the VHDX started" log_has "^PAYLOAD-MARKER: $marker"
	session_checked "$name: image got one session update" "$C/before.vhdx" "$C/d.vhdx"
}

raw_disk "$WORK/raw512" 512
raw_disk "$WORK/raw4k" 4096
if command -v sgdisk >/dev/null; then
	sgdisk -v "$WORK/raw512" 2>&1 | grep -q 'No problems found' && ok "GPT test disk passes sgdisk -v" ||
		notok "GPT test disk passes sgdisk -v" "$(sgdisk -v "$WORK/raw512" 2>&1 | head -3 | tr '\n' ' ')"
fi

inside_case dyn1m INSIDE-DYN1M 'vhdx:' \
	qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=1M "$WORK/raw512" "$WORK/dyn1m/d.vhdx"
expect "dyn1m: vhdx: alone means \\EFI\\BOOT\\BOOTX64.EFI" log_has '^vhdxboot: starting \\EFI\\BOOT\\BOOTX64.EFI'
inside_case dyndefault INSIDE-DYNDEF 'vhdx:\inside.efi' \
	qemu-img convert -f raw -O vhdx -o subformat=dynamic "$WORK/raw512" "$WORK/dyndefault/d.vhdx"
inside_case fixed INSIDE-FIXED 'vhdx:\inside.efi' \
	qemu-img convert -f raw -O vhdx -o subformat=fixed "$WORK/raw512" "$WORK/fixed/d.vhdx"
if [[ -x $VHDX ]]; then
	inside_case sector4k INSIDE-4K 'vhdx:\inside.efi' \
		"$VHDX" create --logical-sector 4096 --block-size 1M --from "$WORK/raw4k" "$WORK/sector4k/d.vhdx"
	expect "sector4k: presented with 4096-byte sectors" log_has '^vhdxboot: virtual disk: 64 MiB, 4096-byte sectors'
else
	notok "sector4k: image" "$VHDX not built"
fi

# --- the next stage returns: the module reports its status, takes the virtual disk down, returns the status
new_case returns
esp_shell_script 'vhdxboot.efi --next vhdx:\inside.efi -- marker=RETURNS error=3' 'echo SHELL-LASTERROR-RET %lasterror%' \
	'vhdxboot.efi --next vhdx:\missing.efi' 'echo SHELL-LASTERROR-MISSING %lasterror%'
qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=1M "$WORK/raw512" "$C/d.vhdx"
attach_virtio "$C/d.vhdx"
with_rng
boot_guest
show_log
expect "returns: payload ran inside" log_has '^PAYLOAD-MARKER: RETURNS'
expect "returns: status reported" log_has '^vhdxboot: \\inside.efi returned EFI_UNSUPPORTED'
expect "returns: status returned to the shell" log_has '^SHELL-LASTERROR-RET 0x3'
expect "returns: virtual disk taken down cleanly" log_lacks 'uninstall: '
expect "returns: a missing file inside is reported" log_has '^vhdxboot: virtual disk: \\missing.efi not found \(1 FAT volume inside the image\)'
expect "returns: and exits EFI_NOT_FOUND" log_has '^SHELL-LASTERROR-MISSING 0xE'

# --- a parent read error inside the virtual disk: QEMU's blkdebug fails every read of the first payload block's
# first sector (where the GPT's protective MBR lives); the virtual disk answers EFI_DEVICE_ERROR, never data
new_case ioerror
esp_module_as_bootx64
printf 'next = vhdx:\\inside.efi\r\nargs = marker=SHOULD-NOT-RUN poweroff\r\n' >"$C/esp/EFI/BOOT/vhdxboot.conf"
qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=1M "$WORK/raw512" "$C/d.vhdx"
cp "$C/d.vhdx" "$C/before.vhdx"
sector=$(python3 - "$C/d.vhdx" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.environ["ROOT"], "tests", "tools"))
import vhdxlib
buf = open(sys.argv[1], "rb").read(8 << 20)
e = vhdxlib.get_bat(buf, 0)
print((e & ~0xFFFFF) // 512 if e & 7 == 6 else -1)
PY
)
printf '[inject-error]\nevent = "read_aio"\nerrno = "5"\nsector = "%s"\nonce = "off"\n' "$sector" >"$C/blkdebug.conf"
QEMU_EXTRA+=(-drive "if=none,id=dbg,format=raw,file=blkdebug:$C/blkdebug.conf:$C/d.vhdx" -device virtio-blk-pci,drive=dbg)
with_rng
STOP_ON='^vhdxboot: exit status' boot_guest
show_log
expect "ioerror: block 0 is stored (sector $sector)" test "$sector" -gt 0
expect "ioerror: the image itself validates" log_has '^vhdxboot: session update: '
expect "ioerror: the failed read is reported" log_has '^vhdxboot: virtual disk: read of [0-9]+ bytes at block 0 failed: '
expect "ioerror: the device error is named" log_has 'EFI_DEVICE_ERROR'
expect "ioerror: nothing inside is started" log_lacks 'PAYLOAD-MARKER'
expect "ioerror: exit status is an error" log_has '^vhdxboot: exit status EFI_(NOT_FOUND|DEVICE_ERROR)'
runs=$(grep -c '^vhdxboot: session update: ' "$C/log")
session_checked "ioerror: image got its session update(s) and nothing else ($runs run(s))" "$C/before.vhdx" "$C/d.vhdx" "$runs"

# --- the partition inside read through its own Block I/O (the firmware's partition driver over the virtual
# disk) with odd request sizes into buffers at odd addresses, then in 1 MiB requests, each pass's CRC-32 against
# the host's view of the same bytes (qemu-img's export of the image), then random ranges compared byte for byte
# with that export attached as a raw disk.  The image is dynamic with 1 MiB blocks, its present blocks moved
# around in the file and every 5th of them made absent (zeros), so that requests cross blocks that are not
# neighbours in the file, and present/absent boundaries.  The image is on NVMe (IoAlign 8), so the odd buffer
# addresses go through vhdxboot's bounce buffer.
PARTREAD=$BUILD/efi/partread.efi
new_case partread
esp_module_as_bootx64
printf 'next = vhdx:\\partread.efi\r\nargs = mode=verify rand=400 poweroff\r\n' >"$C/esp/EFI/BOOT/vhdxboot.conf"
mkfs.vfat -C -n PARTREAD "$C/part.fat" 24576 >/dev/null
mcopy -i "$C/part.fat" "$PARTREAD" ::/partread.efi
head -c $((18 << 20)) /dev/urandom >"$C/random.bin"
mcopy -i "$C/part.fat" "$C/random.bin" ::/random.bin
python3 "$MKDISK" "$C/raw" 32 "$C/part.fat" 512 >/dev/null
qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=1M "$C/raw" "$C/d.vhdx"
moved=$(python3 "$ROOT/tests/tools/vhdxshuffle.py" "$C/d.vhdx" 7 --absent 5)
qemu-img convert -f vhdx -O raw "$C/d.vhdx" "$C/view.raw"
cp "$C/d.vhdx" "$C/before.vhdx"
attach_nvme "$C/d.vhdx"
attach_virtio "$C/view.raw" "" "readonly=on"
with_rng
BOOT_TIMEOUT=$((BOOT_TIMEOUT * 2)) boot_guest
grep -E '^PARTREAD-' "$C/log" | sed 's/^/#   /'
want=$(python3 - "$C/view.raw" "$C/part.fat" <<'PY'
import os, sys, zlib
n = os.path.getsize(sys.argv[2])
with open(sys.argv[1], "rb") as f:
    f.seek(1 << 20)
    print("%08x %d" % (zlib.crc32(f.read(n)) & 0xFFFFFFFF, n))
PY
)
crc_is() { grep -Eiq "^PARTREAD-CRC32: $1 0*${want% *} ${want#* }\$" "$C/log"; }
expect "partread: $moved blocks moved in the file, every 5th made absent" test "${moved:-0}" -ge 20
differs() { ! cmp -s "$1" "$2"; }
expect "partread: the absent blocks change what the disk holds" differs "$C/raw" "$C/view.raw"
expect "partread: the image's disk is NVMe with IoAlign 8 (odd buffers bounce)" \
	log_has '^PARTREAD-DISK: PciRoot\(0\)/Pci\(0x2,0x0\)/Path\(131,23,[0-9A-Fa-fx]+\) BlockSize 512 IoAlign 8'
expect "partread: odd sizes at odd addresses: CRC-32 $want as the host sees it" crc_is odd
expect "partread: 1 MiB requests: the same CRC-32" crc_is whole
expect "partread: 400 random ranges equal to the raw export" log_has '^PARTREAD-RANDOM: 400 ranges same'
expect "partread: no read failed" log_lacks 'virtual disk: read of'
session_checked "partread: image got one session update" "$C/before.vhdx" "$C/d.vhdx"
