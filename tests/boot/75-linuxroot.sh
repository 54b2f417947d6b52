#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 75-linuxroot: a whole Linux system inside a VHDX, its root through device-mapper.
# The VHDX (dynamic, 1 MiB blocks, mostly unallocated) holds a GPT: an ESP with Debian's systemd-boot, Debian's
# kernel and an initramfs made by Debian's mkinitramfs with our hook and local-top script (initramfs/), and an ext4
# root of the Discoverable Partitions root type whose /sbin/init (tests/boot/lib/rootinit.sh) prints a marker and
# the content of a file the test put there.  vhdxboot ("next = vhdx:") validates the image, does the session
# update, sets its handoff variable and starts systemd-boot from inside; in the initramfs the script reads the
# variable, finds the device (`vhdx find`), maps the virtual disk (`vhdx map | dmsetup create vhdx`) and each
# partition over it (vhdx-pN), and the boot continues on /dev/mapper/vhdx-p2.
# Cases: read-only root; read-write root after every block of the virtual disk was allocated; the VHDX on a GPT
# partition of the disk; read-write refused over absent blocks (falls back to read-only); a plain boot (no vhdxboot)
# with the hook present does nothing.  Environment: LINUX_BOOT_TIMEOUT (seconds per guest, default 600).
source "$(dirname "$0")/lib/common.bash"
source "$ROOT/tests/boot/lib/linuxsuite.sh"
if lsinitramfs "$INITRD" | grep -q 'sbin/vhdx$' && lsinitramfs "$INITRD" | grep -q 'sbin/dmsetup$' &&
	lsinitramfs "$INITRD" | grep -q 'dm-zero.ko' && lsinitramfs "$INITRD" | grep -q 'scripts/local-top/vhdx$'; then
	ok "initramfs: mkinitramfs put vhdx, dmsetup, dm-zero and our local-top script in"
else
	notok "initramfs: mkinitramfs put vhdx, dmsetup, dm-zero and our local-top script in" "$(lsinitramfs "$INITRD" | grep -cE 'vhdx|dmsetup|dm-')"
fi

dwg_of() { "$VHDX" info "$1" | sed -n 's/.*[Dd]ata[ _-]*[Ww]rite[ _-]*[Gg][Uu][Ii][Dd][: ]*\([0-9A-Fa-f-]\{36\}\).*/\1/p' | head -1; }

# --- 1: read-only root -------------------------------------------------------------------------------------------
new_case ro
TEXT="vhdx-test-$RANDOM-$RANDOM"
inner_vhdx "$C/d.vhdx" "$TEXT" "" || { notok "ro: build the image" "inner_vhdx failed"; exit 1; }
echo "# image: $(stat -c %s "$C/d.vhdx") bytes for a $(($(virtual_size "$C/d.vhdx") >> 20)) MiB virtual disk"
cp "$C/d.vhdx" "$C/before.vhdx"
outer_esp "next = vhdx:"
attach_virtio "$C/d.vhdx"
run_linux
rc=$?
((rc == 0)) || show_fail_log
expect "ro: guest powered off by the root's init (qemu exit 0)" test "$rc" -eq 0
expect "ro: vhdxboot set the handoff variable (whole disk, read-only)" log_has '^vhdxboot: handoff: VhdxbootImage = disk .*, a whole disk, OS read-only'
expect "ro: the initramfs found the image on /dev/vda" log_has '^vhdx-initramfs: VHDX .* is on /dev/vda '
expect "ro: the root's /sbin/init ran" log_has '^ROOTINIT-MARKER: init from the root file system'
expect "ro: it read the test file through the mapping" log_has "^ROOTINIT-FILE: $TEXT\$"
expect "ro: / is /dev/mapper/vhdx-p2, read-only" log_has '^ROOTINIT-ROOT: /dev/mapper/vhdx-p2 / ext4 ro'
session_checked "ro: image got one session update, nothing else changed" "$C/before.vhdx" "$C/d.vhdx"

seq_of() { python3 "$IMGCHECK" seq "$1"; }
fwg_of() { "$VHDX" info "$1" | awk '/, current$/ {c = 1} c && /file write guid/ {print $NF; exit}'; }
dwg_of() { "$VHDX" info "$1" | awk '/, current$/ {c = 1} c && /data write guid/ {print $NF; exit}'; }

# --- 2: read-write root after vhdx allocate (the whole virtual disk: it is mapped read-write as one) -------------
new_case rw
TEXT="vhdx-test-$RANDOM-$RANDOM"
inner_vhdx "$C/d.vhdx" "$TEXT" "vhdxtest.write" || { notok "rw: build the image" "inner_vhdx failed"; exit 1; }
if out=$("$VHDX" allocate "$C/d.vhdx" 2>&1); then
	ok "rw: vhdx allocate"
else
	notok "rw: vhdx allocate" "$out"
fi
echo "# after allocate: $(stat -c %s "$C/d.vhdx") bytes"
cp "$C/d.vhdx" "$C/before.vhdx"
seq0=$(seq_of "$C/d.vhdx") dwg0=$(dwg_of "$C/d.vhdx") fwg0=$(fwg_of "$C/d.vhdx")
outer_esp "next = vhdx:" "os-write = yes"
attach_virtio "$C/d.vhdx"
run_linux
rc=$?
((rc == 0)) || show_fail_log
expect "rw: guest powered off by the root's init (qemu exit 0)" test "$rc" -eq 0
expect "rw: vhdxboot's handoff says the OS may write" log_has '^vhdxboot: handoff: VhdxbootImage = disk .*, OS may write'
expect "rw: the initramfs did the session update with a new DataWriteGuid" log_has '^/dev/vda: data write guid '
expect "rw: the root was mapped read-write" log_has '^vhdx-initramfs: device-mapper table of the virtual disk: [0-9]+ segments, read-write'
expect "rw: init wrote its file" log_has '^ROOTINIT-WROTE: written by the guest '
wrote=$(sed -n 's/^ROOTINIT-WROTE: //p' "$C/log" | head -1)
"$VHDX" export "$C/d.vhdx" "$C/out.raw" >/dev/null 2>&1
dd if="$C/out.raw" of="$C/root.ext4" bs=1M skip=42 status=none 2>/dev/null
got=$(debugfs -R 'cat /written.txt' "$C/root.ext4" 2>/dev/null)
if [[ -n $wrote && $got == "$wrote" ]]; then
	ok "rw: the file is in the image (vhdx export + debugfs)"
else
	notok "rw: the file is in the image (vhdx export + debugfs)" "debugfs read '$got', the guest wrote '$wrote'"
fi
fsck_clean() { e2fsck -fn "$1" >"$C/fsck.log" 2>&1 || { sed 's/^/#   /' "$C/fsck.log"; false; }; }
expect "rw: e2fsck -fn finds the root file system clean" fsck_clean "$C/root.ext4"
rm -f "$C/out.raw" "$C/root.ext4"
expect "rw: qemu-img check is clean" qemu-img check -q -f vhdx "$C/d.vhdx"
expect "rw: vhdx check is clean" "$VHDX" check "$C/d.vhdx"
seq1=$(seq_of "$C/d.vhdx") dwg1=$(dwg_of "$C/d.vhdx") fwg1=$(fwg_of "$C/d.vhdx")
newdwg=$(sed -n 's|^/dev/vda: data write guid ||p' "$C/log" | head -1)
# vhdxboot's update (+2, FileWriteGuid only) and the initramfs's `vhdx session --data` (+2): nothing else wrote
# headers, so the DataWriteGuid changed exactly once, to the value the initramfs printed
if [[ $dwg1 != "$dwg0" && $dwg1 == "$newdwg" && $seq1 == $((seq0 + 4)) ]] &&
	log_has "vhdx-initramfs: booted by vhdxboot from VHDX " && grep -q "DataWriteGuid $dwg0)" "$C/log"; then
	ok "rw: DataWriteGuid changed exactly once ($dwg0 -> $dwg1, sequence $seq0 -> $seq1)"
else
	notok "rw: DataWriteGuid changed exactly once" "DataWriteGuid $dwg0 -> $dwg1 (initramfs said $newdwg), sequence $seq0 -> $seq1"
fi
expect "rw: FileWriteGuid changed" test "$fwg1" != "$fwg0"

# --- 3: the VHDX on a GPT partition of the disk ------------------------------------------------------------------
new_case partition
TEXT="vhdx-test-$RANDOM-$RANDOM"
inner_vhdx "$C/d.vhdx" "$TEXT" "" || { notok "partition: build the image" "inner_vhdx failed"; exit 1; }
vsize=$(stat -c %s "$C/d.vhdx")
truncate -s $((vsize + (4 << 20))) "$C/outer.raw"
sgdisk -n "1:2048:+$((vsize >> 10))K" -t 1:0FC63DAF-8483-4772-8E79-3D69D8477DE4 "$C/outer.raw" >/dev/null
dd if="$C/d.vhdx" of="$C/outer.raw" bs=1M seek=1 conv=notrunc status=none
outer_esp "next = vhdx:"
attach_virtio "$C/outer.raw"
run_linux
rc=$?
((rc == 0)) || show_fail_log
dd if="$C/outer.raw" of="$C/after.vhdx" bs=1M skip=1 count=$((vsize >> 20)) status=none
expect "partition: guest powered off by the root's init (qemu exit 0)" test "$rc" -eq 0
expect "partition: vhdxboot's handoff names a GPT partition" log_has '^vhdxboot: handoff: VhdxbootImage = disk .*, on a GPT partition'
expect "partition: the initramfs found the image on /dev/vda1" log_has '^vhdx-initramfs: VHDX .* is on /dev/vda1 '
expect "partition: the root's init read the test file" log_has "^ROOTINIT-FILE: $TEXT\$"
expect "partition: / is /dev/mapper/vhdx-p2" log_has '^ROOTINIT-ROOT: /dev/mapper/vhdx-p2 / ext4 ro'
session_checked "partition: image got one session update, nothing else changed" "$C/d.vhdx" "$C/after.vhdx"

# --- 4a: read-write asked for, but the virtual disk has absent blocks ---------------------------------------------
new_case rwrefused
TEXT="vhdx-test-$RANDOM-$RANDOM"
inner_vhdx "$C/d.vhdx" "$TEXT" "vhdxtest.write" || { notok "rwrefused: build the image" "inner_vhdx failed"; exit 1; }
cp "$C/d.vhdx" "$C/before.vhdx"
outer_esp "next = vhdx:" "os-write = yes"
attach_virtio "$C/d.vhdx"
run_linux
rc=$?
((rc == 0)) || show_fail_log
expect "rwrefused: guest powered off by the root's init (qemu exit 0)" test "$rc" -eq 0
expect "rwrefused: vhdx map --rw named the absent blocks and the fix" log_has '^vhdx: /dev/vda: --rw: [0-9]+ blocks .* of the virtual disk are not present.*vhdx allocate /dev/vda$'
expect "rwrefused: the initramfs fell back to read-only" log_has '^vhdx-initramfs: falling back to a read-only root'
expect "rwrefused: the root came up read-only" log_has '^ROOTINIT-ROOT: /dev/mapper/vhdx-p2 / ext4 ro'
expect "rwrefused: init could not write" log_has '^ROOTINIT-WROTE: remount read-write failed'
session_checked "rwrefused: image got vhdxboot's session update only (no data update, no write)" "$C/before.vhdx" "$C/d.vhdx"

# --- 4b: no vhdxboot (the kernel from a plain ESP, root a raw partition): the hook does nothing ---------------------
new_case plain
TEXT="vhdx-test-$RANDOM-$RANDOM"
lr_rootdir "$C/rootdir" "$TEXT"
lr_esp_fat "$C/esp.fat" "$INITRD" "$CMDLINE root=/dev/vda2" && lr_inner_raw "$C/disk.raw" 160 "$C/esp.fat" "$C/rootdir" ||
	{ notok "plain: build the disk" "lr_inner_raw failed"; exit 1; }
mkdir -p "$C/esp/EFI/BOOT"
mcopy -s -i "$C/esp.fat" ::/EFI ::/loader ::/vmlinuz ::/initrd.img "$C/esp/"
attach_virtio "$C/disk.raw"
run_linux
rc=$?
((rc == 0)) || show_fail_log
expect "plain: guest powered off by the root's init (qemu exit 0)" test "$rc" -eq 0
expect "plain: the initramfs script said nothing and mapped nothing" log_lacks 'vhdx-initramfs:'
expect "plain: / is the raw partition" log_has '^ROOTINIT-ROOT: /dev/vda2 / ext4 ro'
expect "plain: the root's init read the test file" log_has "^ROOTINIT-FILE: $TEXT\$"
