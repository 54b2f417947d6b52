#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 70-linux: a real operating system booted from inside a dynamic VHDX.  The VHDX holds a GPT disk
# whose EFI system partition has Debian's systemd-boot as \EFI\BOOT\BOOTX64.EFI, a loader entry, a Debian kernel
# (EFI stub) and a busybox initramfs whose /init prints a marker and powers off.  vhdxboot (BOOTX64.EFI of the
# outer ESP, "next = vhdx:") validates the image, does the session update, presents the virtual disk and starts
# systemd-boot from inside it; systemd-boot starts the kernel from the same virtual disk.
source "$(dirname "$0")/lib/common.bash"
source "$ROOT/tests/boot/lib/osparts.sh"
need_tools
OS=$BUILD/cache/os
if ! ensure_osparts "$OS"; then
	notok "linux: OS parts" "no kernel / systemd-boot / busybox-static (installed, or via apt-get download)"
	exit 1
fi

new_case linux
esp_module_as_bootx64
printf 'next = vhdx:\r\n' >"$C/esp/EFI/BOOT/vhdxboot.conf"
python3 "$ROOT/tests/boot/lib/mkinitrd.py" "$C/initrd.img" "$OS/busybox" INSIDE-VHDX
fat=$C/part.fat
mkfs.vfat -C -n VHDXOS "$fat" 49152 >/dev/null
mmd -i "$fat" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries
mcopy -i "$fat" "$OS/systemd-bootx64.efi" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$fat" "$OS/vmlinuz" ::/vmlinuz
mcopy -i "$fat" "$C/initrd.img" ::/initrd.img
printf 'timeout 0\ndefault test.conf\nconsole-mode keep\n' >"$C/loader.conf"
printf 'title vhdxboot test OS\nlinux /vmlinuz\ninitrd /initrd.img\noptions console=ttyS0 panic=-1 loglevel=4 rdinit=/init\n' >"$C/test.conf"
mcopy -i "$fat" "$C/loader.conf" ::/loader/loader.conf
mcopy -i "$fat" "$C/test.conf" ::/loader/entries/test.conf
python3 "$ROOT/tests/boot/lib/mkdisk.py" "$C/raw" 64 "$fat" 512
qemu-img convert -f raw -O vhdx -o subformat=dynamic "$C/raw" "$C/d.vhdx"
rm -f "$C/raw" "$fat"
cp "$C/d.vhdx" "$C/before.vhdx"
attach_virtio "$C/d.vhdx"
with_rng
QEMU_MEM=512 BOOT_TIMEOUT=${LINUX_BOOT_TIMEOUT:-400} boot_guest
rc=$?
show_log
grep -E '^(LINUX-MARKER|\[ *[0-9.]+\] (Linux version|Kernel command line|Run /init))' "$C/log" | sed 's/^/#   /'
expect "linux: guest powered off by init (qemu exit 0)" test "$rc" -eq 0
expect "linux: vhdxboot started systemd-boot from inside the image" log_has '^vhdxboot: starting \\EFI\\BOOT\\BOOTX64.EFI'
expect "linux: the kernel ran /init from the initramfs" log_has '^LINUX-MARKER: INSIDE-VHDX kernel [0-9]'
expect "linux: with the command line from the loader entry" log_has '^LINUX-MARKER: .*cmdline: .*console=ttyS0 panic=-1'
session_checked "linux: image got one session update, nothing else changed" "$C/before.vhdx" "$C/d.vhdx"
