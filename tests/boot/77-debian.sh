#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 77-debian: a real Debian inside a dynamic VHDX, booted by vhdxboot with os-write = expand.
# The image comes from tests/boot/lib/debianimage.sh: mmdebstrap's tree (systemd, an older Debian 6.1 kernel,
# initramfs-tools, systemd-boot, dmsetup; cached by its package list), `bootctl install` onto the inner ESP, the
# project's package (`make deb`) installed with dpkg, whose trigger regenerates the initramfs with our hook and
# whose post-update hook puts kernel, initramfs and a Type #1 entry on the ESP (kernel-install).  The virtual disk:
# a GPT with the inner ESP (/boot/efi in /etc/fstab by its UUID) and an ext4 root (/ by its UUID); qemu-img makes
# it a dynamic VHDX whose free space is absent blocks.  The machine's disk holds that VHDX with room after it; the
# machine's ESP holds vhdxboot (next = vhdx:, os-write = expand).  Boot 1: vhdxboot's session update and handoff,
# the initramfs allocates the absent blocks and maps the whole disk read-write, systemd reaches the default
# target; the image's report unit prints what it sees (target, mounts, /dev/mapper, failed units,
# systemd-analyze) and powers off; its lines may share the console with a getty's prompt, so they are matched
# anywhere on a line.  Afterwards vhdx check and qemu-img check are clean, and so are the inner file systems.
# Environment: DEBIAN_BOOT_TIMEOUT (seconds, default 1500), DEBIAN_KERNEL (package name).
source "$(dirname "$0")/lib/common.bash"
source "$ROOT/tests/boot/lib/debianimage.sh"
need_tools
di_setup
new_case debian
t0=$(date +%s)
di_build "$C" || exit 1
echo "# image built in $(($(date +%s) - t0))s"
expect "the package's trigger put the kernel and an entry on the ESP (kernel-install)" \
	grep -q "Updating kernel version $DI_KVER in systemd-boot" "$C/install.log"

esp_module_as_bootx64
printf '%s\r\n' "next = vhdx:" "os-write = expand" >"$C/esp/EFI/BOOT/vhdxboot.conf"
attach_virtio "$C/d.vhdx"
di_boot "boot 1"
rc=$?
expect "boot 1: the guest powered off by itself (qemu exit 0, ${GUEST_SECS}s)" test "$rc" -eq 0
expect "boot 1: vhdxboot handed over with expand" log_has '^vhdxboot: handoff: VhdxbootImage = disk .*, OS may expand and write'
expect "boot 1: the initramfs allocated the absent blocks" log_has '^vhdx-initramfs: expand: /dev/vda: .*allocated [0-9]+ blocks'
expect "boot 1: the whole disk mapped read-write" log_has '^vhdx-initramfs: device-mapper table of the virtual disk: [0-9]+ segments, read-write'
expect "boot 1: the default target is active" log_has 'VHDXTEST-DEFAULT: [a-z.-]+\.target active'
expect "boot 1: systemctl is-system-running says running (no failed unit)" log_has 'VHDXTEST-STATE: running$'
expect "boot 1: / is /dev/mapper/vhdx-p2, read-write" log_has 'VHDXTEST-ROOT: /dev/mapper/vhdx-p2 ext4 +rw'
expect "boot 1: the inner ESP is mounted at /boot/efi (vfat, from vhdx-p1)" log_has 'VHDXTEST-EFI: /dev/mapper/vhdx-p1 vfat +'
expect "boot 1: /boot/efi holds the loader and the kernel's entry" log_has "VHDXTEST-ENTRIES: .*$DI_MACHINE_ID-$DI_KVER\\.conf"
expect "boot 1: the root wrote its file" log_has 'VHDXTEST-WRITE: [0-9]+ '
di_checked "boot 1" "$C/d.vhdx"
wrote=$(sed -n 's/.*\(VHDXTEST-WRITE: \)/\1/p' "$C/log" | head -1)
got=$(debugfs -R 'cat /var/lib/vhdxtest-written' "$C/root.ext4" 2>/dev/null)
if [[ -n $wrote && $got == "$wrote" ]]; then
	ok "boot 1: the file the system wrote is in the image (vhdx export + debugfs)"
else
	notok "boot 1: the file the system wrote is in the image" "debugfs read '$got', the guest wrote '$wrote'"
fi
rm -f "$C/root.ext4" "$C/esp.fat"
