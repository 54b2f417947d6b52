#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 80-secureboot: under OVMF's Secure Boot build with Debian's snakeoil keys enrolled, vhdxboot signed with the
# snakeoil key runs; an unsigned next stage is refused by LoadImage (EDK2: EFI_ACCESS_DENIED; a deferred verdict
# would be EFI_SECURITY_VIOLATION, after which vhdxboot unloads the image), which vhdxboot names and returns; a
# signed next stage starts.
source "$(dirname "$0")/lib/common.bash"
need_tools
if ! command -v sbsign >/dev/null || ! command -v openssl >/dev/null; then
	notok "secure boot: tools" "sbsign (sbsigntool) and openssl are needed: make deps"
	exit 1
fi
KEY=$WORK/snakeoil.key
CERT=/usr/share/ovmf/PkKek-1-snakeoil.pem
# Debian's snakeoil key is protected with the passphrase "snakeoil" (see ovmf's README.Debian)
if ! openssl rsa -in /usr/share/ovmf/PkKek-1-snakeoil.key -passin pass:snakeoil -out "$KEY" 2>/dev/null; then
	notok "secure boot: key" "cannot read /usr/share/ovmf/PkKek-1-snakeoil.key"
	exit 1
fi
sign() { sbsign --key "$KEY" --cert "$CERT" --output "$2" "$1" >/dev/null 2>&1; }

sb_case() { # NAME NEXT-FILE SIGN-PAYLOAD(0/1) MARKER
	new_case "$1"
	secure_boot_firmware
	mkdir -p "$C/esp/EFI/BOOT"
	sign "$EFI_MODULE" "$C/esp/EFI/BOOT/BOOTX64.EFI" || notok "$1: signing" "sbsign failed"
	if (($3)); then sign "$EFI_PAYLOAD" "$C/esp/$2"; else cp "$EFI_PAYLOAD" "$C/esp/$2"; fi
	printf 'next = \\%s\r\nargs = marker=%s poweroff\r\n' "$2" "$4" >"$C/esp/EFI/BOOT/vhdxboot.conf"
	make_vhdx "$C/d.vhdx" 64M
	cp "$C/d.vhdx" "$C/before.vhdx"
	attach_virtio "$C/d.vhdx"
	with_rng
}

sb_case unsigned unsigned.efi 0 UNSIGNED
STOP_ON='^vhdxboot: exit status' boot_guest
show_log
expect "unsigned: signed vhdxboot runs under Secure Boot" log_has '^vhdxboot: session update: '
# EDK2 answers an image its db does not allow with EFI_ACCESS_DENIED (EFI_SECURITY_VIOLATION is its deferred verdict)
expect "unsigned: LoadImage refusal named, Secure Boot on" log_has '^vhdxboot: \\unsigned.efi: LoadImage: EFI_(ACCESS_DENIED|SECURITY_VIOLATION) \(Secure Boot is on: '
expect "unsigned: payload not started" log_lacks 'PAYLOAD-MARKER'
expect "unsigned: exit status names the refusal" log_has '^vhdxboot: exit status EFI_(ACCESS_DENIED|SECURITY_VIOLATION)$'
# the boot manager may retry the entry before the run is stopped: one session update per run in the log.  A retry
# can also be stopped between its header writes reaching the disk and its "session update:" line reaching the
# log (seen in a fresh-clone run: sequence +4 with one line logged), so a run that got as far as validating the
# image may count once more, never more than the runs that started.
runs=$(grep -c '^vhdxboot: session update: ' "$C/log")
started=$(grep -c '^vhdxboot: valid: ' "$C/log")
if ((started > runs)) && ! python3 "$IMGCHECK" session "$C/before.vhdx" "$C/d.vhdx" "$runs" >/dev/null 2>&1; then
	runs=$((runs + 1))
fi
session_checked "unsigned: image got its session update all the same ($runs run(s))" "$C/before.vhdx" "$C/d.vhdx" "$runs"

sb_case signed signed.efi 1 SIGNED
boot_guest
show_log
expect "signed: payload starts under Secure Boot" log_has '^PAYLOAD-MARKER: SIGNED'
session_checked "signed: image got one session update" "$C/before.vhdx" "$C/d.vhdx"
