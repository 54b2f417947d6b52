#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/bench/linuxroot.sh - `make bench`: a Linux root through the device-mapper table `vhdx map`
# makes, against the same bytes on a raw partition of the same disk, in one QEMU run (OVMF, TCG).
#
# The outer virtio disk has two GPT partitions: 1 holds a dynamic VHDX (1 MiB blocks) whose virtual disk has an ESP
# (systemd-boot, Debian's kernel, an initramfs from mkinitramfs with our hook) and an ext4 root filled with a
# random file; 2 holds a byte copy of that root partition.  vhdxboot boots from the VHDX, the initramfs maps the
# root read-only as /dev/mapper/vhdx-p2, and the root's /sbin/init (tests/boot/lib/rootinit.sh) reads both
# devices start to end with dd (1 MiB O_DIRECT requests, each pass BENCH_REPEAT reads, passes alternated, best of
# BENCH_PASSES each), then checksums both.  Reported: MB/s each, the ratio (target >= 0.95), the table's segments,
# and the table size `vhdx map` makes for a fragmented image (1 GiB, 1 MiB blocks written in a random order).
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
PASSES=${BENCH_PASSES:-3}
ROOT_MIB=${BENCH_ROOT_MIB:-320}
ensure_osparts "$OS" || { echo "bench: no systemd-boot / busybox-static" >&2; exit 1; }
LR_BUSYBOX=$OS/busybox
lr_kernel "$BUILD/cache/linuxroot" || { echo "bench: no Debian kernel package" >&2; exit 1; }
INITRD=$WORK/initrd.img
lr_initramfs "$INITRD" || { echo "bench: mkinitramfs failed" >&2; exit 1; }

new_case bench
lr_rootdir "$C/rootdir" "bench"
head -c $(((ROOT_MIB - 40) << 20)) /dev/urandom >"$C/rootdir/data.bin"
devs=() sums=/dev/mapper/vhdx-p2,/dev/vda2
for ((i = 0; i < PASSES; i++)); do devs+=(/dev/mapper/vhdx-p2 /dev/vda2); done
cmdline="console=ttyS0 panic=-1 loglevel=4 vhdxtest.repeat=${BENCH_REPEAT:-8} vhdxtest.bench=$(IFS=,; echo "${devs[*]}") vhdxtest.sum=$sums"
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
segments=$("$VHDX" map --device /dev/vda1 --partition root "$C/d.vhdx" | wc -l)
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
truncate -s $(((p2_start + r_sectors) * 512 + (2 << 20))) "$C/outer.raw"
p1_uuid=${conf_image:+${conf_image#image = }}
sgdisk -n "1:2048:$((2048 + p1_sectors - 1))" -t 1:0FC63DAF-8483-4772-8E79-3D69D8477DE4 ${p1_uuid:+-u "1:${p1_uuid%%:*}"} \
	-n "2:$p2_start:$((p2_start + r_sectors - 1))" -t 2:0FC63DAF-8483-4772-8E79-3D69D8477DE4 "$C/outer.raw" >/dev/null
dd if="$p1" of="$C/outer.raw" bs=1M seek=1 conv=notrunc status=none
dd if="$C/root.part" of="$C/outer.raw" bs=1M seek=$((p2_start * 512)) oflag=seek_bytes conv=notrunc status=none
rm -f "$C/root.part" "$C/d.vhdx" "$C/p1.fs"

esp_module_as_bootx64
printf 'next = vhdx:\r\n%s\r\n' "$conf_image" >"$C/esp/EFI/BOOT/vhdxboot.conf"
attach_virtio "$C/outer.raw"
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

python3 - "$C/log" "$rc" "$r_sectors" "$segments" "$frag_segments" "$seq_segments" <<'EOF'
import re, sys
log, rc, sectors, segs, frag, seq = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
size = sectors * 512
best, sums, reads, reqs = {}, {}, {}, {}
for line in open(log, errors="replace"):
    m = re.match(r"ROOTINIT-BENCH: (\S+) (\d+) ([\d.]+) ([\d.]+)(?: (\d+))?", line)
    if m:
        secs = float(m.group(4)) - float(m.group(3))
        if int(m.group(2)) % size == 0 and secs > 0:
            reads[m.group(1)] = int(m.group(2))
            best[m.group(1)] = min(best.get(m.group(1), 1e9), secs)
            if m.group(5):
                reqs[m.group(1)] = int(m.group(5))
    m = re.match(r"ROOTINIT-SUM: (\S+) (\w+)", line)
    if m:
        sums[m.group(1)] = m.group(2)
dm, raw = best.get("/dev/mapper/vhdx-p2"), best.get("/dev/vda2")
print("Linux root through the vhdx map table" + (f" (the VHDX a file on {__import__('os').environ['BENCH_FS']})" if __import__('os').environ.get('BENCH_FS') else "")
      + ": sequential read in the guest, 1 MiB O_DIRECT requests, best pass")
if rc != 0 or not dm or not raw:
    print(f"  guest run failed (qemu exit {rc}) or no timings: see the log lines above")
    sys.exit(1)
mb = lambda t, dev: reads[dev] / t / 1e6
same = len(set(sums.values())) == 1 and len(sums) == 2
print(f"  {'device':28} {'MB/s':>8}  (root partition, {size >> 20} MiB)")
print(f"  {'/dev/mapper/vhdx-p2 (dm)':28} {mb(dm, '/dev/mapper/vhdx-p2'):8.1f}  ({dm:.2f} s)")
print(f"  {'/dev/vda2 (raw partition)':28} {mb(raw, '/dev/vda2'):8.1f}  ({raw:.2f} s)")
ratio = raw / dm
if len(reqs) == 2:
    print(f"  virtio read requests per pass: dm {reqs['/dev/mapper/vhdx-p2']}, raw {reqs['/dev/vda2']} "
          f"(a 1 MiB read that spans two segments is two requests)")
print(f"  ratio dm/raw {ratio:.3f} (target >= 0.95): {'PASS' if ratio >= 0.95 else 'MISS'}")
print(f"  same bytes (md5 of both devices): {'yes' if same else 'NO: ' + str(sums)}")
print(f"  table: {segs} segments for this root partition")
print(f"  table: {frag} segments for a fragmented 1 GiB image (1 MiB blocks written in a random order), "
      f"{seq} for the same written in order")
sys.exit(0 if same else 1)
EOF
