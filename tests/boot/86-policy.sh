#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 86-policy: the pinned-image policy at boot.  Each key (require-disk-id, require-data-write-guid, require-sha256)
# matching, and mismatching with on-mismatch = stop (no next stage, the field with pinned and found value named,
# EFI_SECURITY_VIOLATION, the image byte-identical: nothing is written to an image that is not the pinned one) and
# with on-mismatch = warn (says so, boots).  require-sha256 runs over a 64 MiB dynamic image with absent blocks (only
# the stored blocks are read); a one-byte change inside the virtual disk after sealing is caught.  on-error = continue
# does not override on-mismatch = stop.  Pins come from `vhdx seal`.
source "$(dirname "$0")/lib/common.bash"
need_tools
VHDX=${VHDX:-$BUILD/host/vhdx}
OTHER_GUID=01234567-89AB-4CDE-8F01-23456789ABCD

# policy_case NAME CONF-LINES... : a 64 MiB dynamic image (1 MiB blocks, 3 MiB stored), sealed; the config has
# the payload as next stage plus the lines given (SEAL_* substituted with seal's values)
policy_case() {
	local name=$1
	shift
	new_case "$name"
	esp_module_as_bootx64
	make_vhdx "$C/d.vhdx" 64M "block_size=1M"
	qemu-io -f vhdx -c 'write -P 0x71 1M 1M' -c 'write -P 0x72 40M 1M' -c 'write -P 0x73 63M 1M' "$C/d.vhdx" >/dev/null
	"$VHDX" seal --sha256 "$C/d.vhdx" >"$C/seal.out"
	local disk dwg sha
	disk=$(sed -n 's/^require-disk-id = //p' "$C/seal.out")
	dwg=$(sed -n 's/^require-data-write-guid = //p' "$C/seal.out")
	sha=$(sed -n 's/^require-sha256 = //p' "$C/seal.out")
	{
		printf 'next = \\payload.efi\r\nargs = marker=%s poweroff\r\n' "$name"
		local l
		for l in "$@"; do
			l=${l//SEAL_DISK/$disk}
			l=${l//SEAL_DWG/$dwg}
			l=${l//SEAL_SHA/$sha}
			printf '%s\r\n' "$l"
		done
	} >"$C/esp/EFI/BOOT/vhdxboot.conf"
	[[ -n ${CHANGE_BYTE:-} ]] && qemu-io -f vhdx -c "write -P 0x01 $CHANGE_BYTE 1" "$C/d.vhdx" >/dev/null
	cp "$C/d.vhdx" "$C/before.vhdx"
	attach_virtio "$C/d.vhdx"
	with_rng
	STOP_ON='^(PAYLOAD-POWEROFF|STARTUP-NSH-FALLBACK)' boot_guest
	show_log
}

boots() { # NAME
	expect "$1: the next stage starts" log_has "^PAYLOAD-MARKER: $1\$"
	session_checked "$1: the image got its session update" "$C/before.vhdx" "$C/d.vhdx"
}
refused() { # NAME FIELD-REGEX
	expect "$1: mismatch named with pinned and found value" log_has "^vhdxboot: policy: mismatch: $2: pinned [^ ]+, found [^ ]+\$"
	expect "$1: on-mismatch = stop refuses" log_has '^vhdxboot: policy: [0-9]+ mismatch\(es\); on-mismatch = stop: the image is refused'
	expect "$1: no next stage" log_lacks '^PAYLOAD-MARKER'
	expect "$1: exit status EFI_SECURITY_VIOLATION" log_has '^vhdxboot: exit status EFI_SECURITY_VIOLATION$'
	unchanged "$1: nothing written to the image" "$C/before.vhdx" "$C/d.vhdx"
}
warned() { # NAME FIELD-REGEX
	expect "$1: mismatch named" log_has "^vhdxboot: policy: mismatch: $2: pinned [^ ]+, found [^ ]+\$"
	expect "$1: on-mismatch = warn says it boots anyway" log_has '^vhdxboot: policy: [0-9]+ mismatch\(es\); on-mismatch = warn: booting anyway$'
	boots "$1"
}

policy_case disk-match 'require-disk-id = SEAL_DISK'
expect "disk-match: matches" log_has '^vhdxboot: policy: the image matches require-disk-id$'
boots disk-match
policy_case disk-stop "require-disk-id = $OTHER_GUID" 'on-mismatch = stop'
refused disk-stop 'require-disk-id \(VirtualDiskId\)'
expect "disk-stop: the pinned value is the configured one" log_has "pinned $OTHER_GUID, found "
policy_case disk-warn "require-disk-id = $OTHER_GUID" 'on-mismatch = warn'
warned disk-warn 'require-disk-id \(VirtualDiskId\)'

policy_case dwg-match 'require-data-write-guid = SEAL_DWG'
expect "dwg-match: matches" log_has '^vhdxboot: policy: the image matches require-data-write-guid$'
boots dwg-match
policy_case dwg-stop "require-data-write-guid = $OTHER_GUID"
refused dwg-stop 'require-data-write-guid \(DataWriteGuid\)'
policy_case dwg-warn "require-data-write-guid = $OTHER_GUID" 'on-mismatch = warn'
warned dwg-warn 'require-data-write-guid \(DataWriteGuid\)'

policy_case sha-match 'require-sha256 = SEAL_SHA' 'require-disk-id = SEAL_DISK' 'require-data-write-guid = SEAL_DWG'
expect "sha-match: all three pins match" log_has '^vhdxboot: policy: the image matches require-disk-id require-data-write-guid require-sha256$'
expect "sha-match: 64 MiB hashed, only the 3 MiB of stored blocks read" log_has '^vhdxboot: require-sha256: hashed 64 MiB \(read 3 MiB of stored blocks\)'
boots sha-match
# one byte inside a stored block changed after sealing (QEMU also gives the image a new DataWriteGuid when it
# writes; here only the content pin is set, so the content pin is what must catch it)
CHANGE_BYTE=$((40 * 1048576 + 4321)) policy_case sha-stop 'require-sha256 = SEAL_SHA'
refused sha-stop 'require-sha256 \(virtual disk content\)'
# a byte in a block that was absent (it gets allocated): caught as well
CHANGE_BYTE=$((7 * 1048576)) policy_case sha-warn 'require-sha256 = SEAL_SHA' 'on-mismatch = warn'
warned sha-warn 'require-sha256 \(virtual disk content\)'

# on-error = continue is about refusals of the image's structure; a policy mismatch with stop still stops
policy_case continue-stops "require-disk-id = $OTHER_GUID" 'on-error = continue'
refused continue-stops 'require-disk-id \(VirtualDiskId\)'

# a malformed pin is a configuration error, named
policy_case bad-pin 'require-sha256 = 1234'
expect "bad-pin: named" log_has '^vhdxboot: vhdxboot.conf line 3: require-sha256: "1234" is not 64 hex digits$'
expect "bad-pin: no next stage" log_lacks '^PAYLOAD-MARKER'
