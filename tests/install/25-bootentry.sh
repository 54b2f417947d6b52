#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 25-bootentry: the boot entry of `vhdx install-boot`, for real.  The host did not boot through UEFI, so the
# tool runs inside a guest that did: OVMF starts Debian's kernel (EFI stub, QEMU -kernel) with a small initramfs
# (busybox, the kernel's virtio/vfat/efivarfs modules, vhdx and efibootmgr with their libraries), which mounts
# the GPT disk's ESP at /boot/efi and efivarfs, and runs install-boot there:
#   1. install: the ESP's disk and partition are found through /proc/self/mountinfo and sysfs, efibootmgr
#      creates the entry "vhdxboot" -> \EFI\vhdxboot\vhdxboot.efi first in BootOrder; a second run says it is
#      already in place
#   2. the firmware alone (no -kernel, nothing removable on the ESP) boots that entry: vhdxboot reads
#      \EFI\vhdxboot\vhdxboot.conf, updates the VHDX on the second drive and starts the payload
#   3. --remove: the entry is deleted and the ESP is what it was before (every path and byte, read with mtools)
# The kernel package is fetched once with `apt-get download` into $BUILD/cache/install-os.
source "$(dirname "$0")/../boot/lib/common.bash"
SUITE=bootentry
need_tools
VHDX=${VHDX:-$BUILD/host/vhdx}
LINUX_TIMEOUT=${LINUX_TIMEOUT:-400}
for t in efibootmgr busybox cpio depmod modprobe mkfs.vfat mdir mtype mcopy sgdisk apt-get dpkg-deb; do
	command -v "$t" >/dev/null || { notok setup "missing $t (tests/deps.sh installs it)"; exit 1; }
done

# --- the kernel and its modules (cached)
CACHE=$BUILD/cache/install-os
mkdir -p "$CACHE"
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1)
if [[ -z $pkg ]]; then
	notok setup "apt-cache knows no linux-image-amd64 (run apt-get update)"
	exit 1
fi
KVER=${pkg#linux-image-}
if [[ ! -f $CACHE/x/boot/vmlinuz-$KVER ]]; then
	(cd "$CACHE" && rm -f linux-image-*.deb && apt-get download "$pkg" >"$CACHE/dl.log" 2>&1) &&
		rm -rf "$CACHE/x" && dpkg-deb -x "$CACHE"/"$pkg"_*.deb "$CACHE/x" && rm -f "$CACHE"/*.deb &&
		depmod -b "$CACHE/x" "$KVER" ||
		{ notok setup "cannot fetch and unpack $pkg: $(tail -2 "$CACHE/dl.log" | tr '\n' ';')"; exit 1; }
fi

# --- the initramfs
IR=$WORK/initramfs
mkdir -p "$IR"/{bin,sbin,proc,sys,dev,boot/efi,lib/modules,tmp}
cp "$(command -v busybox)" "$IR/bin/busybox"
copy_exec() { # a program and the libraries it loads, at the same paths
	local f=$1 lib
	mkdir -p "$IR/$(dirname "$f")"
	cp -L "$f" "$IR/$f"
	for lib in $(ldd "$f" | grep -oE '/[^ ]+'); do
		mkdir -p "$IR/$(dirname "$lib")"
		cp -L "$lib" "$IR/$lib"
	done
}
copy_exec "$(readlink -f "$VHDX")"
ln -s "$(readlink -f "$VHDX")" "$IR/bin/vhdx"
copy_exec "$(command -v efibootmgr)"
ln -sf "$(command -v efibootmgr)" "$IR/bin/efibootmgr"
: >"$IR/modules"
for m in virtio_pci virtio_blk efivarfs vfat nls_cp437 nls_utf8 nls_ascii; do
	modprobe -d "$CACHE/x" -S "$KVER" --show-depends "$m" 2>/dev/null | sed -n 's/^insmod \([^ ]*\).*/\1/p' |
		while read -r ko; do
			b=$(basename "$ko")
			grep -qx "$b" "$IR/modules" && continue
			cp "$ko" "$IR/lib/modules/$b"
			echo "$b" >>"$IR/modules"
		done
done
# the module the tests runs, also (--module) the installed vhdxboot.efi
cp "$EFI_MODULE" "$IR/vhdxboot.efi"
cat >"$IR/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules); do insmod /lib/modules/$m 2>/dev/null; done
mount -t efivarfs efivarfs /sys/firmware/efi/efivars || echo "GUEST: no efivarfs"
step=$(sed -n 's/.*vhdxtest=\([a-z]*\).*/\1/p' /proc/cmdline)
i=0
while [ ! -b /dev/vda1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mount -t vfat /dev/vda1 /boot/efi || echo "GUEST: cannot mount /dev/vda1"
echo "GUEST: step $step"
export VHDXBOOT_MODULE=/vhdxboot.efi
case $step in
install)
	vhdx install-boot --esp /boot/efi --next /payload.efi --args "from-entry marker=BOOTENTRY poweroff"
	echo "GUEST: rc=$?"
	vhdx install-boot --esp /boot/efi --next /payload.efi --args "from-entry marker=BOOTENTRY poweroff"
	echo "GUEST: rc2=$?"
	;;
remove)
	vhdx install-boot --esp /boot/efi --remove
	echo "GUEST: rc=$?"
	;;
esac
efibootmgr -v | sed 's/^/GUEST-EFIBOOTMGR: /'
umount /boot/efi
sync
echo "GUEST: done"
poweroff -f
EOF
chmod +x "$IR/init"
(cd "$IR" && find . | cpio -o -H newc --quiet | gzip -1) >"$WORK/initrd.img"

# --- the disk: GPT, partition 1 an ESP holding the payload only
IMG=$WORK/esp.img
DISK=$WORK/disk.img
truncate -s 64M "$IMG"
mkfs.vfat -F 32 -n ESP "$IMG" >/dev/null
mcopy -i "$IMG" "$EFI_PAYLOAD" ::/payload.efi
truncate -s 66M "$DISK"
sgdisk -o -n 1:2048:+64M -t 1:ef00 -c 1:ESP "$DISK" >/dev/null
dd if="$IMG" of="$DISK" bs=1M seek=1 conv=notrunc status=none
snapshot() {
	local p
	mdir -/ -b -i "$DISK@@1M" ::/ | sort | while read -r p; do
		if [[ $p == */ ]]; then echo "dir $p"; else echo "file $p $(mtype -i "$DISK@@1M" "$p" | sha256sum | cut -c1-16)"; fi
	done
}
snapshot >"$WORK/s0"

new_case linux
cp "$OVMF_VARS" "$WORK/vars.fd" # one firmware variable store for all the runs: the entry lives there
run_linux() { # STEP
	C=$WORK/linux-$1
	mkdir -p "$C"
	local start=$(date +%s)
	timeout --kill-after=10 "$LINUX_TIMEOUT" qemu-system-x86_64 -machine "q35,accel=$QEMU_ACCEL" -cpu max -m 512 -smp 1 \
		-nographic -nic none -no-reboot \
		-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE" -drive "if=pflash,format=raw,unit=1,file=$WORK/vars.fd" \
		-drive "if=none,id=esp,format=raw,file=$DISK" -device virtio-blk-pci,drive=esp \
		-kernel "$CACHE/x/boot/vmlinuz-$KVER" -initrd "$WORK/initrd.img" \
		-append "console=ttyS0 quiet vhdxtest=$1" </dev/null >"$C/serial.log" 2>&1
	local rc=$?
	sed -e 's/\x1b\[[0-9;?=]*[A-Za-z]//g' -e 's/\r//g' "$C/serial.log" >"$C/log"
	echo "# linux run $1: $(($(date +%s) - start))s, qemu exit $rc"
	grep -E '^(GUEST|vhdx|installed|already|created|removed|no boot|put back)' "$C/log" | grep -v EFIBOOTMGR | sed 's/^/#   /'
	return $rc
}

log_both() { log_has "$1" && log_has "$2"; }

# 1. install inside the guest
run_linux install
expect "install: the guest ran install-boot and powered off" log_has '^GUEST: done'
expect "install: exit 0" log_has '^GUEST: rc=0$'
expect "install: the entry was created on the ESP's disk and partition (/dev/vda, 1, from mountinfo and sysfs)" \
	log_has '^created boot entry Boot[0-9A-F]{4} "vhdxboot" -> \\EFI\\vhdxboot\\vhdxboot.efi on /dev/vda partition 1$'
num=$(sed -n 's/^created boot entry Boot\([0-9A-F]\{4\}\) .*/\1/p' "$C/log" | head -1)
expect "install: efibootmgr shows Boot${num:-?} vhdxboot -> the ESP partition's \\EFI\\vhdxboot\\vhdxboot.efi" \
	log_has "^GUEST-EFIBOOTMGR: Boot${num:-XXXX}\\* vhdxboot.*HD\\(1,GPT,.*File\\(\\\\EFI\\\\vhdxboot\\\\vhdxboot.efi\\)"
expect "install: the entry is first in BootOrder" log_has "^GUEST-EFIBOOTMGR: BootOrder: ${num:-XXXX}"
expect "second run: exit 0, the entry already in place" \
	log_both "^already in place: boot entry Boot${num:-XXXX} \"vhdxboot\"" '^GUEST: rc2=0$'
[[ $(grep -c '^created boot entry' "$C/log") == 1 ]] || notok "second run" "created a second entry"

# 2. the firmware on its own boots the entry
C=$WORK/entry
mkdir -p "$C"
make_vhdx "$C/d.vhdx" 64M
cp "$C/d.vhdx" "$C/before.vhdx"
timeout --kill-after=10 "$BOOT_TIMEOUT" qemu-system-x86_64 -machine "q35,accel=$QEMU_ACCEL" -cpu max -m 256 -smp 1 \
	-nographic -nic none -no-reboot \
	-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE" -drive "if=pflash,format=raw,unit=1,file=$WORK/vars.fd" \
	-drive "if=none,id=esp,format=raw,file=$DISK" -device virtio-blk-pci,drive=esp \
	-drive "if=none,id=vhdx,format=raw,file=$C/d.vhdx" -device virtio-blk-pci,drive=vhdx \
	-device virtio-rng-pci </dev/null >"$C/serial.log" 2>&1
rc=$?
sed -e 's/\x1b\[[0-9;?=]*[A-Za-z]//g' -e 's/\r//g' "$C/serial.log" >"$C/log"
show_log
expect "entry boot: the firmware started the entry vhdxboot" log_has "^BdsDxe: starting Boot${num:-XXXX} \"vhdxboot\""
expect "entry boot: vhdxboot read \\EFI\\vhdxboot\\vhdxboot.conf" log_has '^vhdxboot: config \\EFI\\vhdxboot\\vhdxboot.conf'
expect "entry boot: the payload started with the config's args, guest powered off (qemu exit 0)" \
	log_both '^PAYLOAD-OPTIONS: \[from-entry marker=BOOTENTRY poweroff\]' '^PAYLOAD-POWEROFF'
session_checked "entry boot: the VHDX got one session update, nothing else" "$C/before.vhdx" "$C/d.vhdx"

# 3. --remove inside the guest
run_linux remove
expect "remove: exit 0, the entry deleted" log_both '^GUEST: rc=0$' "^removed boot entry Boot${num:-XXXX} \"vhdxboot\""
expect "remove: efibootmgr no longer lists a vhdxboot entry" log_lacks '^GUEST-EFIBOOTMGR: Boot[0-9A-F]{4}\*? vhdxboot'
if cmp -s "$WORK/s0" <(snapshot); then ok "remove: the ESP is what it was before install"
else notok "remove: ESP restored" "$(diff "$WORK/s0" <(snapshot) | tr '\n' ';')"; fi
