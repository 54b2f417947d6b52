#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 81-debian-bootcount: systemd-boot's boot counting in a real Debian inside a VHDX, through vhdxboot's writable
# virtual disk (vdisk-write = yes), with os-write = expand.
# The image (tests/boot/lib/debianimage.sh) is built with /etc/kernel/tries = 3, so kernel-install names the
# kernel's entry GOOD+3.conf (GOOD = MACHINE-ID-VERSION).  Beside it the test puts BAD+1.conf: the same kernel and
# initramfs, one try left, a newer version string (so systemd-boot sorts it first and boots it by default) and
# rdinit=/vhdxtest-absent on its command line: the kernel finds no init in the initramfs and no root, and panics;
# panic=-1 reboots at once and QEMU's -no-reboot ends the run.
#   boot 1  systemd-boot renames BAD+1.conf to BAD+0-1.conf on the inner ESP (a write through the virtual disk,
#           after vhdxboot gave the image a new DataWriteGuid), boots it: a kernel panic, no target reached.
#   boot 2  BAD has no tries left and sorts last: systemd-boot counts a try of GOOD (+3 -> +2-1) and boots it;
#           the initramfs expands and maps the disk read-write, systemd reaches its target, and
#           systemd-bless-boot marks the entry good: it becomes GOOD.conf.
# After each boot, from the image on the host (vhdx export, mtools): the entry names on the inner ESP; vhdx check,
# qemu-img check, e2fsck -fn of the root and fsck.vfat -n of the ESP clean.
# Environment: DEBIAN_BOOT_TIMEOUT (seconds per guest, default 1500).
source "$(dirname "$0")/lib/common.bash"
source "$ROOT/tests/boot/lib/debianimage.sh"
need_tools
di_setup
SELECTED_VAR=LoaderEntrySelected-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f
COUNTPATH_VAR=LoaderBootCountPath-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f
sorted() { printf '%s\n' "$@" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'; }

# the entry that cannot boot, and the probe's lines about boot counting
put_bad_entry() {
	local r=$1 good bad
	good=$r/boot/efi/loader/entries/$DI_MACHINE_ID-$DI_KVER+3.conf
	[[ -f $good ]] || { notok "build: kernel-install named the entry" "no $good"; return 1; }
	bad=$r/boot/efi/loader/entries/$DI_MACHINE_ID-$DI_KVER-panic+1.conf
	sed -e 's/^title .*/title      Debian, an entry whose command line panics/' \
		-e "s/^version .*/version    $DI_KVER-panic/" \
		-e 's/^options .*/& rdinit=\/vhdxtest-absent/' "$good" >"$bad"
	cat >"$r/etc/vhdxtest.d/bootcount.sh" <<SH
# 81-debian-bootcount: the entry systemd-boot booted, and what systemd-bless-boot did
v=/sys/firmware/efi/efivars
# efivarfs: 4 bytes of attributes, then the UTF-16 string (read through a pipe: no seeking in efivarfs)
echo "VHDXTEST-SELECTED: \$(cat \$v/$SELECTED_VAR | tail -c +5 | tr -d '\\000')"
# the path has backslashes, which dash's echo would read as escapes: / instead
echo "VHDXTEST-COUNTPATH: \$(cat \$v/$COUNTPATH_VAR 2>/dev/null | tail -c +5 | tr -d '\\000' | tr '\\\\' /)"
echo "VHDXTEST-BLESS: \$(systemctl is-active systemd-bless-boot.service) \$(/usr/lib/systemd/systemd-bless-boot status 2>&1)"
SH
}

new_case bootcount
DI_TRIES=3 DI_CUSTOMIZE=put_bad_entry
t0=$(date +%s)
di_build "$C" || exit 1
echo "# image built in $(($(date +%s) - t0))s"
GOOD=$DI_MACHINE_ID-$DI_KVER
BAD=$DI_MACHINE_ID-$DI_KVER-panic
di_export "$C/d.vhdx"
expect "setup: the inner ESP holds $GOOD+3.conf (kernel-install, tries 3) and $BAD+1.conf" \
	test "$(di_entries)" = "$(sorted "$GOOD+3.conf" "$BAD+1.conf")"
rm -f "$C/root.ext4" "$C/esp.fat"
esp_module_as_bootx64
printf '%s\r\n' "next = vhdx:" "os-write = expand" "vdisk-write = yes" >"$C/esp/EFI/BOOT/vhdxboot.conf"
attach_virtio "$C/d.vhdx"

# --- boot 1: the entry with one try, which panics --------------------------------------------------------------
di_boot "boot 1 (the entry that panics)"
rc=$?
expect "boot 1: the run ended by itself (qemu exit 0: the panic's reboot, -no-reboot)" test "$rc" -eq 0
expect "boot 1: systemd-boot's rename went through the virtual disk (first write, new DataWriteGuid)" \
	log_has '^vhdxboot: virtual disk: first write: DataWriteGuid [0-9A-F-]{36} -> [0-9A-F-]{36}'
expect "boot 1: no write was refused" log_lacks 'virtual disk: write of'
expect "boot 1: the kernel of the bad entry panicked (no init, no root)" log_has 'Kernel panic - not syncing: VFS: Unable to mount root fs'
expect "boot 1: it never reached the initramfs' mapping nor a target" log_lacks 'vhdx-initramfs:|VHDXTEST-'
di_checked "boot 1" "$C/d.vhdx"
expect "boot 1: on the inner ESP: $BAD+0-1.conf (a try counted), $GOOD+3.conf untouched" \
	test "$(di_entries)" = "$(sorted "$GOOD+3.conf" "$BAD+0-1.conf")"
rm -f "$C/root.ext4" "$C/esp.fat"

# --- boot 2: the fallback ----------------------------------------------------------------------------------------
cp "$C/log" "$C/log.1"
di_boot "boot 2 (the fallback)"
rc=$?
expect "boot 2: the guest powered off by itself (qemu exit 0)" test "$rc" -eq 0
expect "boot 2: systemd-boot booted the good entry" log_has "VHDXTEST-SELECTED: $GOOD(\\+[0-9-]+)?\\.conf\$"
expect "boot 2: it counted a try of it (LoaderBootCountPath names $GOOD+2-1.conf)" \
	log_has "VHDXTEST-COUNTPATH: /loader/entries/$GOOD\\+2-1\\.conf\$"
expect "boot 2: no panic" log_lacks 'Kernel panic'
expect "boot 2: the initramfs expanded and mapped the disk read-write" \
	log_has '^vhdx-initramfs: device-mapper table of the virtual disk: [0-9]+ segments, read-write'
expect "boot 2: / is /dev/mapper/vhdx-p2, read-write" log_has 'VHDXTEST-ROOT: /dev/mapper/vhdx-p2 ext4 +rw'
expect "boot 2: the default target was reached (running)" log_has 'VHDXTEST-STATE: running$'
expect "boot 2: systemd-bless-boot ran and marked the boot good" log_has 'VHDXTEST-BLESS: active good$'
di_checked "boot 2" "$C/d.vhdx"
expect "boot 2: on the inner ESP: $GOOD.conf (blessed: no counter), $BAD+0-1.conf (no tries left)" \
	test "$(di_entries)" = "$(sorted "$GOOD.conf" "$BAD+0-1.conf")"
rm -f "$C/root.ext4" "$C/esp.fat"
