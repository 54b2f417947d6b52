# SPDX-License-Identifier: BSD-2-Clause
# tests/boot/lib/debianimage.sh - sourced after common.bash by the suites that boot a real Debian inside a VHDX
# (77-debian and the ones after it): the Debian tree (tests/boot/lib/debianroot.sh), the project's package, and
# the dynamic VHDX holding both, set up the way Debian's own boot machinery expects.
#
# di_setup             the tools, the project's .deb (`make deb`, reused while nothing outside tests/ changed) and
#                      the cached base tree; sets DI_DEB, DR_TREE, DR_KERNEL_PKG.  Suites run two at a time, so
#                      each of the two builds holds a lock: the second suite waits and finds the result.
# di_build DIR         DIR/d.vhdx: a dynamic VHDX (1 MiB blocks) whose GPT holds the inner ESP and an ext4 root,
#                      on a "disk" file with room after the image for every block (for os-write = expand).
#   The ESP is set up by the system itself, in a chroot: `bootctl install` (systemd-boot, loader/entries.srel,
#   the machine-id directory), then `dpkg -i` of the project's package, whose trigger runs update-initramfs, whose
#   post-update hook runs `kernel-install add`: the kernel and the initramfs holding the vhdx hook land in
#   /MACHINE-ID/VERSION/ on the ESP with a Type #1 entry /loader/entries/MACHINE-ID-VERSION.conf.  A kernel
#   installed later inside the booted system goes the same way.  The ESP is /boot/efi by UUID in /etc/fstab.
#   Parameters (variables, read when di_build runs):
#     DI_CMDLINE     the kernel command line (/etc/kernel/cmdline, which kernel-install writes into entries)
#     DI_TRIES       boot counting: the built entry gets this many tries (/etc/kernel/tries during the build)
#     DI_ESP_MIB     the inner ESP's size (default 128)
#     DI_ROOM_MIB    free space in the root file system beyond the tree (default 400)
#     DI_CUSTOMIZE   a function called with the tree's path after the package is installed, before the disk is
#                    made: extra files, packages to install later, probe steps (/etc/vhdxtest.d/NAME.sh)
#   Sets DI_KVER, DI_MACHINE_ID, DI_ROOT_UUID, DI_ROOT_START and DI_ESP_START (512-byte sectors), DI_DISK_MIB.
#   The tree's /usr/local/sbin/vhdxtest-report (a unit of multi-user.target) prints VHDXTEST-* lines on the
#   console once the boot is done, runs every /etc/vhdxtest.d/*.sh (their output on the console too), syncs and
#   powers off.
# di_boot NAME         one guest run (1 GiB, DEBIAN_BOOT_TIMEOUT seconds, default 1500); the interesting console
#                      lines shown; a `# NAME under TCG: Ns` line; qemu's status returned
# di_checked NAME IMAGE   vhdx check, qemu-img check, then `vhdx export` and e2fsck -fn on the root, fsck.vfat -n on
#                      the ESP; leaves $C/root.ext4 and $C/esp.fat for the caller's reads (debugfs, mtools)
# di_entries           the names in /loader/entries of $C/esp.fat, sorted (LC_ALL=C), space-separated
source "$ROOT/tests/boot/lib/debianroot.sh"
VHDX=${VHDX:-$BUILD/host/vhdx}
export PATH=$PATH:/usr/sbin:/sbin
DI_ESP_ID=5648-4477
GPT_ROOT_TYPE=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
GPT_ESP_TYPE=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
# the guest's drivers: MODULES=list keeps the initramfs small (read through vhdxboot, unpacked under TCG, and
# rebuilt inside the guest by a kernel update); an installed system keeps Debian's default, MODULES=most
DI_MODULES="virtio_pci virtio_blk ext4"

# di_locked LOCKFILE COMMAND...: COMMAND under an exclusive lock
di_locked() {
	local lock=$1 fd rc
	shift
	mkdir -p "${lock%/*}"
	exec {fd}>"$lock"
	flock "$fd"
	"$@"
	rc=$?
	exec {fd}>&-
	return $rc
}

di_make_deb() {
	local commit
	commit=$(git -C "$ROOT" ls-files -s -- . ':!tests' 2>/dev/null | sha256sum | cut -c1-16)
	DI_DEB=$(ls "$ROOT"/build/deb/vhdxboot_*.deb 2>/dev/null | head -1)
	[[ -n $DI_DEB && $(cat "$ROOT/build/deb/.commit" 2>/dev/null) == "$commit" ]] && return 0
	local t0=$(date +%s)
	if ! (cd "$ROOT" && DEB_BUILD_OPTIONS=parallel=2 make deb) >"$WORK/deb.log" 2>&1; then
		tail -3 "$WORK/deb.log" | sed 's/^/# make deb: /'
		return 1
	fi
	DI_DEB=$(ls "$ROOT"/build/deb/vhdxboot_*.deb | head -1)
	echo "$commit" >"$ROOT/build/deb/.commit"
	echo "# make deb: $(basename "$DI_DEB") ($(($(date +%s) - t0))s)"
}

di_setup() {
	local t t0
	for t in mmdebstrap mkfs.ext4 mkfs.vfat fsck.vfat e2fsck debugfs sgdisk dpkg-buildpackage lsinitramfs mdir flock; do
		command -v "$t" >/dev/null 2>&1 || { notok setup "missing $t (run tests/deps.sh)"; exit 1; }
	done
	if ! di_locked "$ROOT/build/deb.lock" di_make_deb; then
		notok setup "make deb failed (above)"
		exit 1
	fi
	t0=$(date +%s)
	if ! di_locked "$BUILD/cache/debian.lock" dr_base "$BUILD/cache/debian"; then
		notok setup "mmdebstrap of the base system failed (above)"
		exit 1
	fi
	echo "# base system: $DR_KERNEL_PKG, $(du -sm "$DR_TREE" | cut -f1) MiB ($(($(date +%s) - t0))s, cached in $DR_TREE)"
}

# di_chroot TREE COMMAND...: COMMAND inside the tree.  The tree's /boot/efi is a tmpfs while the image is built,
# so bootctl's checks that it is a FAT partition of the ESP type are relaxed there.
di_chroot() {
	local r=$1
	shift
	chroot "$r" env SYSTEMD_RELAX_ESP_CHECKS=1 "$@"
}

di_tree_config() {
	local r=$1
	mkdir -p "$r/etc/initramfs-tools/conf.d" "$r/boot/efi" "$r/etc/kernel" "$r/etc/vhdxtest.d"
	echo "RESUME=none" >"$r/etc/initramfs-tools/conf.d/resume" # the build machine's swap is not this system's
	echo "MODULES=list" >"$r/etc/initramfs-tools/conf.d/modules"
	printf '%s\n' $DI_MODULES >>"$r/etc/initramfs-tools/modules"
	echo "$DI_MACHINE_ID" >"$r/etc/machine-id"
	echo vhdxdebian >"$r/etc/hostname"
	echo "${DI_CMDLINE:-console=ttyS0 panic=-1 loglevel=4 systemd.show_status=1}" >"$r/etc/kernel/cmdline"
	printf 'UUID=%s / ext4 errors=remount-ro 0 1\nUUID=%s /boot/efi vfat umask=0077 0 1\n' \
		"$DI_ROOT_UUID" "$DI_ESP_ID" >"$r/etc/fstab"
	cat >"$r/usr/local/sbin/vhdxtest-report" <<'SH'
#!/bin/sh
# the test's probe: what the booted system looks like once the boot is done, the suite's steps, then power off
say() { echo "$*" >/dev/ttyS0; }
state=$(systemctl is-system-running --wait)
say "VHDXTEST-STATE: $state"
say "VHDXTEST-DEFAULT: $(systemctl get-default) $(systemctl is-active "$(systemctl get-default)")"
say "VHDXTEST-KERNEL: $(uname -r)"
say "VHDXTEST-ROOT: $(findmnt -no SOURCE,FSTYPE,OPTIONS /)"
say "VHDXTEST-EFI: $(findmnt -no SOURCE,FSTYPE,OPTIONS /boot/efi)"
say "VHDXTEST-EFIFILES: $(ls /boot/efi | tr '\n' ' ')"
say "VHDXTEST-ENTRIES: $(ls /boot/efi/loader/entries | tr '\n' ' ')"
say "VHDXTEST-MAPPER: $(ls /dev/mapper | tr '\n' ' ')"
say "VHDXTEST-BYUUID: $(ls /dev/disk/by-uuid | tr '\n' ' ')"
say "VHDXTEST-ESPPART: $(udevadm info -q property /dev/mapper/vhdx-p1 | grep -E '^ID_PART_ENTRY_(SCHEME|TYPE|NUMBER)=' | tr '\n' ' ')"
say "VHDXTEST-MARK: $(cat /etc/vhdxtest-mark 2>/dev/null)"
say "VHDXTEST-FAILED: $(systemctl --failed --plain --no-legend | tr '\n' ';')"
say "VHDXTEST-HANDOFF: $(vhdx handoff 2>&1 | tr '\n' ' ')"
for f in /etc/vhdxtest.d/*.sh; do
	[ -f "$f" ] && sh "$f" >/dev/ttyS0 2>&1
done
written="VHDXTEST-WRITE: $(date +%s) $(cat /proc/sys/kernel/random/uuid)"
echo "$written" >/var/lib/vhdxtest-written
say "$written"
sync
say "VHDXTEST-ANALYZE: $(systemd-analyze 2>&1 | head -1)"
say "VHDXTEST-DONE"
systemctl poweroff
SH
	chmod 755 "$r/usr/local/sbin/vhdxtest-report"
	cat >"$r/etc/systemd/system/vhdxtest-report.service" <<'UNIT'
[Unit]
Description=vhdxboot test: report the booted system and power off

[Service]
Type=simple
ExecStart=/usr/local/sbin/vhdxtest-report

[Install]
WantedBy=multi-user.target
UNIT
	mkdir -p "$r/etc/systemd/system/multi-user.target.wants"
	ln -sf /etc/systemd/system/vhdxtest-report.service "$r/etc/systemd/system/multi-user.target.wants/"
}

# di_install_boot TREE LOG: systemd-boot on the ESP directory, then the package (its trigger: initramfs, entry)
di_install_boot() {
	local r=$1 log=$2 m mounted=()
	for m in proc sys dev; do
		mount --bind "/$m" "$r/$m" && mounted+=("$r/$m")
	done
	# bootctl wants the ESP to be a file system's root, and kernel-install writes the entry's paths relative to
	# the mount point: a tmpfs there while the system sets it up, its files kept in the tree afterwards
	mount -t tmpfs -o mode=0755 vhdxtest-esp "$r/boot/efi" || return 1
	cp "$DI_DEB" "$r/tmp/"
	[[ -n ${DI_TRIES:-} ]] && echo "$DI_TRIES" >"$r/etc/kernel/tries"
	{
		di_chroot "$r" bootctl install --no-variables --esp-path=/boot/efi &&
			di_chroot "$r" dpkg -i "/tmp/$(basename "$DI_DEB")"
	} >"$log" 2>&1
	local rc=$?
	rm -f "$r/etc/kernel/tries" "$r/tmp/$(basename "$DI_DEB")"
	cp -a "$r/boot/efi" "$r/boot/efi.new" && umount "$r/boot/efi" && rmdir "$r/boot/efi" && mv "$r/boot/efi.new" "$r/boot/efi" ||
		rc=1
	for m in "${mounted[@]}"; do umount -l "$m"; done
	return $rc
}

di_build() {
	local dir=$1 r=$1/root esp_mib=${DI_ESP_MIB:-128} tree_mib root_mib root_end image
	mkdir -p "$dir"
	rm -rf "$r"
	cp -a "$DR_TREE" "$r"
	DI_MACHINE_ID=$(cat /proc/sys/kernel/random/uuid | tr -d -)
	DI_ROOT_UUID=$(cat /proc/sys/kernel/random/uuid)
	DI_KVER=$(ls "$r/lib/modules" | sort -V | tail -1)
	di_tree_config "$r"
	if ! di_install_boot "$r" "$dir/install.log"; then
		notok "build: bootctl install, dpkg -i the package" "$(tail -5 "$dir/install.log" | tr '\n' ';')"
		return 1
	fi
	# no menu, no waiting: the boot under test goes straight to the default entry
	printf 'timeout 0\nconsole-mode keep\n' >"$r/boot/efi/loader/loader.conf"
	[[ -n ${DI_CUSTOMIZE:-} ]] && { "$DI_CUSTOMIZE" "$r" || return 1; }

	# the ESP: a FAT image of the tree's /boot/efi, which is then left empty (the mount point)
	mkfs.vfat -C -n DEBIANESP -i "${DI_ESP_ID//-/}" "$dir/esp.fat" $((esp_mib * 1024)) >/dev/null
	mcopy -s -Q -i "$dir/esp.fat" "$r"/boot/efi/* ::/ || return 1
	rm -rf "${r:?}"/boot/efi/*
	# the disk: GPT, the ESP, the root (ext4 made from the tree, no mount)
	tree_mib=$(du -sm "$r" | cut -f1)
	root_mib=$((tree_mib + ${DI_ROOM_MIB:-400}))
	DI_DISK_MIB=$((1 + esp_mib + root_mib + 1))
	truncate -s "${DI_DISK_MIB}M" "$dir/inner.raw"
	sgdisk -n "1:2048:+${esp_mib}M" -t "1:$GPT_ESP_TYPE" -n 2:0:0 -t "2:$GPT_ROOT_TYPE" "$dir/inner.raw" >/dev/null
	dd if="$dir/esp.fat" of="$dir/inner.raw" bs=1M seek=1 conv=notrunc,sparse status=none
	DI_ESP_START=2048
	DI_ROOT_START=$(sgdisk -i 2 "$dir/inner.raw" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
	root_end=$(sgdisk -i 2 "$dir/inner.raw" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p')
	if ! mkfs.ext4 -q -F -L debianroot -U "$DI_ROOT_UUID" -d "$r" "$dir/root.ext4" \
		"$(((root_end - DI_ROOT_START + 1) / 2))k" >"$dir/mkfs.log" 2>&1; then
		notok "build: mkfs.ext4 -d of the tree" "$(tail -3 "$dir/mkfs.log" | tr '\n' ';')"
		return 1
	fi
	dd if="$dir/root.ext4" of="$dir/inner.raw" bs=1M seek=$((DI_ROOT_START * 512)) oflag=seek_bytes conv=notrunc,sparse status=none
	rm -rf "$dir/root.ext4" "$dir/esp.fat" "$r"
	qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=1M "$dir/inner.raw" "$dir/d.vhdx" || return 1
	rm -f "$dir/inner.raw"
	image=$(stat -c %s "$dir/d.vhdx")
	truncate -s $((image + ((DI_DISK_MIB + 64) << 20))) "$dir/d.vhdx" # the disk: the image, then room for every block
	echo "# virtual disk ${DI_DISK_MIB} MiB (tree ${tree_mib} MiB), image $image bytes, disk $(stat -c %s "$dir/d.vhdx") bytes"
}

di_boot() {
	local name=$1 rc
	with_rng
	QEMU_MEM=1024 BOOT_TIMEOUT=${DEBIAN_BOOT_TIMEOUT:-1500} boot_guest
	rc=$?
	grep -E '^(vhdxboot: (handoff|summary|virtual disk: first write)|Kernel panic|vhdx: )|VHDXTEST-|vhdx-initramfs:|Timed out' \
		"$C/log" | sed 's/^/#   /'
	((rc == 0)) || tail -30 "$C/log" | sed 's/^/#  | /'
	echo "# $name under TCG: ${GUEST_SECS}s from QEMU's start to its end"
	return $rc
}

di_export() { # IMAGE: $C/root.ext4 and $C/esp.fat from the image's virtual disk
	"$VHDX" export "$1" "$C/out.raw" >/dev/null 2>&1 || return 1
	dd if="$C/out.raw" of="$C/esp.fat" bs=512 skip="$DI_ESP_START" count=$(((${DI_ESP_MIB:-128}) << 11)) status=none &&
		dd if="$C/out.raw" of="$C/root.ext4" bs=1M skip=$((DI_ROOT_START * 512)) iflag=skip_bytes status=none
	local rc=$?
	rm -f "$C/out.raw"
	return $rc
}

di_checked() {
	local name=$1 image=$2 out
	if out=$("$VHDX" check "$image" 2>&1); then ok "$name: vhdx check is clean"; else notok "$name: vhdx check is clean" "$(echo "$out" | tail -2 | tr '\n' ';')"; fi
	if out=$(qemu-img check -f vhdx "$image" 2>&1); then ok "$name: qemu-img check is clean"; else notok "$name: qemu-img check is clean" "$(echo "$out" | tail -2 | tr '\n' ';')"; fi
	if ! di_export "$image"; then
		notok "$name: vhdx export of the virtual disk" "failed"
		return 1
	fi
	if out=$(e2fsck -fn "$C/root.ext4" 2>&1); then ok "$name: e2fsck -fn: the root is clean"; else notok "$name: e2fsck -fn: the root is clean" "$(echo "$out" | tail -3 | tr '\n' ';')"; fi
	if out=$(fsck.vfat -n "$C/esp.fat" 2>&1); then ok "$name: fsck.vfat -n: the inner ESP is clean"; else notok "$name: fsck.vfat -n: the inner ESP is clean" "$(echo "$out" | tail -3 | tr '\n' ';')"; fi
}

di_entries() {
	mdir -b -i "$C/esp.fat" ::/loader/entries 2>/dev/null | sed 's|.*/||' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}
