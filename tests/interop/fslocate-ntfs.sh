#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# fslocate-ntfs.sh - `vhdx locate` on NTFS: images made by mkntfs, populated through ntfs-3g (a FUSE mount of a
# loop device, so FIBMAP answers), then for files of several shapes (contiguous, fragmented into hundreds of runs
# with an $ATTRIBUTE_LIST, five directories deep, in a directory of thousands of names, clusters of 512 bytes and
# 64 KiB) the bytes the printed extents select on the raw image equal the file read through ntfs-3g, and the
# extents equal the FIBMAP map ntfs-3g gives.  Refusals (compressed, sparse, resident, a torn MFT record, runs
# outside the volume, cross-linked runs, an index that loops) exit 1 with the reason, bounded by timeout, the image
# unchanged.  The dirty flag ($Volume, as ntfsinfo reads it) and a hibernated Windows (hiberfil.sys "HIBR": the
# image ntfs-3g itself refuses to mount read-write) show in `flags`.
source "$(dirname "$0")/common.bash"
export PATH=$PATH:/usr/sbin:/sbin
LOCATE=${LOCATE:-"$VHDX locate"} # the command under test; split on spaces
read -r -a LOCATE_CMD <<<"$LOCATE"

for tool in mkntfs ntfs-3g ntfsinfo ntfscluster losetup setfattr python3; do
	if ! command -v "$tool" >/dev/null; then
		skip "ntfs-locate" "$tool is missing (tests/deps.sh installs it)"
		exit 0
	fi
done
if [[ $(id -u) != 0 || ! -e /dev/fuse ]] || ! losetup -f >/dev/null 2>&1; then
	skip "ntfs-locate" "needs root, /dev/fuse and a free loop device"
	exit 0
fi

if "${LOCATE_CMD[@]}" 2>&1 | grep -q "unknown command"; then
	skip "ntfs-locate" "'$LOCATE' is not a command of this build"
	exit 0
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/vhdx-ntfs.XXXXXX")
MNT=$W/mnt
mkdir -p "$MNT"
LOOP=
cleanup() {
	mountpoint -q "$MNT" && umount "$MNT"
	[[ -n $LOOP ]] && losetup -d "$LOOP"
	rm -rf "$W"
}
trap cleanup EXIT

# mount_img IMG [OPTIONS]: ntfs-3g on a loop device of IMG at $MNT; umount_img undoes it
mount_img() {
	LOOP=$(losetup -f --show "$1") || return 1
	ntfs-3g ${2:+-o "$2"} "$LOOP" "$MNT" || {
		losetup -d "$LOOP"
		LOOP=
		return 1
	}
}
umount_img() {
	umount "$MNT"
	losetup -d "$LOOP"
	LOOP=
}

# The checks and the image surgery, in Python: FIBMAP extents, extents-select-these-bytes, MFT record patches.
PY=$W/ntfstool.py
cat >"$PY" <<'EOF'
import fcntl, hashlib, os, struct, sys

def parse_locate(path):
    lines = open(path).read().split('\n')
    head = dict(l.split(' ', 1) for l in lines[:4])
    n = int(head['extents'])
    ext = [tuple(map(int, l.split())) for l in lines[4:4 + n]]
    return head, ext

def merge(out, fo, po, ln):
    if out and out[-1][1] + out[-1][2] == po and out[-1][0] + out[-1][2] == fo:
        out[-1] = (out[-1][0], out[-1][1], out[-1][2] + ln)
    else:
        out.append((fo, po, ln))

def fibmap(path):
    """merged (file_offset, part_offset, length) from FIBMAP (ioctl 1), FIGETBSZ (ioctl 2) the block size;
    None when ntfs-3g does not answer (it reports 0 for clusters smaller than its 4 KiB block)"""
    fd = os.open(path, os.O_RDONLY)
    bsz = struct.unpack('i', fcntl.ioctl(fd, 2, struct.pack('i', 0)))[0]
    size = os.fstat(fd).st_size
    out = []
    for i in range((size + bsz - 1) // bsz):
        blk = struct.unpack('i', fcntl.ioctl(fd, 1, struct.pack('i', i)))[0]
        if blk == 0:
            os.close(fd)
            return None, size
        merge(out, i * bsz, blk * bsz, min(bsz, size - i * bsz))
    os.close(fd)
    return out, size

def ntfscluster(path, size, cluster):
    """merged extents from `ntfscluster -F` (libntfs-3g's runlist of the file's $DATA)"""
    out, data = [], False
    for line in open(path):
        f = line.split()
        if line.strip().startswith('0x80'):
            data = True
        elif data and len(f) == 3 and f[0].isdigit():
            vcn, lcn, ln = map(int, f)
            if lcn < 0:  # -2: this piece's listing leaves runs of other pieces unmapped
                continue
            fo = vcn * cluster
            if fo < size:
                merge(out, fo, lcn * cluster, min(ln * cluster, size - fo))
        elif data and line.strip().startswith('0x'):
            data = False
    return out

def cmd_check(img, locate_out, mounted, runs):
    """the extents select the file's bytes on the raw image, and equal ntfs-3g's runlist and FIBMAP map"""
    head, ext = parse_locate(locate_out)
    fib, size = fibmap(mounted)
    ntc = ntfscluster(runs, size, Vol(img).cluster)
    if head['fs'] != 'ntfs' or int(head['size']) != size:
        raise SystemExit('fs %s size %s, the file has %d bytes' % (head['fs'], head['size'], size))
    pos, h = 0, hashlib.sha256()
    with open(img, 'rb') as f:
        for fo, po, ln in ext:
            if fo != pos:
                raise SystemExit('extent at file offset %d, expected %d' % (fo, pos))
            f.seek(po)
            h.update(f.read(ln))
            pos += ln
    if pos != size:
        raise SystemExit('extents cover %d bytes of %d' % (pos, size))
    want = hashlib.sha256(open(mounted, 'rb').read()).hexdigest()
    if h.hexdigest() != want:
        raise SystemExit('the extents select other bytes than ntfs-3g reads')
    if [tuple(e) for e in ext] != ntc:
        raise SystemExit('extents differ from ntfscluster -F: %d vs %d, first %s vs %s' % (len(ext), len(ntc), ext[:2], ntc[:2]))
    if fib is not None and [tuple(e) for e in ext] != fib:
        raise SystemExit('extents differ from FIBMAP: %d vs %d, first %s vs %s' % (len(ext), len(fib), ext[:2], fib[:2]))
    print('%d extents, bytes, ntfscluster runlist%s agree with ntfs-3g' % (len(ext), '' if fib is None else ' and FIBMAP map'))

class Vol:
    def __init__(self, img):
        self.f = open(img, 'r+b')
        bs = self.f.read(512)
        self.bps = struct.unpack_from('<H', bs, 11)[0]
        spc = bs[13]
        self.cluster = self.bps * (spc if spc <= 0x80 else 1 << (256 - spc))
        c = struct.unpack_from('<b', bs, 0x40)[0]
        self.rec = c * self.cluster if c > 0 else 1 << -c
        self.mft = struct.unpack_from('<Q', bs, 0x30)[0] * self.cluster
        self.mirr = struct.unpack_from('<Q', bs, 0x38)[0] * self.cluster

    def read_rec(self, n):
        # the test images' first MFT extent holds the records patched here
        self.f.seek(self.mft + n * self.rec)
        b = bytearray(self.f.read(self.rec))
        uo, uc = struct.unpack_from('<HH', b, 4)
        for i in range(1, uc):
            b[i * 512 - 2:i * 512] = b[uo + 2 * i:uo + 2 * i + 2]
        return b

    def write_rec(self, n, b):
        uo, uc = struct.unpack_from('<HH', b, 4)
        for i in range(1, uc):
            b[uo + 2 * i:uo + 2 * i + 2] = b[i * 512 - 2:i * 512]
            b[i * 512 - 2:i * 512] = b[uo:uo + 2]
        self.f.seek(self.mft + n * self.rec)
        self.f.write(b)
        if n < 4:  # $MFTMirr copies the first four records; ntfs-3g compares them
            self.f.seek(self.mirr + n * self.rec)
            self.f.write(b)

    def attr(self, b, typ):
        off = struct.unpack_from('<H', b, 0x14)[0]
        while struct.unpack_from('<I', b, off)[0] != 0xffffffff:
            t, ln = struct.unpack_from('<II', b, off)
            if t == typ and b[off + 9] == 0:
                return off
            off += ln
        raise SystemExit('record has no attribute 0x%x' % typ)

def cmd_runs(img, rec, mode):
    """rewrites the unnamed $DATA's mapping pairs of record rec: outside (past the volume) or overlap"""
    v = Vol(img)
    b = v.read_rec(int(rec))
    a = v.attr(b, 0x80)
    alen = struct.unpack_from('<I', b, a + 4)[0]
    if struct.unpack_from('<I', b, a + alen)[0] != 0xffffffff:
        raise SystemExit('$DATA is not the record\'s last attribute')
    mpo = struct.unpack_from('<H', b, a + 0x20)[0]
    clusters = struct.unpack_from('<Q', b, a + 0x18)[0] + 1
    if mode == 'outside':  # one run at LCN 2^40
        pairs = bytes([0x64]) + struct.pack('<I', clusters) + struct.pack('<q', 1 << 40)[:6] + b'\0'
    else:  # two runs, the second starting one cluster into the first
        half = clusters // 2
        pairs = (bytes([0x44]) + struct.pack('<I', half) + struct.pack('<i', 1000) +
                 bytes([0x14]) + struct.pack('<I', clusters - half) + struct.pack('<i', 1) + b'\0')
    nlen = (mpo + len(pairs) + 7) & ~7
    b[a + mpo:a + nlen] = pairs.ljust(nlen - mpo, b'\0')
    struct.pack_into('<I', b, a + 4, nlen)
    struct.pack_into('<II', b, a + nlen, 0xffffffff, 0)
    struct.pack_into('<I', b, 0x18, a + nlen + 8)
    v.write_rec(int(rec), b)

def cmd_tear(img, rec):
    """a torn write: the end of the record's second 512-byte block no longer carries the update sequence number"""
    v = Vol(img)
    v.f.seek(v.mft + int(rec) * v.rec + 1022)
    old = v.f.read(2)
    v.f.seek(v.mft + int(rec) * v.rec + 1022)
    v.f.write(bytes([old[0] ^ 0xff, old[1]]))

def cmd_dirty(img):
    """sets VOLUME_IS_DIRTY in $Volume's $VOLUME_INFORMATION (record 3), the way Windows marks a volume for chkdsk"""
    v = Vol(img)
    b = v.read_rec(3)
    a = v.attr(b, 0x70)
    val = a + struct.unpack_from('<H', b, a + 0x14)[0]
    b[val + 10] |= 1
    v.write_rec(3, b)

def cmd_loop(img, rec):
    """gives the last entry of every index block of directory rec a child pointer to its own block: a loop"""
    v = Vol(img)
    b = v.read_rec(int(rec))
    off = struct.unpack_from('<H', b, 0x14)[0]
    while struct.unpack_from('<I', b, off)[0] != 0xa0:
        if struct.unpack_from('<I', b, off)[0] == 0xffffffff:
            raise SystemExit('no $INDEX_ALLOCATION')
        off += struct.unpack_from('<I', b, off + 4)[0]
    mp = off + struct.unpack_from('<H', b, off + 0x20)[0]
    ls, os_ = b[mp] & 15, b[mp] >> 4
    nclus = int.from_bytes(b[mp + 1:mp + 1 + ls], 'little')
    lcn = int.from_bytes(b[mp + 1 + ls:mp + 1 + ls + os_], 'little', signed=True)
    if b[mp + 1 + ls + os_] != 0 or v.cluster != 4096:
        raise SystemExit('expected one run of 4 KiB-cluster index blocks')
    patched = 0
    for k in range(nclus):
        v.f.seek((lcn + k) * v.cluster)
        ib = bytearray(v.f.read(4096))
        if ib[:4] != b'INDX':
            continue
        uo, uc = struct.unpack_from('<HH', ib, 4)
        for i in range(1, uc):
            ib[i * 512 - 2:i * 512] = ib[uo + 2 * i:uo + 2 * i + 2]
        eo, il, al = struct.unpack_from('<III', ib, 0x18)
        p = 0x18 + eo
        while not struct.unpack_from('<H', ib, p + 12)[0] & 2:
            p += struct.unpack_from('<H', ib, p + 8)[0]
        ln, fl = struct.unpack_from('<H', ib, p + 8)[0], struct.unpack_from('<H', ib, p + 12)[0]
        if not fl & 1:
            if il + 8 > al:
                continue
            ln += 8
            struct.pack_into('<H', ib, p + 8, ln)
            struct.pack_into('<H', ib, p + 12, fl | 1)
            struct.pack_into('<I', ib, 0x1c, il + 8)
        struct.pack_into('<Q', ib, p + ln - 8, k)
        for i in range(1, uc):
            ib[uo + 2 * i:uo + 2 * i + 2] = ib[i * 512 - 2:i * 512]
            ib[i * 512 - 2:i * 512] = ib[uo:uo + 2]
        v.f.seek((lcn + k) * v.cluster)
        v.f.write(ib)
        patched += 1
    if not patched:
        raise SystemExit('no index block patched')

globals()['cmd_' + sys.argv[1]](*sys.argv[2:])
EOF

# locate NAME IMG PATH: runs the locator (bounded), its stdout in $W/NAME.out, stderr in $W/NAME.err
locate() {
	timeout 60 "${LOCATE_CMD[@]}" "$2" "$3" >"$W/$1.out" 2>"$W/$1.err"
}
recno() { ntfsinfo -F "$2" "$1" 2>/dev/null | sed -n 's/^Dumping attribute .* from mft record \([0-9]*\).*/\1/p' | head -n1; }
has_attrlist() { ntfsinfo -F "$2" "$1" 2>/dev/null | grep -q 'Dumping attribute \$ATTRIBUTE_LIST'; }

# check_files IMG PATH...: locate each (unmounted), then compare against ntfs-3g's view (mounted read-only)
check_files() {
	local img=$1 p i=0 rc
	shift
	for p in "$@"; do
		i=$((i + 1))
		locate "f$i" "$img" "$p"
		echo $? >"$W/f$i.rc"
		ntfscluster -F "$p" "$img" >"$W/f$i.runs" 2>&1
	done
	mount_img "$img" ro || {
		notok "ntfs-3g mount of $img" "failed"
		return
	}
	i=0
	for p in "$@"; do
		i=$((i + 1))
		rc=$(cat "$W/f$i.rc")
		if ((rc != 0)); then
			notok "locate $p ($(basename "$img"))" "exit $rc: $(oneline <"$W/f$i.err")"
		elif out=$(python3 "$PY" check "$img" "$W/f$i.out" "$MNT$p" "$W/f$i.runs" 2>&1); then
			ok "locate $p ($(basename "$img")): $out"
		else
			notok "locate $p ($(basename "$img"))" "$(oneline <<<"$out")"
		fi
	done
	umount_img
}

# refuse NAME IMG PATH WORD: exit 1 within the timeout, a message containing WORD, the image unchanged
refuse() {
	local name=$1 img=$2 path=$3 word=$4 before after rc
	before=$(sha256sum <"$img")
	locate r "$img" "$path"
	rc=$?
	after=$(sha256sum <"$img")
	if ((rc == 1)) && grep -q "$word" "$W/r.err" && [[ $before == "$after" ]]; then
		ok "refuses $name: $(oneline <"$W/r.err")"
	else
		notok "refuses $name" "exit $rc (want 1), message '$(oneline <"$W/r.err")' (want '$word'), image $([[ $before == "$after" ]] && echo unchanged || echo CHANGED)"
	fi
}

# flags_are NAME IMG PATH WANT
flags_are() {
	locate fl "$2" "$3"
	local rc=$? got
	got=$(sed -n 's/^flags //p' "$W/fl.out")
	if ((rc == 0)) && [[ $got == "$4" ]]; then
		ok "flags $1: $got"
	else
		notok "flags $1" "exit $rc, flags '$got' (want '$4'): $(oneline <"$W/fl.err")"
	fi
}

# --- image A: 256 MiB, 4 KiB clusters: contiguous, fragmented (with $ATTRIBUTE_LIST), deep, crowded directory
A=$W/a.img
truncate -s 256M "$A"
mkntfs -F -Q -L vhdxtest "$A" >/dev/null 2>&1 || notok "mkntfs" "failed"
mount_img "$A" || exit 1
head -c 8M /dev/urandom >"$MNT/contig.bin"
mkdir -p "$MNT/a/b/c/d/e" "$MNT/many" "$MNT/fill"
head -c 1500000 /dev/urandom >"$MNT/a/b/c/d/e/Deep File.bin"
head -c 70000 /dev/urandom >"$MNT/a/Ünïcødé-Σίσυφος.bin"
# fill most of the volume with 16 KiB files, free every other one, then write into the holes
python3 - "$MNT" <<'EOF'
import os, sys
m = sys.argv[1]
chunk = os.urandom(32768)
n = 0
try:
    while n < 20000:
        with open('%s/fill/f%05d' % (m, n), 'wb') as f:
            f.write(chunk)
        n += 1
except OSError:
    pass
for i in range(0, n, 2):
    os.unlink('%s/fill/f%05d' % (m, i))
for i in range(3000):
    open('%s/many/a-rather-long-entry-name-to-fill-index-blocks-%05d' % (m, i), 'w').write('x')
EOF
head -c 40M /dev/urandom >"$MNT/frag.bin"
head -c 300000 /dev/urandom >"$MNT/many/target-in-many.bin"
umount_img
t "fragmented file has hundreds of runs and an \$ATTRIBUTE_LIST" has_attrlist "$A" /frag.bin
check_files "$A" /contig.bin /frag.bin "/a/b/c/d/e/Deep File.bin" /many/target-in-many.bin
# names compare without regard to case (through $UpCase), '\' separates too
locate case "$A" '\A\B\c\D\e\DEEP FILE.BIN'
if cmp -s "$W/case.out" "$W/f3.out"; then ok "case-insensitive path with backslashes finds the same file"; else
	notok "case-insensitive path" "$(oneline <"$W/case.err")"; fi
# and through $UpCase beyond ASCII: Latin-1 and Greek letters in the other case (the final sigma stays: the
# volume's table, which mkntfs wrote, does not fold it to capital sigma, and the lookup follows the volume)
locate uni "$A" /A/üNÏCØDÉ-σΊΣΥΦΟς.BIN
if [[ $? == 0 ]] && grep -q '^size 70000$' "$W/uni.out"; then ok "a non-ASCII name in the other case is found"; else
	notok "non-ASCII name in the other case" "$(oneline <"$W/uni.err")"; fi
locate nf "$A" /many/absent-name
[[ $? == 1 ]] && grep -q "not found" "$W/nf.err" && ok "a missing name: exit 1, $(oneline <"$W/nf.err")" ||
	notok "a missing name" "$(oneline <"$W/nf.err")"
flags_are "clean volume" "$A" /contig.bin clean

# --- images B to E: 512-byte clusters (records span two clusters), 64 KiB clusters, 128 KiB clusters (the boot
# sector's negative-exponent encoding, 0xf8), 4 KiB sectors (4 KiB MFT records, eight fixup blocks each)
for spec in "b 96M 512" "c 256M 65536" "d 512M 131072" "e 64M 4096 -s 4096"; do
	read -r n size cl more <<<"$spec"
	img=$W/$n.img
	truncate -s "$size" "$img"
	mkntfs -F -Q -c "$cl" $more "$img" >/dev/null 2>&1 || notok "mkntfs -c $cl $more" "failed"
	mount_img "$img" || continue
	mkdir -p "$MNT/x/y"
	python3 - "$MNT" "$cl" <<'EOF'
import os, sys
m, cl = sys.argv[1], int(sys.argv[2])
for i in range(400):
    open('%s/x/s%04d' % (m, i), 'wb').write(os.urandom(2 * cl))
for i in range(0, 400, 2):
    os.unlink('%s/x/s%04d' % (m, i))
EOF
	head -c $((300 * cl + 12345)) /dev/urandom >"$MNT/x/y/file.bin"
	umount_img
	check_files "$img" /x/y/file.bin
done

# --- refusals, on a small image R
R=$W/r.img
truncate -s 64M "$R"
mkntfs -F -Q "$R" >/dev/null 2>&1
mount_img "$R" compression || exit 1
mkdir "$MNT/comp"
setfattr -n system.ntfs_attrib_be -v 0x00000800 "$MNT/comp" # FILE_ATTRIBUTE_COMPRESSED: new files compress
yes "compressible text" | head -c 1M >"$MNT/comp/c.txt"
truncate -s 8M "$MNT/sparse.bin"
head -c 64K /dev/urandom | dd of="$MNT/sparse.bin" bs=64K seek=60 conv=notrunc status=none
echo tiny >"$MNT/tiny.txt"
for f in torn outside overlap; do head -c 200K /dev/urandom >"$MNT/$f.bin"; done
mkdir "$MNT/big"
for i in $(seq 600); do : >"$MNT/big/entry-number-with-a-long-name-$i"; done
head -c 100K /dev/zero >"$MNT/hiberfil.sys"
umount_img
refuse "a compressed file" "$R" /comp/c.txt compressed
refuse "a sparse file" "$R" /sparse.bin "sparse\|hole"
refuse "a resident file" "$R" /tiny.txt resident
refuse "a directory" "$R" /comp "is a directory"
cp "$R" "$W/r1.img" && python3 "$PY" tear "$W/r1.img" "$(recno "$R" /torn.bin)"
refuse "a torn MFT record (bad update sequence)" "$W/r1.img" /torn.bin "update sequence"
cp "$R" "$W/r2.img" && python3 "$PY" runs "$W/r2.img" "$(recno "$R" /outside.bin)" outside
refuse "a run outside the volume" "$W/r2.img" /outside.bin "outside the volume"
cp "$R" "$W/r3.img" && python3 "$PY" runs "$W/r3.img" "$(recno "$R" /overlap.bin)" overlap
refuse "cross-linked runs" "$W/r3.img" /overlap.bin "cross-linked"
cp "$R" "$W/r4.img" && python3 "$PY" loop "$W/r4.img" "$(recno "$R" /big)"
refuse "an index whose child points back at itself" "$W/r4.img" /big/zzz "deeper than\|index_block_vcn"

# --- flags: a zeroed hiberfil.sys (as after resume) or one marked "wake" is clean, "HIBR" hibernated; ntfs-3g
# (which mounts a hibernated volume read-only, saying so) agrees on each
# hiber_case NAME SIGNATURE WANT: writes hiberfil.sys starting with SIGNATURE, checks flags and ntfs-3g's verdict
hiber_case() {
	local name=$1 sig=$2 want=$3 H=$W/h.img
	cp "$R" "$H"
	mount_img "$H" || return
	{ printf '%s' "$sig"; head -c 8K /dev/zero; } >"$MNT/hiberfil.sys"
	umount_img
	flags_are "hiberfil.sys starting '$sig'" "$H" /torn.bin "$want"
	LOOP=$(losetup -f --show "$H")
	ntfs-3g "$LOOP" "$MNT" 2>"$W/h3g.err"
	local mode
	mode=$(awk -v m="$MNT" '$2 == m { split($4, o, ","); print o[1] }' /proc/mounts)
	mountpoint -q "$MNT" && umount "$MNT"
	losetup -d "$LOOP"
	LOOP=
	if [[ $want == hibernated ]] && grep -q 'Windows is hibernated' "$W/h3g.err" && [[ $mode != rw ]]; then
		ok "ntfs-3g also finds '$sig' hibernated (mounts $mode): $(head -n1 "$W/h3g.err")"
	elif [[ $want == clean && $mode == rw ]]; then
		ok "ntfs-3g also mounts the '$sig' volume read-write"
	else
		notok "ntfs-3g's verdict on '$sig'" "mount mode '$mode': $(oneline <"$W/h3g.err")"
	fi
}
flags_are "zeroed hiberfil.sys" "$R" /torn.bin clean
hiber_case "wake" wake clean
hiber_case "HIBR" HIBR hibernated
H=$W/h.img
python3 "$PY" dirty "$H"
if ntfsinfo -m "$H" 2>&1 | grep -q 'scheduled for check'; then
	ok "ntfsinfo finds the patched \$Volume dirty (scheduled for check)"
else
	notok "dirty patch" "ntfsinfo: $(ntfsinfo -m "$H" 2>&1 | oneline)"
fi
flags_are "dirty and hibernated" "$H" /torn.bin dirty,hibernated

((FAILS == 0))
