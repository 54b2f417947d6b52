#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 82-debian-copies: a real Debian inside a VHDX, with a copy of its image on another disk of the same machine.
# The image (tests/boot/lib/debianimage.sh) holds /etc/vhdxtest-mark with a random text.  The copy is the same
# file with that text overwritten through QEMU's VHDX driver (qemu-io), which gives it another DataWriteGuid:
# both hold the same VirtualDiskId, so only the GUIDs vhdxboot hands over tell them apart.  vhdxboot: next =
# vhdx:, os-write = expand, disk = the booted one's device path.
#   copyfirst   the copy on the disk before the booted one (PCI 0x10 = /dev/vda, booted 0x11 = /dev/vdb)
#   copysecond  the other order (booted /dev/vda, copy /dev/vdb)
# Each way: vhdx find in the initramfs lists both and picks the booted one by the handoff's FileWriteGuid and
# DataWriteGuid (never "refusing to guess"), the root is the booted image's (its mark), the handoff variable
# read in the booted system names the booted image's DataWriteGuid and not the copy's, and the copy is byte for
# byte unchanged.  After each boot: vhdx check, qemu-img check, e2fsck -fn of the root and fsck.vfat -n of the
# ESP clean.
# Environment: DEBIAN_BOOT_TIMEOUT (seconds per guest, default 1500).
source "$(dirname "$0")/lib/common.bash"
source "$ROOT/tests/boot/lib/debianimage.sh"
need_tools
command -v qemu-io >/dev/null 2>&1 || { notok setup "missing qemu-io (run tests/deps.sh)"; exit 1; }
di_setup
guid_of() { "$VHDX" info "$2" | awk -v k="$1" '/, current$/ {c = 1} c && index($0, k) {print $NF; exit}'; }
disk_id() { "$VHDX" info "$1" | sed -n 's/^disk id: //p'; }

MARK="vhdx-booted-$RANDOM-$RANDOM-$RANDOM"
put_mark() { echo "$MARK" >"$1/etc/vhdxtest-mark"; }

# --- the image and its copy, once -------------------------------------------------------------------------------
new_case base
BASE=$C
DI_CUSTOMIZE=put_mark
t0=$(date +%s)
di_build "$BASE" || exit 1
echo "# image built in $(($(date +%s) - t0))s"
"$VHDX" export "$BASE/d.vhdx" "$BASE/view.raw" >/dev/null
n=$(grep -c -obUa "$MARK" "$BASE/view.raw")
off=$(grep -obUa "$MARK" "$BASE/view.raw" | head -1 | cut -d: -f1)
rm -f "$BASE/view.raw"
cp --sparse=always "$BASE/d.vhdx" "$BASE/copy.vhdx"
qemu-io -f vhdx -c "write -P 0x5a $off ${#MARK}" "$BASE/copy.vhdx" >/dev/null
if [[ $n != 1 || $(disk_id "$BASE/copy.vhdx") != "$(disk_id "$BASE/d.vhdx")" ||
	$(guid_of "data write guid" "$BASE/copy.vhdx") == "$(guid_of "data write guid" "$BASE/d.vhdx")" ]]; then
	notok "setup: the copy" "the mark found $n times in the virtual disk; VirtualDiskId or DataWriteGuid not as wanted"
	exit 1
fi
ok "setup: the copy has the image's VirtualDiskId, another DataWriteGuid, another mark"

# copy_case NAME ORDER: ORDER "first" puts the copy on the disk before the booted one
copy_case() {
	local name=$1 order=$2 dp booted dwg0 copydwg copyfwg hand_dwg hand_fwg
	new_case "$name"
	cp --sparse=always "$BASE/d.vhdx" "$C/d.vhdx"
	cp --sparse=always "$BASE/copy.vhdx" "$C/copy.vhdx"
	cp --sparse=always "$BASE/copy.vhdx" "$C/copy.before"
	dwg0=$(guid_of "data write guid" "$C/d.vhdx")
	copydwg=$(guid_of "data write guid" "$C/copy.vhdx")
	copyfwg=$(guid_of "file write guid" "$C/copy.vhdx")
	if [[ $order == first ]]; then
		dp='PciRoot(0x0)/Pci(0x11,0x0)' booted=/dev/vdb
		attach_virtio "$C/copy.vhdx" addr=0x10
		attach_virtio "$C/d.vhdx" addr=0x11
	else
		dp='PciRoot(0x0)/Pci(0x10,0x0)' booted=/dev/vda
		attach_virtio "$C/d.vhdx" addr=0x10
		attach_virtio "$C/copy.vhdx" addr=0x11
	fi
	esp_module_as_bootx64
	printf '%s\r\n' "next = vhdx:" "os-write = expand" "disk = $dp" >"$C/esp/EFI/BOOT/vhdxboot.conf"
	di_boot "$name"
	local rc=$?
	expect "$name: the guest powered off by itself (qemu exit 0)" test "$rc" -eq 0
	expect "$name: vhdx find saw both and named $booted as the one with the handoff's GUIDs" \
		log_has "^vhdx: find: 2 devices hold a VHDX with VirtualDiskId .*; $booted is the one with FileWriteGuid .*, DataWriteGuid .*:"
	expect "$name: the initramfs mapped $booted" log_has "^vhdx-initramfs: VHDX .* is on $booted "
	expect "$name: no refusal, no 'not found'" log_lacks 'refusing|not found|Kernel panic'
	expect "$name: the root is the booted image's (its mark)" log_has "VHDXTEST-MARK: $MARK\$"
	expect "$name: not the copy's" log_lacks 'VHDXTEST-MARK: ZZZZ'
	expect "$name: the default target was reached (running)" log_has 'VHDXTEST-STATE: running$'
	hand_dwg=$(sed -n 's/.*VHDXTEST-HANDOFF: .*VHDX_DATA_WRITE_GUID=\([0-9A-F-]*\) .*/\1/p' "$C/log" | head -1)
	hand_fwg=$(sed -n 's/.*VHDXTEST-HANDOFF: .*VHDX_FILE_WRITE_GUID=\([0-9A-F-]*\) .*/\1/p' "$C/log" | head -1)
	echo "# $name: handoff DataWriteGuid ${hand_dwg:-?} FileWriteGuid ${hand_fwg:-?}; the copy's $copydwg $copyfwg"
	expect "$name: the handoff names the booted image's DataWriteGuid ($dwg0), not the copy's" \
		test "${hand_dwg:-none}" = "$dwg0" -a "${hand_dwg:-none}" != "$copydwg"
	expect "$name: the handoff's FileWriteGuid is not the copy's" test -n "$hand_fwg" -a "$hand_fwg" != "$copyfwg"
	expect "$name: vhdx find chose $booted by exactly the handoff's GUIDs" \
		log_has "^vhdx: find: .*; $booted is the one with FileWriteGuid $hand_fwg, DataWriteGuid $hand_dwg:"
	unchanged "$name: the copy is byte for byte unchanged" "$C/copy.before" "$C/copy.vhdx"
	di_checked "$name" "$C/d.vhdx"
	rm -f "$C/root.ext4" "$C/esp.fat" "$C/copy.before" "$C/copy.vhdx" "$C/d.vhdx" # gigabytes each
}
copy_case copyfirst first
copy_case copysecond second
