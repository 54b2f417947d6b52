#!/bin/busybox sh
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
for x in $(cat /proc/cmdline); do
	case $x in
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
		# sequential read of the same bytes through each device, page cache dropped before each pass
		for dev in $(echo "${x#vhdxtest.bench=}" | tr , ' '); do
			for pass in 1 2; do
				echo 3 >/proc/sys/vm/drop_caches
				t0=$(cut -d' ' -f1 /proc/uptime)
				sum=$(dd if="$dev" bs=1M 2>/dev/null | md5sum | cut -d' ' -f1)
				t1=$(cut -d' ' -f1 /proc/uptime)
				echo "ROOTINIT-BENCH: $dev pass $pass $t0 $t1 $sum"
			done
		done
		;;
	esac
done
sync
mount -o remount,ro / 2>/dev/null
echo "ROOTINIT-DONE"
poweroff -f
