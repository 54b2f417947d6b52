#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 10-bootentry: vhdxboot.efi as \EFI\BOOT\BOOTX64.EFI with vhdxboot.conf beside it, run by the firmware's boot
# manager with no console interaction: a sound VHDX on a virtio disk gets its session update, and the payload
# named in the config starts with the config's args.
source "$(dirname "$0")/lib/common.bash"
need_tools

new_case bootentry
esp_module_as_bootx64
printf '# test config\r\nnext = \\payload.efi\r\nargs = from-config marker=BOOTENTRY poweroff\r\n' \
	>"$C/esp/EFI/BOOT/vhdxboot.conf"
make_vhdx "$C/d.vhdx" 256M
cp "$C/d.vhdx" "$C/before.vhdx"
attach_virtio "$C/d.vhdx"
with_rng
boot_guest
rc=$?
show_log
expect "guest powered off by the payload (qemu exit 0)" test "$rc" -eq 0
expect "config read from the module's directory" log_has '^vhdxboot: config \\EFI\\BOOT\\vhdxboot.conf'
expect "image found on its own (auto)" log_has '^vhdxboot: image PciRoot.*Pci\('
expect "session update reported" log_has '^vhdxboot: session update: sequence [0-9]+ -> [0-9]+, random from EFI_RNG_PROTOCOL'
expect "summary line" log_has '^vhdxboot: summary: image .*; header [12], sequence [0-9]+; wrote session update .*; next \\payload.efi$'
expect "payload started with the config's args" log_has '^PAYLOAD-OPTIONS: \[from-config marker=BOOTENTRY poweroff\]'
expect "payload marker" log_has '^PAYLOAD-MARKER: BOOTENTRY'
session_checked "image: one session update, nothing else changed" "$C/before.vhdx" "$C/d.vhdx"
