#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 40-nowrite: when the module must not write, it says why, writes nothing and still boots the next stage:
# no random source at all (no virtio-rng, a CPU without RDRAND), a read-only drive, --check-only.  And with
# RDRAND but no EFI_RNG_PROTOCOL it does write, with randomness from RDRAND.
source "$(dirname "$0")/lib/common.bash"
need_tools

bootentry_case() { # NAME MARKER: module as BOOTX64.EFI, payload powers off
	new_case "$1"
	esp_module_as_bootx64
	printf 'next = \\payload.efi\r\nargs = marker=%s poweroff\r\n' "$2" >"$C/esp/EFI/BOOT/vhdxboot.conf"
	make_vhdx "$C/d.vhdx" 64M
	cp "$C/d.vhdx" "$C/before.vhdx"
}

# --- no EFI_RNG_PROTOCOL and no RDRAND
bootentry_case nornd NORND
attach_virtio "$C/d.vhdx"
boot_guest qemu64,-rdrand
show_log
expect "no RNG: says there is no random source" log_has '^vhdxboot: no random source: none \(no EFI_RNG_PROTOCOL, no RDRAND\)'
expect "no RNG: summary says nothing was written" log_has 'wrote nothing \(no random source\)'
expect "no RNG: still boots the next stage" log_has '^PAYLOAD-MARKER: NORND'
unchanged "no RNG: image byte-identical" "$C/before.vhdx" "$C/d.vhdx"

# --- RDRAND only
bootentry_case rdrand RDRAND
attach_virtio "$C/d.vhdx"
boot_guest max
show_log
expect "RDRAND: session update with randomness from RDRAND" log_has '^vhdxboot: session update: .*random from RDRAND'
expect "RDRAND: boots the next stage" log_has '^PAYLOAD-MARKER: RDRAND'
session_checked "RDRAND: image got one session update" "$C/before.vhdx" "$C/d.vhdx"

# --- a read-only drive
bootentry_case readonly READONLY
attach_virtio "$C/d.vhdx" "" "readonly=on"
with_rng
boot_guest
show_log
expect "read-only: says the device is read-only" log_has '^vhdxboot: read-only: the device is read-only: writing nothing'
expect "read-only: still boots the next stage" log_has '^PAYLOAD-MARKER: READONLY'
unchanged "read-only: image byte-identical" "$C/before.vhdx" "$C/d.vhdx"

# --- --check-only from the shell
new_case checkonly
esp_shell_script 'vhdxboot.efi --check-only --next \payload.efi -- marker=CHECKONLY'
make_vhdx "$C/d.vhdx" 64M
cp "$C/d.vhdx" "$C/before.vhdx"
attach_virtio "$C/d.vhdx"
with_rng
boot_guest
show_log
expect "check-only: says so" log_has '^vhdxboot: check-only: writing nothing'
expect "check-only: boots the next stage" log_has '^PAYLOAD-MARKER: CHECKONLY'
expect "check-only: exit status is the payload's (0)" log_has '^SHELL-LASTERROR 0x0'
unchanged "check-only: image byte-identical" "$C/before.vhdx" "$C/d.vhdx"
