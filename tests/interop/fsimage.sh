#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# fsimage.sh - a VHDX *file* on an ext4, exFAT, FAT32 or NTFS partition, reached by the tool through the partition
# (IMAGE = PARTITION/PATH-INSIDE), with no file-system driver: the core's locator finds the file's extents.
#
# For each file system: a partition image is made with the file system's own tools, fragmented (small files
# written, every other one deleted), and a dynamic VHDX holding a GPT with random data is copied into a directory
# four levels down.  Then, through the partition:
#   - info and check read the image; export equals the raw disk the VHDX was made from;
#   - map prints one table straight onto the partition (the VHDX's block map composed with the file's extents),
#     which resolved as device-mapper would equals the raw disk;
#   - session writes the header update inside the file only: every partition byte outside the file's extents is
#     unchanged, the file read back through the file system's own driver checks clean (vhdx check, qemu-img
#     check) with the new header, and the file system checks clean;
#   - a volume marked dirty (or needing journal recovery) is opened read-only: session refuses, nothing written;
#   - a path that is not there, and a partition that holds no file system we read, are refused with a message.
source "$(dirname "$0")/common.bash"
W=$(mktemp -d "${TMPDIR:-/tmp}/vhdx-fsimage.XXXXXX")
MNT=$W/mnt
cleanup() {
	mountpoint -q "$MNT" 2>/dev/null && { umount "$MNT" 2>/dev/null || fusermount -u "$MNT" 2>/dev/null; }
	rm -rf "$W"
}
trap cleanup EXIT
export PATH=$PATH:/usr/sbin:/sbin
DIR=dir1/dir2/dir3/dir4
mkdir -p "$MNT"

# The VHDX: a 48 MiB raw disk with random data in places, converted by qemu-img (dynamic, 1 MiB blocks).
raw=$W/raw
truncate -s 48M "$raw"
sgdisk -n 1:2048:+8M -t 1:C12A7328-F81F-11D2-BA4B-00A0C93EC93B -n 2:0:0 -t 2:4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709 \
	"$raw" >/dev/null
head -c 3M /dev/urandom | dd of="$raw" bs=1M seek=20 conv=notrunc status=none
head -c 100K /dev/urandom | dd of="$raw" bs=1K seek=30000 conv=notrunc status=none
qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=1M "$raw" "$W/img.vhdx"

FS_WORK=$W FS_MNT=$MNT FS_DIR=$DIR FS_IMAGE=$W/img.vhdx
source "$TOOLS/fsbuild.bash"
fs_small

one_fs() {
	local kind=$1 part=$W/$1.part img n
	img=$part/$DIR/img.vhdx
	if ! make_fs "$kind" "$part" 2>"$W/mkerr"; then
		notok "$kind: setup" "$(oneline <"$W/mkerr")"
		return
	fi
	n=$(extents "$part" "$DIR/img.vhdx")
	if [[ ${n:-0} -gt 1 ]]; then ok "$kind: the image file is fragmented ($n extents)"; else notok "$kind: fragmented" "${n:-locate failed} extents"; fi
	t "$kind: vhdx info through the partition" "$VHDX" info "$img"
	t "$kind: vhdx check through the partition" "$VHDX" check "$img"
	if "$VHDX" export "$img" "$W/out" 2>"$W/err" && cmp -s "$W/out" "$raw"; then
		ok "$kind: export through the partition equals the raw disk"
	else
		notok "$kind: export" "$(oneline <"$W/err")"
	fi
	rm -f "$W/out"
	if "$VHDX" map "$img" >"$W/table" 2>"$W/err" && out=$(python3 "$TOOLS/dmtable.py" "$W/table" "$raw" 0 $((48 << 20))); then
		ok "$kind: map composes the block map with the file's extents onto the partition ($(tail -1 <<<"$out"))"
	else
		notok "$kind: map" "$(oneline <"$W/err") $(oneline <<<"${out:-}")"
	fi
	if grep -q "linear $part " "$W/table" && ! grep -vq " zero$\| linear $part " "$W/table"; then
		ok "$kind: every linear segment points at the partition"
	else
		notok "$kind: segments" "$(head -3 "$W/table" | oneline)"
	fi
	cp "$part" "$W/before"
	if t "$kind: vhdx session through the partition" "$VHDX" session "$img"; then
		if outside_same "$W/before" "$part" "$part" "$DIR/img.vhdx"; then ok "$kind: session: no byte outside the file changed"; else notok "$kind: session" "a byte outside the file's extents changed"; fi
		if fs_clean "$kind" "$part"; then ok "$kind: session: the file system checks clean"; else notok "$kind: session" "the file system's checker complains"; fi
		if read_back "$kind" "$part" "$W/back" && "$VHDX" check "$W/back" >/dev/null 2>&1 && qemu-img check -q "$W/back" &&
			! cmp -s "$W/back" "$W/img.vhdx"; then
			ok "$kind: session: the file read through the file system has the update and checks clean"
		else
			notok "$kind: session" "the file read back through the file system is not the updated image"
		fi
		rm -f "$W/back"
	fi
	if set_dirty "$kind" "$part"; then
		cp "$part" "$W/before"
		out=$("$VHDX" session "$img" 2>&1)
		if [[ $? != 0 ]] && [[ $out == *"read-only"* ]] && cmp -s "$W/before" "$part"; then
			ok "$kind: a dirty volume opens read-only: session refused, nothing written"
		else
			notok "$kind: dirty volume" "$(oneline <<<"$out")"
		fi
	fi
	expect_rc "$kind: a missing path is refused" 1 "$VHDX" info "$part/$DIR/none.vhdx"
	rm -f "$part" "$W/before"
}

# vhdx allocate on a file gives the new blocks real storage: afterwards the locator serves every block (a hole
# would be refused), and the whole disk maps read-write straight onto the partition.  The control: a file with a
# hole (what growth by ftruncate leaves) is refused by the locator.
alloc_case() {
	local part=$W/alloc.part
	truncate -s 128M "$part"
	mkfs.ext4 -q -F -b 4096 -O ^has_journal "$part" && mount -o loop "$part" "$MNT" || { notok "allocate: setup" "mkfs/mount"; return; }
	FS_SIZE=128M fragment "$MNT"
	cp --sparse=never "$W/img.vhdx" "$MNT/a.vhdx"
	truncate -s 8M "$MNT/hole" && printf x >>"$MNT/hole"
	out=$("$VHDX" allocate "$MNT/a.vhdx" 2>&1)
	local rc=$?
	umount "$MNT"
	if ((rc == 0)); then ok "allocate: the file's blocks are allocated ($(oneline <<<"$out" | cut -c1-120))"; else notok "allocate" "$out"; fi
	if [[ $out == *"extents on its file system"* ]]; then ok "allocate: says the file is fragmented"; else notok "allocate: fragmentation" "not reported: $out"; fi
	t "allocate: the locator serves the grown file (no hole, no unwritten extent)" "$VHDX" locate "$part" a.vhdx
	if "$VHDX" map --rw "$part/a.vhdx" >"$W/table" 2>"$W/err" && python3 "$TOOLS/dmtable.py" "$W/table" "$raw" 0 $((48 << 20)) --rw >/dev/null; then
		ok "allocate: map --rw through the partition: every block present, bytes equal the raw disk"
	else
		notok "allocate: map --rw" "$(oneline <"$W/err")"
	fi
	out=$("$VHDX" locate "$part" hole 2>&1)
	if [[ $? == 1 && $out == *hole* ]]; then ok "allocate: control: a file with a hole is refused, named"; else notok "hole refused" "$(oneline <<<"$out")"; fi
	rm -f "$part"
}

truncate -s 64M "$W/blank"
out=$("$VHDX" info "$W/blank/x.vhdx" 2>&1)
if [[ $? == 1 && $out == *"superblock"* ]]; then ok "a partition with no file system we read: refused, named"; else notok "no file system" "$(oneline <<<"$out")"; fi
alloc_case
for kind in ext4 fat32 exfat ntfs; do
	one_fs "$kind"
done
exit $((FAILS > 0))
