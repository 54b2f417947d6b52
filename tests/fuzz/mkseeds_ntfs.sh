#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/fuzz/mkseeds_ntfs.sh - writes the seeds of fuzz_fs_ntfs (tests/fuzz/seeds/fs_ntfs/): small NTFS volumes
# made by mkntfs and populated through ntfs-3g (root, /dev/fuse and a loop device needed), each cut to the 4 KiB
# pages the lookup of one path reads (found by running the harness with FZ_NTFS_READLOG=1 over all the volume's
# non-zero pages), in the harness's compact input format.  File contents are zeros: the locator never reads them.
set -eu
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
H=$BUILD/fuzz/fuzz_fs_ntfs
OUT=tests/fuzz/seeds/fs_ntfs
[[ -x $H ]] || make "$H" >/dev/null
W=$(mktemp -d)
LOOP=
trap 'mountpoint -q "$W/m" && umount "$W/m"; [[ -n $LOOP ]] && losetup -d "$LOOP"; rm -rf "$W"' EXIT
mkdir -p "$W/m" "$OUT"
export PATH=$PATH:/usr/sbin:/sbin

# compact IMG PATHINDEX [PAGES]: the harness input (all non-zero pages when PAGES is empty)
compact() {
	python3 - "$@" <<'PY'
import struct, sys
img, pi = sys.argv[1], int(sys.argv[2])
d = open(img, 'rb').read()
n = len(d) // 4096
want = set(map(int, sys.argv[3].split())) if len(sys.argv) > 3 else None
out = bytes([pi, 0]) + struct.pack('<I', n)
for i in range(n):
    p = d[i * 4096:(i + 1) * 4096]
    if (want is None or i in want) and any(p):
        p = p.rstrip(b'\0')
        out += struct.pack('<IH', i, len(p)) + p
sys.stdout.buffer.write(out)
PY
}

# volume NAME SIZE MKNTFS-OPTIONS SETUP: makes $W/NAME.img and runs SETUP (a shell snippet) in its mount
volume() {
	truncate -s "$2" "$W/$1.img"
	mkntfs -F -Q $3 "$W/$1.img" >/dev/null 2>&1
	LOOP=$(losetup -f --show "$W/$1.img")
	ntfs-3g "$LOOP" "$W/m"
	(cd "$W/m" && eval "$4")
	umount "$W/m"
	losetup -d "$LOOP"
	LOOP=
}

# seed NAME PATHINDEX: the pages this lookup reads, and nothing else
seed() {
	compact "$W/$1.img" "$2" >"$W/all"
	pages=$(FZ_NTFS_READLOG=1 "$H" -runs=1 "$W/all" 2>&1 | sed -n 's/^read page //p' | sort -un | tr '\n' ' ')
	compact "$W/$1.img" "$2" "$pages" >"$OUT/$1-path$2"
	echo "$OUT/$1-path$2: $(stat -c %s "$OUT/$1-path$2") bytes"
}

volume small 3M "" '
mkdir -p d/e many
head -c 40000 /dev/zero >d/e/File.bin
head -c 20000 /dev/zero >top.bin
for i in $(seq 150); do : >many/a-long-name-for-the-index-$i; done
head -c 9000 /dev/zero >many/x.bin
echo hi >tiny
{ printf HIBR; head -c 8K /dev/zero; } >hiberfil.sys'
for i in 0 1 2 4 5 6 7; do seed small $i; done
# fill the volume with one-cluster files, free those at even clusters (FIBMAP), then write 2 MiB into the holes:
# ~500 runs, which no longer fit the file's record, so they spread over extension records (an $ATTRIBUTE_LIST)
volume frag 16M "" '
mkdir f
python3 -c "
import fcntl, os, struct
n = 0
try:
    while True:
        open(\"f/%d\" % n, \"wb\").write(bytes(4096))
        n += 1
except OSError:
    pass
for i in range(n):
    fd = os.open(\"f/%d\" % i, os.O_RDONLY)
    blk = struct.unpack(\"i\", fcntl.ioctl(fd, 1, struct.pack(\"i\", 0)))[0]
    os.close(fd)
    if blk % 2 == 0:
        os.unlink(\"f/%d\" % i)
"
head -c 2M /dev/zero >frag.bin'
ntfsinfo -F /frag.bin "$W/frag.img" 2>/dev/null | grep -q "ATTRIBUTE_LIST" || echo "warning: frag.bin has no \$ATTRIBUTE_LIST" >&2
seed frag 8
