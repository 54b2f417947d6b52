#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 89-chain: booting from inside a differencing VHDX.  A golden parent (`vhdx create --from` a raw GPT
# disk whose EFI system partition holds systemd-boot, the test payload and two loader entries) and a child made by
# `vhdx create --parent`, in which the loader entry test.conf is replaced: mtools changes it on a copy of the raw
# disk and every sector that differs is written into the child, with sector bitmaps (tests/tools/diffwriter.py's
# writer).  vhdxboot finds the parent, attaches it read-only and boots systemd-boot from inside the child; the
# payload's marker shows whose test.conf was read.  Cases: (a) parent on another virtio disk, found by
# DataWriteGuid; (b) a decoy with the same VirtualDiskId but another DataWriteGuid (its loader.conf names the entry
# "dcoy.conf") next to the right parent; (c) child and parent as files on one FAT volume, found by relative_path;
# (d) a missing parent (only the decoy present): refused, the GUID named, nothing written; (e) after the boots the
# parents are byte-identical, each child got exactly its session update, and `vhdx check` of the chain is clean;
# (f) two levels: a grandchild (test.conf replaced once more) and the child as files on a FAT volume, the golden
# parent on a virtio disk only: level 1 by relative_path, level 2's relative_path misses, found by DataWriteGuid;
# (g) two levels, every level a virtio disk; (h) Debian's kernel from the golden parent runs the initramfs the
# child replaced.
source "$(dirname "$0")/lib/common.bash"
source "$ROOT/tests/boot/lib/osparts.sh"
need_tools
VHDX=$BUILD/host/vhdx
MKDISK=$ROOT/tests/boot/lib/mkdisk.py
if [[ ! -x $VHDX ]]; then
	notok setup "$VHDX not built"
	exit 1
fi
SDBOOT=/usr/lib/systemd/boot/efi/systemd-bootx64.efi
if [[ ! -r $SDBOOT ]]; then
	ensure_osparts "$BUILD/cache/os" || { notok setup "no systemd-boot (installed, or via apt-get download)"; exit 1; }
	SDBOOT=$BUILD/cache/os/systemd-bootx64.efi
fi

# ---- the golden parent, its child, and a decoy ------------------------------------------------------------------
G=$WORK/golden
mkdir -p "$G"
fat=$G/part.fat
mkfs.vfat -C -n GOLDEN "$fat" 16384 >/dev/null
mmd -i "$fat" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries
mcopy -i "$fat" "$SDBOOT" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$fat" "$EFI_PAYLOAD" ::/payload.efi
printf 'timeout 0\ndefault test.conf\nconsole-mode keep\n' >"$G/loader.conf"
printf 'title golden\nefi /payload.efi\noptions marker=GOLDEN-VERSION poweroff\n' >"$G/test.conf"
printf 'title decoy\nefi /payload.efi\noptions marker=WRONG-PARENT poweroff\n' >"$G/dcoy.conf"
printf 'title child\nefi /payload.efi\noptions marker=CHILD-VERSION poweroff\n' >"$G/test.conf.child"
mcopy -i "$fat" "$G/loader.conf" ::/loader/loader.conf
mcopy -i "$fat" "$G/test.conf" ::/loader/entries/test.conf
mcopy -i "$fat" "$G/dcoy.conf" ::/loader/entries/dcoy.conf
python3 "$MKDISK" "$G/raw" 24 "$fat" 512 >/dev/null
cp "$G/raw" "$G/raw.child"
mcopy -o -i "$G/raw.child@@1M" "$G/test.conf.child" ::/loader/entries/test.conf

# write_diff OLD NEW IMAGE: the sectors where raw disk NEW differs from OLD, written into the differencing IMAGE
write_diff() {
	python3 - "$1" "$2" "$3" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.environ["ROOT"], "tests", "tools"))
from diffwriter import DiffImage
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
img = DiffImage(sys.argv[3])
ss, s, runs, n = img.lss, 0, 0, len(a) // img.lss
while s < n:
    if a[s * ss:(s + 1) * ss] == b[s * ss:(s + 1) * ss]:
        s += 1
        continue
    e = s
    while e < n and a[e * ss:(e + 1) * ss] != b[e * ss:(e + 1) * ss]:
        e += 1
    img.write_sectors(s, b[s * ss:e * ss])
    runs += 1
    s = e
img.close()
print(runs)
PY
}

# guid FIELD IMAGE: data_write_guid / disk_id of IMAGE, upper case as vhdxboot prints it
guid() {
	python3 - "$1" "$2" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.environ["ROOT"], "tests", "tools"))
import vhdxlib as V
if sys.argv[1] == "data_write_guid":
    hs = V.read_headers(sys.argv[2])
    print(V.guid_text(hs[V.current_header(hs)]["data_write_guid"]))
else:
    buf = open(sys.argv[2], "rb").read(8 << 20)
    meta = V.find_region(buf, V.GUID_METADATA)["offset"]
    e = V.meta_item(buf, meta, V.GUID_PAGE83)
    print(V.guid_text(buf[meta + e["offset"]:meta + e["offset"] + 16]))
PY
}

setup_ok=1
mkdir -p "$G/vm" "$G/base"
"$VHDX" create --block-size 1M --from "$G/raw" "$G/base/parent.vhdx" >"$G/make.log" 2>&1 || setup_ok=0
"$VHDX" create --parent "$G/base/parent.vhdx" "$G/vm/child.vhdx" >>"$G/make.log" 2>&1 || setup_ok=0
runs=$( ((setup_ok)) && write_diff "$G/raw" "$G/raw.child" "$G/vm/child.vhdx" 2>>"$G/make.log")
if ((!setup_ok)) || [[ -z $runs ]]; then
	notok "setup: images" "$(tail -2 "$G/make.log" | tr '\n' ' ')"
	exit 1
fi
# the decoy: the parent's file with loader.conf's "default test.conf" made "default dcoy.conf", and a new
# DataWriteGuid (VirtualDiskId kept): a parent candidate that looks right but is not the one the child names
cp "$G/base/parent.vhdx" "$G/decoy.vhdx"
patched=$(python3 - "$G/decoy.vhdx" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.environ["ROOT"], "tests", "tools"))
import vhdxlib as V
buf = bytearray(open(sys.argv[1], "rb").read())
old, new = b"default test.conf", b"default dcoy.conf"
hits = buf.count(old)
buf = buf.replace(old, new)
dw = V.guid_v4_random()
for which in (0, 1):
    V.set_header(buf, which, data_write_guid=dw)
open(sys.argv[1], "wb").write(buf)
print(hits)
PY
)
PDW=$(guid data_write_guid "$G/base/parent.vhdx")
DDW=$(guid data_write_guid "$G/decoy.vhdx")
VID=$(guid disk_id "$G/base/parent.vhdx")
DVID=$(guid disk_id "$G/decoy.vhdx")
echo "# parent DataWriteGuid $PDW, decoy $DDW, both VirtualDiskId $VID; $runs run(s) of sectors written into the child"
"$VHDX" export "$G/vm/child.vhdx" "$G/child.raw" >/dev/null 2>&1
expect "setup: the child's export through the chain is the changed disk" cmp -s "$G/child.raw" "$G/raw.child"
expect "setup: the changed sectors were written into the child ($runs runs)" test "$runs" -ge 1
expect "setup: the decoy has the parent's VirtualDiskId, another DataWriteGuid, another loader.conf" \
	test "$patched" = 1 -a "$DVID" = "$VID" -a "$DDW" != "$PDW"
expect "setup: the decoy is a sound image" "$VHDX" check "$G/decoy.vhdx"
if "$VHDX" check --parent "$G/decoy.vhdx" "$G/vm/child.vhdx" >"$G/decoy-check.log" 2>&1; then
	notok "setup: the host refuses the decoy as the child's parent" "vhdx check accepted it"
else
	ok "setup: the host refuses the decoy as the child's parent"
fi
rm -f "$G/child.raw" "$G/raw.child.bak"

# case_config NEXT-LINES: the module as BOOTX64.EFI with a vhdxboot.conf of the given lines
case_config() {
	esp_module_as_bootx64
	printf '%s\r\n' "$@" >"$C/esp/EFI/BOOT/vhdxboot.conf"
}
CHILD_DP='PciRoot(0x0)/Pci(0x10,0x0)'

# parent_check NAME DIR: every parent file byte-identical, the child one session update, the chain checked clean
after_boot() {
	local name=$1 child=$2 before=$3 parent=$4
	unchanged "$name: the parent is byte-identical after the boot" "$G/base/parent.vhdx" "$parent"
	local out
	if out=$(python3 "$IMGCHECK" session "$before" "$child" 1 2>&1); then
		ok "$name: the child got exactly one session update and nothing else"
	else
		notok "$name: the child got exactly one session update and nothing else" "$(echo "$out" | tr '\n' ';')"
	fi
	if out=$("$VHDX" check --parent "$parent" "$child" 2>&1); then
		ok "$name: vhdx check of the child with its parent is clean"
	else
		notok "$name: vhdx check of the child with its parent is clean" "$(echo "$out" | tail -1)"
	fi
}

# ---- (a) the parent on another virtio disk, found by DataWriteGuid --------------------------------------------
new_case devices
case_config 'next = vhdx:' "disk = $CHILD_DP"
cp "$G/vm/child.vhdx" "$C/child.vhdx"
cp "$G/vm/child.vhdx" "$C/child0.vhdx"
cp "$G/base/parent.vhdx" "$C/parent.vhdx"
attach_virtio "$C/child.vhdx" addr=0x10
attach_virtio "$C/parent.vhdx" addr=0x11
with_rng
boot_guest
show_log
expect "devices: the module looks for the parent by its DataWriteGuid" \
	log_has "^vhdxboot: parent 1: looking for DataWriteGuid $PDW \(Parent Locator parent_linkage\)"
expect "devices: and finds it on the other disk" \
	log_has "^vhdxboot: parent 1: DataWriteGuid $PDW found: device PciRoot\(0x0\)/Pci\(0x11,0x0\)"
expect "devices: one parent attached" log_has '^vhdxboot: chain: 1 parent attached, read-only'
expect "devices: the session update after the chain" log_has '^vhdxboot: session update: '
expect "devices: systemd-boot started from inside the child" log_has '^vhdxboot: starting \\EFI\\BOOT\\BOOTX64.EFI'
expect "devices: the booted stage shows the child's test.conf" log_has '^PAYLOAD-MARKER: CHILD-VERSION'
expect "devices: not the parent's" log_lacks 'PAYLOAD-MARKER: GOLDEN-VERSION'
expect "devices: no virtual-disk read failed" log_lacks 'virtual disk: read of'
after_boot devices "$C/child.vhdx" "$C/child0.vhdx" "$C/parent.vhdx"

# ---- (b) two candidates with the parent's VirtualDiskId: the decoy first, then the right one -------------------
new_case decoy
case_config 'next = vhdx:' "disk = $CHILD_DP"
cp "$G/vm/child.vhdx" "$C/child.vhdx"
cp "$G/vm/child.vhdx" "$C/child0.vhdx"
cp "$G/base/parent.vhdx" "$C/parent.vhdx"
cp "$G/decoy.vhdx" "$C/decoy.vhdx"
attach_virtio "$C/child.vhdx" addr=0x10
attach_virtio "$C/decoy.vhdx" addr=0x11
attach_virtio "$C/parent.vhdx" addr=0x12
with_rng
boot_guest
show_log
expect "decoy: the decoy is offered and refused by its DataWriteGuid (the core's words)" \
	log_has "^vhdxboot: parent 1: candidate PciRoot\(0x0\)/Pci\(0x11,0x0\) \(VirtualDiskId $VID, DataWriteGuid $DDW\) refused: parent: DataWriteGuid $DDW is not the child's Parent Locator parent_linkage $PDW"
expect "decoy: the right parent is found" \
	log_has "^vhdxboot: parent 1: DataWriteGuid $PDW found: device PciRoot\(0x0\)/Pci\(0x12,0x0\)"
expect "decoy: the booted stage shows the child's test.conf, through the right parent's loader.conf" \
	log_has '^PAYLOAD-MARKER: CHILD-VERSION'
expect "decoy: the decoy's loader.conf was not read" log_lacks 'PAYLOAD-MARKER: WRONG-PARENT'
unchanged "decoy: the decoy is byte-identical" "$G/decoy.vhdx" "$C/decoy.vhdx"
after_boot decoy "$C/child.vhdx" "$C/child0.vhdx" "$C/parent.vhdx"

# ---- (c) child and parent as files on one FAT volume: --image and relative_path --------------------------------
new_case files
case_config 'next = vhdx:' 'image = \vm\child.vhdx'
rel=$("$VHDX" info "$G/vm/child.vhdx" 2>/dev/null | sed -n 's/^parent locator: relative_path //p')
mkfs.vfat -C -n IMAGES "$C/fat.img" 65536 >/dev/null
mmd -i "$C/fat.img" ::/vm ::/base
mcopy -i "$C/fat.img" "$G/vm/child.vhdx" ::/vm/child.vhdx
mcopy -i "$C/fat.img" "$G/base/parent.vhdx" ::/base/parent.vhdx
attach_virtio "$C/fat.img"
with_rng
boot_guest
show_log
mcopy -o -i "$C/fat.img" ::/vm/child.vhdx "$C/child.vhdx"
mcopy -o -i "$C/fat.img" ::/base/parent.vhdx "$C/parent.vhdx"
expect "files: the locator's relative_path is ..\\base\\parent.vhdx" test "$rel" = '..\base\parent.vhdx'
expect "files: the parent is found by relative_path on the child's volume" \
	log_has "^vhdxboot: parent 1: DataWriteGuid $PDW found: file \\\\base\\\\parent.vhdx"
expect "files: the booted stage shows the child's test.conf" log_has '^PAYLOAD-MARKER: CHILD-VERSION'
after_boot files "$C/child.vhdx" "$G/vm/child.vhdx" "$C/parent.vhdx"
fsck.vfat -n "$C/fat.img" >/dev/null 2>&1 && ok "files: file system clean" || notok "files: file system clean" "fsck.vfat -n complains"

# ---- (d) the parent missing (only the decoy there): refused, the GUID named, nothing written --------------------
new_case missing
case_config 'next = vhdx:' "disk = $CHILD_DP"
cp "$G/vm/child.vhdx" "$C/child.vhdx"
cp "$G/decoy.vhdx" "$C/decoy.vhdx"
sum0=$(sha256sum <"$C/child.vhdx")
attach_virtio "$C/child.vhdx" addr=0x10
attach_virtio "$C/decoy.vhdx" addr=0x11
with_rng
STOP_ON='^(vhdxboot: exit status|STARTUP-NSH-FALLBACK)' boot_guest
show_log
expect "missing: refused, naming the parent's DataWriteGuid" \
	log_has "^vhdxboot: parent 1: DataWriteGuid $PDW \(parent_linkage\) not found: 1 VHDX device searched; refusing the image"
expect "missing: the summary says nothing was written" log_has '^vhdxboot: summary: .*wrote nothing \(differencing image'
expect "missing: exit status EFI_NOT_FOUND" log_has '^vhdxboot: exit status EFI_NOT_FOUND'
expect "missing: nothing inside is started" log_lacks 'PAYLOAD-MARKER'
expect "missing: no session update" log_lacks '^vhdxboot: session update'
expect "missing: every byte of the child unchanged (sha256)" test "$(sha256sum <"$C/child.vhdx")" = "$sum0"
unchanged "missing: the decoy is byte-identical" "$G/decoy.vhdx" "$C/decoy.vhdx"

# ---- (f) two levels: grandchild -> child (files, relative_path) -> golden parent (a device, by DataWriteGuid) -----
new_case depth2
case_config 'next = vhdx:' 'image = \vm2\grand.vhdx'
cp "$G/raw.child" "$C/raw.grand"
printf 'title grandchild\nefi /payload.efi\noptions marker=GRANDCHILD-VERSION poweroff\n' >"$C/test.conf"
mcopy -o -i "$C/raw.grand@@1M" "$C/test.conf" ::/loader/entries/test.conf
# beside the child's folder on the host, so that its relative_path is ..\vm\child.vhdx as on the FAT volume
mkdir -p "$G/vm2"
grand_ok=0
"$VHDX" create --parent "$G/vm/child.vhdx" "$G/vm2/grand.vhdx" >"$C/make.log" 2>&1 &&
	write_diff "$G/raw.child" "$C/raw.grand" "$G/vm2/grand.vhdx" >>"$C/make.log" 2>&1 && grand_ok=1
"$VHDX" export --parent "$G/vm/child.vhdx" --parent "$G/base/parent.vhdx" "$G/vm2/grand.vhdx" "$C/grand.raw" \
	>>"$C/make.log" 2>&1
grand_same() { [[ $grand_ok == 1 && -s $C/grand.raw ]] && cmp -s "$C/grand.raw" "$C/raw.grand"; }
expect "depth2: the grandchild's export through two levels is the twice-changed disk" grand_same
rm -f "$C/grand.raw"
CDW=$(guid data_write_guid "$G/vm/child.vhdx")
mkfs.vfat -C -n IMAGES "$C/fat.img" 65536 >/dev/null
mmd -i "$C/fat.img" ::/vm ::/vm2
mcopy -i "$C/fat.img" "$G/vm2/grand.vhdx" ::/vm2/grand.vhdx
mcopy -i "$C/fat.img" "$G/vm/child.vhdx" ::/vm/child.vhdx
cp "$G/base/parent.vhdx" "$C/parent.vhdx"
attach_virtio "$C/fat.img"
attach_virtio "$C/parent.vhdx" addr=0x11
with_rng
boot_guest
show_log
mcopy -o -i "$C/fat.img" ::/vm2/grand.vhdx "$C/grand.after.vhdx"
mcopy -o -i "$C/fat.img" ::/vm/child.vhdx "$C/child.after.vhdx"
expect "depth2: level 1, the child, by relative_path" \
	log_has "^vhdxboot: parent 1: DataWriteGuid $CDW found: file \\\\vm\\\\child.vhdx .*itself differencing"
expect "depth2: level 2's relative_path is not on the volume: said" \
	log_has '^vhdxboot: parent 2: relative_path "..\\base\\parent.vhdx": \\base\\parent.vhdx: EFI_NOT_FOUND'
expect "depth2: level 2, the golden parent, on the device by DataWriteGuid" \
	log_has "^vhdxboot: parent 2: DataWriteGuid $PDW found: device PciRoot\(0x0\)/Pci\(0x11,0x0\)"
expect "depth2: two parents attached" log_has '^vhdxboot: chain: 2 parents attached'
expect "depth2: the booted stage shows the grandchild's test.conf" log_has '^PAYLOAD-MARKER: GRANDCHILD-VERSION'
unchanged "depth2: the child (a parent here) is byte-identical" "$G/vm/child.vhdx" "$C/child.after.vhdx"
unchanged "depth2: the golden parent is byte-identical" "$G/base/parent.vhdx" "$C/parent.vhdx"
if out=$(python3 "$IMGCHECK" session "$G/vm2/grand.vhdx" "$C/grand.after.vhdx" 1 2>&1); then
	ok "depth2: the grandchild got exactly one session update and nothing else"
else
	notok "depth2: the grandchild got exactly one session update and nothing else" "$(echo "$out" | tr '\n' ';')"
fi
if out=$("$VHDX" check --parent "$C/child.after.vhdx" --parent "$C/parent.vhdx" "$C/grand.after.vhdx" 2>&1); then
	ok "depth2: vhdx check of the grandchild with both parents is clean"
else
	notok "depth2: vhdx check of the grandchild with both parents is clean" "$(echo "$out" | tail -1)"
fi

# ---- (g) two levels, every level a virtio disk: each parent by DataWriteGuid; the bottom child's own disk is never
# offered as a candidate, at either level
new_case devices2
case_config 'next = vhdx:' "disk = $CHILD_DP"
cp "$G/vm2/grand.vhdx" "$C/grand.vhdx"
cp "$G/vm/child.vhdx" "$C/child.vhdx"
cp "$G/base/parent.vhdx" "$C/parent.vhdx"
attach_virtio "$C/grand.vhdx" addr=0x10
attach_virtio "$C/child.vhdx" addr=0x11
attach_virtio "$C/parent.vhdx" addr=0x12
with_rng
boot_guest
show_log
expect "devices2: level 1 on its disk" log_has "^vhdxboot: parent 1: DataWriteGuid $CDW found: device PciRoot\(0x0\)/Pci\(0x11,0x0\)"
expect "devices2: level 2 on its disk" log_has "^vhdxboot: parent 2: DataWriteGuid $PDW found: device PciRoot\(0x0\)/Pci\(0x12,0x0\)"
expect "devices2: the parent found at level 1 is not offered again at level 2" \
	log_lacks '^vhdxboot: parent 2: candidate PciRoot\(0x0\)/Pci\(0x11,'
expect "devices2: the bottom child's disk is never offered" log_lacks 'candidate PciRoot\(0x0\)/Pci\(0x10,'
expect "devices2: the booted stage shows the grandchild's test.conf" log_has '^PAYLOAD-MARKER: GRANDCHILD-VERSION'
unchanged "devices2: the child (a parent here) is byte-identical" "$G/vm/child.vhdx" "$C/child.vhdx"
unchanged "devices2: the golden parent is byte-identical" "$G/base/parent.vhdx" "$C/parent.vhdx"

# ---- (h) a Linux system from a golden parent: Debian's kernel and a busybox initramfs on the parent's inner ESP,
# systemd-boot starting them; the child replaces the initramfs, and the system that runs is the child's ----------
new_case linux
OS=$BUILD/cache/os
if ! ensure_osparts "$OS"; then
	notok "linux: OS parts" "no kernel / systemd-boot / busybox-static (installed, or via apt-get download)"
else
	case_config 'next = vhdx:' "disk = $CHILD_DP"
	python3 "$ROOT/tests/boot/lib/mkinitrd.py" "$C/initrd.golden" "$OS/busybox" GOLDEN-INITRD
	python3 "$ROOT/tests/boot/lib/mkinitrd.py" "$C/initrd.child" "$OS/busybox" CHILD-INITRD
	fat=$C/part.fat
	mkfs.vfat -C -n GOLDENOS "$fat" 49152 >/dev/null
	mmd -i "$fat" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries
	mcopy -i "$fat" "$SDBOOT" ::/EFI/BOOT/BOOTX64.EFI
	mcopy -i "$fat" "$OS/vmlinuz" ::/vmlinuz
	mcopy -i "$fat" "$C/initrd.golden" ::/initrd.img
	printf 'timeout 0\ndefault test.conf\nconsole-mode keep\n' >"$C/loader.conf"
	printf 'title golden OS\nlinux /vmlinuz\ninitrd /initrd.img\noptions console=ttyS0 panic=-1 loglevel=4 rdinit=/init\n' \
		>"$C/test.conf"
	mcopy -i "$fat" "$C/loader.conf" ::/loader/loader.conf
	mcopy -i "$fat" "$C/test.conf" ::/loader/entries/test.conf
	python3 "$MKDISK" "$C/raw" 64 "$fat" 512 >/dev/null
	cp "$C/raw" "$C/raw.child"
	mcopy -o -i "$C/raw.child@@1M" "$C/initrd.child" ::/initrd.img
	linux_ok=0
	"$VHDX" create --block-size 1M --from "$C/raw" "$C/parent.vhdx" >"$C/make.log" 2>&1 &&
		"$VHDX" create --parent "$C/parent.vhdx" "$C/child.vhdx" >>"$C/make.log" 2>&1 &&
		write_diff "$C/raw" "$C/raw.child" "$C/child.vhdx" >>"$C/make.log" 2>&1 && linux_ok=1
	rm -f "$C/raw" "$C/raw.child" "$fat"
	cp "$C/child.vhdx" "$C/child0.vhdx"
	cp "$C/parent.vhdx" "$C/parent0.vhdx"
	expect "linux: golden parent and child made (the child holds the new initramfs)" test "$linux_ok" = 1
	attach_virtio "$C/child.vhdx" addr=0x10
	attach_virtio "$C/parent.vhdx" addr=0x11
	with_rng
	QEMU_MEM=512 BOOT_TIMEOUT=${LINUX_BOOT_TIMEOUT:-400} boot_guest
	rc=$?
	show_log
	grep -E '^(LINUX-MARKER|\[ *[0-9.]+\] (Linux version|Run /init))' "$C/log" | sed 's/^/#   /'
	expect "linux: guest powered off by init (qemu exit 0)" test "$rc" -eq 0
	expect "linux: the parent is found on the other disk" \
		log_has "^vhdxboot: parent 1: DataWriteGuid $(guid data_write_guid "$C/parent0.vhdx") found: device"
	expect "linux: the kernel (from the parent) ran the child's initramfs" log_has '^LINUX-MARKER: CHILD-INITRD kernel [0-9]'
	expect "linux: not the parent's" log_lacks 'LINUX-MARKER: GOLDEN-INITRD'
	unchanged "linux: the parent is byte-identical" "$C/parent0.vhdx" "$C/parent.vhdx"
	if out=$(python3 "$IMGCHECK" session "$C/child0.vhdx" "$C/child.vhdx" 1 2>&1); then
		ok "linux: the child got exactly one session update and nothing else"
	else
		notok "linux: the child got exactly one session update and nothing else" "$(echo "$out" | tr '\n' ';')"
	fi
fi
