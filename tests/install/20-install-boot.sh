#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 20-install-boot: `vhdx install-boot` on a real FAT file system.  The test makes a FAT32 image (mkfs.vfat) and
# mounts it with fusefat (FUSE: no kernel vfat, no loop mount here); install-boot writes through that mount, and
# the image is read back with mtools, an independent FAT reader.
#   - --removable with --next/--args: the image, as the ESP partition of a GPT disk, with a VHDX beside it as a
#     second drive, boots under OVMF through \EFI\BOOT\BOOTX64.EFI to the payload, which got the config's args;
#     the VHDX got one session update
#   - a second run is all "already in place" and changes nothing; --remove restores the ESP to what it was
#     (every path and every byte, read with mtools)
#   - a foreign BOOTX64.EFI is kept (exit 1, nothing written); with --force it is moved aside and --remove puts
#     it back
#   - refusals before any write: not FAT, a damaged record, a module that is not vhdxboot or is for another
#     architecture, a config value the module could not read back
#   - --os-write=expand and --vdisk-write write their config lines; --os-write=perhaps is refused
source "$(dirname "$0")/../boot/lib/common.bash"
SUITE=install-boot
need_tools
VHDX=${VHDX:-$BUILD/host/vhdx}
for t in fusefat fusermount3 mkfs.vfat fsck.vfat mdir mtype mcopy mmd sgdisk; do
	command -v "$t" >/dev/null || { notok setup "missing $t (tests/deps.sh installs it)"; exit 1; }
done
[[ -e /dev/fuse ]] || { notok setup "no /dev/fuse: fusefat cannot mount the test's FAT image"; exit 1; }
export VHDXBOOT_MODULE=$EFI_MODULE
# On a machine booted through UEFI a boot entry would be due; the FUSE mount has no partition to point it at.
ENTRY=()
[[ -d /sys/firmware/efi ]] && ENTRY=(--no-entry)

IMG=$WORK/esp.img
MNT=$WORK/mnt
mkdir -p "$MNT"
FUSE_PID=
esp_mount() {
	fusefat -f -o rw+ "$IMG" "$MNT" >"$WORK/fusefat.log" 2>&1 &
	FUSE_PID=$!
	local i
	for i in $(seq 1 100); do
		grep -q " $MNT " /proc/self/mountinfo && return 0
		sleep 0.1
	done
	notok setup "fusefat did not mount $IMG: $(tr '\n' ';' <"$WORK/fusefat.log")"
	exit 1
}
# unmounts and waits for fusefat to finish writing the image
esp_umount() {
	fusermount3 -u "$MNT"
	wait "$FUSE_PID"
}
cleanup_mount() {
	grep -q " $MNT " /proc/self/mountinfo && fusermount3 -u "$MNT"
	cleanup_work
}
trap cleanup_mount EXIT

# every path in the image, and the SHA-256 of every file, read with mtools
snapshot() {
	local p
	mdir -/ -b -i "$IMG" ::/ | sort | while read -r p; do
		if [[ $p == */ ]]; then
			echo "dir $p"
		else
			echo "file $p $(mtype -i "$IMG" "$p" | sha256sum | cut -c1-16)"
		fi
	done
}
ib() { "$VHDX" install-boot "$@" >"$WORK/out" 2>&1; IB_RC=$?; IB_OUT=$(cat "$WORK/out"); }
show() { sed 's/^/#   /' "$WORK/out"; }

# The ESP before: the payload in the root and somebody else's \EFI\other\keep.txt (so \EFI exists already).
truncate -s 64M "$IMG"
mkfs.vfat -F 32 -n ESP "$IMG" >/dev/null
mmd -i "$IMG" ::/EFI ::/EFI/other
echo "not ours" >"$WORK/keep.txt"
mcopy -i "$IMG" "$WORK/keep.txt" ::/EFI/other/keep.txt
mcopy -i "$IMG" "$EFI_PAYLOAD" ::/payload.efi
snapshot >"$WORK/s0"

# 1. install, removable, with the payload as the next stage
esp_mount
ib --esp "$MNT" --removable --next /payload.efi --args "from-install-boot marker=INSTALLBOOT poweroff" "${ENTRY[@]}"
show
expect "install: exit 0" test "$IB_RC" -eq 0
expect "install: says what it installed" grep -q "^installed $MNT/EFI/BOOT/BOOTX64.EFI$" <<<"$IB_OUT"
if [[ -z ${ENTRY[*]} ]]; then
	expect "install: no boot entry on a system not booted through UEFI, and says why" \
		grep -q '^no boot entry: this system did not boot through UEFI (no /sys/firmware/efi)' <<<"$IB_OUT"
fi
ib --esp "$MNT" --removable --next /payload.efi --args "from-install-boot marker=INSTALLBOOT poweroff" "${ENTRY[@]}"
expect "second run: exit 0, all four files already in place, nothing written" \
	test "$IB_RC" -eq 0 -a "$(grep -c '^already in place: ' <<<"$IB_OUT")" -eq 4 -a "$(grep -Ec '^(installed|updated) ' <<<"$IB_OUT")" -eq 0
esp_umount
expect "the FAT file system is clean after the install (fsck.vfat -n)" fsck.vfat -n "$IMG"
snapshot >"$WORK/s1"
expect "the module went to \\EFI\\BOOT\\BOOTX64.EFI and \\EFI\\vhdxboot\\vhdxboot.efi" \
	cmp -s <(mtype -i "$IMG" ::/EFI/BOOT/BOOTX64.EFI) "$EFI_MODULE"
cmp -s <(mtype -i "$IMG" ::/EFI/vhdxboot/vhdxboot.efi) "$EFI_MODULE" || notok "module in \\EFI\\vhdxboot" "differs"
conf=$(mtype -i "$IMG" ::/EFI/BOOT/vhdxboot.conf)
expect "vhdxboot.conf has next (backslashes) and args" \
	grep -qx 'next = \\payload.efi' <<<"$conf"
grep -qx 'args = from-install-boot marker=INSTALLBOOT poweroff' <<<"$conf" || notok "vhdxboot.conf args" "$conf"

# 2. that ESP as partition 1 of a GPT disk, a VHDX on a second drive: OVMF boots it with no boot entry
new_case removable
DISK=$C/disk.img
truncate -s 66M "$DISK"
sgdisk -o -n 1:2048:+64M -t 1:ef00 -c 1:ESP "$DISK" >/dev/null
dd if="$IMG" of="$DISK" bs=1M seek=1 conv=notrunc status=none
make_vhdx "$C/d.vhdx" 64M
cp "$C/d.vhdx" "$C/before.vhdx"
timeout --kill-after=10 "$BOOT_TIMEOUT" qemu-system-x86_64 -machine "q35,accel=$QEMU_ACCEL" -cpu max -m 256 -smp 1 \
	-nographic -nic none -no-reboot \
	-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE" -drive "if=pflash,format=raw,unit=1,file=$C/vars.fd" \
	-drive "if=none,id=esp,format=raw,file=$DISK" -device virtio-blk-pci,drive=esp \
	-drive "if=none,id=vhdx,format=raw,file=$C/d.vhdx" -device virtio-blk-pci,drive=vhdx \
	-device virtio-rng-pci </dev/null >"$C/serial.log" 2>&1
rc=$?
sed -e 's/\x1b\[[0-9;?=]*[A-Za-z]//g' -e 's/\r//g' "$C/serial.log" >"$C/log"
show_log
expect "boot: guest powered off by the payload (qemu exit 0)" test "$rc" -eq 0
expect "boot: vhdxboot read the installed config" log_has '^vhdxboot: config \\EFI\\BOOT\\vhdxboot.conf'
expect "boot: session update on the VHDX beside the ESP" log_has '^vhdxboot: session update: sequence [0-9]+ -> [0-9]+'
expect "boot: the payload started with the args install-boot wrote" \
	log_has '^PAYLOAD-OPTIONS: \[from-install-boot marker=INSTALLBOOT poweroff\]'
session_checked "boot: the VHDX got one session update, nothing else" "$C/before.vhdx" "$C/d.vhdx"

# 3. --remove: the ESP as it was, path for path and byte for byte
esp_mount
ib --esp "$MNT" --remove "${ENTRY[@]}"
show
esp_umount
expect "remove: exit 0" test "$IB_RC" -eq 0
snapshot >"$WORK/s2"
if cmp -s "$WORK/s0" "$WORK/s2"; then
	ok "remove: the ESP is what it was before install ($(wc -l <"$WORK/s0") paths, \\EFI and \\EFI\\other kept)"
else
	notok "remove: ESP restored" "$(diff "$WORK/s0" "$WORK/s2" | tr '\n' ';')"
fi
esp_mount
ib --esp "$MNT" --remove "${ENTRY[@]}"
esp_umount
expect "remove again: exit 0, nothing to remove" grep -q '^nothing to remove: ' <<<"$IB_OUT"

# 4. a foreign \EFI\BOOT\BOOTX64.EFI (the payload: no vhdxboot .sbat) is kept without --force
mmd -i "$IMG" ::/EFI/BOOT
mcopy -i "$IMG" "$EFI_PAYLOAD" ::/EFI/BOOT/BOOTX64.EFI
snapshot >"$WORK/s3"
esp_mount
ib --esp "$MNT" --removable --next /payload.efi "${ENTRY[@]}"
show
esp_umount
expect "foreign BOOTX64.EFI: exit 1" test "$IB_RC" -eq 1
expect "foreign BOOTX64.EFI: the message names the path and the reason" \
	grep -q "EFI/BOOT/BOOTX64.EFI: exists and is not vhdxboot's (no .sbat line for vhdxboot); not replaced" <<<"$IB_OUT"
expect "foreign BOOTX64.EFI: nothing written at all" cmp -s "$WORK/s3" <(snapshot)

esp_mount
ib --esp "$MNT" --removable --next /payload.efi --force "${ENTRY[@]}"
show
esp_umount
expect "--force: exit 0, the foreign file moved aside" \
	test "$IB_RC" -eq 0 -a -n "$(grep "^moved $MNT/EFI/BOOT/BOOTX64.EFI to $MNT/EFI/vhdxboot/saved/EFI_BOOT_BOOTX64.EFI" <<<"$IB_OUT")"
expect "--force: BOOTX64.EFI is vhdxboot, the old one kept" \
	cmp -s <(mtype -i "$IMG" ::/EFI/BOOT/BOOTX64.EFI; mtype -i "$IMG" ::/EFI/vhdxboot/saved/EFI_BOOT_BOOTX64.EFI) \
	<(cat "$EFI_MODULE" "$EFI_PAYLOAD")
esp_mount
ib --esp "$MNT" --remove "${ENTRY[@]}"
show
esp_umount
expect "--remove after --force puts the foreign BOOTX64.EFI back, the ESP as it was" cmp -s "$WORK/s3" <(snapshot)

# 5. refusals, each before anything is written
mkdir -p "$WORK/plain"
ib --esp "$WORK/plain" --no-entry
expect "not FAT: exit 1, says so, writes nothing" \
	test "$IB_RC" -eq 1 -a -z "$(ls -A "$WORK/plain")" -a -n "$(grep "plain: not a FAT file system (statfs type 0x" <<<"$IB_OUT")"
ib --esp "$WORK/plain" --no-entry --force --module "$EFI_PAYLOAD"
expect "a module that is not vhdxboot: exit 1, named" \
	test "$IB_RC" -eq 1 -a -z "$(ls -A "$WORK/plain")" -a -n "$(grep 'payload.efi: not vhdxboot' <<<"$IB_OUT")"
ib --esp "$WORK/plain" --no-entry --force --arch aa64
expect "a module for another architecture: exit 1, named" \
	test "$IB_RC" -eq 1 -a -n "$(grep 'built for x64 (PE machine 0x8664), the firmware is aa64' <<<"$IB_OUT")"
ib --esp "$WORK/plain" --no-entry --force --args "a # b"
expect "a config value with '#': exit 2 (usage), nothing written" \
	test "$IB_RC" -eq 2 -a -z "$(ls -A "$WORK/plain")" -a -n "$(grep "has a '#' at offset 2" <<<"$IB_OUT")"
ib --esp "$WORK/plain" --no-entry --force --next /x.efi
echo "file ../../../etc/passwd" >>"$WORK/plain/EFI/vhdxboot/installed"
(cd "$WORK/plain" && find . -type f -exec sha256sum {} + | sort) >"$WORK/p0"
ib --esp "$WORK/plain" --remove --force --no-entry
expect "a damaged record: exit 1, the line named, nothing removed" \
	test "$IB_RC" -eq 1 -a -n "$(grep 'installed: line [0-9]*: file "../../../etc/passwd" is not a path vhdx install-boot writes' <<<"$IB_OUT")"
cmp -s "$WORK/p0" <(cd "$WORK/plain" && find . -type f -exec sha256sum {} + | sort) || notok "damaged record" "files changed"
ib --esp "$WORK/missing" --no-entry
expect "a missing DIR: exit 2" test "$IB_RC" -eq 2

# 6. malformed EFI files never crash it: a truncated module, and garbage where BOOTX64.EFI is
head -c 100 "$EFI_MODULE" >"$WORK/trunc.efi"
mkdir -p "$WORK/plain2"
ib --esp "$WORK/plain2" --no-entry --force --module "$WORK/trunc.efi"
expect "a truncated module: exit 1, the PE problem named, nothing written" \
	test "$IB_RC" -eq 1 -a -z "$(ls -A "$WORK/plain2")" -a -n "$(grep 'trunc.efi: not a PE/COFF image (e_lfanew' <<<"$IB_OUT")"
{ printf 'MZ'; head -c 58 /dev/zero; printf '\xf0\xff\xff\xff'; head -c 4096 /dev/urandom; } >"$WORK/garbage.efi"
mcopy -o -i "$IMG" "$WORK/garbage.efi" ::/EFI/BOOT/BOOTX64.EFI
snapshot >"$WORK/s4"
esp_mount
ib --esp "$MNT" --removable "${ENTRY[@]}"
esp_umount
expect "garbage at BOOTX64.EFI: not vhdxboot's, kept without --force (exit 1)" \
	test "$IB_RC" -eq 1 -a -n "$(grep "BOOTX64.EFI: exists and is not vhdxboot's" <<<"$IB_OUT")"
expect "garbage at BOOTX64.EFI: the ESP untouched" cmp -s "$WORK/s4" <(snapshot)

# 7. a foreign file put over ours after an install, replaced with --force, comes back with --remove (the record
#    then lists the saved copy after the file that replaced it)
mkdir -p "$WORK/plain3"
ib --esp "$WORK/plain3" --no-entry --force --removable
cp "$EFI_PAYLOAD" "$WORK/plain3/EFI/BOOT/BOOTX64.EFI"
ib --esp "$WORK/plain3" --no-entry --force --removable
ib --esp "$WORK/plain3" --no-entry --force --remove
expect "foreign file put over ours, then --force, then --remove: the foreign file is back, only it remains" \
	test "$IB_RC" -eq 0 -a "$(cd "$WORK/plain3" && find . -mindepth 1 | sort | tr '\n' ' ')" == "./EFI ./EFI/BOOT ./EFI/BOOT/BOOTX64.EFI "
cmp -s "$WORK/plain3/EFI/BOOT/BOOTX64.EFI" "$EFI_PAYLOAD" || notok "foreign file back" "content differs"

# 8. the ESP fills up half way (a 1.44 MB FAT12 image with room for one copy of the module): install-boot stops
#    with exit 2 naming the file, leaves no temporary file, and --remove takes away what it had written
IMG=$WORK/small.img
truncate -s 1440k "$IMG"
mkfs.vfat "$IMG" >/dev/null
free=$(mdir -i "$IMG" ::/ | sed -n 's/^ *\([0-9 ]*\) bytes free.*/\1/p' | tr -d ' ')
mod=$(stat -c %s "$EFI_MODULE")
head -c $((free - mod - 20 * 1024)) /dev/urandom >"$WORK/junk"
mcopy -i "$IMG" "$WORK/junk" ::/junk
snapshot >"$WORK/s5"
esp_mount
ib --esp "$MNT" --removable --next /payload.efi "${ENTRY[@]}"
show
left_tmp=$(find "$MNT" -name '*.new')
esp_umount
# (fusefat answers a full volume with EPERM where the kernel's vfat says ENOSPC)
expect "ESP full: exit 2, the file that did not fit named with the system's reason" \
	test "$IB_RC" -eq 2 -a -n "$(grep -E 'EFI/BOOT/BOOTX64.EFI: (No space left on device|Operation not permitted)$' <<<"$IB_OUT")"
expect "ESP full: no temporary file left" test -z "$left_tmp"
esp_mount
ib --esp "$MNT" --remove "${ENTRY[@]}"
show
esp_umount
expect "ESP full: --remove restores the ESP to what it was" cmp -s "$WORK/s5" <(snapshot)

# 7. os-write = expand and vdisk-write = yes (a Debian that expands its image and counts boots on its inner ESP),
# on a plain directory (--force: not FAT); a bad --os-write value is refused before anything is written
D=$WORK/plain-esp
mkdir -p "$D"
ib --esp "$D" --force --no-entry --next vhdx: --os-write=expand --vdisk-write
show
conf=$(cat "$D/EFI/vhdxboot/vhdxboot.conf" 2>/dev/null)
expect "--os-write=expand --vdisk-write: exit 0" test "$IB_RC" -eq 0
expect "--os-write=expand: vhdxboot.conf says os-write = expand" grep -qx 'os-write = expand' <<<"$conf"
expect "--vdisk-write: vhdxboot.conf says vdisk-write = yes" grep -qx 'vdisk-write = yes' <<<"$conf"
rm -rf "$D" && mkdir -p "$D"
ib --esp "$D" --force --no-entry --next vhdx: --os-write=perhaps
expect "--os-write=perhaps: exit 2 naming the value, nothing written" \
	test "$IB_RC" -eq 2 -a -n "$(grep -F -- '--os-write=perhaps: yes or expand' <<<"$IB_OUT")" -a -z "$(ls -A "$D")"
