#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 50-devices: the VHDX over AHCI and NVMe, on a 4 KiB-sector virtio disk, as a file on another FAT volume, and
# two VHDX at once (auto refuses and lists; --disk INDEX and --disk DEVICE-PATH pick one, and only that one is
# written).
source "$(dirname "$0")/lib/common.bash"
need_tools

bootentry_case() { # NAME MARKER
	new_case "$1"
	esp_module_as_bootx64
	printf 'next = \\payload.efi\r\nargs = marker=%s poweroff\r\n' "$2" >"$C/esp/EFI/BOOT/vhdxboot.conf"
	make_vhdx "$C/d.vhdx" 128M
	cp "$C/d.vhdx" "$C/before.vhdx"
}

for bus in ahci nvme; do
	bootentry_case "$bus" "${bus^^}"
	"attach_$bus" "$C/d.vhdx"
	with_rng
	boot_guest
	show_log
	expect "$bus: image found and updated" log_has '^vhdxboot: session update: '
	expect "$bus: payload started" log_has "^PAYLOAD-MARKER: ${bus^^}"
	session_checked "$bus: image got one session update" "$C/before.vhdx" "$C/d.vhdx"
done

# --- 4 KiB logical blocks
bootentry_case sector4k SECTOR4K
attach_virtio "$C/d.vhdx" "logical_block_size=4096,physical_block_size=4096"
with_rng
boot_guest
show_log
expect "4K sectors: the device has 4096-byte blocks" log_has '^vhdxboot: image .*\(4096-byte blocks\)'
expect "4K sectors: image found and updated" log_has '^vhdxboot: session update: '
expect "4K sectors: payload started" log_has '^PAYLOAD-MARKER: SECTOR4K'
session_checked "4K sectors: image got one session update" "$C/before.vhdx" "$C/d.vhdx"

# --- the VHDX as a file on a second drive's FAT file system
bootentry_case filefat FILEFAT
printf 'next = \\payload.efi\r\nargs = marker=FILEFAT poweroff\r\nimage = \\vm\\disk.vhdx\r\n' >"$C/esp/EFI/BOOT/vhdxboot.conf"
mkfs.vfat -C -n VMS "$C/fat.img" 262144 >/dev/null
mmd -i "$C/fat.img" ::/vm
mcopy -i "$C/fat.img" "$C/d.vhdx" ::/vm/disk.vhdx
attach_virtio "$C/fat.img"
with_rng
boot_guest
show_log
mcopy -o -i "$C/fat.img" ::/vm/disk.vhdx "$C/after.vhdx"
expect "file on FAT: found on the other volume" log_has '^vhdxboot: image file \\vm\\disk.vhdx on '
expect "file on FAT: updated" log_has '^vhdxboot: session update: '
expect "file on FAT: payload started" log_has '^PAYLOAD-MARKER: FILEFAT'
session_checked "file on FAT: image got one session update" "$C/before.vhdx" "$C/after.vhdx"
fsck.vfat -n "$C/fat.img" >/dev/null 2>&1 && ok "file on FAT: file system clean" || notok "file on FAT: file system clean" "fsck.vfat -n complains"

# --- two VHDX
new_case two
esp_shell_script \
	'vhdxboot.efi --next \payload.efi -- marker=SHOULD-NOT-RUN' \
	'echo SHELL-LASTERROR-AUTO %lasterror%' \
	'vhdxboot.efi --list' \
	'vhdxboot.efi --disk 1 --next \payload.efi -- marker=PICKED1'
make_vhdx "$C/a.vhdx" 64M
make_vhdx "$C/b.vhdx" 96M
cp "$C/a.vhdx" "$C/a0.vhdx"
cp "$C/b.vhdx" "$C/b0.vhdx"
attach_virtio "$C/a.vhdx"
attach_virtio "$C/b.vhdx"
with_rng
boot_guest
show_log
expect "two: auto refuses" log_has '^vhdxboot: several VHDX found; pick one'
expect "two: auto does not start the payload" log_lacks 'PAYLOAD-MARKER: SHOULD-NOT-RUN'
expect "two: auto exits EFI_INVALID_PARAMETER" log_has '^SHELL-LASTERROR-AUTO 0x2'
expect "two: --list lists both" log_has '^  \[1\] '
expect "two: --disk 1 boots" log_has '^PAYLOAD-MARKER: PICKED1'
# which one was [1]?  Its size tells: 64 MiB or 96 MiB virtual
if log_has '^vhdxboot: valid: virtual size 96 MiB'; then picked=b other=a; else picked=a other=b; fi
session_checked "two: the picked image got its update" "$C/${picked}0.vhdx" "$C/$picked.vhdx"
unchanged "two: the other image is untouched" "$C/${other}0.vhdx" "$C/$other.vhdx"

# --- and by device-path text, in a second run: the text of [0] from the list above
dp0=$(sed -n 's/^  \[0\] \(.*\)  [0-9]* MiB, .*/\1/p' "$C/log" | head -1)
cp "$C/a.vhdx" "$C/a1.vhdx"
cp "$C/b.vhdx" "$C/b1.vhdx"
cp "$OVMF_VARS" "$C/vars.fd"
esp_shell_script "vhdxboot.efi --disk $dp0 --next \\payload.efi -- marker=PICKED0"
boot_guest
show_log
expect "two: --disk DEVICE-PATH ($dp0) boots" log_has '^PAYLOAD-MARKER: PICKED0'
if log_has '^vhdxboot: valid: virtual size 96 MiB'; then picked=b other=a; else picked=a other=b; fi
session_checked "two: the image named by device path got its update" "$C/${picked}1.vhdx" "$C/$picked.vhdx"
unchanged "two: the other image is untouched (device path)" "$C/${other}1.vhdx" "$C/$other.vhdx"

# --- a large BAT (16 TiB virtual, 1 MiB blocks: 128 MiB of BAT): progress lines while validating, then the update
new_case bigbat
esp_module_as_bootx64
printf 'next = \\payload.efi\r\nargs = marker=BIGBAT poweroff\r\n' >"$C/esp/EFI/BOOT/vhdxboot.conf"
make_vhdx "$C/d.vhdx" 16T block_size=1M
cp "$C/d.vhdx" "$C/before.vhdx"
attach_virtio "$C/d.vhdx"
with_rng
boot_guest
show_log
expect "large BAT: progress shown while validating" log_has '^vhdxboot: validating: 128 MiB read'
expect "large BAT: valid, 16 TiB" log_has '^vhdxboot: valid: virtual size 16777216 MiB'
expect "large BAT: I/O counted" log_has '^vhdxboot: I/O: [0-9]+ reads \([0-9]+ KiB\), 2 writes \(8 KiB\), 2 flushes'
expect "large BAT: payload started" log_has '^PAYLOAD-MARKER: BIGBAT'
session_checked "large BAT: image got one session update" "$C/before.vhdx" "$C/d.vhdx"
