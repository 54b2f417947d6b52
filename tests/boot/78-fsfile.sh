#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 78-fsfile: the system VHDX as a fragmented *file* on an NTFS, exFAT or ext4 partition of a second disk, booted
# with no file-system driver in the firmware: vhdxboot finds the file through the core's locator
# (image = PARTUUID:PATH), validates it and does its session update through the file's extents, boots systemd-boot
# from inside; the initramfs finds the same file with the same locator (`vhdx find --file`) and maps the root
# straight onto the partition.  Same system as 75-linuxroot (Debian's kernel, mkinitramfs with our hook, a busybox
# root whose /sbin/init prints markers).
# Cases:
#   ntfs-rw, exfat-rw, ext4-rw  every block present, os-write = yes: root read-write, init writes a file
#   ext4-ro, exfat-ro, ntfs-ro  os-write = no: root read-only
#   ntfs-hibernated             a hiberfil.sys that says "HIBR": the volume is not written by anyone; root read-only
# After each boot, on the host: every byte of the partition outside the file's extents is unchanged, the file
# system's own checker finds it clean, and the file read back through the file system's driver passes vhdx check
# and qemu-img check and holds what the guest wrote.  Environment: LINUX_BOOT_TIMEOUT (seconds per guest, 600).
source "$(dirname "$0")/lib/common.bash"
source "$ROOT/tests/boot/lib/linuxsuite.sh"
for t in mkntfs ntfs-3g mkfs.exfat mount.exfat-fuse losetup fsck.exfat ntfsfix e2fsck; do
	command -v "$t" >/dev/null 2>&1 || [[ -x /usr/sbin/$t || -x /sbin/$t ]] ||
		{ notok setup "missing $t (run tests/deps.sh)"; exit 1; }
done
TOOLS=$ROOT/tests/tools
LINUX_TYPE=0FC63DAF-8483-4772-8E79-3D69D8477DE4
PART_START=$((1 << 20))

# fs_case NAME KIND OS-WRITE [hibernated]: one boot from the VHDX file on a KIND partition
fs_case() {
	local name=$1 kind=$2 oswrite=$3 hib=${4:-} text part disk partuuid wrote got
	new_case "$name"
	text="vhdx-test-$RANDOM-$RANDOM"
	inner_vhdx "$C/d.vhdx" "$text" "$([[ $oswrite == yes ]] && echo vhdxtest.write)" ||
		{ notok "$name: build the image" "inner_vhdx failed"; return; }
	if [[ $oswrite == yes ]] && ! "$VHDX" allocate "$C/d.vhdx" >/dev/null; then
		notok "$name: vhdx allocate" "failed"
		return
	fi
	# the partition: the image written into a fragmented volume, then placed on a GPT disk
	mkdir -p "$C/mnt"
	FS_WORK=$C FS_MNT=$C/mnt FS_DIR="VMs/Debian 12/disks" FS_IMAGE=$C/d.vhdx
	FS_SIZE=$((($(stat -c %s "$C/d.vhdx") >> 20) * 2 + 64))M
	part=$C/part.img
	if ! make_fs "$kind" "$part" >"$C/mkfs.log" 2>&1; then
		notok "$name: make the $kind partition" "$(tail -3 "$C/mkfs.log" | tr '\n' ' ')"
		return
	fi
	if [[ -n $hib ]]; then # Windows' hibernation file, as ntfs-3g recognises it
		ntfs-3g "$part" "$C/mnt" && { printf 'HIBR' >"$C/mnt/hiberfil.sys"; head -c 8188 /dev/zero >>"$C/mnt/hiberfil.sys"; }
		fusermount -u "$C/mnt"
	fi
	local n=$(extents "$part" "$FS_DIR/img.vhdx")
	expect "$name: the image file is fragmented on $kind ($n extents)" test "${n:-0}" -gt 1
	disk=$C/disk2.raw
	truncate -s $(($(stat -c %s "$part") + 2 * PART_START)) "$disk"
	sgdisk -n "1:$((PART_START / 512)):+$(($(stat -c %s "$part") >> 10))K" -t "1:$LINUX_TYPE" "$disk" >/dev/null
	dd if="$part" of="$disk" bs=1M seek=$((PART_START >> 20)) conv=notrunc status=none
	partuuid=$(sgdisk -i 1 "$disk" | sed -n 's/^Partition unique GUID: //p')
	cp "$part" "$C/before.part"

	outer_esp "next = vhdx:" "image = $partuuid:\\${FS_DIR//\//\\}\\img.vhdx" "os-write = $oswrite"
	attach_virtio "$disk"
	run_linux
	local rc=$?
	((rc == 0)) || show_fail_log
	dd if="$disk" of="$part" bs=1M skip=$((PART_START >> 20)) count=$(($(stat -c %s "$part") >> 20)) status=none
	expect "$name: guest powered off by the root's init (qemu exit 0)" test "$rc" -eq 0
	expect "$name: vhdxboot read the image through the locator on $kind" log_has "^vhdxboot: image file .* \\($kind, [0-9]+ extents; the lookup read [0-9]+ bytes in [0-9]+ reads\\)"
	local fw host
	fw=$(sed -n 's/^vhdxboot: image file .*; the lookup read \([0-9]*\) bytes in \([0-9]*\) reads)\r\{0,1\}$/\1 \2/p' "$C/log" | head -1)
	host=$("$VHDX" locate --json "$C/before.part" "$FS_DIR/img.vhdx" 2>/dev/null |
		python3 -c 'import json, sys; j = json.load(sys.stdin); print(j["bytes_read"], j["reads"])' 2>/dev/null)
	expect "$name: the firmware's lookup read what vhdx locate reads on Linux ($fw / $host)" test -n "$fw" -a "$fw" = "$host"
	expect "$name: the initramfs found the file on the partition" log_has '^vhdx-initramfs: VHDX .* is on /dev/vd[a-z]1/VMs/Debian 12/disks/img.vhdx '
	expect "$name: the root's init read the test file" log_has "^ROOTINIT-FILE: $text\$"
	if [[ $oswrite == yes && -z $hib ]]; then
		expect "$name: the root was mapped read-write" log_has '^vhdx-initramfs: root is /dev/mapper/vhdx-p2 \(read-write\)'
		expect "$name: init wrote its file" log_has '^ROOTINIT-WROTE: written by the guest '
	else
		expect "$name: / is read-only" log_has '^ROOTINIT-ROOT: /dev/mapper/vhdx-p2 / ext4 ro'
	fi
	if [[ -n $hib ]]; then
		expect "$name: vhdxboot names the hibernated volume" log_has 'hibernated'
		expect "$name: the partition is byte-identical (nothing wrote a hibernated NTFS)" cmp -s "$C/before.part" "$part"
	else
		expect "$name: no partition byte outside the file's extents changed" \
			outside_same "$C/before.part" "$part" "$part" "$FS_DIR/img.vhdx"
	fi
	expect "$name: the $kind file system checks clean" fs_clean "$kind" "$part"
	if read_back "$kind" "$part" "$C/back.vhdx"; then
		expect "$name: the file read through the file system: vhdx check clean" "$VHDX" check "$C/back.vhdx"
		expect "$name: the file read through the file system: qemu-img check clean" qemu-img check -q -f vhdx "$C/back.vhdx"
		if [[ $oswrite == yes && -z $hib ]]; then
			wrote=$(sed -n 's/^ROOTINIT-WROTE: //p' "$C/log" | head -1)
			"$VHDX" export "$C/back.vhdx" "$C/out.raw" >/dev/null 2>&1
			dd if="$C/out.raw" of="$C/root.ext4" bs=1M skip=42 status=none 2>/dev/null
			got=$(debugfs -R 'cat /written.txt' "$C/root.ext4" 2>/dev/null)
			if [[ -n $wrote && $got == "$wrote" ]]; then
				ok "$name: what Linux wrote is in the file, read through the file system"
			else
				notok "$name: what Linux wrote" "read '$got', the guest wrote '$wrote'"
			fi
			rm -f "$C/out.raw" "$C/root.ext4"
		fi
	else
		notok "$name: read the file back through the $kind driver" "failed"
	fi
	rm -f "$C/back.vhdx" "$C/before.part" "$disk" "$part" "$C/inner.raw"
}

# a case stopped half-way (a timeout, a kill) must not leave its file systems mounted under $WORK
unmount_work() {
	local what where rest
	while read -r what where rest; do
		[[ $where == "$WORK"/* ]] && umount -l "$where" 2>/dev/null
	done < <(tac /proc/mounts)
	cleanup_work
}
trap unmount_work EXIT
source "$TOOLS/fsbuild.bash"
fs_case ntfs-rw ntfs yes
fs_case exfat-rw exfat yes
fs_case ext4-rw ext4 yes
fs_case ext4-ro ext4 no
fs_case exfat-ro exfat no
fs_case ntfs-ro ntfs no
fs_case ntfs-hibernated ntfs yes hibernated
