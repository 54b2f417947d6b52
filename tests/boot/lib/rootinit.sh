#!/bin/busybox sh
# SPDX-License-Identifier: BSD-2-Clause
# /sbin/init of the test root file system inside the VHDX (tests/boot/75-linuxroot.sh): proves the root came up
# (marker, the test file's content, what / is mounted from), optionally writes a file (vhdxtest.write) or measures
# read throughput (vhdxtest.bench=A,B: devices or files, in pairs; vhdxtest.repeat, vhdxtest.pairs and vhdxtest.mount
# come before it on the command line), then powers off.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "ROOTINIT-MARKER: init from the root file system, kernel $(uname -r)"
echo "ROOTINIT-FILE: $(cat /etc/vhdx-test)"
echo "ROOTINIT-ROOT: $(grep ' / ' /proc/mounts | grep -v rootfs)"
echo "ROOTINIT-MAPPER: $(ls /dev/mapper 2>/dev/null | grep -v '^control$' | tr '\n' ' ')"
repeat=1 pairs=12
# bench_one LABEL SOURCE: read SOURCE start to end $repeat times, 1 MiB requests (O_DIRECT for a block device, through
# the page cache for a file), page cache dropped first; prints the bytes, the uptime before and after, and how many
# read requests the virtio disk completed meanwhile (a read through device-mapper that spans two segments is two).
# The clock is read with the shell's own `read`, so no process start lands inside the interval.
bench_one() {
	local label=$1 src=$2 bytes flag= q0 t0 t1 r u
	if [ -b "$src" ]; then bytes=$(blockdev --getsize64 "$src") flag=iflag=direct; else bytes=$(stat -c %s "$src"); fi
	echo 3 >/proc/sys/vm/drop_caches
	read q0 r </sys/block/vda/stat
	read t0 u </proc/uptime
	for r in $(seq "$repeat"); do dd if="$src" of=/dev/null bs=1M $flag 2>/dev/null; done
	read t1 u </proc/uptime
	read r u </sys/block/vda/stat
	echo "ROOTINIT-BENCH: $label $src $((bytes * repeat)) $t0 $t1 $((r - q0))"
}
# bench_pairs A B: one warm-up read of each (translation and caches settle), then $pairs pairs, the order alternating
# from pair to pair, so that a slow spell of the host or an effect of the previous run falls on both alike
bench_pairs() {
	local p=0
	bench_one warm "$1"
	bench_one warm "$2"
	while [ "$p" -lt "$pairs" ]; do
		p=$((p + 1))
		if [ $((p % 2)) = 1 ]; then bench_one "pair$p" "$1"; bench_one "pair$p" "$2"
		else bench_one "pair$p" "$2"; bench_one "pair$p" "$1"; fi
	done
}
for x in $(cat /proc/cmdline); do
	case $x in
	vhdxtest.repeat=*) repeat=${x#vhdxtest.repeat=} ;;
	vhdxtest.esp=*)
		# the inner ESP by its UUID, as /etc/fstab names it for /boot/efi
		uuid=${x#vhdxtest.esp=}
		if dev=$(findfs "UUID=$uuid" 2>/dev/null) && mount -t vfat -o ro "$dev" /mnt; then
			dm=$(cat "/sys/class/block/$(basename "$(readlink -f "$dev")")/dm/name" 2>/dev/null)
			echo "ROOTINIT-ESP: UUID=$uuid is $dev (device-mapper name ${dm:-none}): $(cat /mnt/vhdx-esp.txt)"
			umount /mnt
		else
			echo "ROOTINIT-ESP: UUID=$uuid not found or not mountable"
		fi
		;;
	vhdxtest.write)
		if mount -o remount,rw /; then
			echo "written by the guest $(cat /proc/sys/kernel/random/uuid)" >/written.txt
			sync
			echo "ROOTINIT-WROTE: $(cat /written.txt)"
		else
			echo "ROOTINIT-WROTE: remount read-write failed"
		fi
		;;
	vhdxtest.pairs=*) pairs=${x#vhdxtest.pairs=} ;;
	vhdxtest.mount=*)
		# a second copy of the root file system, for the file rows of the bench: read-only, and noload so that
		# mounting it never replays or writes a journal
		mount -t ext4 -o ro,noload "${x#vhdxtest.mount=}" /mnt || echo "ROOTINIT-BENCH-ERROR: cannot mount ${x#vhdxtest.mount=}"
		;;
	vhdxtest.bench=*) bench_pairs $(echo "${x#vhdxtest.bench=}" | tr , ' ') ;;
	vhdxtest.sum=*)
		devs=$(echo "${x#vhdxtest.sum=}" | tr , ' ')
		for dev in $devs; do
			# O_DIRECT: the device's bytes, not the page cache, where the mounted root's journal buffers
			# differ from the disk until written (a read-only mount never writes them)
			echo "ROOTINIT-SUM: $dev $(dd if="$dev" bs=1M iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)"
		done
		;;
	esac
done
sync
mount -o remount,ro / 2>/dev/null
echo "ROOTINIT-DONE"
poweroff -f
