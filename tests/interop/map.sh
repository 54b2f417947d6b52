#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# map.sh - `vhdx map`, the GPT inside a virtual disk, `vhdx handoff`, `vhdx session --data`, `vhdx find`.
# A raw GPT disk (ESP + a Discoverable Partitions root partition) with random data in a few places becomes a
# dynamic VHDX by qemu-img; every table `vhdx map` prints is resolved as device-mapper would and compared with the
# raw disk's bytes (tests/tools/dmtable.py).  The guest side (dmsetup in a real initramfs) is tests/boot/75-linuxroot.
source "$(dirname "$0")/common.bash"
W=$(mktemp -d "${TMPDIR:-/tmp}/vhdx-map.XXXXXX")
trap 'rm -rf "$W"' EXIT
export PATH=$PATH:/usr/sbin:/sbin
CHECK=$TOOLS/dmtable.py
ROOT_TYPE=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
ESP_TYPE=C12A7328-F81F-11D2-BA4B-00A0C93EC93B

raw=$W/raw
truncate -s 64M "$raw"
sgdisk -n 1:2048:+8M -t "1:$ESP_TYPE" -n 2:0:0 -t "2:$ROOT_TYPE" "$raw" >/dev/null
head -c 3M /dev/urandom | dd of="$raw" bs=1M seek=20 conv=notrunc status=none
head -c 100K /dev/urandom | dd of="$raw" bs=1K seek=40000 conv=notrunc status=none
head -c 5000 /dev/urandom | dd of="$raw" bs=1 seek=$((63 * 1024 * 1024 + 300000)) conv=notrunc status=none
head -c 4K /dev/urandom | dd of="$raw" bs=1K seek=3000 conv=notrunc status=none
qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=1M "$raw" "$W/d.vhdx"
img=$W/d.vhdx
p_start() { echo $(($(sgdisk -i "$1" "$raw" | sed -n 's/^First sector: \([0-9]*\).*/\1/p') * 512)); }
p_len() { echo $((($(sgdisk -i "$1" "$raw" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p') + 1) * 512 - $(p_start "$1"))); }
PARTUUID=$(sgdisk -i 2 "$raw" | sed -n 's/^Partition unique GUID: //p')

# map_ok NAME OFF LEN [--rw] -- MAP-ARGS...: the table is right for raw bytes OFF..OFF+LEN
map_ok() {
	local name=$1 off=$2 len=$3 rw=
	shift 3
	[[ $1 == --rw ]] && { rw=--rw; shift; }
	shift # --
	local out
	if ! "$VHDX" map "$@" >"$W/table" 2>"$W/err"; then
		notok "$name" "vhdx map $* failed: $(oneline <"$W/err")"
		return
	fi
	if out=$(python3 "$CHECK" "$W/table" "$raw" "$off" "$len" $rw); then
		ok "$name ($(tail -1 <<<"$out"))"
	else
		notok "$name" "$(oneline <<<"$out")"
	fi
}

map_ok "map: whole virtual disk" 0 $((64 << 20)) -- --device "$img" "$img"
map_ok "map: --partition root (Discoverable Partitions type)" "$(p_start 2)" "$(p_len 2)" -- --device "$img" --partition root "$img"
map_ok "map: --partition 2" "$(p_start 2)" "$(p_len 2)" -- --device "$img" --partition 2 "$img"
map_ok "map: --partition PARTUUID" "$(p_start 2)" "$(p_len 2)" -- --device "$img" --partition "$PARTUUID" "$img"
map_ok "map: --partition esp" "$(p_start 1)" "$(p_len 1)" -- --device "$img" --partition esp "$img"
# --offset: the VHDX starts 1 MiB into the device: every linear sector moves by 2048
"$VHDX" map --device "$img" "$img" | awk '$3 == "linear" {print $5 + 2048}' >"$W/a"
"$VHDX" map --device "$img" --offset 1M "$img" | awk '$3 == "linear" {print $5}' >"$W/b"
if [[ -s $W/a ]] && cmp -s "$W/a" "$W/b"; then ok "map: --offset 1M moves every linear segment by 2048 sectors"; else notok "map: --offset 1M" "$(diff "$W/a" "$W/b" | head -3 | oneline)"; fi
expect_rc "map: --offset not a multiple of 512 is a usage error" 2 "$VHDX" map --device "$img" --offset 1000 "$img"
out=$("$VHDX" map "$img" 2>&1)
if [[ $? == 2 && $out == *"--device"* && $out == *"losetup"* ]]; then ok "map: an image file without --device: usage error naming --device"; else notok "map: a file without --device" "$out"; fi
expect_rc "map: --partition 3 (no such partition) is refused" 1 "$VHDX" map --device "$img" --partition 3 "$img"
out=$("$VHDX" map --device "$img" --partition usr "$img" 2>&1)
if [[ $? == 1 && $out == *"no partition of type 8484680C-9521-48C6-9C11-B0720656F69E"* ]]; then ok "map: --partition usr: none, named by type"; else notok "map: --partition usr" "$out"; fi

# --rw: absent blocks are refused before anything is printed
"$VHDX" map --rw --device "$img" --partition root "$img" >"$W/table" 2>"$W/err"
rc=$?
if [[ $rc == 1 && ! -s $W/table ]] && grep -q 'blocks (.*) of the partition are not present.*vhdx allocate --partition root' "$W/err"; then
	ok "map: --rw over absent blocks refused, nothing printed, the fix named ($(oneline <"$W/err" | cut -c1-90)...)"
else
	notok "map: --rw over absent blocks" "exit $rc, $(wc -l <"$W/table") lines, $(oneline <"$W/err")"
fi
if "$VHDX" allocate --help >/dev/null 2>&1; then
	cp "$img" "$W/alloc.vhdx"
	if "$VHDX" allocate --partition root "$W/alloc.vhdx" >/dev/null 2>&1; then
		map_ok "map: --rw after vhdx allocate --partition root (no zero segment)" "$(p_start 2)" "$(p_len 2)" --rw -- --rw --device "$W/alloc.vhdx" --partition root "$W/alloc.vhdx"
	else
		notok "map: vhdx allocate --partition root" "failed"
	fi
else
	skip "map: --rw after vhdx allocate" "this tree has no vhdx allocate"
fi

# A fragmented image: 1 MiB blocks written in reverse order, so no two neighbours are contiguous in the file
frag=$W/frag.vhdx
qemu-img create -q -f vhdx -o subformat=dynamic,block_size=1M "$frag" 32M
for i in $(seq 31 -2 0); do qemu-io -f vhdx -c "write -P $((i + 1)) $((i << 20)) 1M" "$frag" >/dev/null; done
qemu-img convert -f vhdx -O raw "$frag" "$W/frag.raw"
raw_save=$raw
raw=$W/frag.raw
map_ok "map: fragmented image (every other block, written backwards)" 0 $((32 << 20)) -- --device "$frag" "$frag"
raw=$raw_save

# GPT damage: the primary's header CRC (the backup is used, with a warning); both copies' entry arrays (refused)
cp "$raw" "$W/bad.raw"
printf '\xff' | dd of="$W/bad.raw" bs=1 seek=$((512 + 16)) conv=notrunc status=none
qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=1M "$W/bad.raw" "$W/bad.vhdx"
"$VHDX" map --device "$W/bad.vhdx" --partition root "$W/bad.vhdx" >"$W/table" 2>"$W/err"
if grep -q 'primary GPT is damaged; using the backup' "$W/err" && python3 "$CHECK" "$W/table" "$raw" "$(p_start 2)" "$(p_len 2)" >/dev/null; then
	ok "gpt: primary header CRC damaged: the backup is used, with a warning"
else
	notok "gpt: primary header CRC damaged" "$(oneline <"$W/err")"
fi
cp "$raw" "$W/bad.raw"
printf '\xff' | dd of="$W/bad.raw" bs=1 seek=$((2 * 512 + 200)) conv=notrunc status=none
printf '\xff' | dd of="$W/bad.raw" bs=1 seek=$(((64 << 20) - 33 * 512 + 200)) conv=notrunc status=none
qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=1M "$W/bad.raw" "$W/bad.vhdx"
out=$("$VHDX" map --device "$W/bad.vhdx" --partition root "$W/bad.vhdx" 2>&1)
if [[ $? == 1 && $out == *"GPT primary entry array: PartitionEntryArrayCRC32 0x"*"computed 0x"* ]]; then
	ok "gpt: both entry arrays damaged: refused naming PartitionEntryArrayCRC32"
else
	notok "gpt: both entry arrays damaged" "$out"
fi
out=$("$VHDX" map --device "$W/frag.vhdx" --partition root "$W/frag.vhdx" 2>&1)
if [[ $? == 1 && $out == *'no "EFI PART" signature'* ]]; then ok "gpt: no GPT at all: refused"; else notok "gpt: no GPT" "$out"; fi

# a pending log: read-only map refuses (nothing written); --rw replays first
fixture=$ROOT/tests/fixtures/iotest-dirtylog-10G-4M.vhdx.bz2
if [[ -f $fixture ]]; then
	bunzip2 -c "$fixture" >"$W/dirty.vhdx"
	cp "$W/dirty.vhdx" "$W/dirty0.vhdx"
	out=$("$VHDX" map --device "$W/dirty.vhdx" "$W/dirty.vhdx" 2>&1)
	if [[ $? == 1 && $out == *"vhdx replay"* ]] && cmp -s "$W/dirty.vhdx" "$W/dirty0.vhdx"; then
		ok "map: a pending log without --rw: refused, nothing written"
	else
		notok "map: a pending log without --rw" "$out"
	fi
fi

# vhdx session --data: DataWriteGuid and FileWriteGuid new, sequence + 2; plain session keeps DataWriteGuid
guid_of() { "$VHDX" info "$2" | awk -v k="$1" '/, current$/ {c = 1} c && index($0, k) {print $NF; exit}'; }
seq_of() { "$VHDX" info "$1" | sed -n 's/.*sequence \([0-9]*\), current$/\1/p'; }
cp "$img" "$W/s.vhdx"
d0=$(guid_of "data write guid" "$W/s.vhdx") f0=$(guid_of "file write guid" "$W/s.vhdx") s0=$(seq_of "$W/s.vhdx")
"$VHDX" session "$W/s.vhdx" >/dev/null
d1=$(guid_of "data write guid" "$W/s.vhdx") f1=$(guid_of "file write guid" "$W/s.vhdx")
out=$("$VHDX" session --data "$W/s.vhdx")
d2=$(guid_of "data write guid" "$W/s.vhdx") f2=$(guid_of "file write guid" "$W/s.vhdx") s2=$(seq_of "$W/s.vhdx")
if [[ $d1 == "$d0" && $f1 != "$f0" && $d2 != "$d1" && $f2 != "$f1" && $s2 == $((s0 + 4)) && $out == *"data write guid $d2"* ]] &&
	"$VHDX" check "$W/s.vhdx" >/dev/null && qemu-img check -q -f vhdx "$W/s.vhdx" && qemu-img compare -q -f vhdx -F vhdx "$img" "$W/s.vhdx"; then
	ok "session --data: new DataWriteGuid and FileWriteGuid, sequence +2, content the same (plain session keeps DataWriteGuid)"
else
	notok "session --data" "data $d0 -> $d1 -> $d2, file $f0 -> $f1 -> $f2, sequence $s0 -> $s2, said: $out"
fi
cmp -s <(dd if="$img" bs=256K skip=1 status=none) <(dd if="$W/s.vhdx" bs=256K skip=1 status=none) &&
	ok "session --data: nothing outside the header area changed" || notok "session --data: outside the headers" "bytes changed"

# vhdx handoff: a variable as efivarfs shows it (4 attribute bytes, then core/handoff.h's layout)
mkvar() {
	python3 - "$@" <<'EOF'
import struct, sys, uuid
out, version, flags, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
g = lambda s: uuid.UUID(s).bytes_le
v = struct.pack("<HHI", version, 112, flags) + g("11111111-2222-3333-4444-555555555555") \
    + g("66666666-7777-8888-9999-AAAAAAAAAAAA") + g("BBBBBBBB-CCCC-DDDD-EEEE-FFFFFFFFFFFF") \
    + g("01234567-89AB-CDEF-0123-456789ABCDEF") + struct.pack("<QQQII Q", 0, 160 << 20, 7, 2, 512, 1 << 30)
assert len(v) == 112
if path:
    v += (path + "\0").encode("utf-16-le")
open(out, "wb").write(struct.pack("<I", 6) + v)
EOF
}
mkvar "$W/var" 1 3 ""
out=$("$VHDX" handoff "$W/var")
if [[ $out == *"VHDX_DISK_ID=11111111-2222-3333-4444-555555555555"* && $out == *"VHDX_DATA_WRITE_GUID=66666666-7777-8888-9999-AAAAAAAAAAAA"* &&
	$out == *"VHDX_PARTUUID=01234567-89AB-CDEF-0123-456789ABCDEF"* && $out == *"VHDX_OS_WRITE=yes"* && $out == *"VHDX_PARTNO=2"* &&
	$out == *"VHDX_UPDATED=no"* && $out == *"VHDX_FILE=''"* ]]; then
	ok "handoff: the version-1 layout read back"
else
	notok "handoff: the version-1 layout" "$(oneline <<<"$out")"
fi
mkvar "$W/var" 1 12 '\images\os.vhdx'
out=$("$VHDX" handoff "$W/var")
[[ $out == *"VHDX_FILE='/images/os.vhdx'"* && $out == *"VHDX_PARTUUID="$'\n'* && $out == *"VHDX_OS_WRITE=no"* ]] &&
	ok "handoff: a file image: its path, no partition, read-only" || notok "handoff: a file image" "$(oneline <<<"$out")"
mkvar "$W/var" 1 4 '\a$(reboot)'
expect_rc "handoff: a path that is not plain ASCII without quotes or \$ is refused" 1 "$VHDX" handoff "$W/var"
mkvar "$W/var" 2 0 ""
expect_rc "handoff: an unknown version is refused" 1 "$VHDX" handoff "$W/var"
head -c 50 "$W/var" >"$W/short"
expect_rc "handoff: a short variable is refused" 1 "$VHDX" handoff "$W/short"
expect_rc "handoff: no variable (not booted by vhdxboot) is an I/O error" 2 "$VHDX" handoff "$W/none"

# vhdx find: over a loop device when this machine allows one, otherwise only its argument checks
expect_rc "find: a malformed GUID is a usage error" 2 "$VHDX" find --disk-id 1234
id=$("$VHDX" info "$img" | sed -n 's/^disk id: //p')
loop=$(losetup --find --show --read-only "$img" 2>/dev/null)
if [[ -n $loop ]]; then
	out=$("$VHDX" find --disk-id "$id" 2>/dev/null)
	losetup -d "$loop"
	if [[ $out == "$loop $(guid_of "data write guid" "$img")" ]]; then ok "find: the loop device holding the image, with its DataWriteGuid"; else notok "find: over a loop device" "got '$out', loop $loop"; fi
else
	skip "find: over a loop device" "losetup cannot attach here"
fi
expect_rc "find: an ID no device has: exit 1" 1 "$VHDX" find --disk-id 00000000-1111-2222-3333-444444444444
exit $((FAILS > 0))
