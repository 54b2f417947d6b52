#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/interop/fslocate-ext4.sh - `vhdx locate` on ext4 (and ext2 block maps) against e2fsprogs: images made by
# mkfs.ext4 -d, changed by debugfs -w or written by the kernel's ext4 through a loop mount; debugfs's `dump` is the
# driver's copy of the file and its `bmap` of every logical block the extent oracle.  Refusals: unwritten extents,
# holes, inline data, broken extent headers; every one bounded in time and writing nothing.
SUITE=fslocate-ext4
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/fslocate.bash"
require mkfs.ext4 mkfs.ext2 debugfs e2fsck python3 timeout
mkwork fslocate-ext4

dbg() { debugfs "$@" 2>/dev/null; }

# ext4_case NAME IMG PATH: bytes equal debugfs's dump; the physical block of every logical block equals debugfs's
# bmap of it
ext4_case() {
	local name=$1 img=$2 path=$3 bs n
	dbg -R "dump $path $WORK/ref" "$img"
	found "$name" "$img" "$path" "$WORK/ref" || return
	bs=$(dbg -R stats "$img" | awk '/^Block size:/ {print $3}')
	python3 "$CHECK" blocks "$WORK/out" "$bs" >"$WORK/ours"
	n=$((($(stat -c %s "$WORK/ref") + bs - 1) / bs))
	for ((i = 0; i < n; i++)); do echo "bmap $path $i"; done >"$WORK/bmap"
	dbg -f "$WORK/bmap" "$img" | grep -E '^[0-9]+$' >"$WORK/theirs"
	if cmp -s "$WORK/ours" "$WORK/theirs"; then
		ok "$name: the $(wc -l <"$WORK/ours") blocks equal debugfs's bmap"
	else
		notok "$name" "blocks differ from debugfs's ($(wc -l <"$WORK/ours") ours, $(wc -l <"$WORK/theirs") theirs)"
	fi
}

# --- contiguous, 4 directories deep; a directory of 3000 entries made an htree by e2fsck -D ---
src=$WORK/src
mkdir -p "$src/d1/d2/d3/d4" "$src/many"
head -c $((5 * 1024 * 1024 + 123)) /dev/urandom >"$src/d1/d2/d3/d4/big.vhdx"
for i in $(seq 1 3000); do : >"$src/many/entry-$i"; done
head -c 777777 /dev/urandom >"$src/many/target.vhdx"
img=$WORK/e4.img
mkfs.ext4 -q -F -b 4096 -d "$src" "$img" 64M >/dev/null
e2fsck -fyD "$img" >/dev/null 2>&1
ext4_case "ext4: contiguous file 4 directories deep" "$img" /d1/d2/d3/d4/big.vhdx
if dbg -R "htree /many" "$img" | grep -q "Root node dump"; then
	ext4_case "ext4: file in an htree directory of 3001 entries" "$img" /many/target.vhdx
else
	notok "ext4: htree directory" "e2fsck -D did not index /many"
fi
bench_line "ext4 depth 4 among 3000 files" "$img" /d1/d2/d3/d4/big.vhdx
bench_line "ext4 in an htree directory of 3001 entries" "$img" /many/target.vhdx
refused "ext4: a missing file" "$img" /d1/d2/nothere 1 "no entry 'nothere'"
refused "ext4: names compare exactly" "$img" /D1/d2/d3/d4/big.vhdx 1 "no entry 'D1'"
refused "ext4: a directory is not a file" "$img" /d1/d2 1 "not a regular file"

# --- the command line: usage and I/O errors exit 2; --json says what the text says ---
expect_rc "locate: one operand is a usage error" 2 "$VHDX" locate "$img"
expect_rc "locate: a partition that does not exist exits 2" 2 "$VHDX" locate "$WORK/none.img" /x
locate "$img" /d1/d2/d3/d4/big.vhdx
if "$VHDX" locate --json "$img" /d1/d2/d3/d4/big.vhdx >"$WORK/json" &&
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
t = open(sys.argv[2]).read().split("\n")
want = ["fs " + d["fs"], "size %d" % d["size"], "flags " + d["flags"], "extents %d" % len(d["extents"])]
want += ["%d %d %d" % (e["file_offset"], e["part_offset"], e["length"]) for e in d["extents"]]
sys.exit(0 if t[:len(want)] == want and d["bytes_read"] > 0 else 1)' "$WORK/json" "$WORK/out"; then
	ok "locate: --json gives the text output's fields"
else
	notok "locate: --json" "differs from the text output: $(oneline <"$WORK/json")"
fi

# --- fragmented: fill with 8 KiB files, free every other one, then write the big file into the holes ---
# (non-zero contents: mkfs -d stores blocks of zeros as holes; no journal and few inodes so the files fill it)
fill=$WORK/fill
mkdir -p "$fill/f"
python3 -c 'import sys
for i in range(1, 1501): open("%s/%d" % (sys.argv[1], i), "wb").write(b"fill" * 2048)' "$fill/f"
img2=$WORK/frag.img
mkfs.ext4 -q -F -b 4096 -m 0 -N 2048 -O ^has_journal -d "$fill" "$img2" 16M >/dev/null
for i in $(seq 1 2 1500); do echo "rm /f/$i"; done >"$WORK/cmds"
dbg -w -f "$WORK/cmds" "$img2" >/dev/null
head -c $((3 * 1024 * 1024)) /dev/urandom >"$WORK/fragsrc"
dbg -w -R "write $WORK/fragsrc /frag.vhdx" "$img2" >/dev/null
ext4_case "ext4: fragmented file" "$img2" /frag.vhdx
n=$(python3 "$CHECK" field "$WORK/out" extents)
depth=$(dbg -R "ex /frag.vhdx" "$img2" | awk 'NR == 2 {print $1 $2}')
((n >= 100)) && [[ $depth == 0/1 || $depth == 0/2 ]] && ok "ext4: the fragmented file has $n extents in a tree of depth ${depth#0/}" ||
	notok "ext4: fragmentation" "only $n extents, tree level '$depth' (the test did not fragment)"

# --- the kernel's own ext4 driver (a loop mount): a preallocated file written through, one half written ---
img6=$WORK/kernel.img
mkfs.ext4 -q -F -b 4096 "$img6" 32M >/dev/null
mkdir -p "$WORK/mnt"
if mount -o loop "$img6" "$WORK/mnt" 2>/dev/null; then
	MOUNTS=("$WORK/mnt") # the exit trap unmounts it if the suite dies here
	fallocate -l 4M "$WORK/mnt/prealloc.vhdx"
	head -c 4M /dev/urandom >"$WORK/kdata"
	dd if="$WORK/kdata" of="$WORK/mnt/prealloc.vhdx" bs=1M conv=notrunc status=none
	fallocate -l 4M "$WORK/mnt/half.vhdx"
	dd if="$WORK/kdata" of="$WORK/mnt/half.vhdx" bs=1M count=2 conv=notrunc status=none
	umount "$WORK/mnt" && MOUNTS=()
	ext4_case "ext4 (kernel): a preallocated file written through" "$img6" /prealloc.vhdx
	refused "ext4 (kernel): a preallocated file half written" "$img6" /half.vhdx 1 "unwritten"
else
	skip "ext4 (kernel): loop mount" "mount -o loop is not permitted here"
fi

# --- ext2-style block maps (1 KiB blocks: direct, indirect and double indirect) ---
img3=$WORK/e2.img
mkdir -p "$WORK/src2/x"
head -c $((2 * 1024 * 1024 + 5)) /dev/urandom >"$WORK/src2/x/map.vhdx"
mkfs.ext2 -q -F -b 1024 -d "$WORK/src2" "$img3" 8M >/dev/null
ext4_case "ext2: block-mapped file (double indirect)" "$img3" /x/map.vhdx

# --- refusals on valid files ---
img4=$WORK/r.img
mkdir -p "$WORK/src4"
truncate -s 1M "$WORK/src4/sparse.vhdx"
printf 'head' | dd of="$WORK/src4/sparse.vhdx" conv=notrunc status=none
printf 'tail' | dd of="$WORK/src4/sparse.vhdx" bs=1 seek=$((1024 * 1024 - 4)) conv=notrunc status=none
head -c 100000 /dev/urandom >"$WORK/src4/plain.vhdx"
mkfs.ext4 -q -F -b 4096 -d "$WORK/src4" "$img4" 16M >/dev/null
dbg -w -R "write /dev/null /unwritten.vhdx" "$img4" >/dev/null
dbg -w -R "fallocate /unwritten.vhdx 0 63" "$img4" >/dev/null
dbg -w -R "sif /unwritten.vhdx size 262144" "$img4" >/dev/null
if dbg -R "ex /unwritten.vhdx" "$img4" | grep -q Uninit; then
	refused "ext4: unwritten extent refused" "$img4" /unwritten.vhdx 1 "unwritten"
else
	notok "ext4: unwritten extent" "debugfs fallocate made no uninitialized extent"
fi
refused "ext4: sparse file refused" "$img4" /sparse.vhdx 1 "hole"
img5=$WORK/inline.img
mkdir -p "$WORK/src5"
printf 'tiny file held in the inode' >"$WORK/src5/tiny.vhdx"
mkfs.ext4 -q -F -O inline_data -b 4096 -d "$WORK/src5" "$img5" 8M >/dev/null
refused "ext4: inline data refused" "$img5" /tiny.vhdx 1 "inline data"

# --- broken structures: the file's inode found through debugfs imap, its extent header patched ---
inode_at() { # IMG PATH -> byte offset of the inode ("located at block B, offset 0xOOOO"; 4 KiB blocks)
	local b o
	read -r b o < <(dbg -R "imap $2" "$1" | sed -n 's/.*located at block \([0-9]*\), offset \(0x[0-9a-f]*\).*/\1 \2/p')
	echo $((b * 4096 + o))
}
cp "$img4" "$WORK/bad.img"
ioff=$(inode_at "$WORK/bad.img" /plain.vhdx)
found "ext4: the file before patching" "$WORK/bad.img" /plain.vhdx "$WORK/src4/plain.vhdx"
patch "$WORK/bad.img" $((ioff + 40)) 0000
refused "ext4: extent header magic broken" "$WORK/bad.img" /plain.vhdx 1 "eh_magic 0x0000"
patch "$WORK/bad.img" $((ioff + 40)) 0af3
patch "$WORK/bad.img" $((ioff + 46)) 0700
refused "ext4: extent header depth 7" "$WORK/bad.img" /plain.vhdx 1 "eh_depth 7"
patch "$WORK/bad.img" $((ioff + 46)) 0000
patch "$WORK/bad.img" $((ioff + 42)) 0900
refused "ext4: extent header eh_entries beyond eh_max" "$WORK/bad.img" /plain.vhdx 1 "eh_entries 9"
patch "$WORK/bad.img" $((ioff + 42)) 0100
patch "$WORK/bad.img" $((ioff + 60)) ffffff00
refused "ext4: extent beyond the volume" "$WORK/bad.img" /plain.vhdx 1 "outside the volume"

# --- the volume's flags: s_state not clean, INCOMPAT_RECOVER ---
cp "$img" "$WORK/flags.img"
flags_are "ext4: clean volume" "$WORK/flags.img" /d1/d2/d3/d4/big.vhdx clean
state=$(le16 "$WORK/flags.img" $((1024 + 58)))
patch "$WORK/flags.img" $((1024 + 58)) "$(printf '%02x00' $((state & ~1)))"
flags_are "ext4: s_state not clean reads dirty" "$WORK/flags.img" /d1/d2/d3/d4/big.vhdx dirty
incompat=$(le32 "$WORK/flags.img" $((1024 + 96)))
patch "$WORK/flags.img" $((1024 + 96)) "$(hex32 $((incompat | 4)))"
flags_are "ext4: needs_recovery reads recovery" "$WORK/flags.img" /d1/d2/d3/d4/big.vhdx dirty,recovery

finish
