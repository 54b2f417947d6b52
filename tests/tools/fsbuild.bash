# SPDX-License-Identifier: BSD-2-Clause
# tests/tools/fsbuild.bash - partition images of NTFS, exFAT, ext4 and FAT32 built with each file system's own
# tools, with a VHDX file written into a fragmented volume; sourced by tests/interop/fsimage.sh and
# tests/boot/78-fsfile.sh.  The caller sets:
#   FS_WORK   a scratch directory      FS_MNT  an empty directory to mount on     FS_DIR  the image's directory
#   FS_IMAGE  the VHDX to copy in      FS_SIZE the partition's size (default 96M)  VHDX    the tool
# Functions: make_fs KIND PART, fragment DIR, extents PART PATH, outside_same BEFORE AFTER PART PATH,
# fs_clean KIND PART, read_back KIND PART OUT, set_dirty KIND PART.  Mounting needs root, loop devices and FUSE.

fs_small() { [[ -s $FS_WORK/small ]] || head -c $((${FS_FRAG_KIB:-64} << 10)) /dev/urandom >"$FS_WORK/small"; }

# Fragmenting the free space: FS_FRAG_KIB-sized files (default 64) until the volume is full, then every other one
# deleted, so the next large file can only go into holes of that size.
fragment() {
	local d=$1 i sz=${FS_SIZE:-96M}
	local FRAG_FILES=$((${sz%M} * 1024 / ${FS_FRAG_KIB:-64} + 16)) # more than fit: the loop ends when it is full
	mkdir -p "$d/frag"
	for ((i = 1; i <= FRAG_FILES; i++)); do cp "$FS_WORK/small" "$d/frag/f$i" 2>/dev/null || break; done
	rm -f "$d/frag/f$i"
	sync
	for ((i = 1; i <= FRAG_FILES; i += 2)); do rm -f "$d/frag/f$i"; done
	sync
}

# extents PART PATH -> "N" extents via vhdx locate (0 on failure)
extents() { "$VHDX" locate "$1" "$2" 2>/dev/null | sed -n 's/^extents //p'; }

# outside_same BEFORE AFTER PART PATH: every byte outside the file's extents is unchanged
outside_same() {
	"$VHDX" locate "$3" "$4" >"$FS_WORK/loc" 2>&1 || return 1
	python3 - "$1" "$2" "$FS_WORK/loc" <<'EOF'
import sys
a, b, loc = open(sys.argv[1], 'rb'), open(sys.argv[2], 'rb'), open(sys.argv[3]).read().split('\n')
ext = sorted((int(l.split()[1]), int(l.split()[2])) for l in loc if len(l.split()) == 3 and l.split()[0].isdigit())
pos, size = 0, a.seek(0, 2)
a.seek(0)
def same(off, n):
    while n:
        k = min(n, 1 << 20)
        a.seek(off); b.seek(off)
        if a.read(k) != b.read(k):
            print(f"bytes differ near partition offset {off}")
            return False
        off += k; n -= k
    return True
for start, length in ext:
    if not same(pos, start - pos):
        sys.exit(1)
    pos = start + length
sys.exit(0 if same(pos, size - pos) else 1)
EOF
}

# check_fs KIND PART: ok when KIND's own checker finds the file system clean (read-only check)
fs_clean() {
	case $1 in
	ext4) e2fsck -fn "$2" >/dev/null 2>&1 ;;
	exfat) fsck.exfat -n "$2" >/dev/null 2>&1 ;;
	fat32) fsck.vfat -n "$2" >/dev/null 2>&1 ;;
	ntfs) ntfsfix -n "$2" >/dev/null 2>&1 ;;
	esac
}

# read_back KIND PART OUT: the image file as the file system's own driver reads it
read_back() {
	case $1 in
	ext4) debugfs -R "dump \"/$FS_DIR/img.vhdx\" \"$3\"" "$2" >/dev/null 2>&1 && [[ -s $3 ]] ;;
	fat32) mcopy -n -i "$2" "::$FS_DIR/img.vhdx" "$3" ;;
	exfat)
		local loop rc=1
		loop=$(losetup --find --show --read-only "$2") || return 1
		mount.exfat-fuse -o ro "$loop" "$FS_MNT" >/dev/null 2>&1 && cp "$FS_MNT/$FS_DIR/img.vhdx" "$3" && rc=0
		fusermount -u "$FS_MNT" 2>/dev/null
		losetup -d "$loop" 2>/dev/null || true
		return $rc
		;;
	ntfs) ntfs-3g -o ro "$2" "$FS_MNT" >/dev/null 2>&1 && cp "$FS_MNT/$FS_DIR/img.vhdx" "$3" && fusermount -u "$FS_MNT" ;;
	esac
}

# make_fs KIND PART: a partition image (FS_SIZE, default 96M) holding FS_IMAGE at $FS_DIR/img.vhdx, written after
# fragmenting
make_fs() {
	local kind=$1 part=$2
	fs_small
	truncate -s "${FS_SIZE:-96M}" "$part"
	case $kind in
	ext4)
		mkfs.ext4 -q -F -b 4096 -O ^has_journal "$part" && mount -o loop "$part" "$FS_MNT" || return 1
		fragment "$FS_MNT" && mkdir -p "$FS_MNT/$FS_DIR" && cp --sparse=never "$FS_IMAGE" "$FS_MNT/$FS_DIR/img.vhdx" && umount "$FS_MNT"
		;;
	exfat)
		# exfat-fuse wants a block device: a loop device over the partition image
		local loop
		mkfs.exfat -c 4096 "$part" >/dev/null && loop=$(losetup --find --show "$part") || return 1
		if mount.exfat-fuse "$loop" "$FS_MNT" >/dev/null; then
			fragment "$FS_MNT" && mkdir -p "$FS_MNT/$FS_DIR" && cp --sparse=never "$FS_IMAGE" "$FS_MNT/$FS_DIR/img.vhdx"
			fusermount -u "$FS_MNT"
		fi
		losetup -d "$loop" 2>/dev/null || true
		;;
	fat32)
		# vfat cannot be mounted here: mtools writes it; the free space is fragmented the same way
		mkfs.vfat -F 32 -S 512 -s 1 "$part" >/dev/null || return 1
		# mtools allocates next-fit and fails badly on a full volume: fill it to about 95 %, so the image goes
		# into the tail and then wraps into the holes
		local i sz=${FS_SIZE:-96M}
		local n=$((${sz%M} * 148 / 10)) # about 95 % of the volume in 64 KiB files
		local sub= comp comps
		IFS=/ read -ra comps <<<"$FS_DIR"
		for comp in "${comps[@]}"; do sub=${sub:+$sub/}$comp && mmd -i "$part" "::$sub"; done
		rm -rf "$FS_WORK/frag" && mkdir "$FS_WORK/frag"
		for ((i = 1; i <= n; i++)); do ln "$FS_WORK/small" "$FS_WORK/frag/f$i"; done
		mcopy -i "$part" -s "$FS_WORK/frag" ::frag
		mdel -i "$part" $(for ((i = 1; i <= n; i += 2)); do echo "::frag/f$i"; done)
		mcopy -i "$part" "$FS_IMAGE" "::$FS_DIR/img.vhdx"
		;;
	ntfs)
		mkntfs -q -F -Q -c 4096 "$part" >/dev/null && ntfs-3g "$part" "$FS_MNT" || return 1
		fragment "$FS_MNT" && mkdir -p "$FS_MNT/$FS_DIR" && cp --sparse=never "$FS_IMAGE" "$FS_MNT/$FS_DIR/img.vhdx" && fusermount -u "$FS_MNT"
		;;
	esac
}

# set_dirty KIND PART: the volume's own "not cleanly unmounted" mark
set_dirty() {
	case $1 in
	ext4) debugfs -w -R "ssv state 0" "$2" >/dev/null 2>&1 ;;
	exfat) printf '\x02\x00' | dd of="$2" bs=1 seek=106 conv=notrunc status=none ;; # VolumeFlags: VolumeDirty
	fat32) # FAT[1] bit 27 cleared: the clean-shutdown bit (FAT at reserved sectors * 512)
		python3 - "$2" <<'EOF'
import struct, sys
f = open(sys.argv[1], 'r+b'); bs = f.read(512)
fat = struct.unpack_from('<H', bs, 14)[0] * struct.unpack_from('<H', bs, 11)[0]
f.seek(fat + 4); v = struct.unpack('<I', f.read(4))[0] & ~0x08000000
f.seek(fat + 4); f.write(struct.pack('<I', v))
EOF
		;;
	ntfs) return 1 ;; # covered by the NTFS locator's own suite
	esac
}

