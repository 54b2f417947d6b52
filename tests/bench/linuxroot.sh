#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/bench/linuxroot.sh - `make bench`: a Linux root through the device-mapper table `vhdx map`
# makes, against the same bytes on a raw partition of the same disk, in one QEMU run (OVMF, TCG).
#
# The outer virtio disk has two GPT partitions: 1 holds a dynamic VHDX (1 MiB blocks) whose virtual disk has an ESP
# (systemd-boot, Debian's kernel, an initramfs from mkinitramfs with our hook) and an ext4 root filled with a
# random file, every block of the root partition present (`vhdx allocate`, so that both sides read the same bytes
# from the disk); 2 holds a byte copy of that root partition.  vhdxboot boots from the VHDX, the initramfs maps the
# root read-only as /dev/mapper/vhdx-p2, and the root's /sbin/init (tests/boot/lib/rootinit.sh) reads both in
# pairs: after one warm-up read of each, BENCH_PAIRS (16) pairs of runs, the order alternating, each run BENCH_REPEAT
# (8) reads of the partition start to end in 1 MiB O_DIRECT requests; then BENCH_FILE_PAIRS (6) pairs reading
# /data.bin once through the page cache, from the mapped root and from the raw partition mounted read-only; then it
# checksums both partitions.  A pair's ratio is the raw run's time over the mapped run's.  Reported: MB/s, the best
# and the median ratio (target >= 0.95 on the median), the table's segments, and the table size `vhdx map` makes for
# a fragmented image (1 GiB, 1 MiB blocks written in a random order).  Single runs of one device spread by up to
# +-20% under TCG here, which is why pairs and a median: comparing the best of three runs of each side gave
# anything from 0.77 to 1.09 between runs of the same build.
# BENCH_FS=ext4|ntfs|exfat: partition 1 holds that file system instead, with the VHDX as a fragmented file in it
# (vhdxboot's image = PARTUUID:PATH; the initramfs composes the file's extents with the block map), so the ratio is
# that of the composed table against the raw partition.  BENCH_FRAG_KIB (default 4096) is the size of the holes
# the file is written into: each fragment is one more device-mapper segment, and a read that spans two is two
# requests, so 64 KiB holes measure a worst case and multi-MiB fragments what a used NTFS volume gives.
source "$(dirname "$0")/../boot/lib/common.bash"
source "$ROOT/tests/boot/lib/osparts.sh"
source "$ROOT/tests/boot/lib/linuxroot.sh"
need_tools
export PATH=$PATH:/usr/sbin:/sbin
VHDX=${VHDX:-$BUILD/host/vhdx}
OS=$BUILD/cache/os
ROOT_MIB=${BENCH_ROOT_MIB:-320}
ensure_osparts "$OS" || { echo "bench: no systemd-boot / busybox-static" >&2; exit 1; }
LR_BUSYBOX=$OS/busybox
lr_kernel "$BUILD/cache/linuxroot" || { echo "bench: no Debian kernel package" >&2; exit 1; }
INITRD=$WORK/initrd.img
lr_initramfs "$INITRD" || { echo "bench: mkinitramfs failed" >&2; exit 1; }

new_case bench
lr_rootdir "$C/rootdir" "bench"
head -c $(((ROOT_MIB - 40) << 20)) /dev/urandom >"$C/rootdir/data.bin"
pairs=${BENCH_PAIRS:-16} file_pairs=${BENCH_FILE_PAIRS:-6}
cmdline="console=ttyS0 panic=-1 loglevel=4 vhdxtest.repeat=${BENCH_REPEAT:-8} vhdxtest.pairs=$pairs"
cmdline+=" vhdxtest.bench=/dev/mapper/vhdx-p2,/dev/vda2 vhdxtest.mount=/dev/vda2"
cmdline+=" vhdxtest.repeat=1 vhdxtest.pairs=$file_pairs vhdxtest.bench=/data.bin,/mnt/data.bin"
cmdline+=" vhdxtest.sum=/dev/mapper/vhdx-p2,/dev/vda2"
lr_esp_fat "$C/esp.fat" "$INITRD" "$cmdline" || exit 1
lr_inner_raw "$C/inner.raw" $((ROOT_MIB + 42)) "$C/esp.fat" "$C/rootdir" || exit 1
rm -rf "$C/rootdir" "$C/esp.fat"
qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=1M "$C/inner.raw" "$C/d.vhdx"
r_first=$(sgdisk -i 2 "$C/inner.raw" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
r_last=$(sgdisk -i 2 "$C/inner.raw" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p')
r_sectors=$((r_last - r_first + 1))
dd if="$C/inner.raw" of="$C/root.part" bs=1M skip=$((r_first * 512)) count=$((r_sectors * 512)) \
	iflag=skip_bytes,count_bytes status=none
rm -f "$C/inner.raw"
# Every block of the root partition present (as `vhdx allocate` makes an image ready to be mapped read-write), so
# that both sides read the same bytes from the disk: an absent block maps to device-mapper's zero target, which
# reads nothing, and the ext4's never written space would otherwise be a free part of the mapped side's reads.
# BENCH_ALLOCATE=no keeps the image as qemu-img made it.
if [[ ${BENCH_ALLOCATE:-yes} != no ]]; then
	"$VHDX" allocate --partition root "$C/d.vhdx" >/dev/null || { echo "bench: vhdx allocate failed" >&2; exit 1; }
fi
segments=$("$VHDX" map --device /dev/vda1 --partition root "$C/d.vhdx" | wc -l)
zero_segments=$("$VHDX" map --device /dev/vda1 --partition root "$C/d.vhdx" | grep -c ' zero')
p1=$C/d.vhdx conf_image=
if [[ -n ${BENCH_FS:-} ]]; then
	source "$ROOT/tests/tools/fsbuild.bash"
	mkdir -p "$C/mnt"
	FS_WORK=$C FS_MNT=$C/mnt FS_DIR=VMs/bench FS_IMAGE=$C/d.vhdx
	FS_SIZE=$((($(stat -c %s "$C/d.vhdx") >> 20) * 2 + 64))M
	FS_FRAG_KIB=${BENCH_FRAG_KIB:-4096} make_fs "$BENCH_FS" "$C/p1.fs" >"$C/mkfs.log" 2>&1 || { echo "bench: make_fs $BENCH_FS failed" >&2; exit 1; }
	segments="$segments (the file: $(extents "$C/p1.fs" "$FS_DIR/img.vhdx") extents on $BENCH_FS)"
	p1=$C/p1.fs conf_image="image = $(cat /proc/sys/kernel/random/uuid):\\VMs\\bench\\img.vhdx"
fi
vsize=$(stat -c %s "$p1")
p1_sectors=$((((vsize + (1 << 20) - 1) >> 20) << 11))
p2_start=$((2048 + p1_sectors))
# The outer disk lives in memory (BENCH_DISK_DIR, default /dev/shm) when there is room, so that both sides read
# from the host's memory alike: this machine pages out page cache that sat idle (DAMON's pageout of cold regions;
# 1% of an idle 512 MiB file went in four minutes), so parts of a disk file in the build directory could come
# from the host's disk for one side and not the other.  tmpfs without swap is never paged out.
outer=$C/outer.raw
outer_bytes=$(((p2_start + r_sectors) * 512 + (2 << 20)))
disk_dir=${BENCH_DISK_DIR:-/dev/shm}
if [[ -d $disk_dir && -w $disk_dir ]] && (($(df --output=avail -k "$disk_dir" | tail -1) > 2 * (outer_bytes >> 10))); then
	outer=$(mktemp "$disk_dir/vhdx-bench-outer.XXXXXX")
	trap 'cleanup_work; rm -f "$outer"' EXIT
fi
truncate -s "$outer_bytes" "$outer"
p1_uuid=${conf_image:+${conf_image#image = }}
sgdisk -n "1:2048:$((2048 + p1_sectors - 1))" -t 1:0FC63DAF-8483-4772-8E79-3D69D8477DE4 ${p1_uuid:+-u "1:${p1_uuid%%:*}"} \
	-n "2:$p2_start:$((p2_start + r_sectors - 1))" -t 2:0FC63DAF-8483-4772-8E79-3D69D8477DE4 "$outer" >/dev/null
dd if="$p1" of="$outer" bs=1M seek=1 conv=notrunc status=none
dd if="$C/root.part" of="$outer" bs=1M seek=$((p2_start * 512)) oflag=seek_bytes conv=notrunc status=none
rm -f "$C/root.part" "$C/d.vhdx" "$C/p1.fs"

esp_module_as_bootx64
printf 'next = vhdx:\r\n%s\r\n' "$conf_image" >"$C/esp/EFI/BOOT/vhdxboot.conf"
attach_virtio "$outer"
echo "# the outer disk: $outer ($((outer_bytes >> 20)) MiB)"
with_rng
QEMU_MEM=512 BOOT_TIMEOUT=${LINUX_BOOT_TIMEOUT:-900} boot_guest
rc=$?
grep -E 'vhdx-initramfs:|^ROOTINIT' "$C/log" | sed 's/^/#   /'

# a fragmented image: 1 GiB, every 1 MiB block written once, in a random order
frag=$C/frag.vhdx
qemu-img create -q -f vhdx -o subformat=dynamic,block_size=1M "$frag" 1G
cmds=()
for b in $(seq 0 1023 | shuf --random-source=<(yes)); do cmds+=(-c "write -P 1 $((b << 20)) 1M"); done
qemu-io -t unsafe -f vhdx "${cmds[@]}" "$frag" >/dev/null
frag_segments=$("$VHDX" map --device /dev/sdz "$frag" | wc -l)
qemu-img create -q -f vhdx -o subformat=dynamic,block_size=1M "$C/seq.vhdx" 1G
qemu-io -t unsafe -f vhdx -c "write -P 1 0 1G" "$C/seq.vhdx" >/dev/null
seq_segments=$("$VHDX" map --device /dev/sdz "$C/seq.vhdx" | wc -l)

python3 - "$C/log" "$rc" "$segments, $zero_segments of them zero (absent blocks)" "$frag_segments" "$seq_segments" <<'EOF'
import os, re, statistics, sys
log, rc, segs, frag, seq = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
runs, sums = {}, {}  # runs[label][source] = (bytes, seconds, virtio read requests)
rows = (("root partition, 1 MiB O_DIRECT", "/dev/mapper/vhdx-p2", "/dev/vda2"),
        ("/data.bin through ext4, page cache", "/data.bin", "/mnt/data.bin"))
for line in open(log, errors="replace"):
    m = re.match(r"ROOTINIT-BENCH: (pair\d+) (\S+) (\d+) ([\d.]+) ([\d.]+) (\d+)", line)
    if m:
        secs = float(m.group(5)) - float(m.group(4))
        if secs > 0:
            runs.setdefault(m.group(1), {})[m.group(2)] = (int(m.group(3)), secs, int(m.group(6)))
    m = re.match(r"ROOTINIT-SUM: (\S+) (\w+)", line)
    if m:
        sums[m.group(1)] = m.group(2)
fs = os.environ.get("BENCH_FS")
print("Linux root through the vhdx map table" + (f" (the VHDX a fragmented file on {fs})" if fs else "")
      + ": reads in one guest, the mapped root against the raw partition in pairs")
print(f"  {'row':35} {'pairs':>5} {'mapped MB/s':>11} {'raw MB/s':>8} {'ratio best':>10} {'median':>6} {'target':>6}"
      "  verdict (median)  virtio requests a run, mapped / raw")
failed = rc != 0
for name, dm, raw in rows:
    pairs = [p for p in runs.values() if dm in p and raw in p]
    if not pairs:
        print(f"  {name:35} no timings (qemu exit {rc}): see the log lines above")
        failed = True
        continue
    ratios = sorted(p[raw][1] / p[dm][1] for p in pairs)
    mbs = lambda src: statistics.median(p[src][0] / p[src][1] / 1e6 for p in pairs)
    reqs = lambda src: statistics.median(p[src][2] for p in pairs)
    best, med = ratios[-1], statistics.median(ratios)
    verdict = "PASS" if med >= 0.95 else "MISS (best PASS)" if best >= 0.95 else "MISS"
    print(f"  {name:35} {len(pairs):>5} {mbs(dm):>11.1f} {mbs(raw):>8.1f} {best:>10.3f} {med:>6.3f} {'>=0.95':>6}"
          f"  {verdict:16}  {reqs(dm):.0f} / {reqs(raw):.0f}")
print("  (ratio = the raw run's time / the mapped run's in the same pair, so above 1 the mapped root was faster;"
      " MB/s are medians)")
same = len(sums) == 2 and len(set(sums.values())) == 1
print(f"  same bytes (md5 of both partitions): {'yes' if same else 'NO: ' + str(sums)}")
print(f"  table: {segs} segments for this root partition")
print(f"  table: {frag} segments for a fragmented 1 GiB image (1 MiB blocks written in a random order), "
      f"{seq} for the same written in order")
sys.exit(1 if failed or not same else 0)
EOF
