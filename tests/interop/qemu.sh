#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/interop/qemu.sh - images made by qemu-img and written by qemu-io, read and updated by `vhdx`.
#
# For each image of the matrix (fixed with ZERO or FULLY_PRESENT blocks, and dynamic; block sizes 1 to 256 MiB; log sizes 1 and 8 MiB; virtual sizes
# that are not multiples of the block size; data written at unaligned offsets, across block boundaries, into the
# last partial block and across the 4 GiB sector-bitmap chunk boundary):
#   vhdx check exits 0 and writes nothing; vhdx info --json agrees with an independent parse; vhdx export is
#   byte-identical to qemu-img convert -O raw; after vhdx session on the image (a copy was taken before):
#   qemu-img check is clean, qemu-img compare with the copy finds them identical, and the header audit
#   (tests/tools/hdrcheck.py) passes; a second session raises the sequence numbers again.
# QUICK=1 leaves out the multi-GiB images.
set -u
SUITE=interop-qemu
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
require qemu-img qemu-io python3 cmp
mkwork qemu

K=1024
M=$((1024 * K))
G=$((1024 * M))

# image NAME SUBFORMAT BLOCK LOG VSIZE [EXTRA-WRITES...]   (BLOCK/LOG 0: qemu's default)
image() {
	local name=$1 sub=$2 bs=$3 log=$4 vs=$5
	shift 5
	local img=$WORK/$name.vhdx pre=$WORK/$name.pre.vhdx out=$WORK/$name.out.raw ref=$WORK/$name.ref.raw
	local opts="subformat=${sub%-full}" t0=$SECONDS
	# fixed-full: blocks FULLY_PRESENT (QEMU's default for fixed images marks them ZERO)
	[[ $sub == fixed-full ]] && opts+=",block_state_zero=off"
	((bs)) && opts+=",block_size=$bs"
	((log)) && opts+=",log_size=$log"
	if ! qemu-img create -q -f vhdx -o "$opts" "$img" "$vs" >"$WORK/err" 2>&1; then
		notok "$name: qemu-img create" "$(oneline <"$WORK/err")"
		return
	fi
	((bs)) || bs=$((32 * M))
	# qemu-io writes: unaligned, across block 0/1, into the last partial block, mid-disk, zeros inside data
	local w=("write -P 0x5a 12345 70000" "write -P 0x00 12845 1000" "write -P 0x3c $((vs - 3000)) 3000"
		"write -P 0x11 $((vs / 2 + 333)) 100000")
	((bs + 4000 < vs)) && w+=("write -P 0xa5 $((bs - 1000)) 5000")
	local tail=$((vs % bs < 777 ? vs % bs : 777))
	((tail && vs / bs * bs >= 777)) && w+=("write -P 0xe7 $((vs / bs * bs - 777)) $((777 + tail))")
	w+=("$@")
	if ! qio "$img" "${w[@]}" 2>"$WORK/err"; then
		notok "$name: qemu-io writes" "$(oneline <"$WORK/err")"
		return
	fi

	cp --sparse=always "$img" "$pre"
	expect_rc "$name: vhdx check" 0 "$VHDX" check "$img"
	if cmp -s "$img" "$pre"; then ok "$name: check wrote nothing"; else notok "$name: check wrote nothing" "file changed"; fi
	if "$VHDX" info --json "$img" >"$WORK/info.json" 2>"$WORK/err"; then
		python3 "$TOOLS/infocheck.py" --name "$name: info --json" "$img" "$WORK/info.json"
	else
		notok "$name: info --json" "exit $?: $(oneline <"$WORK/err")"
	fi

	qemu-img convert -f vhdx -O raw "$img" "$ref"
	if "$VHDX" export "$img" "$out" 2>"$WORK/err"; then
		if python3 "$TOOLS/sparsecmp.py" "$out" "$ref" >"$WORK/cmp" 2>&1; then
			ok "$name: export = qemu-img convert"
		else
			notok "$name: export = qemu-img convert" "$(oneline <"$WORK/cmp")"
		fi
	else
		notok "$name: export = qemu-img convert" "export failed: $(oneline <"$WORK/err")"
	fi
	rm -f "$out"
	if [[ $name == dyn-1M-log1M || $name == fix-1M* ]]; then
		# to standard output too
		if "$VHDX" export "$img" - 2>"$WORK/err" | cmp - "$ref" >"$WORK/cmp" 2>&1; then
			ok "$name: export to stdout = qemu-img convert"
		else
			notok "$name: export to stdout = qemu-img convert" "$(oneline <"$WORK/cmp") $(oneline <"$WORK/err")"
		fi
	fi
	rm -f "$ref"

	if expect_rc "$name: vhdx session" 0 "$VHDX" session "$img"; then
		if qemu-img check -f vhdx "$img" >"$WORK/qc" 2>&1 && grep -q "No errors" "$WORK/qc"; then
			ok "$name: qemu-img check after session"
		else
			notok "$name: qemu-img check after session" "$(oneline <"$WORK/qc")"
		fi
		if qemu-img compare -q -f vhdx -F vhdx "$pre" "$img" >"$WORK/qc" 2>&1; then
			ok "$name: qemu-img compare with the pre-session copy"
		else
			notok "$name: qemu-img compare with the pre-session copy" "$(oneline <"$WORK/qc")"
		fi
		python3 "$TOOLS/hdrcheck.py" --name "$name: session" "$pre" "$img" || FAILS=$((FAILS + 1))
		expect_rc "$name: vhdx check after session" 0 "$VHDX" check "$img"
		if expect_rc "$name: second vhdx session" 0 "$VHDX" session "$img"; then
			python3 "$TOOLS/hdrcheck.py" --sessions 2 --name "$name: second session" "$pre" "$img" ||
				FAILS=$((FAILS + 1))
		fi
	fi
	rm -f "$img" "$pre"
	echo "# $name: $((SECONDS - t0))s"
}

#     name            format   block    log     virtual size
image dyn-1M-log1M    dynamic  $M       $M      $((100 * M + 512))
image dyn-2M-log8M    dynamic  $((2 * M)) $((8 * M)) $((37 * M + 1536))
image dyn-4M          dynamic  $((4 * M)) $M    $((50 * M + 4608))
image dyn-8M-log8M    dynamic  $((8 * M)) $((8 * M)) $((63 * M + 512))
image dyn-16M         dynamic  $((16 * M)) $M   $((100 * M + 3584))
image dyn-default     dynamic  0        0       $((96 * M + 512))
image dyn-64M-log8M   dynamic  $((64 * M)) $((8 * M)) $((200 * M + 512))
image dyn-128M        dynamic  $((128 * M)) $M  $((130 * M + 512))
image dyn-256M        dynamic  $((256 * M)) $M  $((300 * M + 512))
image fix-1M-full     fixed-full $M       $M      $((20 * M + 512))
image fix-4M-log8M    fixed    $((4 * M)) $((8 * M)) $((30 * M + 512))
image fix-32M-full    fixed-full $((32 * M)) $M $((65 * M + 512))
image fix-256M        fixed    $((256 * M)) $M  $((200 * M + 512))
if [[ ${QUICK:-0} != 1 ]]; then
	# past the first sector-bitmap entry: with 512-byte sectors one chunk is 4 GiB whatever the block size
	image dyn-1M-4G   dynamic  $M       $M      $((4 * G + 8 * M + 512)) "write -P 0x42 $((4 * G - 5000)) 10000" \
		"write -P 0x43 $((4 * G + 3 * M + 17)) 4000"
	image dyn-256M-4G dynamic  $((256 * M)) $((8 * M)) $((4 * G + 300 * M + 512)) "write -P 0x44 $((4 * G - 1)) 2"
fi
finish
