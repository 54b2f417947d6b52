#!/usr/bin/env bash
# 75-linuxroot: a whole Linux system inside a VHDX, its root through device-mapper (issue 10).
# The VHDX (dynamic, 1 MiB blocks, mostly unallocated) holds a GPT: an ESP with Debian's systemd-boot, Debian's
# kernel and an initramfs made by Debian's mkinitramfs with our hook and local-top script (initramfs/), and an ext4
# root of the Discoverable Partitions root type whose /sbin/init (tests/boot/lib/rootinit.sh) prints a marker and
# the content of a file the test put there.  vhdxboot ("next = vhdx:") validates the image, does the session
# update, sets its handoff variable and starts systemd-boot from inside; in the initramfs the script reads the
# variable, finds the device (`vhdx find`), maps the root partition (`vhdx map | dmsetup create`) and the boot
# continues on /dev/mapper/vhdxroot.
# Cases: read-only root; read-write root after every block of it was allocated; the VHDX on a GPT partition of
# the disk; read-write refused over absent blocks (falls back to read-only); a plain boot (no vhdxboot) with the
# hook present does nothing.  Environment: LINUX_BOOT_TIMEOUT (seconds per guest, default 600).
source "$(dirname "$0")/lib/common.bash"
source "$ROOT/tests/boot/lib/osparts.sh"
source "$ROOT/tests/boot/lib/linuxroot.sh"
need_tools
VHDX=${VHDX:-$BUILD/host/vhdx}
OS=$BUILD/cache/os
for t in mkinitramfs dmsetup mkfs.ext4 debugfs depmod sgdisk; do
	if ! command -v "$t" >/dev/null 2>&1 && [[ ! -x /usr/sbin/$t && ! -x /sbin/$t ]]; then
		notok setup "missing $t (run tests/deps.sh)"
		exit 1
	fi
done
export PATH=$PATH:/usr/sbin:/sbin
if ! ensure_osparts "$OS"; then
	notok setup "no systemd-boot / busybox-static (installed, or via apt-get download)"
	exit 1
fi
LR_BUSYBOX=$OS/busybox
if ! lr_kernel "$BUILD/cache/linuxroot"; then
	notok setup "Debian kernel package: apt-get download / dpkg-deb -x / depmod failed"
	exit 1
fi
INITRD=$WORK/initrd.img
start=$(date +%s)
if ! lr_initramfs "$INITRD"; then
	notok setup "mkinitramfs -d (private configuration with initramfs/hooks/vhdx) failed"
	exit 1
fi
echo "# kernel $LR_VERSION, initramfs $(stat -c %s "$INITRD") bytes ($(($(date +%s) - start))s)"
if lsinitramfs "$INITRD" | grep -q 'sbin/vhdx$' && lsinitramfs "$INITRD" | grep -q 'sbin/dmsetup$' &&
	lsinitramfs "$INITRD" | grep -q 'dm-zero.ko' && lsinitramfs "$INITRD" | grep -q 'scripts/local-top/vhdx$'; then
	ok "initramfs: mkinitramfs put vhdx, dmsetup, dm-zero and our local-top script in"
else
	notok "initramfs: mkinitramfs put vhdx, dmsetup, dm-zero and our local-top script in" "$(lsinitramfs "$INITRD" | grep -cE 'vhdx|dmsetup|dm-')"
fi
CMDLINE="console=ttyS0 panic=-1 loglevel=4"
TIMEOUT=${LINUX_BOOT_TIMEOUT:-600}

# inner_vhdx OUT TEXT CMDLINE-EXTRA [qemu-img options]: the VHDX holding the whole system
inner_vhdx() {
	local out=$1 text=$2 extra=$3 opts=${4:-subformat=dynamic,block_size=1M}
	rm -rf "$C/rootdir"
	lr_rootdir "$C/rootdir" "$text"
	lr_esp_fat "$C/esp.fat" "$INITRD" "$CMDLINE $extra" || return 1
	lr_inner_raw "$C/inner.raw" 160 "$C/esp.fat" "$C/rootdir" || return 1
	qemu-img convert -f raw -O vhdx -o "$opts" "$C/inner.raw" "$out" || return 1
	rm -f "$C/esp.fat"
}

# outer_boot CONF-LINES...: vhdxboot as BOOTX64.EFI of the outer ESP with the given vhdxboot.conf lines
outer_esp() {
	esp_module_as_bootx64
	printf '%s\r\n' "$@" >"$C/esp/EFI/BOOT/vhdxboot.conf"
}

run_linux() {
	with_rng
	QEMU_MEM=512 BOOT_TIMEOUT=$TIMEOUT boot_guest
	local rc=$?
	grep -E '^(vhdxboot: (handoff|summary|session)|vhdx-initramfs|ROOTINIT|Kernel panic|vhdx: )' "$C/log" | sed 's/^/#   /'
	return $rc
}

show_fail_log() { tail -40 "$C/log" | sed 's/^/#  | /'; }

dwg_of() { "$VHDX" info "$1" | sed -n 's/.*[Dd]ata[ _-]*[Ww]rite[ _-]*[Gg][Uu][Ii][Dd][: ]*\([0-9A-Fa-f-]\{36\}\).*/\1/p' | head -1; }

# --- 1: read-only root -------------------------------------------------------------------------------------------
new_case ro
TEXT="vhdx-test-$RANDOM-$RANDOM"
inner_vhdx "$C/d.vhdx" "$TEXT" "" || { notok "ro: build the image" "inner_vhdx failed"; exit 1; }
echo "# image: $(stat -c %s "$C/d.vhdx") bytes for a $(($(virtual_size "$C/d.vhdx") >> 20)) MiB virtual disk"
cp "$C/d.vhdx" "$C/before.vhdx"
outer_esp "next = vhdx:"
attach_virtio "$C/d.vhdx"
run_linux
rc=$?
((rc == 0)) || show_fail_log
expect "ro: guest powered off by the root's init (qemu exit 0)" test "$rc" -eq 0
expect "ro: vhdxboot set the handoff variable (whole disk, read-only)" log_has '^vhdxboot: handoff: VhdxbootImage = disk .*, a whole disk, OS read-only'
expect "ro: the initramfs found the image on /dev/vda" log_has '^vhdx-initramfs: VHDX .* is on /dev/vda '
expect "ro: the root's /sbin/init ran" log_has '^ROOTINIT-MARKER: init from the root file system'
expect "ro: it read the test file through the mapping" log_has "^ROOTINIT-FILE: $TEXT\$"
expect "ro: / is /dev/mapper/vhdxroot, read-only" log_has '^ROOTINIT-ROOT: /dev/mapper/vhdxroot / ext4 ro'
session_checked "ro: image got one session update, nothing else changed" "$C/before.vhdx" "$C/d.vhdx"
