#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# wholedisk.sh - the host side of mapping the whole virtual disk: `vhdx map --partitions` (the GPT as device-mapper
# sectors, checked against sgdisk), `vhdx find` picking one copy of an image among several that share its
# VirtualDiskId (loop devices over copies made by cp and changed by qemu-io), and `vhdx handoff`'s VHDX_EXPAND.
# The guest side (dmsetup in a real initramfs) is tests/boot/76-wholedisk.sh.
source "$(dirname "$0")/common.bash"
SUITE=wholedisk
require qemu-img qemu-io sgdisk python3
W=$(mktemp -d "${TMPDIR:-/tmp}/vhdx-wholedisk.XXXXXX")
LOOPS=()
trap 'for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done; rm -rf "$W"' EXIT
export PATH=$PATH:/usr/sbin:/sbin
ROOT_TYPE=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
ESP_TYPE=C12A7328-F81F-11D2-BA4B-00A0C93EC93B

raw=$W/raw
truncate -s 64M "$raw"
sgdisk -n 1:2048:+8M -t "1:$ESP_TYPE" -n 2:0:+20M -t "2:$ROOT_TYPE" -n 3:0:0 "$raw" >/dev/null
qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=1M "$raw" "$W/a.vhdx"
guid_of() { "$VHDX" info "$2" | awk -v k="$1" '/, current$/ {c = 1} c && index($0, k) {print $NF; exit}'; }

# --- map --partitions: one line a partition, NUMBER START SECTORS TYPE PARTUUID, as sgdisk sees the raw disk ---
want=
for n in 1 2 3; do
	info=$(sgdisk -i "$n" "$raw")
	first=$(sed -n 's/^First sector: \([0-9]*\).*/\1/p' <<<"$info")
	last=$(sed -n 's/^Last sector: \([0-9]*\).*/\1/p' <<<"$info")
	type=$(sed -n 's/^Partition GUID code: \([0-9A-F-]*\).*/\1/p' <<<"$info")
	uuid=$(sed -n 's/^Partition unique GUID: //p' <<<"$info")
	want+="$n $first $((last - first + 1)) $type $uuid"$'\n'
done
got=$("$VHDX" map --partitions "$W/a.vhdx")
[[ $got$'\n' == "$want" ]] && ok "map --partitions: the three partitions as sgdisk reports them" ||
	notok "map --partitions" "got '$(oneline <<<"$got")', sgdisk '$(oneline <<<"$want")'"
got=$("$VHDX" map --partitions --partition root "$W/a.vhdx")
[[ $got == "$(sed -n 2p <<<"$want")" ]] && ok "map --partitions --partition root: partition 2 only" ||
	notok "map --partitions --partition root" "got '$got'"
expect_rc "map --partitions --partition usr: no such partition, refused" 1 "$VHDX" map --partitions --partition usr "$W/a.vhdx"
expect_rc "map --partitions with --rw: usage error" 2 "$VHDX" map --partitions --rw "$W/a.vhdx"
truncate -s 64M "$W/nogpt.raw"
qemu-img convert -f raw -O vhdx "$W/nogpt.raw" "$W/nogpt.vhdx"
expect_rc "map --partitions: a virtual disk without a GPT is refused" 1 "$VHDX" map --partitions "$W/nogpt.vhdx"

# --- find among copies -----------------------------------------------------------------------------------------
expect_rc "find: a malformed --file-write-guid is a usage error" 2 "$VHDX" find --disk-id \
	11111111-2222-3333-4444-555555555555 --file-write-guid 1234
cp "$W/a.vhdx" "$W/b.vhdx" # a byte copy: same VirtualDiskId, FileWriteGuid and DataWriteGuid
cp "$W/a.vhdx" "$W/c.vhdx" # a copy that was written to: qemu gives it a new FileWriteGuid and DataWriteGuid
qemu-io -f vhdx -c "write -P 0x5a 1M 4K" "$W/c.vhdx" >/dev/null
id=$("$VHDX" info "$W/a.vhdx" | sed -n 's/^disk id: //p')
fa=$(guid_of "file write guid" "$W/a.vhdx") da=$(guid_of "data write guid" "$W/a.vhdx")
fc=$(guid_of "file write guid" "$W/c.vhdx") dc=$(guid_of "data write guid" "$W/c.vhdx")
if [[ $fc == "$fa" || $dc == "$da" || -z $fa ]]; then
	notok "find: setup" "qemu-io did not give the copy new GUIDs ($fa/$da -> $fc/$dc)"
fi
for f in a b c; do
	l=$(losetup --find --show --read-only "$W/$f.vhdx" 2>/dev/null) || break
	LOOPS+=("$l")
	declare "loop_$f=$l"
done
if ((${#LOOPS[@]} < 3)); then
	skip "find: among copies on loop devices" "losetup cannot attach here"
	finish
	exit $?
fi
"$VHDX" find --disk-id "$id" >"$W/out" 2>"$W/err"
rc=$?
if ((rc == 3)) && [[ ! -s $W/out ]] && grep -q "3 devices hold a VHDX with VirtualDiskId $id; refusing to guess" "$W/err" &&
	grep -q "$loop_a " "$W/err" && grep -q "$loop_b " "$W/err" && grep -q "$loop_c " "$W/err" && ! grep -q "no block device" "$W/err"; then
	ok "find: the VirtualDiskId alone, three copies: refused (exit 3), all three listed, nothing printed"
else
	notok "find: the VirtualDiskId alone" "exit $rc, stdout '$(oneline <"$W/out")', stderr '$(oneline <"$W/err")'"
fi
out=$("$VHDX" find --disk-id "$id" --data-write-guid "$dc" 2>"$W/err")
rc=$?
[[ $rc == 0 && $out == "$loop_c $dc" ]] && grep -q "$loop_c is the one with DataWriteGuid $dc" "$W/err" &&
	ok "find: the DataWriteGuid picks the copy that was written to" ||
	notok "find: --data-write-guid" "exit $rc, '$out', $(oneline <"$W/err")"
out=$("$VHDX" find --disk-id "$id" --file-write-guid "$fc" --data-write-guid "$dc" 2>/dev/null)
[[ $? == 0 && $out == "$loop_c $dc" ]] && ok "find: FileWriteGuid and DataWriteGuid together pick it" ||
	notok "find: --file-write-guid --data-write-guid" "'$out'"
"$VHDX" find --disk-id "$id" --file-write-guid "$fa" >"$W/out" 2>"$W/err"
rc=$?
((rc == 3)) && grep -q "2 devices hold a VHDX with VirtualDiskId $id with FileWriteGuid $fa; refusing" "$W/err" &&
	grep -q "$loop_a " "$W/err" && grep -q "$loop_b " "$W/err" && ! grep -q "$loop_c " "$W/err" &&
	ok "find: two byte-identical copies match the FileWriteGuid: refused, those two listed" ||
	notok "find: byte-identical copies" "exit $rc, $(oneline <"$W/err")"
"$VHDX" find --disk-id "$id" --file-write-guid 01234567-89ab-cdef-0123-456789abcdef >"$W/out" 2>"$W/err"
rc=$?
((rc == 1)) && grep -q "3 devices hold a VHDX with VirtualDiskId $id, but none with FileWriteGuid 01234567-89AB-CDEF-0123-456789ABCDEF:" "$W/err" &&
	! grep -q "no block device" "$W/err" &&
	ok "find: no copy has the FileWriteGuid: exit 1, the candidates listed, no contradicting line" ||
	notok "find: an unmatched FileWriteGuid" "exit $rc, $(oneline <"$W/err")"
"$VHDX" find --disk-id "$id" --data-write-guid "$dc" --partuuid 01234567-89ab-cdef-0123-456789abcdef >"$W/out" 2>"$W/err"
rc=$?
((rc == 1)) && grep -q "$loop_c .*a whole disk" "$W/err" &&
	ok "find: --partuuid: a whole disk is not the partition asked for (exit 1)" ||
	notok "find: --partuuid on whole disks" "exit $rc, $(oneline <"$W/err")"
for l in "${LOOPS[@]}"; do losetup -d "$l"; done
LOOPS=()
expect_rc "find: the copies gone: exit 1" 1 "$VHDX" find --disk-id "$id"

# --- find --partuuid: two byte copies on two GPT partitions of one disk; the PARTUUID picks one -----------------
asz=$(stat -c %s "$W/a.vhdx")
psec=$((((asz + (1 << 20) - 1) >> 20) << 11))
truncate -s $(((2048 + 2 * psec) * 512 + (1 << 20))) "$W/outer.raw"
sgdisk -n "1:2048:+$psec" -n "2:0:+$psec" "$W/outer.raw" >/dev/null
pu1=$(sgdisk -i 1 "$W/outer.raw" | sed -n 's/^Partition unique GUID: //p')
pu2=$(sgdisk -i 2 "$W/outer.raw" | sed -n 's/^Partition unique GUID: //p')
for n in 1 2; do
	dd if="$W/a.vhdx" of="$W/outer.raw" bs=512 seek=$(sgdisk -i "$n" "$W/outer.raw" | sed -n 's/^First sector: \([0-9]*\).*/\1/p') \
		conv=notrunc status=none
done
if l=$(losetup --find --show --read-only --partscan "$W/outer.raw" 2>/dev/null) && LOOPS+=("$l") &&
	for i in 1 2 3 4 5 6 7 8 9 10; do [[ -b ${l}p2 ]] && break; sleep 0.2; done && [[ -b ${l}p2 ]]; then
	sum=$(sha256sum <"$W/outer.raw")
	out=$("$VHDX" find --disk-id "$id" --file-write-guid "$fa" --partuuid "$pu2" 2>"$W/err")
	rc=$?
	((rc == 0)) && [[ $out == "${l}p2 $da" ]] && ok "find --partuuid: the copy on partition 2 of two, by its PARTUUID" ||
		notok "find --partuuid: partition 2" "exit $rc, out '$out', $(oneline <"$W/err")"
	out=$("$VHDX" find --disk-id "$id" --file-write-guid "$fa" --partuuid "${pu1,,}" 2>"$W/err")
	[[ $out == "${l}p1 $da" ]] && ok "find --partuuid: partition 1, the GUID in lower case" ||
		notok "find --partuuid: partition 1" "out '$out', $(oneline <"$W/err")"
	"$VHDX" find --disk-id "$id" --file-write-guid "$fa" >"$W/out" 2>"$W/err"
	rc=$?
	((rc == 3)) && grep -q "${l}p1 " "$W/err" && grep -q "${l}p2 " "$W/err" &&
		ok "find: without --partuuid the two partitions are refused (exit 3)" ||
		notok "find: two partitions without --partuuid" "exit $rc, $(oneline <"$W/err")"
	[[ $(sha256sum <"$W/outer.raw") == "$sum" ]] && ok "find: the disk is unchanged" || notok "find: the disk changed"
	losetup -d "$l"
	LOOPS=()
else
	skip "find --partuuid" "this kernel makes no partitions of a loop device (losetup --partscan); 78-fsfile and 82-debian-copies run the same lookup in the guest"
fi

# --- handoff: the expand flag ----------------------------------------------------------------------------------
python3 - "$W/var" <<'PY'
import struct, sys, uuid
g = lambda s: uuid.UUID(s).bytes_le
v = struct.pack("<HHI", 1, 112, 1 | 8 | 16) + g("11111111-2222-3333-4444-555555555555") * 3 + bytes(16) \
    + struct.pack("<QQQIIQ", 0, 160 << 20, 7, 0, 512, 1 << 30)
open(sys.argv[1], "wb").write(struct.pack("<I", 6) + v)
PY
out=$("$VHDX" handoff "$W/var")
[[ $out == *$'\nVHDX_EXPAND=yes'* && $out == *"VHDX_OS_WRITE=yes"* ]] && ok "handoff: flag 16 reads as VHDX_EXPAND=yes" ||
	notok "handoff: VHDX_EXPAND" "$(oneline <<<"$out")"
python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[8] = 1 | 8; open(sys.argv[1], "wb").write(b)' "$W/var"
out=$("$VHDX" handoff "$W/var")
[[ $out == *$'\nVHDX_EXPAND=no'* ]] && ok "handoff: without flag 16, VHDX_EXPAND=no" || notok "handoff: VHDX_EXPAND=no" "$(oneline <<<"$out")"
finish
