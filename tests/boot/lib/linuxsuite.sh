# SPDX-License-Identifier: BSD-2-Clause
# tests/boot/lib/linuxsuite.sh - sourced by the suites that boot Debian's kernel from inside a VHDX
# (75-linuxroot.sh, 76-wholedisk.sh), after common.bash: checks the tools, fetches the kernel and the OS parts,
# makes the initramfs with our hook (tests/boot/lib/linuxroot.sh), and defines the helpers below.
#
# inner_vhdx OUT TEXT CMDLINE-EXTRA [qemu-img -o options]   the VHDX holding the whole system (GPT: ESP, root)
# outer_esp CONF-LINES...   vhdxboot as the removable-media loader of the outer ESP, with these vhdxboot.conf lines
# run_linux                 one guest (bounded by LINUX_BOOT_TIMEOUT, default 600 s); the interesting lines shown
# show_fail_log             the end of the console log, for a failed run
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
lr_start=$(date +%s)
if ! lr_initramfs "$INITRD"; then
	notok setup "mkinitramfs -d (private configuration with initramfs/hooks/vhdx) failed"
	exit 1
fi
echo "# kernel $LR_VERSION, initramfs $(stat -c %s "$INITRD") bytes ($(($(date +%s) - lr_start))s)"
CMDLINE="console=ttyS0 panic=-1 loglevel=4"
TIMEOUT=${LINUX_BOOT_TIMEOUT:-600}

inner_vhdx() {
	local out=$1 text=$2 extra=$3 opts=${4:-subformat=dynamic,block_size=1M}
	rm -rf "$C/rootdir"
	lr_rootdir "$C/rootdir" "$text"
	lr_esp_fat "$C/esp.fat" "$INITRD" "$CMDLINE $extra" || return 1
	lr_inner_raw "$C/inner.raw" 160 "$C/esp.fat" "$C/rootdir" || return 1
	qemu-img convert -f raw -O vhdx -o "$opts" "$C/inner.raw" "$out" || return 1
	rm -f "$C/esp.fat"
}

outer_esp() {
	esp_module_as_bootx64
	printf '%s\r\n' "$@" >"$C/esp/EFI/BOOT/vhdxboot.conf"
}

run_linux() {
	with_rng
	QEMU_MEM=512 BOOT_TIMEOUT=$TIMEOUT boot_guest
	local rc=$?
	grep -E '^(vhdxboot: (handoff|summary|session)|ROOTINIT|Kernel panic|vhdx: )|vhdx-initramfs:' "$C/log" | sed 's/^/#   /'
	return $rc
}

show_fail_log() { tail -40 "$C/log" | sed 's/^/#  | /'; }
