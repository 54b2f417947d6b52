#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 79-debian-update: a real Debian inside a VHDX updates its own kernel with Debian's machinery.
# The image (tests/boot/lib/debianimage.sh): the older 6.1 kernel ABI, systemd-boot installed by bootctl, the
# kernel's Type #1 entry on the inner ESP written by kernel-install, the project's package.  The newer kernel
# package (linux-image-6.1.0-N-amd64, the one linux-image-amd64 depends on, cached in build/cache/linuxroot by
# scripts/fetch-testparts.sh) lies in /var/cache/vhdxtest.  vhdxboot: next = vhdx:, os-write = expand.
#   boot 1  the old kernel; the report unit installs the new package with dpkg -i (no network).  Its postinst
#           runs initramfs-tools (a new initramfs, with the vhdx hook) and systemd-boot's kernel-install
#           integration, which copy kernel and initramfs to /MACHINE-ID/VERSION/ on the inner ESP (mounted at
#           /boot/efi from /dev/mapper/vhdx-p1) and write the new Type #1 entry.  Power off.
#   boot 2  systemd-boot picks the newest version: the new kernel runs (uname -r), its initramfs maps the disk
#           (the hook is in it), systemd reaches its target.
# After each boot: vhdx check, qemu-img check, e2fsck -fn of the root and fsck.vfat -n of the ESP clean; after
# boot 1 the ESP holds both entries and the new initramfs holds the hook (lsinitramfs on the exported ESP).
# Environment: DEBIAN_BOOT_TIMEOUT (seconds per guest, default 1500).
source "$(dirname "$0")/lib/common.bash"
source "$ROOT/tests/boot/lib/debianimage.sh"
source "$ROOT/tests/boot/lib/linuxroot.sh"
need_tools
di_setup
if ! lr_kernel "$BUILD/cache/linuxroot"; then
	notok setup "the newer kernel package: apt-get download into build/cache/linuxroot failed"
	exit 1
fi
NEWDEB=$(ls "$BUILD"/cache/linuxroot/linux-image-[0-9]*_amd64.deb | sort -V | tail -1)
NEWVER=$LR_VERSION
if [[ linux-image-$NEWVER == "$DR_KERNEL_PKG" ]]; then
	notok setup "the cached kernel $NEWVER is the image's own ($DR_KERNEL_PKG): nothing newer to install"
	exit 1
fi
echo "# the image's kernel: $DR_KERNEL_PKG; the update: $(basename "$NEWDEB")"

# the newer package in the tree, and the step that installs it on the first boot
put_update() {
	local r=$1
	mkdir -p "$r/var/cache/vhdxtest"
	cp "$NEWDEB" "$r/var/cache/vhdxtest/"
	cat >"$r/etc/vhdxtest.d/update.sh" <<'SH'
# 79-debian-update: install the newer kernel once, the way an upgrade would
deb=$(ls /var/cache/vhdxtest/linux-image-*.deb 2>/dev/null | head -1)
if [ -n "$deb" ] && [ ! -e /var/lib/vhdxtest-updated ]; then
	bootctl is-installed >/dev/null 2>&1 && echo "VHDXTEST-BOOTCTL: installed" || echo "VHDXTEST-BOOTCTL: $(bootctl is-installed 2>&1 | tr '\n' ' ')"
	start=$(date +%s)
	# --force-unsafe-io: no fsync per unpacked file (thousands of modules, slow under TCG); the probe syncs
	dpkg --force-unsafe-io -i "$deb" >/var/log/vhdxtest-dpkg.log 2>&1
	echo "VHDXTEST-DPKG: exit $? after $(($(date +%s) - start))s"
	grep -E 'systemd-boot|update-initramfs|kernel-install|rror' /var/log/vhdxtest-dpkg.log | sed 's/^/VHDXTEST-DPKGLOG: /'
	echo "VHDXTEST-ENTRIES-AFTER: $(ls /boot/efi/loader/entries | tr '\n' ' ')"
	touch /var/lib/vhdxtest-updated
	sync
fi
SH
}

new_case update
DI_ROOM_MIB=900 DI_CUSTOMIZE=put_update
t0=$(date +%s)
di_build "$C" || exit 1
echo "# image built in $(($(date +%s) - t0))s"
OLD=$DI_KVER
ENTRY_OLD=$DI_MACHINE_ID-$OLD.conf
ENTRY_NEW=$DI_MACHINE_ID-$NEWVER.conf
esp_module_as_bootx64
printf '%s\r\n' "next = vhdx:" "os-write = expand" >"$C/esp/EFI/BOOT/vhdxboot.conf"
attach_virtio "$C/d.vhdx"

# --- boot 1: the old kernel installs the new one -------------------------------------------------------------
di_boot "boot 1 (the old kernel, dpkg -i of the new one)"
rc=$?
expect "boot 1: the guest powered off by itself (qemu exit 0)" test "$rc" -eq 0
expect "boot 1: the old kernel $OLD ran" log_has "VHDXTEST-KERNEL: $OLD\$"
expect "boot 1: the default target was reached (running)" log_has 'VHDXTEST-STATE: running$'
expect "boot 1: bootctl accepts /boot/efi (vhdx-p1) as an installed ESP" log_has 'VHDXTEST-BOOTCTL: installed$'
expect "boot 1: dpkg -i of linux-image-$NEWVER succeeded" log_has 'VHDXTEST-DPKG: exit 0 '
expect "boot 1: initramfs-tools built the new initramfs" log_has "VHDXTEST-DPKGLOG: update-initramfs: Generating /boot/initrd.img-$NEWVER"
expect "boot 1: systemd-boot's hooks installed the new kernel (kernel-install)" \
	log_has "VHDXTEST-DPKGLOG: (Installing|Updating) kernel version $NEWVER in systemd-boot"
expect "boot 1: the ESP holds both entries, as the guest saw it" log_has "VHDXTEST-ENTRIES-AFTER: .*$ENTRY_OLD .*$ENTRY_NEW|VHDXTEST-ENTRIES-AFTER: .*$ENTRY_NEW .*$ENTRY_OLD"
secs=$(sed -n 's/.*VHDXTEST-DPKG: exit [0-9]* after \([0-9]*\)s.*/\1/p' "$C/log" | head -1)
echo "# boot 1: dpkg -i of the kernel took ${secs:-?}s under TCG"
di_checked "boot 1" "$C/d.vhdx"
expect "boot 1: the image's ESP holds the entries $ENTRY_OLD and $ENTRY_NEW" test "$(di_entries)" = "$ENTRY_OLD $ENTRY_NEW"
newinitrd=$DI_MACHINE_ID/$NEWVER/initrd.img-$NEWVER
rm -f "$C/new.initrd"
mcopy -n -i "$C/esp.fat" "::/$newinitrd" "$C/new.initrd" 2>/dev/null
lsinitramfs "$C/new.initrd" >"$C/new.list" 2>/dev/null
expect "boot 1: the new initramfs on the ESP ($newinitrd) holds the hook's vhdx and local-top script" \
	bash -c "grep -q 'scripts/local-top/vhdx\$' '$C/new.list' && grep -q 'bin/vhdx\$' '$C/new.list'"
expect "boot 1: the new kernel is on the ESP" bash -c "mdir -b -i '$C/esp.fat' ::/$DI_MACHINE_ID/$NEWVER | grep -q '/linux\$'"
mtype -i "$C/esp.fat" "::/loader/entries/$ENTRY_NEW" 2>/dev/null | sed 's/^/#   new entry: /'
rm -f "$C/root.ext4" "$C/esp.fat" "$C/new.initrd"

# --- boot 2: the new kernel ------------------------------------------------------------------------------------
cp "$C/log" "$C/log.1"
di_boot "boot 2 (the new kernel)"
rc=$?
expect "boot 2: the guest powered off by itself (qemu exit 0)" test "$rc" -eq 0
expect "boot 2: the new kernel $NEWVER runs (uname -r)" log_has "VHDXTEST-KERNEL: $NEWVER\$"
expect "boot 2: its initramfs ran the hook: the whole disk mapped read-write" \
	log_has '^vhdx-initramfs: device-mapper table of the virtual disk: [0-9]+ segments, read-write'
expect "boot 2: / is /dev/mapper/vhdx-p2, read-write" log_has 'VHDXTEST-ROOT: /dev/mapper/vhdx-p2 ext4 +rw'
expect "boot 2: the default target was reached (running)" log_has 'VHDXTEST-STATE: running$'
expect "boot 2: nothing was installed again" log_lacks 'VHDXTEST-DPKG:'
di_checked "boot 2" "$C/d.vhdx"
rm -f "$C/root.ext4" "$C/esp.fat"
