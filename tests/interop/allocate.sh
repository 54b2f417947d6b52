#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/interop/allocate.sh - `vhdx allocate` against QEMU.
#
#   whole disk: a dynamic image made by qemu-img (1 MiB blocks) with data written by qemu-io at a few offsets;
#     after `vhdx allocate`: qemu-img check clean, qemu-img compare with the copy taken before says identical,
#     vhdx check clean, every block FULLY_PRESENT (info --json), DataWriteGuid kept, FileWriteGuid new, LogGuid
#     zero in both headers; a second run writes nothing; qemu-io still writes and reads the image.
#   a range (--range) and QEMU's default 32 MiB blocks: only the blocks the range touches become present.
#   a partition (--partition root): a GPT disk (sgdisk) converted by qemu-img; afterwards `vhdx map --rw` of
#     that partition is accepted (it was refused before) and the content equals the raw disk.
#   interrupted runs: the crash survivors that test_allocate saves (ALLOC_CRASH_DIR; every crash point of its
#     "file" scenario that leaves a pending log) are replayed by `qemu-img check -r all`: clean afterwards, the
#     same content as before the allocation, and the same BAT region as our own replay of that survivor.
#   a pending log is replayed first by `vhdx allocate`, then the allocation completes.
#   a loop device (when losetup works here): the new blocks are zeroed in the room after the image, the device
#     does not grow, and without room the run is refused and nothing changes.
set -u
SUITE=interop-allocate
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
require qemu-img qemu-io python3 sgdisk
mkwork allocate
UNIT=${UNIT_ALLOCATE:-$ROOT/${BUILD:-build}/tests/unit/test_allocate}

json() { # IMAGE PY-EXPR (d = the info JSON): prints the value
	"$VHDX" info --json "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$2"
}
cur_hdr='[c for c in d["headers"]["copies"] if c["current"]][0]'

# BATCMP A B: whether the BAT regions of two images (found through region table 1) hold the same bytes; prints
# the number of FULLY_PRESENT entries of B, or the difference
batcmp() {
	python3 - "$1" "$2" <<'EOF2'
import struct, sys
BAT = bytes.fromhex("6677c22d23f600429d64115e9bfd4a08")
def bat(path):
    with open(path, "rb") as f:
        f.seek(192 * 1024)
        t = f.read(64 * 1024)
        for i in range(struct.unpack_from("<I", t, 8)[0]):
            e = t[16 + 32 * i: 48 + 32 * i]
            if e[:16] == BAT:
                off, length = struct.unpack_from("<QI", e, 16)
                f.seek(off)
                return f.read(length)
    sys.exit("%s: no BAT region" % path)
a, b = bat(sys.argv[1]), bat(sys.argv[2])
present = sum(1 for i in range(0, len(b), 8) if b[i] & 7 == 6)
if a != b:
    sys.exit("BATs differ at byte %d; %d present in %s" % (next(i for i in range(len(a)) if a[i] != b[i]), present, sys.argv[2]))
print(present)
EOF2
}

# ---- whole disk ----
D=$WORK/d.vhdx
qemu-img create -q -f vhdx -o subformat=dynamic,block_size=1M "$D" 64M
qio "$D" 'write -P 0xab 0 100k' 'write -P 0xcd 10M 3M' 'write -P 0x5e 33M 4k' 'write -P 0x11 63M 1M'
cp "$D" "$WORK/pre.vhdx"
present_before=$(json "$D" 'd["bat"]["states"]["fully_present"]')
if "$VHDX" allocate "$D" >"$WORK/out" 2>&1 && grep -q "allocated $((64 - present_before)) blocks" "$WORK/out"; then
	ok "whole: allocates the $((64 - present_before)) absent blocks"
else
	notok "whole: allocates the $((64 - present_before)) absent blocks" "$(oneline <"$WORK/out")"
fi
t "whole: qemu-img check clean" qemu-img check -f vhdx "$D"
t "whole: qemu-img compare with the image before: identical" qemu-img compare -f vhdx -F vhdx "$WORK/pre.vhdx" "$D"
t "whole: vhdx check clean" "$VHDX" check "$D"
got=$(json "$D" 'd["bat"]["states"]["fully_present"]')
if [[ $got == 64 ]]; then ok "whole: every block FULLY_PRESENT"; else notok "whole: every block FULLY_PRESENT" "$got of 64"; fi
if [[ $(json "$D" "$cur_hdr[\"data_write_guid\"]") == $(json "$WORK/pre.vhdx" "$cur_hdr[\"data_write_guid\"]") &&
	$(json "$D" "$cur_hdr[\"file_write_guid\"]") != $(json "$WORK/pre.vhdx" "$cur_hdr[\"file_write_guid\"]") ]]; then
	ok "whole: DataWriteGuid kept, FileWriteGuid new"
else
	notok "whole: DataWriteGuid kept, FileWriteGuid new" "$(json "$D" 'd["headers"]')"
fi
if [[ $(json "$D" '[c["log_guid"] for c in d["headers"]["copies"]]') == "['00000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-000000000000']" ]]; then
	ok "whole: LogGuid zero in both headers"
else
	notok "whole: LogGuid zero in both headers" "$(json "$D" 'd["headers"]')"
fi
sum=$(sha "$D")
if "$VHDX" allocate "$D" >"$WORK/out" 2>&1 && grep -q "nothing was written" "$WORK/out" && [[ $(sha "$D") == "$sum" ]]; then
	ok "whole: a second run writes nothing"
else
	notok "whole: a second run writes nothing" "$(oneline <"$WORK/out")"
fi
if qio "$D" 'write -P 0x42 20M 64k' && qemu-io -f vhdx -c 'read -P 0x42 20M 64k' -c 'read -P 0 21M 64k' "$D" >"$WORK/out" 2>&1 &&
	! grep -q 'Pattern verification failed' "$WORK/out" && qemu-img check -f vhdx "$D" >/dev/null 2>&1; then
	ok "whole: qemu-io writes into an allocated block and reads it back"
else
	notok "whole: qemu-io writes into an allocated block and reads it back" "$(oneline <"$WORK/out")"
fi

# ---- a range, QEMU's default block size ----
R=$WORK/r.vhdx
qemu-img create -q -f vhdx "$R" 256M
qio "$R" 'write -P 0x77 200M 4k'
cp "$R" "$WORK/rpre.vhdx"
bs=$(json "$R" 'd["metadata"]["block_size"]' 2>/dev/null || echo "?")
if "$VHDX" allocate --range 40M:30M "$R" >"$WORK/out" 2>&1; then
	want=$(python3 -c "bs=$bs; print((70*2**20-1)//bs - (40*2**20)//bs + 1 + 1)" 2>/dev/null)
	got=$(json "$R" 'd["bat"]["states"]["fully_present"]')
	if [[ $got == "$want" ]]; then ok "range: only the blocks 40M..70M touches (block size $bs)"; else
		notok "range: only the blocks 40M..70M touches (block size $bs)" "$got present, expected $want"; fi
else
	notok "range: allocate --range 40M:30M" "$(oneline <"$WORK/out")"
fi
t "range: qemu-img check clean" qemu-img check -f vhdx "$R"
t "range: content identical" qemu-img compare -f vhdx -F vhdx "$WORK/rpre.vhdx" "$R"
expect_rc "range: beyond the disk is refused (exit 1)" 1 "$VHDX" allocate --range 250M:10M "$R"
expect_rc "range: malformed (exit 2)" 2 "$VHDX" allocate --range 40M "$R"

# ---- a partition of the GPT inside ----
RAW=$WORK/gpt.raw
truncate -s 64M "$RAW"
if sgdisk -n 1:2048:34815 -t 1:EF00 -n 2:34816:0 -t 2:8304 "$RAW" >"$WORK/out" 2>&1; then
	printf 'root data' | dd of="$RAW" bs=1 seek=$((40 * 1024 * 1024)) conv=notrunc status=none
	P=$WORK/p.vhdx
	qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=1M "$RAW" "$P"
	expect_rc "partition: vhdx map --rw refuses the root partition before" 1 \
		"$VHDX" map --partition root --rw --device /dev/loop7 "$P"
	if "$VHDX" allocate --partition root "$P" >"$WORK/out" 2>&1; then
		ok "partition: allocate --partition root"
	else
		notok "partition: allocate --partition root" "$(oneline <"$WORK/out")"
	fi
	t "partition: vhdx map --rw accepts it after" "$VHDX" map --partition root --rw --device /dev/loop7 "$P"
	expect_rc "partition: the ESP is still not all present" 1 "$VHDX" map --partition esp --rw --device /dev/loop7 "$P"
	t "partition: content equals the raw disk" qemu-img compare -f raw -F vhdx "$RAW" "$P"
	t "partition: qemu-img check clean" qemu-img check -f vhdx "$P"
	expect_rc "partition: no such partition (exit 1)" 1 "$VHDX" allocate --partition 7 "$P"
else
	notok "partition: sgdisk" "$(oneline <"$WORK/out")"
fi

# ---- interrupted runs (unit-test survivors) replayed by QEMU ----
C=$WORK/crash
mkdir -p "$C"
if [[ ! -x $UNIT ]]; then
	notok "crash: survivors" "$UNIT missing (make test-build)"
elif ! ALLOC_CRASH_DIR=$C "$UNIT" >"$WORK/unit.out" 2>&1; then
	notok "crash: survivors" "test_allocate failed: $(grep '^not ok' "$WORK/unit.out" | head -2 | oneline)"
else
	n=0
	for f in "$C"/file-cut-*.vhdx; do
		[[ -f $f ]] || continue
		n=$((n + 1))
		b=$(basename "$f" .vhdx)
		cp "$f" "$C/q.vhdx"
		cp "$f" "$C/v.vhdx"
		if ! qemu-img check -r all -f vhdx "$C/q.vhdx" >"$WORK/out" 2>&1 || ! qemu-img check -f vhdx "$C/q.vhdx" >>"$WORK/out" 2>&1; then
			notok "crash $b: qemu-img check -r all replays it, clean afterwards" "$(oneline <"$WORK/out")"
			continue
		fi
		"$VHDX" replay "$C/v.vhdx" >/dev/null 2>&1
		if ! qemu-img compare -f vhdx -F vhdx "$C/file-orig.vhdx" "$C/q.vhdx" >"$WORK/out" 2>&1; then
			notok "crash $b: QEMU's replay keeps the content" "$(oneline <"$WORK/out")"
		elif ! present=$(batcmp "$C/v.vhdx" "$C/q.vhdx" 2>&1); then
			notok "crash $b: QEMU's replay gives the BAT ours gives" "$present"
		else
			ok "crash $b: qemu-img check -r all replays it: clean, same content, same BAT as our replay ($present present)"
		fi
	done
	if ((n >= 8)); then ok "crash: $n survivors with a pending log"; else notok "crash: survivors" "only $n saved"; fi
	# a pending log: allocate replays it first, then completes
	if [[ -f $C/file-cut-10.vhdx ]]; then
		cp "$C/file-cut-10.vhdx" "$C/a.vhdx"
		if "$VHDX" allocate --range 509M:6M "$C/a.vhdx" >"$WORK/out" 2>&1 && grep -q "replayed 1 log entries first" "$WORK/out" &&
			qemu-img check -f vhdx "$C/a.vhdx" >/dev/null 2>&1 &&
			qemu-img compare -f vhdx -F vhdx "$C/file-orig.vhdx" "$C/a.vhdx" >/dev/null 2>&1; then
			ok "pending log: allocate replays it first, then completes (qemu-img check clean, content kept)"
		else
			notok "pending log: allocate replays it first, then completes" "$(oneline <"$WORK/out")"
		fi
	fi
fi

# ---- a block device (loop) ----
LOOPF=$WORK/loop.img
qemu-img create -q -f vhdx -o subformat=dynamic,block_size=1M "$WORK/l.vhdx" 16M
qio "$WORK/l.vhdx" 'write -P 0x99 5M 8k'
size=$(stat -c %s "$WORK/l.vhdx")
cp "$WORK/l.vhdx" "$LOOPF"
truncate -s $((size + 14 * 1024 * 1024)) "$LOOPF" # room for 14 blocks: one short of the 15 absent ones
python3 -c 'import sys; f=open(sys.argv[1],"r+b"); f.seek(int(sys.argv[2])); f.write(b"\xaa"*(14<<20))' "$LOOPF" "$size"
LOOP=$(losetup --find --show "$LOOPF" 2>/dev/null)
if [[ -z $LOOP || ! -b $LOOP ]]; then
	skip "loop device" "losetup does not work here"
else
	trap 'losetup -d "$LOOP" 2>/dev/null; rm -rf "$WORK"' EXIT
	sum=$(sha "$LOOPF")
	"$VHDX" allocate "$LOOP" >"$WORK/out" 2>&1
	rc=$?
	if ((rc == 1)) && grep -q "bytes short; nothing was written" "$WORK/out" && [[ $(sha "$LOOPF") == "$sum" ]]; then
		ok "loop: one block short: refused, nothing written ($(grep -o '[0-9]* bytes short' "$WORK/out"))"
	else
		notok "loop: one block short: refused, nothing written" "exit $rc: $(oneline <"$WORK/out")"
	fi
	losetup -d "$LOOP"
	truncate -s $((size + 16 * 1024 * 1024)) "$LOOPF"
	LOOP=$(losetup --find --show "$LOOPF")
	if "$VHDX" allocate "$LOOP" >"$WORK/out" 2>&1 && grep -q "bytes of free space zeroed" "$WORK/out"; then
		ok "loop: allocates in the room after the image, zeroing it"
	else
		notok "loop: allocates in the room after the image, zeroing it" "$(oneline <"$WORK/out")"
	fi
	losetup -d "$LOOP"
	trap 'rm -rf "$WORK"' EXIT
	if [[ $(stat -c %s "$LOOPF") == $((size + 16 * 1024 * 1024)) ]]; then ok "loop: the device did not grow"; else
		notok "loop: the device did not grow" "size $(stat -c %s "$LOOPF")"; fi
	t "loop: qemu-img check clean" qemu-img check -f vhdx "$LOOPF"
	t "loop: content identical (zeros, not the 0xAA that was there)" qemu-img compare -f vhdx -F vhdx "$WORK/l.vhdx" "$LOOPF"
	got=$(json "$LOOPF" 'd["bat"]["states"]["fully_present"]')
	if [[ $got == 16 ]]; then ok "loop: every block present"; else notok "loop: every block present" "$got of 16"; fi
fi

finish
