#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/fuzz/mkfsseeds.sh - regenerates the seeds of the file-locator harnesses (tests/fuzz/seeds/fs_*) from small
# volumes the real tools make: mkfs.vfat + mtools, mkfs.exfat + exfat-fuse (on a loop device), mkfs.ext4/ext2 -d.
# File contents are one non-zero byte per block (the locators never read file data; the bytes keep seeds small).
set -eu
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
S=$ROOT/tests/fuzz/seeds
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
conv() { python3 "$ROOT/tests/fuzz/mkfsseeds.py" "$@"; }
sparse_file() { # PATH BYTES BLOCK: a file with one 'x' per block
	python3 -c 'import sys
n, b = int(sys.argv[2]), int(sys.argv[3]); d = bytearray(n)
for i in range(0, n, b): d[i] = 0x78
open(sys.argv[1], "wb").write(d)' "$@"
}
mkdir -p "$S/fs_fat" "$S/fs_exfat" "$S/fs_ext4"

# FAT32: 512-byte clusters, long and short names, 3 deep, a file in 2 fragments
export MTOOLS_SKIP_CHECK=1
img=$T/fat.img
mkfs.vfat -F 32 -s 1 -S 512 -C "$img" 33800 >/dev/null
mmd -i "$img" ::/Dir ::/Dir/Sub ::/Dir/Sub/Deep
sparse_file "$T/a" 3000 512
sparse_file "$T/b" 1024 512
mcopy -i "$img" "$T/a" "::/Dir/Sub/Deep/Disk Image.vhdx"
mcopy -i "$img" "$T/b" ::/GAP.BIN
mcopy -i "$img" "$T/a" ::/Dir/frag.vhdx
mdel -i "$img" ::/GAP.BIN
conv "$img" "Dir/Sub/Deep/Disk Image.vhdx" "$S/fs_fat/deep"
conv "$img" "dir/FRAG.VHDX" "$S/fs_fat/frag" --extent-max 3
conv "$img" "Dir/SUB/DEEP/DISKIM~1.VHD" "$S/fs_fat/short"

# exFAT: 4 KiB clusters; the boot region's other sectors, the allocation bitmap and up-case table are skipped
img=$T/ex.img
truncate -s 8M "$img"
mkfs.exfat -c 4096 "$img" >/dev/null
L=$(losetup -f --show "$img")
mkdir -p "$T/m"
mount.exfat-fuse "$L" "$T/m" >/dev/null 2>&1
mkdir -p "$T/m/Dir/Sub/Deep"
sparse_file "$T/m/Dir/Sub/Deep/Disk Image.vhdx" 20000 4096
for i in 1 2 3 4 5 6; do sparse_file "$T/m/Dir/f$i" 4096 4096; done
rm "$T/m/Dir/f2" "$T/m/Dir/f4"
sparse_file "$T/m/Dir/frag.vhdx" 12288 4096
fusermount -u "$T/m"
losetup -d "$L"
while [[ -n $(losetup -j "$img") ]]; do sleep 0.1; done
python3 - "$img" >"$T/skips" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
bps = 1 << d[108]; cs = bps << d[109]; heap = struct.unpack_from('<I', d, 88)[0] * bps
root = struct.unpack_from('<I', d, 96)[0]
print('--skip %d:%d' % (bps, 23 * bps))
r = heap + (root - 2) * cs
for k in range(0, cs, 32):
    t = d[r + k]
    if t in (0x81, 0x82):
        c, n = struct.unpack_from('<IQ', d, r + k + 20)
        print('--skip %d:%d' % (heap + (c - 2) * cs, n))
PY
conv "$img" "Dir/Sub/Deep/Disk Image.vhdx" "$S/fs_exfat/deep" $(cat "$T/skips")
conv "$img" "DIR/FRAG.vhdx" "$S/fs_exfat/frag" --extent-max 2 $(cat "$T/skips")

# ext4 (1 KiB blocks, no journal) and ext2 block maps
mkdir -p "$T/src/Dir/Sub/Deep"
sparse_file "$T/src/Dir/Sub/Deep/disk.vhdx" 20000 1024
sparse_file "$T/src/big.vhdx" 60000 1024
img=$T/e4.img
mkfs.ext4 -q -F -b 1024 -O ^has_journal,^resize_inode -N 32 -d "$T/src" "$img" 2M
conv "$img" "Dir/Sub/Deep/disk.vhdx" "$S/fs_ext4/deep"
conv "$img" "big.vhdx" "$S/fs_ext4/big" --extent-max 1
img=$T/e2.img
mkfs.ext2 -q -F -b 1024 -O ^resize_inode -N 32 -d "$T/src" "$img" 2M
conv "$img" "big.vhdx" "$S/fs_ext4/blockmap"
conv "$img" "Dir/Sub/Deep/disk.vhdx" "$S/fs_ext4/blockmap-deep"
