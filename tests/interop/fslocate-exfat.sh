#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/interop/fslocate-exfat.sh - `vhdx locate` on exFAT against exfatprogs and exfat-fuse: mkfs.exfat makes the
# image, exfat-fuse (on a loop device: as root it insists on a block device) writes the files and, mounted again
# read-only, reads them back as the driver's copy.  Contiguous (NoFatChain) and FAT-chained files, 4 directories
# deep, a directory of 3000 entries, hundreds of fragments; a broken SetChecksum or chain is refused in bounded
# time without a byte written; VolumeDirty reads dirty.
SUITE=fslocate-exfat
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/fslocate.bash"
require mkfs.exfat mount.exfat-fuse fusermount losetup python3 timeout
mkwork fslocate-exfat
LOOPS=()
trap 'for m in "${MOUNTS[@]}"; do fusermount -u "$m" 2>/dev/null; done; for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done; rm -rf "$WORK"' EXIT

MNT=$WORK/mnt
mkdir -p "$MNT"
# xmount IMG [ro]: the image through exfat-fuse at $MNT; xumount: unmount and wait until the daemon let go of the
# loop device (fusermount returns before exfat-fuse has flushed and exited)
xmount() {
	LOOP=$(losetup -f --show "$1") || return 1
	LOOPS=("$LOOP") # only while attached: a detached number may be someone else's loop device a moment later
	XIMG=$1
	mount.exfat-fuse ${2:+-o ro} "$LOOP" "$MNT" >/dev/null 2>&1 || return 1
	MOUNTS+=("$MNT")
}
xumount() {
	fusermount -u "$MNT"
	MOUNTS=()
	losetup -d "$LOOP"
	LOOPS=()
	for ((i = 0; i < 300; i++)); do
		[[ -z $(losetup -j "$XIMG") ]] && return 0
		sleep 0.1
	done
	echo "loop device of $XIMG still busy" >&2
	return 1
}

# ex_case NAME IMG PATH FUSEPATH: the bytes equal the file read back through exfat-fuse (mounted read-only)
ex_case() {
	xmount "$2" ro && cp "$MNT/$4" "$WORK/ref" && xumount || {
		notok "$1" "exfat-fuse could not read $4 back"
		return
	}
	found "$1" "$2" "$3" "$WORK/ref"
}

img=$WORK/ex.img
truncate -s 96M "$img"
mkfs.exfat -c 4096 "$img" >/dev/null
if ! xmount "$img"; then
	notok "exfat: mount.exfat-fuse" "cannot mount the image (losetup or /dev/fuse missing?)"
	finish
	exit
fi
mkdir -p "$MNT/Level1/Level2/Level3/Level4" "$MNT/many"
head -c $((6 * 1024 * 1024 + 3)) /dev/urandom >"$MNT/Level1/Level2/Level3/Level4/Disk Image.vhdx"
python3 -c 'import sys
for i in range(3000): open("%s/entry-number-%d.dat" % (sys.argv[1], i), "wb").close()' "$MNT/many"
head -c 500000 /dev/urandom >"$MNT/many/Target.vhdx"
head -c 1000 /dev/urandom >"$MNT/Grüße-Ωmega.vhdx"
# fragments: 700 files of 8 KiB, every other deleted, then a file that must fill the holes
mkdir -p "$MNT/fill"
python3 -c 'import sys
for i in range(700): open("%s/s%d" % (sys.argv[1], i), "wb").write(b"f" * 8192)' "$MNT/fill"
# the rest of the volume filled, so that the file written after the deletions has only the holes to go to
head -c $(($(stat -f -c '%a * %S' "$MNT") - 65536)) /dev/zero | tr '\0' 'z' >"$MNT/rest.bin"
xumount
xmount "$img"
for i in $(seq 0 2 699); do rm "$MNT/fill/s$i"; done
head -c $((2 * 1024 * 1024)) /dev/urandom >"$MNT/frag.vhdx"
xumount

ex_case "exfat: file 4 directories deep" "$img" "Level1/Level2/Level3/Level4/Disk Image.vhdx" "Level1/Level2/Level3/Level4/Disk Image.vhdx"
ex_case "exfat: names compare without case" "$img" "/LEVEL1/level2/LeVeL3/level4/disk image.VHDX" "Level1/Level2/Level3/Level4/Disk Image.vhdx"
ex_case "exfat: a non-ASCII name, folded (ü, Ω)" "$img" "GRÜßE-ωMEGA.vhdx" "Grüße-Ωmega.vhdx"
ex_case "exfat: file after 3000 entries of a directory" "$img" many/target.vhdx many/Target.vhdx
bench_line "exfat depth 4" "$img" "Level1/Level2/Level3/Level4/Disk Image.vhdx"
bench_line "exfat after 3000 directory entries" "$img" many/Target.vhdx
ex_case "exfat: fragmented file" "$img" frag.vhdx frag.vhdx
n=$(python3 "$CHECK" field "$WORK/out" extents)
((n >= 100)) && ok "exfat: the fragmented file has $n extents" || notok "exfat: fragmentation" "only $n extents"
refused "exfat: a missing file" "$img" Level1/none.vhdx 1 "no entry 'none.vhdx'"
refused "exfat: a directory is not a file" "$img" Level1/Level2 1 "is a directory"

# entry_set IMG NAME: byte offset of the File entry (0x85) whose first name entry starts with NAME (<= 15 units)
entry_set() {
	python3 -c 'import sys
data = open(sys.argv[1], "rb").read()
want = sys.argv[2].encode("utf-16-le")
at = 0
while True:
    i = data.find(want, at)
    if i < 0: sys.exit("no entry set for " + sys.argv[2])
    e = i - 2
    if e % 32 == 0 and data[e] == 0xC1 and data[e - 32] == 0xC0 and data[e - 64] == 0x85:
        print(e - 64); break
    at = i + 1' "$1" "$2"
}
bps=$((1 << $(od -An -tu1 -j108 -N1 "$img" | tr -d ' ')))
fatoff=$(($(le32 "$img" 80) * bps))

cp "$img" "$WORK/bad.img"
e=$(entry_set "$WORK/bad.img" frag.vhdx)
sum=$(le16 "$WORK/bad.img" $((e + 2)))
patch "$WORK/bad.img" $((e + 2)) "$(printf '%02x%02x' $(((sum ^ 0x5a) & 255)) $((sum >> 8)))"
refused "exfat: a broken SetChecksum" "$WORK/bad.img" frag.vhdx 1 "SetChecksum"
patch "$WORK/bad.img" $((e + 2)) "$(printf '%02x%02x' $((sum & 255)) $((sum >> 8)))"
flags=$(od -An -tu1 -j$((e + 33)) -N1 "$WORK/bad.img" | tr -d ' ')
if ((flags & 2)); then
	notok "exfat: the fragmented file" "has NoFatChain set (flags $flags)"
else
	c=$(le32 "$WORK/bad.img" $((e + 32 + 20)))
	next=$(le32 "$WORK/bad.img" $((fatoff + 4 * c)))
	patch "$WORK/bad.img" $((fatoff + 4 * c)) "$(hex32 "$c")"
	refused "exfat: a FAT chain looping on itself" "$WORK/bad.img" frag.vhdx 1 "goes on after|chain"
	patch "$WORK/bad.img" $((fatoff + 4 * c)) "$(hex32 $((0xFFFFFF00)))"
	refused "exfat: a FAT chain entry beyond the clusters" "$WORK/bad.img" frag.vhdx 1 "outside the volume's clusters"
	patch "$WORK/bad.img" $((fatoff + 4 * c)) "$(hex32 "$next")"
	found "exfat: the chain restored is served again" "$WORK/bad.img" frag.vhdx "$WORK/ref"
fi
# a contiguous (NoFatChain) file whose DataLength runs past the last cluster (checksum recomputed so the length
# is what is refused)
e=$(entry_set "$WORK/bad.img" "Disk Image.vhdx")
python3 -c 'import sys, struct
f = open(sys.argv[1], "r+b"); e = int(sys.argv[2])
f.seek(e); n = 1 + f.read(2)[1]; f.seek(e); s = bytearray(f.read(32 * n))
s[32 + 8:32 + 16] = struct.pack("<Q", 1 << 40); s[32 + 24:32 + 32] = struct.pack("<Q", 1 << 40)
c = 0
for i, b in enumerate(s):
    if i not in (2, 3): c = (((c & 1) << 15) + (c >> 1) + b) & 0xFFFF
s[2:4] = struct.pack("<H", c); f.seek(e); f.write(s)' "$WORK/bad.img" "$e"
refused "exfat: DataLength beyond the volume" "$WORK/bad.img" "Level1/Level2/Level3/Level4/Disk Image.vhdx" 1 \
	"does not fit|run past"

cp "$img" "$WORK/flags.img"
flags_are "exfat: clean volume" "$WORK/flags.img" frag.vhdx clean
vf=$(le16 "$WORK/flags.img" 106)
patch "$WORK/flags.img" 106 "$(printf '%02x%02x' $(((vf | 2) & 255)) $((vf >> 8)))"
flags_are "exfat: VolumeDirty reads dirty" "$WORK/flags.img" frag.vhdx dirty

finish
