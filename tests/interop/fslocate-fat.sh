#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/interop/fslocate-fat.sh - `vhdx locate` on FAT32 against mtools: images made by mkfs.vfat and filled by
# mcopy (vfat cannot be mounted here); mtype reads the file back as the driver's copy, mshowfat gives the chains
# the corruption cases patch.  Long names (with case and non-ASCII), 8.3 names, 4 directories deep, a directory of
# 3000 entries, a file in hundreds of fragments; refusals bounded in time and writing nothing.
SUITE=fslocate-fat
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/fslocate.bash"
require mkfs.vfat mcopy mtype mmd mdel mshowfat python3 timeout
mkwork fslocate-fat
export MTOOLS_SKIP_CHECK=1 LC_ALL=C.UTF-8

# fat_case NAME IMG PATH [MTOOLS_PATH]: the bytes equal mtype's copy
fat_case() {
	mtype -i "$2" "::/${4:-$3}" >"$WORK/ref" || {
		notok "$1" "mtype cannot read ${4:-$3}"
		return
	}
	found "$1" "$2" "$3" "$WORK/ref"
}

# geometry of an image: BPS, CS (cluster bytes), FATOFF, DATAOFF
geometry() {
	BPS=$(le16 "$1" 11)
	CS=$((BPS * $(od -An -tu1 -j13 -N1 "$1" | tr -d ' ')))
	local rsvd nfats fatsz
	rsvd=$(le16 "$1" 14)
	nfats=$(od -An -tu1 -j16 -N1 "$1" | tr -d ' ')
	fatsz=$(le32 "$1" 36)
	FATOFF=$((rsvd * BPS))
	DATAOFF=$(((rsvd + nfats * fatsz) * BPS))
}
# set_fat IMG CLUSTER VALUE: both FATs
set_fat() {
	local nfats fatsz
	nfats=$(od -An -tu1 -j16 -N1 "$1" | tr -d ' ')
	fatsz=$(le32 "$1" 36)
	for ((k = 0; k < nfats; k++)); do patch "$1" $((FATOFF + k * fatsz * BPS + 4 * $2)) "$(hex32 "$3")"; done
}
first_cluster() { mshowfat -i "$1" "::/$2" | grep -o '<[0-9]*' | head -1 | tr -d '<'; }

# --- 4 deep, long and short names, a directory of 3000 entries (512-byte clusters: long chains) ---
img=$WORK/fat.img
mkfs.vfat -F 32 -s 1 -S 512 -C "$img" 65536 >/dev/null
src=$WORK/src
mkdir -p "$src/many"
# (upper-case 8.3 names: mcopy needs minutes to make 3000 unique short aliases of long names)
python3 -c 'import sys
for i in range(3000): open("%s/E%05d.DAT" % (sys.argv[1], i), "wb").write(b"")' "$src/many"
head -c 900001 /dev/urandom >"$src/many/Target File.vhdx"
mcopy -i "$img" -s "$src/many" ::/
mmd -i "$img" ::/Level1 ::/Level1/Level2 ::/Level1/Level2/Level3 ::/Level1/Level2/Level3/Level4
head -c $((4 * 1024 * 1024 + 17)) /dev/urandom >"$WORK/big"
mcopy -i "$img" "$WORK/big" "::/Level1/Level2/Level3/Level4/Windows Disk Image.vhdx"
printf 'short name file\n' >"$WORK/abc"
mcopy -i "$img" "$WORK/abc" ::/ABC.TXT
head -c 70000 /dev/urandom >"$WORK/uni"
mcopy -i "$img" "$WORK/uni" "::/Level1/Grüße-Ωmega.vhdx"

fat_case "fat32: long name 4 directories deep" "$img" "Level1/Level2/Level3/Level4/Windows Disk Image.vhdx"
fat_case "fat32: long names compare without case" "$img" "/level1/LEVEL2/level3/level4/WINDOWS DISK IMAGE.VHDX" \
	"Level1/Level2/Level3/Level4/Windows Disk Image.vhdx"
fat_case "fat32: the 8.3 alias of a long name" "$img" 'Level1\Level2\Level3\Level4\WINDOW~1.VHD' \
	"Level1/Level2/Level3/Level4/WINDOW~1.VHD"
fat_case "fat32: an 8.3-only name, other case" "$img" abc.txt ABC.TXT
fat_case "fat32: a non-ASCII long name, folded (ü, Ω)" "$img" "LEVEL1/GRÜßE-ωMEGA.VHDX" "Level1/Grüße-Ωmega.vhdx"
fat_case "fat32: file after 3000 entries of a directory" "$img" "many/target file.vhdx" "many/Target File.vhdx"
bench_line "fat32 depth 4" "$img" "Level1/Level2/Level3/Level4/Windows Disk Image.vhdx"
bench_line "fat32 after 3000 directory entries" "$img" "many/Target File.vhdx"
refused "fat32: a missing file" "$img" "Level1/Level2/none.vhdx" 1 "no entry 'none.vhdx'"
refused "fat32: a directory is not a file" "$img" "Level1/Level2" 1 "is a directory"
refused "fat32: a path through a file" "$img" "ABC.TXT/x" 1 "not a directory"

# --- fragmented: 600 files of 4 clusters, every other one deleted, the free-cluster hint reset so the next
#     file fills the holes ---
img2=$WORK/frag.img
mkfs.vfat -F 32 -s 1 -S 512 -C "$img2" 40000 >/dev/null
mkdir -p "$WORK/fill"
python3 -c 'import sys
for i in range(600): open("%s/s%d" % (sys.argv[1], i), "wb").write(b"x" * 2048)' "$WORK/fill"
mcopy -i "$img2" "$WORK/fill"/* ::/
for i in $(seq 0 2 599); do echo "::/s$i"; done | xargs mdel -i "$img2"
patch "$img2" $(($(le16 "$img2" 48) * 512 + 492)) ffffffff
head -c 600000 /dev/urandom >"$WORK/fr"
mcopy -i "$img2" "$WORK/fr" ::/frag.vhdx
fat_case "fat32: fragmented file" "$img2" frag.vhdx
n=$(python3 "$CHECK" field "$WORK/out" extents)
((n >= 100)) && ok "fat32: the fragmented file has $n extents" || notok "fat32: fragmentation" "only $n extents"

# --- broken chains ---
geometry "$img2"
cp "$img2" "$WORK/bad.img"
c=$(first_cluster "$WORK/bad.img" frag.vhdx)
next=$(le32 "$WORK/bad.img" $((FATOFF + 4 * c)))
set_fat "$WORK/bad.img" "$c" "$c"
refused "fat32: a chain looping on itself" "$WORK/bad.img" frag.vhdx 1 "continues to|ends after"
set_fat "$WORK/bad.img" "$c" $((0x0FFFFFF0))
refused "fat32: a chain entry beyond the clusters" "$WORK/bad.img" frag.vhdx 1 "0x0ffffff0 is outside"
set_fat "$WORK/bad.img" "$c" 0
refused "fat32: a chain through a free cluster" "$WORK/bad.img" frag.vhdx 1 "is free"
set_fat "$WORK/bad.img" "$c" $((0x0FFFFFF8))
refused "fat32: a chain shorter than the size" "$WORK/bad.img" frag.vhdx 1 "ends after 1 clusters"
set_fat "$WORK/bad.img" "$c" "$next"
found "fat32: the chain restored is served again" "$WORK/bad.img" frag.vhdx "$WORK/fr"
# a directory whose chain loops: the search for a missing name must end
mmd -i "$WORK/bad.img" ::/loopdir
for i in $(seq 1 40); do echo "$i" >"$WORK/fill/l$i"; done
mcopy -i "$WORK/bad.img" "$WORK/fill"/l* ::/loopdir/
chain=$(mshowfat -i "$WORK/bad.img" ::/loopdir)
d0=$(grep -o '<[0-9]*' <<<"$chain" | head -1 | tr -d '<')
dl=$(grep -oE '[0-9]+>' <<<"$chain" | tail -1 | tr -d '>')
set_fat "$WORK/bad.img" "$dl" "$d0"
# free slots (first byte 0) would end the scan before the loop: mark them deleted (0xe5) instead
python3 -c 'import sys
img, data, cs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
f = open(img, "r+b")
for c in map(int, sys.argv[4:]):
    f.seek(data + (c - 2) * cs); b = bytearray(f.read(cs))
    for k in range(0, cs, 32):
        if b[k] == 0: b[k] = 0xE5
    f.seek(data + (c - 2) * cs); f.write(b)' "$WORK/bad.img" "$DATAOFF" "$CS" \
	$(grep -oE '<[0-9-]+>' <<<"$chain" | tr -d '<>' | while IFS=- read -r a b; do seq "$a" "${b:-$a}"; done)
refused "fat32: a directory chain that loops" "$WORK/bad.img" loopdir/none 1 "chain runs past"

# --- dirty: FAT[1]'s clean-shutdown bit clear; Linux's dirty bit in the boot sector ---
cp "$img" "$WORK/flags.img"
flags_are "fat32: clean volume" "$WORK/flags.img" ABC.TXT clean
geometry "$WORK/flags.img"
fat1=$(le32 "$WORK/flags.img" $((FATOFF + 4)))
set_fat "$WORK/flags.img" 1 $((fat1 & ~0x08000000))
flags_are "fat32: FAT[1] clean-shutdown bit clear reads dirty" "$WORK/flags.img" ABC.TXT dirty
set_fat "$WORK/flags.img" 1 "$fat1"
patch "$WORK/flags.img" $((0x41)) 01
flags_are "fat32: the boot sector's dirty bit reads dirty" "$WORK/flags.img" ABC.TXT dirty

# --- not FAT32, and a broken boot sector ---
cp "$img" "$WORK/bpb.img"
patch "$WORK/bpb.img" 13 03
refused "fat32: BPB_SecPerClus 3 is not recognised" "$WORK/bpb.img" ABC.TXT 1 "no FAT32, exFAT, NTFS or ext4"

finish
