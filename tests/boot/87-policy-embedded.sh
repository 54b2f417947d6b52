#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 87-embedded: a policy embedded by `make sign` (a .vhdxpol section added before sbsign) under OVMF's enforced
# Secure Boot with Debian's snakeoil keys.  The signed module runs; its embedded policy decides, and a contrary
# vhdxboot.conf (other pins, on-mismatch = warn) has no effect on policy, with a line saying each key is ignored;
# an embedded pin that does not match refuses the image even though vhdxboot.conf pins the right values; a signed
# module whose policy bytes were changed afterwards is not run by the firmware at all.
source "$(dirname "$0")/lib/common.bash"
need_tools
VHDX=${VHDX:-$BUILD/host/vhdx}
OTHER_GUID=01234567-89AB-4CDE-8F01-23456789ABCD
if ! command -v sbsign >/dev/null || ! command -v openssl >/dev/null; then
	notok "embedded: tools" "sbsign (sbsigntool) and openssl are needed: make deps"
	exit 1
fi
KEY=$WORK/snakeoil.key
CERT=/usr/share/ovmf/PkKek-1-snakeoil.pem
# Debian's snakeoil key is protected with the passphrase "snakeoil" (see ovmf's README.Debian)
if ! openssl rsa -in /usr/share/ovmf/PkKek-1-snakeoil.key -passin pass:snakeoil -out "$KEY" 2>/dev/null; then
	notok "embedded: key" "cannot read /usr/share/ovmf/PkKek-1-snakeoil.key"
	exit 1
fi

# emb_case NAME EMBEDDED-POLICY CONF-POLICY-LINES: SEAL_DISK / SEAL_DWG replaced by the image's values
emb_case() {
	new_case "$1"
	secure_boot_firmware
	mkdir -p "$C/esp/EFI/BOOT"
	make_vhdx "$C/d.vhdx" 64M
	"$VHDX" seal "$C/d.vhdx" >"$C/seal.out"
	local disk dwg
	disk=$(sed -n 's/^require-disk-id = //p' "$C/seal.out")
	dwg=$(sed -n 's/^require-data-write-guid = //p' "$C/seal.out")
	local pol=${2//SEAL_DISK/$disk} conf=${3//SEAL_DISK/$disk}
	pol=${pol//SEAL_DWG/$dwg}
	conf=${conf//SEAL_DWG/$dwg}
	printf '%b' "$pol" >"$C/policy.conf"
	if ! (cd "$ROOT" && make --no-print-directory -s sign BUILD="$BUILD" KEY="$KEY" CERT="$CERT" \
		POLICY="$C/policy.conf" OUT="$C/esp/EFI/BOOT/BOOTX64.EFI") >"$C/sign.log" 2>&1; then
		notok "$1: make sign" "$(tail -n 3 "$C/sign.log" | tr '\n' ' ')"
	fi
	sbsign --key "$KEY" --cert "$CERT" --output "$C/esp/payload.efi" "$EFI_PAYLOAD" >/dev/null 2>&1
	printf 'next = \\payload.efi\r\nargs = marker=%s poweroff\r\n%b' "$1" "$conf" >"$C/esp/EFI/BOOT/vhdxboot.conf"
	printf '@echo -off\r\necho STARTUP-NSH-FALLBACK\r\nreset -s\r\n' >"$C/esp/startup.nsh"
	cp "$C/d.vhdx" "$C/before.vhdx"
	attach_virtio "$C/d.vhdx"
	with_rng
}

emb_case wins 'require-disk-id = SEAL_DISK\nrequire-data-write-guid = SEAL_DWG\non-mismatch = stop\n' \
	"require-disk-id = $OTHER_GUID\r\nrequire-data-write-guid = $OTHER_GUID\r\non-mismatch = warn\r\n"
expect "wins: make sign embedded the policy" grep -q 'embedded .* as section .vhdxpol' "$C/sign.log"
STOP_ON='^(PAYLOAD-POWEROFF|STARTUP-NSH-FALLBACK)' boot_guest
show_log
expect "wins: the signed module runs under enforced Secure Boot" log_has '^vhdxboot: vhdxboot '
expect "wins: the embedded policy is announced" log_has '^vhdxboot: embedded policy: [0-9]+ bytes in the module.s .vhdxpol section; policy keys from vhdxboot.conf and the command line are ignored$'
for k in require-disk-id require-data-write-guid on-mismatch; do
	expect "wins: vhdxboot.conf's $k ignored, said so" log_has "^vhdxboot: vhdxboot.conf line [0-9]+: $k ignored: the embedded policy is in force\$"
done
expect "wins: the embedded pins match" log_has '^vhdxboot: embedded policy: the image matches require-disk-id require-data-write-guid$'
expect "wins: no mismatch from the contrary config" log_lacks 'policy: mismatch'
expect "wins: boots" log_has '^PAYLOAD-MARKER: wins$'
session_checked "wins: the image got its session update" "$C/before.vhdx" "$C/d.vhdx"

emb_case stops "require-disk-id = $OTHER_GUID\non-mismatch = stop\n" \
	'require-disk-id = SEAL_DISK\r\non-mismatch = warn\r\n'
STOP_ON='^(PAYLOAD-POWEROFF|STARTUP-NSH-FALLBACK|vhdxboot: exit status)' boot_guest
show_log
expect "stops: embedded mismatch named" log_has "^vhdxboot: policy: mismatch: require-disk-id \(VirtualDiskId\): pinned $OTHER_GUID, found "
expect "stops: the config's warn has no effect" log_has '^vhdxboot: embedded policy: 1 mismatch\(es\); on-mismatch = stop: the image is refused'
expect "stops: no next stage" log_lacks '^PAYLOAD-MARKER'
expect "stops: exit status EFI_SECURITY_VIOLATION" log_has '^vhdxboot: exit status EFI_SECURITY_VIOLATION$'
unchanged "stops: nothing written" "$C/before.vhdx" "$C/d.vhdx"

# the policy is covered by the signature: change one byte of it in the signed file and the firmware refuses it
emb_case tampered 'on-mismatch = stop\nrequire-disk-id = SEAL_DISK\n' ''
python3 - "$C/esp/EFI/BOOT/BOOTX64.EFI" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
i = b.find(b"on-mismatch = stop")
b[i + len("on-mismatch = ")] = ord("w")  # "stop" -> "wtop": the policy text no longer what was signed
open(p, "wb").write(b)
PY
STOP_ON='^(PAYLOAD-POWEROFF|STARTUP-NSH-FALLBACK|BdsDxe: No bootable option)' boot_guest
show_log
grep -E '^BdsDxe: failed to load' "$C/log" | sed 's/^/#   /'
expect "tampered: the firmware's boot manager says Access Denied for the ESP's BOOTX64.EFI" log_has '^BdsDxe: failed to load Boot[0-9A-F]+ .*: Access Denied$'
expect "tampered: the firmware does not run a module whose embedded policy changed after signing" log_lacks '^vhdxboot: vhdxboot '
expect "tampered: no next stage" log_lacks '^PAYLOAD-MARKER'
unchanged "tampered: image untouched" "$C/before.vhdx" "$C/d.vhdx"
