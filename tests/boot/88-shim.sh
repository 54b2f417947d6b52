#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 88-shim: Debian's shim (shim-unsigned's shimx64.efi, signed here with the snakeoil key that OVMF's Secure Boot
# varstore trusts) starts vhdxboot as \EFI\BOOT\grubx64.efi (the name shim chainloads by default), under enforced
# Secure Boot.  The next stage is signed by a "MOK" key that db does not have: shim trusts it through MokList, which
# a first boot writes the way MokManager stores it (tests/tools/payload/mokset.c; MokManager itself needs a person
# at the console).  vhdxboot verifies the next stage through SHIM_LOCK and starts it; an unsigned next stage is
# refused by shim's Verify and named; without shim the same MOK-signed stage is refused by the firmware (db does not
# trust it).
source "$(dirname "$0")/lib/common.bash"
need_tools
SHIM=/usr/lib/shim/shimx64.efi
MOKSET=$BUILD/efi/mokset.efi
for t in sbsign openssl; do
	command -v $t >/dev/null || { notok "shim: tools" "$t is needed: make deps"; exit 1; }
done
[[ -f $SHIM ]] || { notok "shim: shim" "$SHIM missing (package shim-unsigned): make deps"; exit 1; }
[[ -f $MOKSET ]] || { notok "shim: mokset" "$MOKSET missing: make"; exit 1; }

KEY=$WORK/snakeoil.key
CERT=/usr/share/ovmf/PkKek-1-snakeoil.pem
if ! openssl rsa -in /usr/share/ovmf/PkKek-1-snakeoil.key -passin pass:snakeoil -out "$KEY" 2>/dev/null; then
	notok "shim: key" "cannot read /usr/share/ovmf/PkKek-1-snakeoil.key"
	exit 1
fi
# the MOK: a fresh key and certificate, nowhere in the firmware's db
openssl req -new -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=vhdxboot test MOK/" \
	-keyout "$WORK/mok.key" -out "$WORK/mok.pem" >/dev/null 2>&1
openssl x509 -in "$WORK/mok.pem" -outform DER -out "$WORK/mok.der"
# EFI_SIGNATURE_LIST (EFI_CERT_X509_GUID) with one EFI_SIGNATURE_DATA owned by shim's GUID: what MokManager stores
python3 - "$WORK/mok.der" "$WORK/mok.esl" <<'PY'
import struct, sys, uuid
der = open(sys.argv[1], "rb").read()
x509 = uuid.UUID("a5c059a1-94e4-4aa7-87b5-ab155c2bf072").bytes_le
owner = uuid.UUID("605dab50-e046-4300-abb6-3dd810dd8b23").bytes_le
sig = owner + der
open(sys.argv[2], "wb").write(x509 + struct.pack("<III", 28 + len(sig), 0, len(sig)) + sig)
PY
sign() { sbsign --key "$1" --cert "$2" --output "$4" "$3" >/dev/null 2>&1; }

# one varstore for the suite: snakeoil PK/KEK/db, plus MokList written by the first boot
VARS=$WORK/vars-mok.fd
new_case mokset
secure_boot_firmware
mkdir -p "$C/esp/EFI/BOOT"
sign "$KEY" "$CERT" "$MOKSET" "$C/esp/EFI/BOOT/BOOTX64.EFI"
cp "$WORK/mok.esl" "$C/esp/mok.esl"
boot_guest
grep -E '^MOKSET' "$C/log" | sed 's/^/#   /'
expect "mokset: MokList written (NV+BS) under Secure Boot" log_has '^MOKSET-DONE: [0-9]+ bytes'
cp "$C/vars.fd" "$VARS"

shim_case() { # NAME NEXT-FILE HOW(mok|unsigned) [noshim]
	new_case "$1"
	secure_boot_firmware
	cp "$VARS" "$C/vars.fd"
	mkdir -p "$C/esp/EFI/BOOT"
	if [[ ${4:-} == noshim ]]; then
		sign "$KEY" "$CERT" "$EFI_MODULE" "$C/esp/EFI/BOOT/BOOTX64.EFI"
	else
		sign "$KEY" "$CERT" "$SHIM" "$C/esp/EFI/BOOT/BOOTX64.EFI"
		sign "$KEY" "$CERT" "$EFI_MODULE" "$C/esp/EFI/BOOT/grubx64.efi"
	fi
	case $3 in
	mok) sign "$WORK/mok.key" "$WORK/mok.pem" "$EFI_PAYLOAD" "$C/esp/$2" ;;
	unsigned) cp "$EFI_PAYLOAD" "$C/esp/$2" ;;
	esac
	printf 'next = \\%s\r\nargs = marker=%s poweroff\r\n' "$2" "$1" >"$C/esp/EFI/BOOT/vhdxboot.conf"
	printf '@echo -off\r\necho STARTUP-NSH-FALLBACK\r\nreset -s\r\n' >"$C/esp/startup.nsh"
	make_vhdx "$C/d.vhdx" 64M
	attach_virtio "$C/d.vhdx"
	with_rng
	STOP_ON='^(PAYLOAD-POWEROFF|STARTUP-NSH-FALLBACK|vhdxboot: exit status)' boot_guest
	show_log
}

shim_case mok mok.efi mok
expect "mok: shim starts vhdxboot (grubx64.efi) under Secure Boot" log_has '^vhdxboot: vhdxboot '
expect "mok: vhdxboot verified the next stage through SHIM_LOCK" log_has '^vhdxboot: \\mok.efi: verified by shim \(SHIM_LOCK Verify: [0-9]+ bytes\)$'
expect "mok: the MOK-signed next stage starts" log_has '^PAYLOAD-MARKER: mok$'

shim_case unsigned unsigned.efi unsigned
expect "unsigned: shim's refusal named" log_has '^vhdxboot: \\unsigned.efi: shim \(SHIM_LOCK Verify\) refuses it: EFI_[A-Z_]+ '
expect "unsigned: not started" log_lacks '^PAYLOAD-MARKER'
expect "unsigned: exit status names the refusal" log_has '^vhdxboot: exit status EFI_(SECURITY_VIOLATION|ACCESS_DENIED)$'

# control: the same MOK-signed stage without shim: the firmware's db does not trust it
shim_case noshim mok.efi mok noshim
expect "noshim: no SHIM_LOCK, so no shim line" log_lacks 'SHIM_LOCK'
expect "noshim: the firmware refuses the MOK-signed stage (db does not trust it)" log_has '^vhdxboot: \\mok.efi: LoadImage: EFI_(ACCESS_DENIED|SECURITY_VIOLATION) \(Secure Boot is on'
expect "noshim: not started" log_lacks '^PAYLOAD-MARKER'
