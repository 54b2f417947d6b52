#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/interop/create.sh - images made by `vhdx create`, read by qemu-img and libvhdi.
#
# A raw source with random data, holes and explicit zero runs; images fixed and dynamic, 512 and 4096-byte
# logical sectors, several block, physical sector and log sizes.  For each: vhdx check; the image's structures as
# asked (tests/tools/createcheck.py: v4 GUIDs, metadata, exactly the non-zero blocks present in a dynamic image);
# vhdx export equals the source; qemu-img (512-byte logical sectors only: QEMU has no 4 KiB support) check clean,
# info size and compare with the source; vhdiinfo parses it and reports the size, sector size and disk type;
# vhdimount serves the same bytes (skipped when FUSE is unavailable); a session update keeps qemu-img happy.
# Then the command's refusals: an existing file without --force, bad block/sector/size arguments.
set -u
SUITE=interop-create
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
require qemu-img vhdiinfo python3 cmp
mkwork create

K=1024
M=$((1024 * K))

# the raw source: 37 MiB + 12 KiB, random runs at odd places, holes, and written zeros
RAW=$WORK/src.raw
python3 - "$RAW" <<'EOF'
import os, random, sys
r = random.Random(4242)
size = 37 * 1024 * 1024 + 3 * 4096
with open(sys.argv[1], "wb") as f:
    f.truncate(size)
    for off, n in [(0, 300000), (5 * 2**20 + 4096, 2**20), (20 * 2**20 + 512, 65536), (size - 4096, 4096),
                   (33 * 2**20 - 100, 200)]:
        f.seek(off)
        f.write(bytes(r.getrandbits(8) for _ in range(n)))
    f.seek(10 * 2**20)
    f.write(bytes(2 * 2**20))  # zeros that are data in the raw file, not a hole
EOF
RAWSIZE=$(stat -c %s "$RAW")

# FUSE: usable when /dev/fuse exists and a mount of a known-good image works
FUSE=no
FUSE_WHY="/dev/fuse is missing"
if [[ -c /dev/fuse ]] && command -v vhdimount >/dev/null; then
	qemu-img create -q -f vhdx "$WORK/probe.vhdx" 8M
	mkdir -p "$WORK/probe"
	if timeout 30 vhdimount "$WORK/probe.vhdx" "$WORK/probe" >/dev/null 2>"$WORK/err" && [[ -e $WORK/probe/vhdi1 ]]; then
		FUSE=yes
		fusermount3 -u "$WORK/probe" 2>/dev/null || fusermount -u "$WORK/probe" 2>/dev/null || umount "$WORK/probe"
	else
		FUSE_WHY="vhdimount of a qemu-img image failed: $(oneline <"$WORK/err")"
	fi
	rm -f "$WORK/probe.vhdx"
fi

# made NAME RAW-OR-EMPTY SIZE-OR-EMPTY LOGICAL PHYSICAL BLOCK LOG fixed|dynamic
made() {
	local name=$1 src=$2 size=$3 ls=$4 ps=$5 bs=$6 log=$7 kind=$8
	local img=$WORK/$name.vhdx out=$WORK/$name.raw ref=$src t0=$SECONDS
	local args=(--"$kind" --logical-sector "$ls" --physical-sector "$ps" --block-size "$bs" --log-size "$log")
	[[ -n $src ]] && args+=(--from "$src")
	local vs=${size:-$(((RAWSIZE + ls - 1) / ls * ls))}
	if ! t "$name: vhdx create" "$VHDX" create "${args[@]}" "$img" $size; then
		return
	fi
	# the reference: the source padded (or a hole) to the virtual size
	ref=$WORK/$name.ref
	if [[ -n $src ]]; then cp --sparse=always "$src" "$ref"; else : >"$ref"; fi
	truncate -s "$vs" "$ref"

	expect_rc "$name: vhdx check" 0 "$VHDX" check "$img"
	local cc=(--name "$name" --size "$vs" --block "$bs" --logical "$ls" --physical "$ps" --log "$log")
	[[ -n $src ]] && cc+=(--raw "$src")
	[[ $kind == fixed ]] && cc+=(--fixed)
	python3 "$TOOLS/createcheck.py" "${cc[@]}" "$img" || FAILS=$((FAILS + 1))
	if "$VHDX" info --json "$img" >"$WORK/info.json" 2>"$WORK/err"; then
		python3 "$TOOLS/infocheck.py" --name "$name: info --json" "$img" "$WORK/info.json" || FAILS=$((FAILS + 1))
	else
		notok "$name: info --json" "$(oneline <"$WORK/err")"
	fi
	if "$VHDX" export "$img" "$out" 2>"$WORK/err" && cmp "$out" "$ref" >"$WORK/cmp" 2>&1; then
		ok "$name: export = source"
	else
		notok "$name: export = source" "$(oneline <"$WORK/err") $(oneline <"$WORK/cmp" 2>/dev/null)"
	fi
	rm -f "$out"

	if ((ls == 512)); then
		if qemu-img check -f vhdx "$img" >"$WORK/qc" 2>&1 && grep -q "No errors" "$WORK/qc"; then
			ok "$name: qemu-img check"
		else
			notok "$name: qemu-img check" "$(oneline <"$WORK/qc")"
		fi
		local qs
		qs=$(qemu-img info --output=json -f vhdx "$img" 2>&1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])' 2>&1)
		if [[ $qs == "$vs" ]]; then ok "$name: qemu-img virtual size"; else notok "$name: qemu-img virtual size" "$qs, expected $vs"; fi
		if qemu-img compare -q -f vhdx -F raw "$img" "$ref" >"$WORK/qc" 2>&1; then
			ok "$name: qemu-img compare with the source"
		else
			notok "$name: qemu-img compare with the source" "$(oneline <"$WORK/qc")"
		fi
	fi

	if vhdiinfo "$img" >"$WORK/vi" 2>&1; then
		local media bps dtype want_type=Dynamic
		[[ $kind == fixed ]] && want_type=Fixed
		media=$(sed -n 's/.*Media size.*(\([0-9]*\) bytes).*/\1/p' "$WORK/vi")
		bps=$(sed -n 's/.*Bytes per sector[^0-9]*\([0-9]*\) bytes.*/\1/p' "$WORK/vi")
		dtype=$(sed -n 's/.*Disk type[^:]*: *\([A-Za-z]*\).*/\1/p' "$WORK/vi")
		if [[ $media == "$vs" && $bps == "$ls" && $dtype == "$want_type" ]]; then
			ok "$name: vhdiinfo size, sector size, type"
		else
			notok "$name: vhdiinfo size, sector size, type" "media '$media' (want $vs), sector '$bps' (want $ls), type '$dtype' (want $want_type)"
		fi
	else
		notok "$name: vhdiinfo" "$(oneline <"$WORK/vi")"
	fi

	if [[ $FUSE == yes ]]; then
		local mnt=$WORK/mnt-$name
		mkdir -p "$mnt"
		if timeout 60 vhdimount "$img" "$mnt" >/dev/null 2>"$WORK/err"; then
			MOUNTS+=("$mnt")
			if cmp "$mnt/vhdi1" "$ref" >"$WORK/cmp" 2>&1; then
				ok "$name: vhdimount content = source"
			else
				notok "$name: vhdimount content = source" "$(oneline <"$WORK/cmp")"
			fi
			fusermount3 -u "$mnt" 2>/dev/null || fusermount -u "$mnt" 2>/dev/null || umount "$mnt"
		else
			notok "$name: vhdimount" "$(oneline <"$WORK/err")"
		fi
	else
		skip "$name: vhdimount content = source" "$FUSE_WHY"
	fi

	cp --sparse=always "$img" "$WORK/pre.vhdx"
	if expect_rc "$name: vhdx session" 0 "$VHDX" session "$img"; then
		python3 "$TOOLS/hdrcheck.py" --name "$name: session" "$WORK/pre.vhdx" "$img" >"$WORK/audit" ||
			{ grep '^not ok' "$WORK/audit"; FAILS=$((FAILS + 1)); }
		grep -q '^not ok' "$WORK/audit" || ok "$name: session header audit"
		if ((ls == 512)); then
			if qemu-img check -f vhdx "$img" >"$WORK/qc" 2>&1 && qemu-img compare -q -f vhdx -F raw "$img" "$ref" >>"$WORK/qc" 2>&1; then
				ok "$name: qemu-img check and compare after session"
			else
				notok "$name: qemu-img check and compare after session" "$(oneline <"$WORK/qc")"
			fi
		fi
	fi
	rm -f "$img" "$ref" "$WORK/pre.vhdx"
	echo "# $name: $((SECONDS - t0))s"
}

#    name          source  size                 logical phys  block      log       kind
made dyn-512-1M    "$RAW"  ""                   512     512   $M         $M        dynamic
made fix-512-2M    "$RAW"  ""                   512     4096  $((2 * M)) $((4 * M)) fixed
made dyn-4k-32M    "$RAW"  ""                   4096    4096  $((32 * M)) $M       dynamic
made fix-4k-1M     "$RAW"  ""                   4096    512   $M         $M        fixed
made dyn-512-256M  "$RAW"  $((300 * M + 512))   512     4096  $((256 * M)) $((8 * M)) dynamic
made dyn-4k-4M     "$RAW"  $((41 * M + 8192))   4096    4096  $((4 * M)) $((2 * M)) dynamic
made dyn-512-empty ""      $((1024 * M + 512))  512     4096  $M         $M        dynamic
made fix-4k-empty  ""      $((8 * M))           4096    4096  $M         $M        fixed

# refusals: nothing is created or overwritten, exit 2 (usage), the message names the image
refuse() {
	local name=$1 img=$2
	shift 2
	local before=""
	[[ -e $img ]] && before=$(sha "$img")
	"$VHDX" create "$@" >/dev/null 2>"$WORK/err"
	local rc=$?
	local after=""
	[[ -e $img ]] && after=$(sha "$img")
	if ((rc == 2)) && [[ $before == "$after" ]] && grep -q '^vhdx: ' "$WORK/err"; then
		ok "create refuses: $name"
	else
		notok "create refuses: $name" "exit $rc (want 2), file $([[ $before == "$after" ]] && echo unchanged || echo CHANGED), stderr: $(oneline <"$WORK/err")"
	fi
}
echo "precious" >"$WORK/exists.vhdx"
refuse "existing file without --force" "$WORK/exists.vhdx" "$WORK/exists.vhdx" 8M
refuse "block size 3M" "$WORK/n1.vhdx" --block-size 3M "$WORK/n1.vhdx" 8M
refuse "block size 512K" "$WORK/n2.vhdx" --block-size 512K "$WORK/n2.vhdx" 8M
refuse "logical sector 1024" "$WORK/n3.vhdx" --logical-sector 1024 "$WORK/n3.vhdx" 8M
refuse "physical sector 8192" "$WORK/n4.vhdx" --physical-sector 8192 "$WORK/n4.vhdx" 8M
refuse "size not a 4096 multiple with 4 KiB sectors" "$WORK/n5.vhdx" --logical-sector 4096 "$WORK/n5.vhdx" $((8 * M + 512))
refuse "size 0" "$WORK/n6.vhdx" "$WORK/n6.vhdx" 0
refuse "size over 64 TiB" "$WORK/n7.vhdx" "$WORK/n7.vhdx" 65T
refuse "log size not a 1M multiple" "$WORK/n8.vhdx" --log-size 1536K "$WORK/n8.vhdx" 8M
for n in 1 2 3 4 5 6 7 8; do
	if [[ -e $WORK/n$n.vhdx ]]; then notok "refused create left no file n$n" "$WORK/n$n.vhdx exists"; fi
done
if t "create --force replaces an existing file" "$VHDX" create --force "$WORK/exists.vhdx" 8M; then
	expect_rc "replaced image checks" 0 "$VHDX" check "$WORK/exists.vhdx"
fi
finish
