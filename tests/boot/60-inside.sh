#!/usr/bin/env bash
# 60-inside: boot from inside the VHDX (issue 4).  A raw GPT disk with an EFI system partition holding the test
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
