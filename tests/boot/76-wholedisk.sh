#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 76-wholedisk: the whole virtual disk of a VHDX mapped in the initramfs, the booted copy told from its copies,
# and expansion at boot.  Same system as 75-linuxroot (Debian's kernel and mkinitramfs with our hook; a busybox
# root whose /sbin/init is tests/boot/lib/rootinit.sh), booted by vhdxboot ("next = vhdx:") unless said otherwise.
# Cases:
#   wholedisk  /dev/mapper/vhdx is the virtual disk (its bytes = the raw disk the VHDX was made from), vhdx-p1 and
#              vhdx-p2 its partitions; the inner ESP found by its UUID (findfs), mounted and read
#   copyfirst  a copy of the image (same VirtualDiskId, another DataWriteGuid, another marker) on the disk before
#   copysecond the booted one, then after it: the booted copy's root comes up either way
#   expand     os-write = expand, a dynamic image with absent blocks on a disk with room after it: allocated in
#              the initramfs, root read-write; vhdx check and qemu-img check clean, every block present
#   noroom     os-write = expand without room: read-only, and the message names the shortfall in bytes (the same
#              number `vhdx allocate` gives on the host for the same bytes)
#   byhand     no vhdxboot (vhdx.disk= on the kernel command line) and two copies: a refusal listing both
# Environment: LINUX_BOOT_TIMEOUT (seconds per guest, default 600).
source "$(dirname "$0")/lib/common.bash"
source "$ROOT/tests/boot/lib/linuxsuite.sh"
for t in qemu-io losetup; do
	command -v "$t" >/dev/null 2>&1 || { notok setup "missing $t (run tests/deps.sh)"; exit 1; }
done
BOOTED_DP_FIRST='PciRoot(0x0)/Pci(0x10,0x0)'
BOOTED_DP_SECOND='PciRoot(0x0)/Pci(0x11,0x0)'
guid_of() { "$VHDX" info "$2" | awk -v k="$1" '/, current$/ {c = 1} c && index($0, k) {print $NF; exit}'; }
disk_id() { "$VHDX" info "$1" | sed -n 's/^disk id: //p'; }
fsck_clean() { e2fsck -fn "$1" >"$C/fsck.log" 2>&1 || { sed 's/^/#   /' "$C/fsck.log"; false; }; }

# --- wholedisk ----------------------------------------------------------------------------------------------------
new_case wholedisk
TEXT="vhdx-test-$RANDOM-$RANDOM"
inner_vhdx "$C/d.vhdx" "$TEXT" "vhdxtest.esp=$LR_ESP_ID vhdxtest.sum=/dev/mapper/vhdx,/dev/mapper/vhdx-p1" ||
	{ notok "wholedisk: build the image" "inner_vhdx failed"; exit 1; }
cp "$C/d.vhdx" "$C/before.vhdx"
outer_esp "next = vhdx:"
attach_virtio "$C/d.vhdx"
run_linux
rc=$?
((rc == 0)) || show_fail_log
expect "wholedisk: guest powered off by the root's init (qemu exit 0)" test "$rc" -eq 0
expect "wholedisk: the virtual disk mapped as /dev/mapper/vhdx" log_has '^vhdx-initramfs: device-mapper table of the virtual disk: [0-9]+ segments, read-only: /dev/mapper/vhdx$'
expect "wholedisk: the ESP as vhdx-p1, the root as vhdx-p2" log_has "^vhdx-initramfs: partition 1 \(type $LR_ESP_TYPE, .*/dev/mapper/vhdx-p1\$"
expect "wholedisk: the booted system sees vhdx, vhdx-p1, vhdx-p2 in /dev/mapper" log_has '^ROOTINIT-MAPPER: vhdx vhdx-p1 vhdx-p2 $'
expect "wholedisk: / is /dev/mapper/vhdx-p2" log_has '^ROOTINIT-ROOT: /dev/mapper/vhdx-p2 / ext4 ro'
expect "wholedisk: the inner ESP found by UUID=$LR_ESP_ID is vhdx-p1, mounted, its file read" \
	log_has "^ROOTINIT-ESP: UUID=$LR_ESP_ID is .*\(device-mapper name vhdx-p1\): $LR_ESP_TEXT\$"
want_disk=$(md5sum <"$C/inner.raw" | cut -d' ' -f1)
want_esp=$(dd if="$C/inner.raw" bs=1M skip=1 count=40 status=none | md5sum | cut -d' ' -f1)
expect "wholedisk: /dev/mapper/vhdx reads as the raw disk the VHDX was made from (md5)" log_has "^ROOTINIT-SUM: /dev/mapper/vhdx $want_disk\$"
expect "wholedisk: /dev/mapper/vhdx-p1 reads as the ESP's bytes (md5)" log_has "^ROOTINIT-SUM: /dev/mapper/vhdx-p1 $want_esp\$"
session_checked "wholedisk: image got one session update, nothing else changed" "$C/before.vhdx" "$C/d.vhdx"

# --- copyfirst / copysecond: the booted copy among copies --------------------------------------------------------
# copy_case NAME ORDER: ORDER "first" puts the copy on the disk before the booted one
copy_case() {
	local name=$1 order=$2 off n dp copydwg
	new_case "$name"
	TEXT="vhdx-test-$RANDOM-$RANDOM"
	inner_vhdx "$C/d.vhdx" "$TEXT" "" || { notok "$name: build the image" "inner_vhdx failed"; return; }
	n=$(grep -c -obUa "$TEXT" "$C/inner.raw")
	off=$(grep -obUa "$TEXT" "$C/inner.raw" | head -1 | cut -d: -f1)
	cp "$C/d.vhdx" "$C/copy.vhdx"
	# the copy's marker overwritten through QEMU's VHDX driver, which gives it a new DataWriteGuid
	qemu-io -f vhdx -c "write -P 0x5a $off ${#TEXT}" "$C/copy.vhdx" >/dev/null
	copydwg=$(guid_of "data write guid" "$C/copy.vhdx")
	if [[ $n != 1 || $(disk_id "$C/copy.vhdx") != "$(disk_id "$C/d.vhdx")" || $copydwg == "$(guid_of "data write guid" "$C/d.vhdx")" ]]; then
		notok "$name: the copy" "marker found $n times; VirtualDiskId or DataWriteGuid not as wanted"
		return
	fi
	if [[ $order == first ]]; then
		dp=$BOOTED_DP_SECOND
		attach_virtio "$C/copy.vhdx" addr=0x10
		attach_virtio "$C/d.vhdx" addr=0x11
	else
		dp=$BOOTED_DP_FIRST
		attach_virtio "$C/d.vhdx" addr=0x10
		attach_virtio "$C/copy.vhdx" addr=0x11
	fi
	cp "$C/copy.vhdx" "$C/copy.before"
	outer_esp "next = vhdx:" "disk = $dp"
	run_linux
	local rc=$?
	((rc == 0)) || show_fail_log
	local booted=/dev/vdb
	[[ $order == first ]] || booted=/dev/vda
	expect "$name: guest powered off by the root's init (qemu exit 0)" test "$rc" -eq 0
	expect "$name: find saw both copies and named $booted as the one with the handoff's GUIDs" \
		log_has "^vhdx: find: 2 devices hold a VHDX with VirtualDiskId .*; $booted is the one with FileWriteGuid .*, DataWriteGuid .*:"
	expect "$name: the initramfs mapped $booted" log_has "^vhdx-initramfs: VHDX .* is on $booted "
	expect "$name: the booted copy's root came up (its marker)" log_has "^ROOTINIT-FILE: $TEXT\$"
	expect "$name: not the other copy's" log_lacks '^ROOTINIT-FILE: ZZZZ'
	expect "$name: no refusal, no 'not found'" log_lacks 'refusing|not found|Kernel panic'
	unchanged "$name: the other copy is byte for byte unchanged" "$C/copy.before" "$C/copy.vhdx"
}
copy_case copyfirst first
copy_case copysecond second

# --- expand: allocation in the initramfs, then read-write -------------------------------------------------------
new_case expand
TEXT="vhdx-test-$RANDOM-$RANDOM"
inner_vhdx "$C/d.vhdx" "$TEXT" "vhdxtest.write" || { notok "expand: build the image" "inner_vhdx failed"; exit 1; }
size0=$(stat -c %s "$C/d.vhdx")
truncate -s $((size0 + (200 << 20))) "$C/d.vhdx" # the disk: the image, then room for every block
cp "$C/d.vhdx" "$C/probe.vhdx"
"$VHDX" map --rw --device /dev/null "$C/probe.vhdx" >/dev/null 2>"$C/absent.err"
absent=$(sed -n 's/.*--rw: \([0-9]*\) blocks.*/\1/p' "$C/absent.err")
rm -f "$C/probe.vhdx"
echo "# expand: ${absent:-?} absent blocks of 1 MiB before the boot, $size0 bytes of image"
outer_esp "next = vhdx:" "os-write = expand"
attach_virtio "$C/d.vhdx"
run_linux
rc=$?
((rc == 0)) || show_fail_log
expect "expand: guest powered off by the root's init (qemu exit 0)" test "$rc" -eq 0
expect "expand: vhdxboot's handoff says the OS may expand and write" log_has '^vhdxboot: handoff: VhdxbootImage = disk .*, OS may expand and write'
expect "expand: the initramfs allocated the ${absent:-?} absent blocks" log_has "^vhdx-initramfs: expand: /dev/vda: .*allocated ${absent:-X} blocks"
expect "expand: the virtual disk was mapped read-write" log_has '^vhdx-initramfs: device-mapper table of the virtual disk: [0-9]+ segments, read-write'
expect "expand: root read-write, init wrote its file" log_has '^ROOTINIT-WROTE: written by the guest '
expect "expand: vhdx check is clean" "$VHDX" check "$C/d.vhdx"
expect "expand: qemu-img check is clean" qemu-img check -q -f vhdx "$C/d.vhdx"
cp "$C/d.vhdx" "$C/probe.vhdx"
expect "expand: every block of the virtual disk is present (vhdx map --rw accepts it)" "$VHDX" map --rw --device /dev/null "$C/probe.vhdx"
rm -f "$C/probe.vhdx"
wrote=$(sed -n 's/^ROOTINIT-WROTE: //p' "$C/log" | head -1)
"$VHDX" export "$C/d.vhdx" "$C/out.raw" >/dev/null 2>&1
dd if="$C/out.raw" of="$C/root.ext4" bs=1M skip=42 status=none 2>/dev/null
got=$(debugfs -R 'cat /written.txt' "$C/root.ext4" 2>/dev/null)
if [[ -n $wrote && $got == "$wrote" ]]; then
	ok "expand: the file is in the image (vhdx export + debugfs)"
else
	notok "expand: the file is in the image (vhdx export + debugfs)" "debugfs read '$got', the guest wrote '$wrote'"
fi
expect "expand: e2fsck -fn finds the root file system clean" fsck_clean "$C/root.ext4"
rm -f "$C/out.raw" "$C/root.ext4"

# --- noroom: expand asked for, the disk ends where the image does -----------------------------------------------
new_case noroom
TEXT="vhdx-test-$RANDOM-$RANDOM"
inner_vhdx "$C/d.vhdx" "$TEXT" "vhdxtest.write" || { notok "noroom: build the image" "inner_vhdx failed"; exit 1; }
cp "$C/d.vhdx" "$C/before.vhdx"
short=
cp "$C/d.vhdx" "$C/probe.vhdx"
if loop=$(losetup --find --show "$C/probe.vhdx" 2>/dev/null); then
	short=$("$VHDX" allocate "$loop" 2>&1 | sed -n 's/.* \([0-9][0-9]*\) bytes short.*/\1/p')
	losetup -d "$loop"
fi
rm -f "$C/probe.vhdx"
echo "# noroom: on the host, vhdx allocate over a loop device says ${short:-?} bytes short"
outer_esp "next = vhdx:" "os-write = expand"
attach_virtio "$C/d.vhdx"
run_linux
rc=$?
((rc == 0)) || show_fail_log
expect "noroom: guest powered off by the root's init (qemu exit 0)" test "$rc" -eq 0
expect "noroom: the shortfall named in bytes${short:+ ($short, as on the host)}" \
	log_has "^vhdx-initramfs: read-write refused: expand: /dev/vda has no room for the absent blocks of the virtual disk: ${short:-[0-9]+} bytes short\$"
expect "noroom: fell back to read-only" log_has '^vhdx-initramfs: falling back to a read-only root'
expect "noroom: the root came up read-only" log_has '^ROOTINIT-ROOT: /dev/mapper/vhdx-p2 / ext4 ro'
expect "noroom: init could not write" log_has '^ROOTINIT-WROTE: remount read-write failed'
session_checked "noroom: image got vhdxboot's session update only" "$C/before.vhdx" "$C/d.vhdx"

# --- byhand: no variable, vhdx.disk= and two copies --------------------------------------------------------------
new_case byhand
TEXT="vhdx-test-$RANDOM-$RANDOM"
inner_vhdx "$C/d.vhdx" "$TEXT" "" || { notok "byhand: build the image" "inner_vhdx failed"; exit 1; }
id=$(disk_id "$C/d.vhdx")
cp "$C/d.vhdx" "$C/copy.vhdx"
qemu-io -f vhdx -c "write -P 0x5a 41M 4K" "$C/copy.vhdx" >/dev/null # the ESP's unused end: another DataWriteGuid
lr_esp_fat "$C/esp.fat" "$INITRD" "$CMDLINE vhdx.disk=$id" || { notok "byhand: the ESP" "lr_esp_fat failed"; exit 1; }
mkdir -p "$C/esp/EFI/BOOT"
mcopy -s -i "$C/esp.fat" ::/EFI ::/loader ::/vmlinuz ::/initrd.img "$C/esp/"
attach_virtio "$C/d.vhdx" addr=0x10
attach_virtio "$C/copy.vhdx" addr=0x11
run_linux
rc=$?
expect "byhand: the guest ended (no timeout)" test "$rc" -ne 124
expect "byhand: find refused, naming the two devices" log_has "vhdx: find: 2 devices hold a VHDX with VirtualDiskId $id; refusing to guess which was booted:"
expect "byhand: /dev/vda listed" log_has '^vhdx: find:   /dev/vda \(FileWriteGuid'
expect "byhand: /dev/vdb listed" log_has '^vhdx: find:   /dev/vdb \(FileWriteGuid'
expect "byhand: the boot stopped saying several devices hold it" log_has "vhdx: several devices hold the VHDX $id \(listed above\)"
expect "byhand: no contradicting 'not found' / 'no block device'" log_lacks 'not found after|no block device holds'
expect "byhand: no root was mounted" log_lacks '^ROOTINIT-'
