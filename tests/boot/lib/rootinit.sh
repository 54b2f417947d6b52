#!/bin/busybox sh
# SPDX-License-Identifier: BSD-2-Clause
# /sbin/init of the test root file system inside the VHDX (tests/boot/75-linuxroot.sh): proves the root came up
# (marker, the test file's content, what / is mounted from), optionally writes a file (vhdxtest.write) or measures
# read throughput (vhdxtest.bench=DEV1,DEV2), then powers off.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "ROOTINIT-MARKER: init from the root file system, kernel $(uname -r)"
echo "ROOTINIT-FILE: $(cat /etc/vhdx-test)"
echo "ROOTINIT-ROOT: $(grep ' / ' /proc/mounts | grep -v rootfs)"
echo "ROOTINIT-MAPPER: $(ls /dev/mapper 2>/dev/null | grep -v '^control$' | tr '\n' ' ')"
repeat=1
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
	vhdxtest.bench=*)
		# sequential read of each device start to end, 1 MiB requests, page cache dropped before each pass; the
		# list alternates the devices so that a slow spell of the host hits both; the last field is how many read
		# requests the virtio disk completed meanwhile (a read through device-mapper that spans two segments is two)
		for dev in $(echo "${x#vhdxtest.bench=}" | tr , ' '); do
			echo 3 >/proc/sys/vm/drop_caches
			set -- $(cat /sys/block/vda/stat)
			q0=$1
			t0=$(cut -d' ' -f1 /proc/uptime)
			for r in $(seq "$repeat"); do dd if="$dev" of=/dev/null bs=1M iflag=direct 2>/dev/null; done
			t1=$(cut -d' ' -f1 /proc/uptime)
			set -- $(cat /sys/block/vda/stat)
			echo "ROOTINIT-BENCH: $dev $(($(blockdev --getsize64 "$dev") * repeat)) $t0 $t1 $(($1 - q0))"
		done
		;;
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
