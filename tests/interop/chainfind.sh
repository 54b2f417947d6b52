#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/interop/chainfind.sh - `vhdx map --find-parents`: a differencing chain whose every level is its own block
# device (a loop device here, a disk or partition in the initramfs), each parent found by its DataWriteGuid = the
# child's parent_linkage among /sys/class/block.  The base is made by qemu-img (convert of a raw GPT disk), the
# children by `vhdx create --parent`, data written into every child by tests/tools/diffwriter.py; the reference is
# qemu-img convert of the base (QEMU cannot open a differencing VHDX, so its part is the parent) with the
# children's writes on top (diffwriter's model), and `vhdx export` of the chain must be the same bytes.  Each table,
# resolved as device-mapper would (tests/tools/dmtable.py, reading the loop devices), must equal it.  Chains of 2
# and 3 levels.  Refusals with nothing printed: the parent missing (exit 3, the level and the GUID named, the decoy
# with the parent's VirtualDiskId listed), a wrong parent (the DataWriteGuid on an image of another size: the core's
# refusal, the level named), the parent on two devices with differing content, a loop, --rw, --parent with
# --find-parents.  The loop devices are attached read-write, so a write would land: sha256 of every level before
# and after everything.
source "$(dirname "$0")/common.bash"
SUITE=chainfind
mkwork chainfind
require python3 qemu-img sgdisk sha256sum losetup
# every loop device over a file of the work directory, whichever case attached it
detach_all() {
	local l
	for l in $(losetup -a | sed -n "s|^\(/dev/loop[0-9]*\): .*($WORK/.*|\1|p"); do losetup -d "$l"; done
}
trap 'detach_all; rm -rf "$WORK"' EXIT
if ! probe=$(losetup --find --show --read-only "$VHDX" 2>/dev/null); then
	skip "chainfind: every case" "losetup cannot attach here"
	exit 0
fi
losetup -d "$probe"

MiB=$((1024 * 1024))
SIZE=$((64 * MiB))
ROOT_TYPE=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
ESP_TYPE=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
raw=$WORK/base.raw
truncate -s "$SIZE" "$raw"
sgdisk -n 1:2048:+8M -t "1:$ESP_TYPE" -n 2:0:0 -t "2:$ROOT_TYPE" "$raw" >/dev/null
python3 - "$raw" <<'PY'
import random, sys
r = random.Random(7)
with open(sys.argv[1], "r+b") as f:
    for off, n in ((1 << 20, 300000), (3 * (1 << 20) + 100, 2 * (1 << 20)), (40 << 20, 1 << 20)):
        f.seek(off)
        f.write(r.randbytes(n))
PY
qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=1M "$raw" "$WORK/base.vhdx"
qemu-img convert -f vhdx -O raw "$WORK/base.vhdx" "$WORK/qemu-base.raw" # QEMU's reading of the parent
p_start() { echo $(($(sgdisk -i "$1" "$raw" | sed -n 's/^First sector: \([0-9]*\).*/\1/p') * 512)); }
p_len() { echo $((($(sgdisk -i "$1" "$raw" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p') + 1) * 512 - $(p_start "$1"))); }

W1='[[1048000, 2000, 1], [2097152, 1048576, 2], [5242880, 511, 3], [9436484, 1400, 5], [30000000, 70000, 6]]'
W2='[[1048576, 4096, 11], [2097665, 513, 12], [3145728, 2500000, 13], [33554431, 2, 14]]'
WRITES=("$W1" "$W2")

# chain DIR DEPTH: DIR/base.vhdx (qemu-img's), c1..c(DEPTH-1) by vhdx create --parent, the model DIR/ref.raw
chain() {
	local dir=$1 depth=$2 parent levels="" i
	mkdir -p "$dir"
	cp "$WORK/base.vhdx" "$dir/base.vhdx"
	parent=$dir/base.vhdx
	for ((i = 1; i < depth; i++)); do
		"$VHDX" create --parent "$parent" "$dir/c$i.vhdx" >/dev/null || return 1
		levels+="${levels:+,}{\"image\": \"$dir/c$i.vhdx\", \"writes\": ${WRITES[i - 1]}}"
		parent=$dir/c$i.vhdx
	done
	printf '{"size": %d, "base_raw": "%s", "reference": "%s", "levels": [%s]}\n' "$SIZE" "$WORK/qemu-base.raw" \
		"$dir/ref.raw" "$levels" >"$dir/spec.json"
	python3 "$TOOLS/diffwriter.py" run "$dir/spec.json"
}

# new_guid FILE FIELD: both headers of the VHDX FILE get a new random FIELD (data_write_guid, file_write_guid)
new_guid() {
	python3 - "$1" "$2" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.environ.get("ROOT", "."), "tests", "tools"))
import vhdxlib as V
buf = bytearray(open(sys.argv[1], "rb").read(1 << 20))
guid = V.guid_v4_random()
for which in (0, 1):
    V.set_header(buf, which, **{sys.argv[2]: guid})
with open(sys.argv[1], "r+b") as f:
    f.write(buf)
PY
}

# attach FILE: a read-write loop device (a write through it would reach the file), its name on stdout
attach() { losetup --find --show "$1"; }
detach() { losetup -d "$1"; }


# refused NAME RC PATTERN MAP-ARGS...: exit RC, nothing on stdout, the message matches PATTERN
refused() {
	local name=$1 want=$2 pat=$3 rc
	shift 3
	"$VHDX" map "$@" >"$WORK/table" 2>"$WORK/err"
	rc=$?
	if ((rc != want)); then
		notok "$name" "exit $rc, expected $want: $(oneline <"$WORK/err")"
	elif [[ -s $WORK/table ]]; then
		notok "$name" "something was printed on stdout"
	elif ! grep -Eq -- "$pat" "$WORK/err"; then
		notok "$name" "message lacks /$pat/: $(oneline <"$WORK/err")"
	else
		ok "$name ($(cut -c1-150 <"$WORK/err")...)"
	fi
}
dwg() { "$VHDX" info "$1" | awk '/, current$/ {c = 1} c && /data write guid/ {print $NF; exit}'; }

hashes_before=$(sha256sum "$WORK/base.vhdx")
for depth in 2 3; do
	d=$WORK/d$depth name="$depth levels"
	if ! chain "$d" "$depth" 2>"$WORK/err"; then
		notok "$name: chain made" "$(oneline <"$WORK/err")"
		continue
	fi
	top=$d/c$((depth - 1)).vhdx
	if ! "$VHDX" export "$top" "$d/export.raw" 2>"$WORK/err" || ! cmp -s "$d/export.raw" "$d/ref.raw"; then
		notok "$name: vhdx export = qemu-img convert of the base + the children's writes" "$(oneline <"$WORK/err")"
		continue
	fi
	ok "$name: vhdx export = qemu-img convert of the base + the children's writes"
	before=$(sha256sum "$d"/*.vhdx)
	# every level on its own device; the child's device last, so the parents are not found by order
	devs=() files=("$d/base.vhdx")
	for ((i = 1; i < depth; i++)); do files+=("$d/c$i.vhdx"); done
	for f in "${files[@]}"; do devs+=("$(attach "$f")"); done
	child=${devs[depth - 1]}
	map_ok "$name: map --find-parents $child = the reference" "$d/ref.raw" 0 "$SIZE" -- --find-parents "$child" || continue
	named=$(awk '$3 == "linear" {print $4}' "$WORK/table" | sort -u | tr '\n' ' ')
	want=$(printf '%s\n' "${devs[@]}" | sort -u | tr '\n' ' ')
	if [[ $named == "$want" ]]; then ok "$name: the table points at the $depth loop devices, one per level"; else notok "$name: one device per level" "table names '$named', levels are '$want'"; fi
	map_ok "$name: map --find-parents --partition root = the reference's root partition" "$d/ref.raw" "$(p_start 2)" \
		"$(p_len 2)" -- --find-parents --partition root "$child"
	# --levels: the chain in order, each level's DataWriteGuid and device
	expect_levels=$(for ((i = depth - 1; i >= 0; i--)); do echo "$((depth - 1 - i)) $(dwg "${files[i]}") ${devs[i]}"; done)
	got=$("$VHDX" map --find-parents --levels "$child" 2>"$WORK/err")
	if [[ $got == "$expect_levels" ]]; then ok "$name: --levels lists the chain: $(tr '\n' ';' <<<"$got" | cut -c1-120)..."; else notok "$name: --levels" "got '$(oneline <<<"$got")', want '$(oneline <<<"$expect_levels")'"; fi
	got=$("$VHDX" map --find-parents --partitions "$child" 2>&1)
	if [[ $got == 1\ 2048\ * && $got == *$'\n'2\ * ]]; then ok "$name: --partitions through the found chain"; else notok "$name: --partitions" "$(oneline <<<"$got")"; fi
	refused "$name: without --find-parents the parents are the locator's files, not devices: a usage error" 2 \
		"level 1 of the chain, .*, is not a block device" "$child"
	refused "$name: --rw on the chain refused: the parents are never written" 1 \
		"differencing image is mapped read-only only: its table points into its parents, which are never written" \
		--rw --find-parents "$child"
	refused "$name: --find-parents with --parent is a usage error" 2 "either named or found" \
		--find-parents --parent "${devs[0]}" "$child"
	# the parent (level depth-1: the base) missing; a decoy with its VirtualDiskId and another DataWriteGuid there
	cp "$d/base.vhdx" "$d/decoy.img"
	new_guid "$d/decoy.img" data_write_guid
	decoy=$(attach "$d/decoy.img")
	detach "${devs[0]}"
	refused "$name: the base missing (a decoy with its VirtualDiskId there): exit 3, level $((depth - 1)) and the GUID named" 3 \
		"level $((depth - 1)) of the chain \(the parent of level $((depth - 2))\): no block device holds DataWriteGuid \{$(dwg "$d/base.vhdx")\} \(parent_linkage\).*$decoy \(VirtualDiskId .*nothing was written" \
		--find-parents "$child"
	refused "$name: --levels refuses the same way" 3 "no block device holds DataWriteGuid" --find-parents --levels "$child"
	detach "$decoy"
	devs[0]=$(attach "$d/base.vhdx")
	# the base on two devices: the same file twice is one image (the first by name); a copy with another
	# FileWriteGuid is content that differs: refused, both named
	twin=$(attach "$d/base.vhdx")
	got=$("$VHDX" map --find-parents --levels "$child" 2>"$WORK/err")
	first=$(printf '%s\n' "${devs[0]}" "$twin" | sort | head -1)
	if [[ $(tail -1 <<<"$got") == *" $first" ]] && grep -q "holds the same image as $first" "$WORK/err"; then
		ok "$name: the base on two loop devices over one file: one image, the first by name ($first), said"
	else
		notok "$name: the base twice" "levels '$(oneline <<<"$got")', said '$(oneline <"$WORK/err")'"
	fi
	detach "$twin"
	cp "$d/base.vhdx" "$d/copy.img"
	new_guid "$d/copy.img" file_write_guid
	copy=$(attach "$d/copy.img")
	refused "$name: the base's DataWriteGuid on two devices whose content differs: refused, both named" 1 \
		"level $((depth - 1)) of the chain.*2 block devices hold DataWriteGuid.*content differs.*${devs[0]}.*refusing to guess|level $((depth - 1)) of the chain.*2 block devices hold DataWriteGuid.*content differs.*$copy.*${devs[0]}" \
		--find-parents "$child"
	detach "$copy"
	after=$(sha256sum "$d"/*.vhdx)
	if [[ $before == "$after" ]]; then ok "$name: every level byte-identical after every case (sha256, read-write loop devices)"; else notok "$name: nothing written" "$(diff <(echo "$before") <(echo "$after") | oneline)"; fi
	detach_all
done

# a wrong parent: the base's DataWriteGuid on an image of another virtual size (the core refuses it)
d=$WORK/d2
if [[ -f $d/c1.vhdx ]]; then
	qemu-img create -q -f vhdx -o subformat=dynamic,block_size=1M "$d/wrong.img" 32M
	python3 - "$d/wrong.img" "$(dwg "$d/base.vhdx")" <<'PY'
import os, sys, uuid
sys.path.insert(0, os.path.join(os.environ.get("ROOT", "."), "tests", "tools"))
import vhdxlib as V
buf = bytearray(open(sys.argv[1], "rb").read(1 << 20))
for which in (0, 1):
    V.set_header(buf, which, data_write_guid=uuid.UUID(sys.argv[2]).bytes_le)
with open(sys.argv[1], "r+b") as f:
    f.write(buf)
PY
	before=$(sha256sum "$d"/c1.vhdx "$d/wrong.img")
	child=$(attach "$d/c1.vhdx")
	wrong=$(attach "$d/wrong.img")
	refused "wrong parent: the DataWriteGuid on an image of another size: refused, the level named" 1 \
		"Virtual Disk Size 33554432 differs from the child's 67108864.*|level 1 of the chain: $wrong, found on the block devices by parent_linkage .* is refused as the parent of level 0" \
		--find-parents "$child"
	grep -q "level 1 of the chain: $wrong, found on the block devices by parent_linkage {$(dwg "$d/base.vhdx")}, is refused" "$WORK/err" &&
		grep -q "Virtual Disk Size 33554432 differs" "$WORK/err" &&
		ok "wrong parent: both the core's reason and the level, device and GUID said" ||
		notok "wrong parent: the message" "$(oneline <"$WORK/err")"
	detach_all
	[[ $before == "$(sha256sum "$d"/c1.vhdx "$d/wrong.img")" ]] && ok "wrong parent: nothing written" || notok "wrong parent: nothing written" "a file changed"
fi

# a loop: c2's copy given the base's DataWriteGuid, without the base: c2 -> c1 -> the copy of c2 -> ...
d=$WORK/d3
if [[ -f $d/c2.vhdx ]]; then
	cp "$d/c2.vhdx" "$d/loop.img"
	python3 - "$d/loop.img" "$(dwg "$d/base.vhdx")" <<'PY'
import os, sys, uuid
sys.path.insert(0, os.path.join(os.environ.get("ROOT", "."), "tests", "tools"))
import vhdxlib as V
buf = bytearray(open(sys.argv[1], "rb").read(1 << 20))
for which in (0, 1):
    V.set_header(buf, which, data_write_guid=uuid.UUID(sys.argv[2]).bytes_le)
with open(sys.argv[1], "r+b") as f:
    f.write(buf)
PY
	before=$(sha256sum "$d"/c1.vhdx "$d/loop.img")
	attach "$d/c1.vhdx" >/dev/null
	top=$(attach "$d/loop.img")
	refused "loop: a chain that comes back to itself is refused, the level named" 1 \
		"the chain is a loop.*|level 2 of the chain: $top, found on the block devices" --find-parents "$top"
	grep -q "the chain is a loop" "$WORK/err" && grep -q "level 2 of the chain: $top, found on the block devices" "$WORK/err" &&
		ok "loop: the core's reason and level 2 named" || notok "loop: the message" "$(oneline <"$WORK/err")"
	detach_all
	[[ $before == "$(sha256sum "$d"/c1.vhdx "$d/loop.img")" ]] && ok "loop: nothing written" || notok "loop: nothing written" "a file changed"
fi
[[ $hashes_before == "$(sha256sum "$WORK/base.vhdx")" ]] || notok "the qemu-img base" "changed"
exit $((FAILS > 0))
