#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 77-debian: a real Debian inside a dynamic VHDX, booted by vhdxboot with os-write = expand.
# The system is built by mmdebstrap from this machine's apt sources (tests/boot/lib/debianroot.sh, cached by its
# package list): systemd, an older Debian 6.1 kernel, initramfs-tools, systemd-boot, dmsetup, and then the
# project's own package (`make deb`) installed with dpkg, whose trigger regenerates the initramfs with our hook.
# The virtual disk: a GPT with the inner ESP (systemd-boot, the kernel, the initramfs; /boot/efi in /etc/fstab by
# its UUID) and an ext4 root (/ by its UUID); qemu-img makes it a dynamic VHDX whose free space is absent blocks.
# The machine's disk holds that VHDX with room after it; the machine's ESP holds vhdxboot (next = vhdx:,
# os-write = expand).  Boot 1: vhdxboot's session update and handoff, the initramfs allocates the absent blocks
# and maps the whole disk read-write, systemd reaches the default target; a unit of the test prints what it sees
# (target, mounts, /dev/mapper, failed units, systemd-analyze) and powers off; its lines may share the console
# with a getty's prompt, so they are matched anywhere on a line.  Afterwards vhdx check and qemu-img
# check are clean.  Environment: DEBIAN_BOOT_TIMEOUT (seconds, default 1500), DEBIAN_KERNEL (package name).
source "$(dirname "$0")/lib/common.bash"
source "$ROOT/tests/boot/lib/debianroot.sh"
need_tools
VHDX=${VHDX:-$BUILD/host/vhdx}
export PATH=$PATH:/usr/sbin:/sbin
for t in mmdebstrap mkfs.ext4 mkfs.vfat sgdisk dpkg-buildpackage lsinitramfs; do
	command -v "$t" >/dev/null 2>&1 || { notok setup "missing $t (run tests/deps.sh)"; exit 1; }
done
ESP_ID=5648-4477
ESP_MIB=128
GPT_ROOT_TYPE=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
GPT_ESP_TYPE=C12A7328-F81F-11D2-BA4B-00A0C93EC93B

# --- the project's package, built from this tree (reused while the committed files outside tests/ are the same) --
commit=$(git -C "$ROOT" ls-files -s -- . ':!tests' 2>/dev/null | sha256sum | cut -c1-16)
DEBS=$ROOT/build/deb # where `make deb` puts it
deb=$(ls "$DEBS"/vhdxboot_*.deb 2>/dev/null | head -1)
if [[ -z $deb || $(cat "$DEBS/.commit" 2>/dev/null) != "$commit" ]]; then
	t0=$(date +%s)
	if ! (cd "$ROOT" && DEB_BUILD_OPTIONS=parallel=2 make deb) >"$WORK/deb.log" 2>&1; then
		notok setup "make deb: $(tail -3 "$WORK/deb.log" | tr '\n' ';')"
		exit 1
	fi
	deb=$(ls "$DEBS"/vhdxboot_*.deb | head -1)
	echo "$commit" >"$DEBS/.commit"
	echo "# make deb: $(basename "$deb") ($(($(date +%s) - t0))s)"
fi

# --- the Debian tree -------------------------------------------------------------------------------------------
t0=$(date +%s)
if ! dr_base "$BUILD/cache/debian"; then
	notok setup "mmdebstrap of the base system failed (above)"
	exit 1
fi
echo "# base system: $DR_KERNEL_PKG, $(du -sm "$DR_TREE" | cut -f1) MiB ($(($(date +%s) - t0))s, cached in $DR_TREE)"
new_case debian
R=$C/root
cp -a "$DR_TREE" "$R"
MOUNTED=()
unmount_all() { local m; for m in "${MOUNTED[@]}"; do umount -l "$m" 2>/dev/null; done; MOUNTED=(); }
trap 'unmount_all; cleanup_work' EXIT
for m in proc sys dev; do
	mount --bind "/$m" "$R/$m" && MOUNTED+=("$R/$m")
done
# the build machine's swap is not this system's resume device
mkdir -p "$R/etc/initramfs-tools/conf.d"
echo "RESUME=none" >"$R/etc/initramfs-tools/conf.d/resume"
cp "$deb" "$R/tmp/"
if chroot "$R" dpkg -i "/tmp/$(basename "$deb")" >"$C/dpkg.log" 2>&1; then
	ok "dpkg -i $(basename "$deb") in the tree (its trigger ran update-initramfs)"
else
	notok "dpkg -i the package" "$(tail -5 "$C/dpkg.log" | tr '\n' ';')"
fi
unmount_all
rm -f "$R/tmp/$(basename "$deb")"
KVER=$(ls "$R/lib/modules" | sort -V | tail -1)
initrd=$R/boot/initrd.img-$KVER
if lsinitramfs "$initrd" 2>/dev/null | grep -q 'scripts/local-top/vhdx$' && lsinitramfs "$initrd" | grep -q 'bin/vhdx$' &&
	grep -q 'update-initramfs' "$C/dpkg.log"; then
	ok "the regenerated initramfs of $KVER holds the hook's vhdx and local-top script"
else
	notok "the regenerated initramfs holds the hook" "$(grep -i initramfs "$C/dpkg.log" | tail -3 | tr '\n' ';')"
fi

# fstab, a host name, and the test's unit
ROOT_UUID=$(cat /proc/sys/kernel/random/uuid)
printf 'UUID=%s / ext4 errors=remount-ro 0 1\nUUID=%s /boot/efi vfat umask=0077 0 1\n' "$ROOT_UUID" "$ESP_ID" >"$R/etc/fstab"
mkdir -p "$R/boot/efi"
echo vhdxdebian >"$R/etc/hostname"
cat >"$R/usr/local/sbin/vhdxtest-report" <<'SH'
#!/bin/sh
# 77-debian's probe: what the booted system looks like once the boot is done, then power off
state=$(systemctl is-system-running --wait)
echo "VHDXTEST-STATE: $state" >/dev/ttyS0
echo "VHDXTEST-DEFAULT: $(systemctl get-default) $(systemctl is-active "$(systemctl get-default)")" >/dev/ttyS0
echo "VHDXTEST-ROOT: $(findmnt -no SOURCE,FSTYPE,OPTIONS /)" >/dev/ttyS0
echo "VHDXTEST-EFI: $(findmnt -no SOURCE,FSTYPE,OPTIONS /boot/efi)" >/dev/ttyS0
echo "VHDXTEST-EFIFILES: $(ls /boot/efi | tr '\n' ' ')" >/dev/ttyS0
echo "VHDXTEST-MAPPER: $(ls /dev/mapper | tr '\n' ' ')" >/dev/ttyS0
echo "VHDXTEST-BYUUID: $(ls /dev/disk/by-uuid | tr '\n' ' ')" >/dev/ttyS0
echo "VHDXTEST-FAILED: $(systemctl --failed --plain --no-legend | tr '\n' ';')" >/dev/ttyS0
echo "VHDXTEST-WRITE: $(date +%s) $(cat /proc/sys/kernel/random/uuid)" | tee /var/lib/vhdxtest-written >/dev/ttyS0
sync
echo "VHDXTEST-ANALYZE: $(systemd-analyze 2>&1 | head -1)" >/dev/ttyS0
systemctl poweroff
SH
chmod 755 "$R/usr/local/sbin/vhdxtest-report"
cat >"$R/etc/systemd/system/vhdxtest-report.service" <<'UNIT'
[Unit]
Description=77-debian: report the booted system and power off

[Service]
Type=simple
ExecStart=/usr/local/sbin/vhdxtest-report

[Install]
WantedBy=multi-user.target
UNIT
mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/vhdxtest-report.service "$R/etc/systemd/system/multi-user.target.wants/"

# --- the inner ESP: systemd-boot, the kernel and the initramfs, one entry -------------------------------------
mkfs.vfat -C -n DEBIANESP -i "${ESP_ID//-/}" "$C/esp.fat" $((ESP_MIB * 1024)) >/dev/null
mmd -i "$C/esp.fat" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries
mcopy -i "$C/esp.fat" "$R/usr/lib/systemd/boot/efi/systemd-bootx64.efi" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$C/esp.fat" "$R/boot/vmlinuz-$KVER" ::/vmlinuz
mcopy -i "$C/esp.fat" "$initrd" ::/initrd.img
printf 'timeout 0\ndefault debian.conf\nconsole-mode keep\n' >"$C/loader.conf"
printf 'title Debian in a VHDX\nlinux /vmlinuz\ninitrd /initrd.img\noptions console=ttyS0 panic=-1 loglevel=4 systemd.show_status=1\n' >"$C/debian.conf"
mcopy -i "$C/esp.fat" "$C/loader.conf" ::/loader/loader.conf
mcopy -i "$C/esp.fat" "$C/debian.conf" ::/loader/entries/debian.conf

# --- the virtual disk: GPT, the ESP, the root (ext4 made from the tree, no mount) -------------------------------
tree_mib=$(du -sm "$R" | cut -f1)
root_mib=$((tree_mib + 400))
disk_mib=$((1 + ESP_MIB + root_mib + 1))
truncate -s "${disk_mib}M" "$C/inner.raw"
sgdisk -n "1:2048:+${ESP_MIB}M" -t "1:$GPT_ESP_TYPE" -n 2:0:0 -t "2:$GPT_ROOT_TYPE" "$C/inner.raw" >/dev/null
dd if="$C/esp.fat" of="$C/inner.raw" bs=1M seek=1 conv=notrunc,sparse status=none
root_start=$(sgdisk -i 2 "$C/inner.raw" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
root_end=$(sgdisk -i 2 "$C/inner.raw" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p')
if ! mkfs.ext4 -q -F -L debianroot -U "$ROOT_UUID" -d "$R" "$C/root.ext4" "$(((root_end - root_start + 1) / 2))k" >"$C/mkfs.log" 2>&1; then
	notok "mkfs.ext4 -d of the tree" "$(tail -3 "$C/mkfs.log" | tr '\n' ';')"
	exit 1
fi
dd if="$C/root.ext4" of="$C/inner.raw" bs=1M seek=$((root_start * 512)) oflag=seek_bytes conv=notrunc,sparse status=none
rm -rf "$C/root.ext4" "$C/esp.fat" "$R"
qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=1M "$C/inner.raw" "$C/d.vhdx"
rm -f "$C/inner.raw"
image=$(stat -c %s "$C/d.vhdx")
truncate -s $((image + ((disk_mib + 64) << 20))) "$C/d.vhdx" # the disk: the image, then room for every block
echo "# virtual disk ${disk_mib} MiB (tree ${tree_mib} MiB), image $image bytes, disk $(stat -c %s "$C/d.vhdx") bytes"

# --- boot 1 ------------------------------------------------------------------------------------------------------
esp_module_as_bootx64
printf '%s\r\n' "next = vhdx:" "os-write = expand" >"$C/esp/EFI/BOOT/vhdxboot.conf"
attach_virtio "$C/d.vhdx"
with_rng
QEMU_MEM=1024 BOOT_TIMEOUT=${DEBIAN_BOOT_TIMEOUT:-1500} boot_guest
rc=$?
grep -E '^(vhdxboot: (handoff|summary)|Kernel panic|vhdx: )|VHDXTEST-|vhdx-initramfs:|Timed out' "$C/log" | sed 's/^/#   /'
((rc == 0)) || tail -30 "$C/log" | sed 's/^/#  | /'
echo "# boot 1 under TCG: ${GUEST_SECS}s from QEMU's start to power-off"
expect "boot 1: the guest powered off by itself (qemu exit 0, ${GUEST_SECS}s)" test "$rc" -eq 0
expect "boot 1: vhdxboot handed over with expand" log_has '^vhdxboot: handoff: VhdxbootImage = disk .*, OS may expand and write'
expect "boot 1: the initramfs allocated the absent blocks" log_has '^vhdx-initramfs: expand: /dev/vda: .*allocated [0-9]+ blocks'
expect "boot 1: the whole disk mapped read-write" log_has '^vhdx-initramfs: device-mapper table of the virtual disk: [0-9]+ segments, read-write'
expect "boot 1: the default target is active" log_has 'VHDXTEST-DEFAULT: [a-z.-]+\.target active'
expect "boot 1: systemctl is-system-running says running (no failed unit)" log_has 'VHDXTEST-STATE: running$'
expect "boot 1: / is /dev/mapper/vhdx-p2, read-write" log_has 'VHDXTEST-ROOT: /dev/mapper/vhdx-p2 ext4 +rw'
expect "boot 1: the inner ESP is mounted at /boot/efi (vfat, from vhdx-p1)" log_has 'VHDXTEST-EFI: /dev/mapper/vhdx-p1 vfat +'
expect "boot 1: /boot/efi holds the loader" log_has 'VHDXTEST-EFIFILES: .*loader'
expect "boot 1: the root wrote its file" log_has 'VHDXTEST-WRITE: [0-9]+ '
expect "boot 1: vhdx check is clean afterwards" "$VHDX" check "$C/d.vhdx"
expect "boot 1: qemu-img check is clean afterwards" qemu-img check -q -f vhdx "$C/d.vhdx"
wrote=$(sed -n 's/.*\(VHDXTEST-WRITE: \)/\1/p' "$C/log" | head -1)
"$VHDX" export "$C/d.vhdx" "$C/out.raw" >/dev/null 2>&1
dd if="$C/out.raw" of="$C/root.ext4" bs=1M skip=$((root_start * 512)) iflag=skip_bytes status=none
rm -f "$C/out.raw"
got=$(debugfs -R 'cat /var/lib/vhdxtest-written' "$C/root.ext4" 2>/dev/null)
if [[ -n $wrote && $got == "$wrote" ]]; then
	ok "boot 1: the file the system wrote is in the image (vhdx export + debugfs)"
else
	notok "boot 1: the file the system wrote is in the image" "debugfs read '$got', the guest wrote '$wrote'"
fi
rm -f "$C/root.ext4"
