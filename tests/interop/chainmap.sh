#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/interop/chainmap.sh - `vhdx map` of a differencing chain.  Chains of depth 1 to 3 made by
# `vhdx create --parent` over a GPT disk, data written into every level by tests/tools/diffwriter.py (unaligned,
# partial sectors, across sector-bitmap bytes, the 2 MiB bitmap window and block edges, whole blocks); each table
# `vhdx map` prints, resolved as device-mapper would (tests/tools/dmtable.py, one file per level), must equal
# `vhdx export` of the child byte for byte.  Also: --partition through the chain, --offset per level, --parent,
# 4096-byte logical sectors with a child of another block size, loop devices named by the chain itself, and the
# refusals (--rw on a chain, a level without a device, a parent with a pending log) with nothing written.
# device-mapper itself is not in this machine's kernel (dmsetup: "/dev/mapper/control: open failed: No such
# device"); tests/boot/75-linuxroot runs the real one in a guest.
source "$(dirname "$0")/common.bash"
SUITE=chainmap
mkwork chainmap
require python3 sgdisk sha256sum
LOOPS=()
trap 'for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done; rm -rf "$WORK"' EXIT

MiB=$((1024 * 1024))
SIZE=$((64 * MiB))
ROOT_TYPE=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
ESP_TYPE=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
base_raw=$WORK/base.raw
truncate -s "$SIZE" "$base_raw"
sgdisk -n 1:2048:+8M -t "1:$ESP_TYPE" -n 2:0:0 -t "2:$ROOT_TYPE" "$base_raw" >/dev/null
# base data in a few places; most blocks stay absent (zero segments where no level writes)
python3 - "$base_raw" <<'PY'
import random, sys
r = random.Random(3)
with open(sys.argv[1], "r+b") as f:
    for off, n in ((1 << 20, 300000), (3 * (1 << 20) + 100, 2 * (1 << 20)), (17 << 20, 4096), (40 << 20, 1 << 20)):
        f.seek(off)
        f.write(r.randbytes(n))
PY
p_start() { echo $(($(sgdisk -i "$1" "$base_raw" | sed -n 's/^First sector: \([0-9]*\).*/\1/p') * 512)); }
p_len() { echo $((($(sgdisk -i "$1" "$base_raw" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p') + 1) * 512 - $(p_start "$1"))); }

# [offset, length, seed] per level, clear of the GPT at both ends: a sector's piece, runs across bitmap bytes,
# across the 2 MiB bitmap window and block edges, a whole block, a child's partial block over a parent's whole one
W1='[[1048000, 2000, 1], [2097152, 1048576, 2], [5242880, 511, 3], [6291455, 3, 4], [9436484, 1400, 5], [30000000, 70000, 6]]'
W2='[[1048576, 4096, 11], [2097665, 513, 12], [3145728, 2500000, 13], [33554431, 2, 14], [9437084, 50, 15]]'
W3='[[20580, 1, 21], [4194303, 2, 22], [5243136, 4098, 23], [20971520, 1, 24], [61865984, 1048576, 25]]'
WRITES=("$W1" "$W2" "$W3")

# make_chain DIR DEPTH [CREATE-ARGS-OF-THE-BASE] [CHILD-1-ARGS]: base.vhdx, c1..cDEPTH, the model DIR/ref.raw
make_chain() {
	local dir=$1 depth=$2 base_args=${3:-} c1_args=${4:-} parent levels="" i extra
	mkdir -p "$dir"
	# shellcheck disable=SC2086 # the args are words
	"$VHDX" create --block-size 1M $base_args --from "$base_raw" "$dir/base.vhdx" >/dev/null || return 1
	parent=$dir/base.vhdx
	for ((i = 1; i <= depth; i++)); do
		extra=
		((i == 1)) && extra=$c1_args
		# shellcheck disable=SC2086
		"$VHDX" create $extra --parent "$parent" "$dir/c$i.vhdx" >/dev/null || return 1
		levels+="${levels:+,}{\"image\": \"$dir/c$i.vhdx\", \"writes\": ${WRITES[i - 1]}}"
		parent=$dir/c$i.vhdx
	done
	printf '{"size": %d, "base_raw": "%s", "reference": "%s", "levels": [%s]}\n' "$SIZE" "$base_raw" \
		"$dir/ref.raw" "$levels" >"$dir/spec.json"
	python3 "$TOOLS/diffwriter.py" run "$dir/spec.json"
}

# devices DIR DEPTH: --device per level in chain order (the child first, the base last)
devices() {
	local i
	for ((i = $2; i >= 1; i--)); do printf -- '--device\n%s\n' "$1/c$i.vhdx"; done
	printf -- '--device\n%s\n' "$1/base.vhdx"
}


for depth in 1 2 3; do
	dir=$WORK/d$depth name="depth $depth" top=$WORK/d$depth/c$depth.vhdx
	if ! make_chain "$dir" "$depth" 2>"$WORK/err"; then
		notok "$name: chain made" "$(oneline <"$WORK/err")"
		continue
	fi
	if ! "$VHDX" export "$top" "$dir/out.raw" 2>"$WORK/err" || ! cmp -s "$dir/out.raw" "$dir/ref.raw"; then
		notok "$name: export = the model (the reference for the tables)" "$(oneline <"$WORK/err")"
		continue
	fi
	mapfile -t devs < <(devices "$dir" "$depth")
	map_ok "$name: map of the whole chain = export" "$dir/out.raw" 0 "$SIZE" -- "${devs[@]}" "$top" || continue
	# every level holds a segment: the table really reads through the chain
	missing=$(for f in "$dir"/c*.vhdx "$dir/base.vhdx"; do awk -v f="$f" '$4 == f {n++} END {if (!n) print f}' "$WORK/table"; done)
	zeros=$(awk '$3 == "zero"' "$WORK/table" | wc -l)
	if [[ -z $missing && $zeros -gt 0 ]]; then ok "$name: segments from all $((depth + 1)) levels and $zeros zero segments"; else notok "$name: segments from every level" "no segment for: $missing; $zeros zero"; fi
	map_ok "$name: map --partition root = export's root partition" "$dir/out.raw" "$(p_start 2)" "$(p_len 2)" -- \
		--partition root "${devs[@]}" "$top"
done

# --offset per level: the Nth --offset is level N-1's; only that level's linear sectors move
d=$WORK/d2
"$VHDX" map $(devices "$d" 2) "$d/c2.vhdx" >"$WORK/a" 2>"$WORK/err"
"$VHDX" map $(devices "$d" 2) --offset 0 --offset 1M "$d/c2.vhdx" >"$WORK/b" 2>>"$WORK/err"
moved=$(awk -v f="$d/c1.vhdx" 'NR == FNR {a[FNR] = $0; next} {split(a[FNR], x); want = (x[4] == f) ? x[5] + 2048 : x[5]; if ($5 != want) bad++} END {print bad + 0}' "$WORK/a" "$WORK/b")
c1segs=$(awk -v f="$d/c1.vhdx" '$4 == f' "$WORK/a" | wc -l)
if [[ -s $WORK/a && $moved == 0 && $c1segs -gt 0 ]]; then ok "--offset 0 --offset 1M: level 1's $c1segs segments move by 2048 sectors, no other"; else notok "--offset per level" "$moved lines wrong, $c1segs level-1 segments: $(oneline <"$WORK/err")"; fi
expect_rc "more --offset than devices is a usage error" 2 "$VHDX" map --device "$d/c2.vhdx" --offset 0 --offset 0 "$d/c2.vhdx"

# --parent: the base moved and renamed; named on the command line
mkdir -p "$WORK/elsewhere"
cp "$WORK/d1/c1.vhdx" "$WORK/elsewhere/child.vhdx"
cp "$WORK/d1/base.vhdx" "$WORK/elsewhere/golden.vhdx"
map_ok "--parent PATH: the parent named, not found by the locator" "$WORK/d1/out.raw" 0 "$SIZE" -- \
	--parent "$WORK/elsewhere/golden.vhdx" --device "$WORK/elsewhere/child.vhdx" --device "$WORK/elsewhere/golden.vhdx" \
	"$WORK/elsewhere/child.vhdx"
rm "$WORK/elsewhere/golden.vhdx"
# without --parent: relative_path finds nothing beside the copy; absolute_win32_path names the original base
map_ok "no --parent: the locator's absolute path finds the base" "$WORK/d1/out.raw" 0 "$SIZE" -- \
	--device "$WORK/elsewhere/child.vhdx" --device "$WORK/d1/base.vhdx" "$WORK/elsewhere/child.vhdx"
mv "$WORK/d1/base.vhdx" "$WORK/d1/base.away"
out=$("$VHDX" map --device "$WORK/elsewhere/child.vhdx" --device "$WORK/elsewhere/child.vhdx" "$WORK/elsewhere/child.vhdx" 2>&1)
rc=$?
mv "$WORK/d1/base.away" "$WORK/d1/base.vhdx"
if [[ $rc == 2 && $out == *"not found: tried relative_path"*"absolute_win32_path"*"--parent PATH"* ]]; then
	ok "a parent the locator cannot find: usage error naming both paths tried and --parent"
else
	notok "a parent the locator cannot find" "exit $rc: $(oneline <<<"$out")"
fi

# 4096-byte logical sectors, a 4 MiB-block child over a 1 MiB-block base, depth 2
d4=$WORK/d4k
if make_chain "$d4" 2 "--logical-sector 4096" "--block-size 4M" 2>"$WORK/err" && "$VHDX" export "$d4/c2.vhdx" "$d4/out.raw" 2>>"$WORK/err" &&
	cmp -s "$d4/out.raw" "$d4/ref.raw"; then
	map_ok "4096-byte sectors, blocks of 4 MiB over 1 MiB: map = export" "$d4/out.raw" 0 "$SIZE" -- $(devices "$d4" 2) "$d4/c2.vhdx"
else
	notok "4096-byte sectors: chain made, export = the model" "$(oneline <"$WORK/err")"
fi

# refusals: nothing printed, no file of the chain changed
hashes() { sha256sum "$WORK"/d3/*.vhdx | sort; }
refused() {
	local name=$1 want=$2 pat=$3 before after rc
	shift 3
	before=$(hashes)
	"$VHDX" map "$@" >"$WORK/table" 2>"$WORK/err"
	rc=$?
	after=$(hashes)
	if ((rc != want)); then
		notok "$name" "exit $rc, expected $want: $(oneline <"$WORK/err")"
	elif [[ -s $WORK/table ]]; then
		notok "$name" "a table was printed"
	elif ! grep -Eq -- "$pat" "$WORK/err"; then
		notok "$name" "message lacks /$pat/: $(oneline <"$WORK/err")"
	elif [[ $before != "$after" ]]; then
		notok "$name" "a file of the chain changed"
	else
		ok "$name ($(cut -c1-100 <"$WORK/err")...)"
	fi
}
d=$WORK/d3
refused "--rw on a chain refused, nothing written" 1 "differencing image is mapped read-only only.*without --rw" \
	--rw --device "$d/c3.vhdx" "$d/c3.vhdx"
refused "--rw with --parent refused before opening anything for writing" 1 "read-only only" \
	--rw --parent "$d/c2.vhdx" --device "$d/c3.vhdx" "$d/c3.vhdx"
refused "a level without a device: usage error naming it and losetup" 2 "level 1 of the chain, .*/c2.vhdx, is not a block device.*losetup" \
	--device "$d/c3.vhdx" "$d/c3.vhdx"
refused "more --device options than levels: usage error" 2 "5 --device options for a chain of 4 levels" \
	$(devices "$d" 3) --device "$d/c3.vhdx" "$d/c3.vhdx"

# a parent with a pending log.  `vhdx create --parent` refuses such a parent (replaying it later would give it a
# new DataWriteGuid and orphan the child), so the child is made of a clean parent which then gets a pending log
# (tests/tools/logwriter.py keeps its DataWriteGuid): map refuses, naming the level; nothing written either way
mkdir -p "$WORK/dl"
# (logwriter's scenario wants two present blocks and an absent one: 2 MiB blocks, data in blocks 0 and 1)
truncate -s 8M "$WORK/dl/raw"
printf 'abc' | dd of="$WORK/dl/raw" conv=notrunc status=none
printf 'def' | dd of="$WORK/dl/raw" bs=1 seek=$((2 * MiB)) conv=notrunc status=none
"$VHDX" create --block-size 2M --from "$WORK/dl/raw" "$WORK/dl/clean.vhdx" >/dev/null &&
	"$VHDX" create --parent "$WORK/dl/clean.vhdx" "$WORK/dl/c.vhdx" >/dev/null &&
	python3 "$TOOLS/logwriter.py" make several "$WORK/dl/clean.vhdx" "$WORK/dl/dirty.vhdx" >/dev/null &&
	mv "$WORK/dl/dirty.vhdx" "$WORK/dl/clean.vhdx"
before=$(sha256sum "$WORK"/dl/*.vhdx)
out=$("$VHDX" map --device "$WORK/dl/c.vhdx" --device "$WORK/dl/clean.vhdx" "$WORK/dl/c.vhdx" 2>&1 >"$WORK/table")
rc=$?
if [[ $rc == 1 && ! -s $WORK/table && $out == *"level 1 of the chain"*"has a pending log"*"vhdx replay"* &&
	$(sha256sum "$WORK"/dl/*.vhdx) == "$before" ]]; then
	ok "a parent with a pending log: map refused naming level 1 and vhdx replay, nothing written"
else
	notok "a parent with a pending log: map" "exit $rc: $(oneline <<<"$out")"
fi
out=$("$VHDX" create --parent "$WORK/dl/clean.vhdx" "$WORK/dl/c2.vhdx" 2>&1)
rc=$?
if [[ $rc == 1 && ! -e $WORK/dl/c2.vhdx && $out == *"a log is pending"*"vhdx replay"* &&
	$(sha256sum "$WORK"/dl/*.vhdx) == "$before" ]]; then
	ok "a parent with a pending log: create --parent refused naming vhdx replay, no child, parent unchanged"
else
	notok "a parent with a pending log: create --parent" "exit $rc: $(oneline <<<"$out")"
fi
rm -rf "$WORK/dl"

# loop devices: every level on its own read-only loop device, the chain named by them (--parent) and no
# --device at all: each level's segments point at its own device
if l0=$(losetup --find --show --read-only "$d/base.vhdx" 2>/dev/null); then
	LOOPS+=("$l0")
	ok=1
	for i in 1 2 3; do
		l=$(losetup --find --show --read-only "$d/c$i.vhdx") || { ok=0; break; }
		LOOPS+=("$l")
	done
	if ((ok)); then
		map_ok "loop devices: no --device, each level's own device (from --parent)" "$d/out.raw" 0 "$SIZE" -- \
			--parent "${LOOPS[2]}" --parent "${LOOPS[1]}" --parent "${LOOPS[0]}" "${LOOPS[3]}"
		n=$(awk '$3 == "linear" {print $4}' "$WORK/table" | sort -u | grep -c '^/dev/loop')
		[[ $n == 4 ]] && ok "loop devices: the table names the 4 loop devices" || notok "loop devices: the table names the 4 loop devices" "$n named"
	else
		notok "loop devices" "losetup failed for a level"
	fi
	for l in "${LOOPS[@]}"; do losetup -d "$l"; done
	LOOPS=()
else
	skip "loop devices: each level's own device" "losetup cannot attach here"
fi
exit $((FAILS > 0))
