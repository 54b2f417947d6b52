#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 73-chainroot: a real Debian root on a differencing VHDX, mapped read-only through its chain by the initramfs.
# The parent is the Debian image 77-debian boots (tests/boot/lib/debianimage.sh: systemd, systemd-boot, the
# project's package installed with dpkg, its hook in the initramfs), on one virtio disk.  The child, made by
# `vhdx create --parent`, is on another disk; what differs in it is written sector by sector
# (tests/tools/diffwriter.py's writer): its own /etc/fstab and a marker file /etc/vhdxtest-mark, changed with
# debugfs on a copy of the parent's virtual disk.  vhdxboot (next = vhdx:, the child's disk named, os-write = yes)
# finds the parent by DataWriteGuid, gives the child its session update and boots systemd-boot from inside it; the
# initramfs finds the child by the handoff variable, its parent among the block devices by the child's
# parent_linkage (`vhdx map --find-parents`), maps the chain read-only although os-write said yes (a write would
# land in the parent, which is never written), and systemd reaches the default target on /dev/mapper/vhdx-p2.
#
# Why the child has its own fstab: the parent's says `/ ext4 errors=remount-ro 0 1` and `/boot/efi vfat ... 0 1`,
# right for a system that runs read-write.  On a read-only table, systemd-remount-fs would remount / read-write as
# that fstab asks and fail, and systemd-fsck would open both devices for writing and fail, so the boot would end
# degraded or in emergency mode for reasons that belong to the fstab, not to the chain.  A system meant to run on
# a read-only root says so in its fstab (`ro`, no fsck pass); the child is where a deployment of a golden parent
# keeps such differences, so the child's fstab says it, and the parent stays the image 77-debian boots read-write.
# With that fstab nothing else needs the root writable: journald keeps its journal under /run, and the units that
# write under /var at boot tolerate a read-only file system, so systemd's state is required to be `running` with no
# failed unit (both printed).  The probe's own write (/var/lib/vhdxtest-written) fails, unseen.
#
# Afterwards: the parent byte-identical (sha256), the child's virtual disk identical to what it was before the
# boot (`vhdx export` before and after: the OS wrote nothing) and the child changed only by vhdxboot's one session
# update, `vhdx check` of both clean, `qemu-img check` of the parent clean (QEMU cannot open a differencing VHDX,
# so the child's check is vhdx's with its parent), e2fsck -fn of the child's root and fsck.vfat -n of its ESP
# clean.  One guest boot (78 s here under TCG, plus about a minute to build both images), its time printed.
source "$(dirname "$0")/lib/common.bash"
source "$ROOT/tests/boot/lib/debianimage.sh"
need_tools
di_setup
quiet() { "$@" >/dev/null 2>&1; }

# ---- the parent: the Debian image, as 77-debian builds it ------------------------------------------------------
new_case chainroot
t0=$(date +%s)
di_build "$C/parent" || exit 1
P=$C/parent.vhdx
mv "$C/parent/d.vhdx" "$P"

# ---- the child: its own fstab and a marker, written as differences into `vhdx create --parent` ------------------
CH=$C/child.vhdx
MARK="child of $(cat /proc/sys/kernel/random/uuid)"
made=0
if "$VHDX" create --parent "$P" "$CH" >"$C/make.log" 2>&1 && "$VHDX" export "$P" "$C/parent.raw" >>"$C/make.log" 2>&1; then
	cp --sparse=always "$C/parent.raw" "$C/child.raw"
	dd if="$C/child.raw" of="$C/root.ext4" bs=1M skip=$((DI_ROOT_START * 512)) iflag=skip_bytes status=none
	printf 'UUID=%s / ext4 ro 0 0\nUUID=%s /boot/efi vfat ro,umask=0077 0 0\n' "$DI_ROOT_UUID" "$DI_ESP_ID" >"$C/fstab"
	printf '%s\n' "$MARK" >"$C/mark"
	chmod 644 "$C/fstab" "$C/mark"
	printf 'cd /etc\nrm fstab\nwrite %s fstab\nwrite %s vhdxtest-mark\n' "$C/fstab" "$C/mark" >"$C/debugfs.cmd"
	if debugfs -w -f "$C/debugfs.cmd" "$C/root.ext4" >>"$C/make.log" 2>&1 &&
		dd if="$C/root.ext4" of="$C/child.raw" bs=1M seek=$((DI_ROOT_START * 512)) oflag=seek_bytes conv=notrunc,sparse status=none; then
		made=1
	fi
	rm -f "$C/root.ext4"
fi
# write_diff OLD NEW IMAGE: every 512-byte sector where raw disk NEW differs from OLD, into the differencing IMAGE
# (compared a MiB at a time: the disk is over a GiB)
runs=$( ((made)) && python3 - "$C/parent.raw" "$C/child.raw" "$CH" 2>>"$C/make.log" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.environ["ROOT"], "tests", "tools"))
from diffwriter import DiffImage
img = DiffImage(sys.argv[3])
ss, chunk, runs, pos = img.lss, 1 << 20, 0, 0
with open(sys.argv[1], "rb") as fa, open(sys.argv[2], "rb") as fb:
    while True:
        a, b = fa.read(chunk), fb.read(chunk)
        if not a:
            break
        if a != b:
            s, n = 0, len(a) // ss
            while s < n:
                if a[s * ss:(s + 1) * ss] == b[s * ss:(s + 1) * ss]:
                    s += 1
                    continue
                e = s
                while e < n and a[e * ss:(e + 1) * ss] != b[e * ss:(e + 1) * ss]:
                    e += 1
                img.write_sectors(pos // ss + s, b[s * ss:e * ss])
                runs += 1
                s = e
        pos += len(a)
img.close()
print(runs)
PY
)
if ((!made)) || [[ -z $runs ]] || ! "$VHDX" export "$CH" "$C/child.before.raw" >>"$C/make.log" 2>&1 ||
	! cmp -s "$C/child.before.raw" "$C/child.raw"; then
	notok "setup: the child" "$(tail -3 "$C/make.log" | tr '\n' ';')"
	exit 1
fi
rm -f "$C/parent.raw" "$C/child.raw"
ok "setup: the child (vhdx create --parent) holds its fstab and marker in $runs runs of sectors; its export through the chain is the changed disk"
PDW=$("$VHDX" info "$P" | awk '/, current$/ {c = 1} c && /data write guid/ {print $NF; exit}')
echo "# parent $(stat -c %s "$P") bytes (DataWriteGuid $PDW), child $(stat -c %s "$CH") bytes ($(($(date +%s) - t0))s to build both)"
psum=$(sha256sum <"$P")
cp "$CH" "$C/child0.vhdx"

# ---- the boot: the child on one disk, the parent on another ----------------------------------------------------
esp_module_as_bootx64
printf '%s\r\n' "next = vhdx:" "disk = PciRoot(0x0)/Pci(0x10,0x0)" "os-write = yes" >"$C/esp/EFI/BOOT/vhdxboot.conf"
attach_virtio "$CH" addr=0x10
attach_virtio "$P" addr=0x11
di_boot "boot of the child, read-only"
rc=$?
expect "the guest powered off by itself (qemu exit $rc, ${GUEST_SECS}s)" test "$rc" -eq 0
expect "vhdxboot found the parent on the other disk by its DataWriteGuid" \
	log_has "^vhdxboot: parent 1: DataWriteGuid $PDW found: device PciRoot\(0x0\)/Pci\(0x11,0x0\)"
expect "the initramfs found the parent among the block devices" \
	log_has "vhdx-initramfs: differencing image: parent 1 \(DataWriteGuid $PDW\) is on /dev/vd[a-z], read-only"
expect "os-write = yes on a chain: mapped read-only, the reason said" \
	log_has 'vhdx-initramfs: mapping read-only although .*os-write.*differencing image.*parents are never written'
expect "no read-write refusal or fallback message besides" log_lacks 'vhdx-initramfs: (read-write refused|falling back)'
expect "the chain's table loaded read-only" \
	log_has 'vhdx-initramfs: device-mapper table of the virtual disk: [0-9]+ segments, read-only: /dev/mapper/vhdx'
expect "the root is /dev/mapper/vhdx-p2, read-only" log_has 'vhdx-initramfs: root is /dev/mapper/vhdx-p2 \(read-only\)'
expect "/ is /dev/mapper/vhdx-p2 mounted ro" log_has 'VHDXTEST-ROOT: /dev/mapper/vhdx-p2 ext4 +ro[,$]'
expect "/boot/efi is the child's inner ESP, ro" log_has 'VHDXTEST-EFI: /dev/mapper/vhdx-p1 vfat +ro[,$]'
expect "the root read the child's own file through the chain" log_has "VHDXTEST-MARK: $MARK\$"
expect "the default target is active" log_has 'VHDXTEST-DEFAULT: [a-z.-]+\.target active'
failed=$(sed -n 's/.*VHDXTEST-FAILED: //p' "$C/log" | head -1)
state=$(sed -n 's/.*VHDXTEST-STATE: //p' "$C/log" | head -1)
echo "# systemd's state: ${state:-none}; failed units: ${failed:-none}"
if [[ $state == running && -z $failed ]] && log_has 'VHDXTEST-FAILED: *$'; then
	ok "systemd is running, no unit failed on the read-only root"
else
	notok "systemd is running, no unit failed" "state '${state:-none}', failed units: ${failed:-none}"
fi

# ---- afterwards: nothing written but vhdxboot's session update of the child ------------------------------------
expect "the parent is byte-identical (sha256)" test "$(sha256sum <"$P")" = "$psum"
session_out=$(python3 "$IMGCHECK" session "$C/child0.vhdx" "$CH" 1 2>&1) &&
	ok "the child got exactly vhdxboot's one session update and nothing else" ||
	notok "the child got exactly one session update" "$(tr '\n' ';' <<<"$session_out")"
if "$VHDX" export "$CH" "$C/child.after.raw" >/dev/null 2>&1 && cmp -s "$C/child.before.raw" "$C/child.after.raw"; then
	ok "the child's virtual disk is what it was before the boot (vhdx export, cmp)"
else
	notok "the child's virtual disk is unchanged" "$(cmp "$C/child.before.raw" "$C/child.after.raw" 2>&1 | head -1)"
fi
rm -f "$C/child.before.raw" "$C/child.after.raw"
expect "vhdx check of the child with its parent is clean" quiet "$VHDX" check --parent "$P" "$CH"
di_checked "the parent" "$P"
if di_export "$CH"; then
	expect "e2fsck -fn: the child's root is clean" quiet e2fsck -fn "$C/root.ext4"
	expect "fsck.vfat -n: the child's inner ESP is clean" quiet fsck.vfat -n "$C/esp.fat"
	expect "the child's fstab is the one written" test "$(debugfs -R 'cat /etc/fstab' "$C/root.ext4" 2>/dev/null)" = "$(cat "$C/fstab")"
else
	notok "vhdx export of the child" "failed"
fi
