#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 91-bootcount: systemd-boot's boot assessment inside the VHDX, through vhdxboot's writable virtual disk.
#
# The image: a GPT disk whose EFI system partition holds systemd-boot (Debian's systemd-boot-efi) as the removable
# loader, the test payload, and two loader entries: good.conf (the old entry, blessed: no counter) and new+1.conf
# (one try left; its id "new" sorts before "good", so it is the default).  vhdxboot.conf says vdisk-write = yes.
#   count:    boot 1 - systemd-boot renames new+1.conf to new+0-1.conf on the ESP inside the image (a write through
#             the virtual disk, after vhdxboot gave the image a new DataWriteGuid) and boots NEW, which does not
#             bless itself (it powers off).  Boot 2 - no tries left: systemd-boot boots GOOD and writes nothing,
#             so the image gets one session update and nothing else.  After each boot, on the host: the entry names
#             on the inner ESP (mtools on `vhdx export`), `vhdx check` and `qemu-img check` clean, the DataWriteGuid
#             changed exactly when the disk was written, every byte outside the ESP unchanged.
#   absent:   the same, with random-seed-mode always and a loader/random-seed whose cluster lies in a block the
#             dynamic VHDX does not hold: systemd-boot's seed write is refused (EFI_WRITE_PROTECTED, a console line
#             naming the block and NOT_PRESENT) and the block stays absent; the rename before it went through.
#             OVMF's FAT driver then fails every later access of that volume, so systemd-boot returns the error
#             and the firmware moves on: an ESP that a loader writes belongs in present blocks.
#   seed:     the seed layout in a fixed image: systemd-boot rewrites loader/random-seed in place, NEW boots.
#   file:     the image as a file on a FAT volume (image = \d.vhdx): the rename reaches the file.
#   checkonly, pinned: vdisk-write = yes, but vhdxboot may not write (check-only) or the content is pinned
#             (require-sha256): the disk is presented read-only, the rename does not happen, the virtual disk's
#             SHA-256 is unchanged (check-only: the file is byte-identical).
source "$(dirname "$0")/lib/common.bash"
need_tools
source "$ROOT/tests/boot/lib/osparts.sh"
MKDISK=$ROOT/tests/boot/lib/mkdisk.py
VHDX=${VHDX:-$BUILD/host/vhdx}
if [[ ! -x $VHDX ]]; then
	notok setup "$VHDX not built"
	exit 1
fi
SDBOOT=/usr/lib/systemd/boot/efi/systemd-bootx64.efi
if [[ ! -r $SDBOOT ]]; then
	ensure_osparts "$BUILD/cache/os" || { notok setup "no systemd-boot (installed, or via apt-get download)"; exit 1; }
	SDBOOT=$BUILD/cache/os/systemd-bootx64.efi
fi
for t in mdir mshowfat sha256sum; do
	command -v "$t" >/dev/null || { notok setup "missing: $t"; exit 1; }
done

ESP_OFF=$((1 << 20))  # mkdisk.py puts the partition at 1 MiB
ESP_KIB=16384         # the FAT image's size

# esp_fat OUT SEED: the inner ESP; SEED=1 adds random-seed-mode always and loader/random-seed (512 zero bytes)
# after a 4 MiB file of zeros, so that the seed's 1 MiB block holds nothing but zeros and a dynamic VHDX leaves
# it out
esp_fat() {
	local out=$1 seed=$2 d
	d=$(dirname "$out")
	mkfs.vfat -C -n BOOTCOUNT "$out" "$ESP_KIB" >/dev/null
	mmd -i "$out" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries
	mcopy -i "$out" "$SDBOOT" ::/EFI/BOOT/BOOTX64.EFI
	mcopy -i "$out" "$EFI_PAYLOAD" ::/payload.efi
	{
		printf 'timeout 0\nconsole-mode keep\n'
		((seed)) && printf 'random-seed-mode always\n'
	} >"$d/loader.conf"
	printf 'title good\nefi /payload.efi\noptions marker=GOOD poweroff\n' >"$d/good.conf"
	printf 'title new\nefi /payload.efi\noptions marker=NEW poweroff\n' >"$d/new.conf"
	mcopy -i "$out" "$d/loader.conf" ::/loader/loader.conf
	mcopy -i "$out" "$d/good.conf" ::/loader/entries/good.conf
	mcopy -i "$out" "$d/new.conf" ::/loader/entries/new+1.conf
	if ((seed)); then
		head -c $((4 << 20)) /dev/zero >"$d/zeros.bin"
		head -c 512 /dev/zero >"$d/seed.bin"
		mcopy -i "$out" "$d/zeros.bin" ::/zeros.bin
		mcopy -i "$out" "$d/seed.bin" ::/loader/random-seed
	fi
}

# seed_offset FAT: the byte offset of loader/random-seed's first cluster inside the partition
seed_offset() {
	local c
	c=$(mshowfat -i "$1" ::/loader/random-seed | sed -n 's/.*<\([0-9]*\).*/\1/p')
	python3 - "$1" "$c" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read(512)
bps, spc, res, nfats, roots = struct.unpack_from("<HBHBH", b, 11)
fatsz = struct.unpack_from("<H", b, 22)[0]
data = res + nfats * fatsz + (roots * 32 + bps - 1) // bps
print((data + (int(sys.argv[2]) - 2) * spc) * bps)
PY
}

# block_state IMAGE VIRTUAL-OFFSET: the BAT state of the payload block holding that byte
block_state() {
	python3 - "$1" "$2" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.environ["ROOT"], "tests", "tools"))
import vhdxlib as V
buf = open(sys.argv[1], "rb").read(16 << 20)
print(V.get_bat(buf, V.bat_index(int(sys.argv[2]) >> 20, V.chunk_ratio(1 << 20, 512))) & 7)
PY
}

dwg() {
	python3 - "$1" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.environ["ROOT"], "tests", "tools"))
import vhdxlib as V
hs = V.read_headers(sys.argv[1])
print(V.guid_text(hs[V.current_header(hs)]["data_write_guid"]))
PY
}

# entries IMAGE: the names in loader/entries of the ESP inside the image, sorted, space-separated
entries() {
	"$VHDX" export "$1" "$C/view.raw" >/dev/null 2>&1 || { echo "(export failed)"; return; }
	mdir -b -i "$C/view.raw@@$ESP_OFF" ::/loader/entries 2>/dev/null | sed 's|.*/||' | sort | tr '\n' ' ' | sed 's/ $//'
}

# outside_same A.raw B.raw: the bytes before and after the ESP are identical
outside_same() {
	cmp -s -n "$ESP_OFF" "$1" "$2" &&
		cmp -s -i $((ESP_OFF + ESP_KIB * 1024)) "$1" "$2"
}

clean() { # NAME IMAGE: vhdx check and qemu-img check
	local out
	if out=$("$VHDX" check "$2" 2>&1); then ok "$1: vhdx check is clean"; else notok "$1: vhdx check is clean" "$(echo "$out" | tail -1)"; fi
	if out=$(qemu-img check -f vhdx "$2" 2>&1); then ok "$1: qemu-img check is clean"; else notok "$1: qemu-img check is clean" "$(echo "$out" | tail -1)"; fi
}

# build_image DIR SEED MODE: DIR/d.vhdx (MODE fixed or dynamic, 1 MiB blocks) from a 24 MiB GPT disk
build_image() {
	local dir=$1
	mkdir -p "$dir"
	esp_fat "$dir/part.fat" "$2"
	python3 "$MKDISK" "$dir/raw" 24 "$dir/part.fat" 512 >/dev/null &&
		"$VHDX" create "--$3" --block-size 1M --from "$dir/raw" "$dir/d.vhdx" >"$dir/make.log" 2>&1
}

config() { # LINES...: vhdxboot.conf beside the module
	esp_module_as_bootx64
	{ for l in "$@"; do printf '%s\r\n' "$l"; done; } >"$C/esp/EFI/BOOT/vhdxboot.conf"
}

WRITABLE_RE='^vhdxboot: virtual disk: [0-9]+ MiB, 512-byte sectors, writable \(present blocks, in place\)'
READONLY_RE='^vhdxboot: virtual disk: [0-9]+ MiB, 512-byte sectors, read-only'

# ---- count: boot 1 renames and boots NEW, boot 2 falls back to GOOD --------------------------------------------
new_case count
if ! build_image "$C/img" 0 fixed; then
	notok "setup: image" "$(tail -1 "$C/img/make.log")"
	exit 1
fi
config 'next = vhdx:' 'vdisk-write = yes'
cp "$C/img/d.vhdx" "$C/d.vhdx"
cp "$C/d.vhdx" "$C/boot0.vhdx"
"$VHDX" export "$C/boot0.vhdx" "$C/boot0.raw" >/dev/null
expect "count: setup: the inner ESP holds good.conf and new+1.conf" test "$(entries "$C/boot0.vhdx")" = "good.conf new+1.conf"
attach_virtio "$C/d.vhdx"
with_rng
boot_guest
show_log
grep -E 'entry|Failed|rror' "$C/log" | grep -v '^vhdxboot' | head -5 | sed 's/^/#   sd-boot: /'
expect "count 1: the virtual disk is presented writable" log_has "$WRITABLE_RE"
expect "count 1: the first write gave the image a new DataWriteGuid" \
	log_has '^vhdxboot: virtual disk: first write: DataWriteGuid [0-9A-F-]{36} -> [0-9A-F-]{36}, sequence'
expect "count 1: the handoff variable was set again after it" test "$(grep -c '^vhdxboot: handoff: ' "$C/log")" -ge 2
expect "count 1: systemd-boot booted the new entry (NEW)" log_has '^PAYLOAD-MARKER: NEW'
expect "count 1: no write was refused" log_lacks 'virtual disk: write of'
cp "$C/d.vhdx" "$C/boot1.vhdx"
expect "count 1: the inner ESP now has new+0-1.conf (the rename went through the virtual disk)" \
	test "$(entries "$C/boot1.vhdx")" = "good.conf new+0-1.conf"
cp "$C/view.raw" "$C/boot1.raw"
clean "count 1" "$C/boot1.vhdx"
expect "count 1: the DataWriteGuid changed (the disk was written)" test "$(dwg "$C/boot0.vhdx")" != "$(dwg "$C/boot1.vhdx")"
expect "count 1: every byte outside the ESP is unchanged" outside_same "$C/boot0.raw" "$C/boot1.raw"
expect "count 1: the entry's content is unchanged" \
	bash -c "mtype -i '$C/boot1.raw@@$ESP_OFF' ::/loader/entries/new+0-1.conf | cmp -s - '$C/img/new.conf'"
# boot 2, with the same firmware variables (a real machine's second boot)
boot_guest
show_log
expect "count 2: systemd-boot fell back to the blessed entry (GOOD)" log_has '^PAYLOAD-MARKER: GOOD'
expect "count 2: not NEW again" log_lacks '^PAYLOAD-MARKER: NEW'
expect "count 2: nothing was written through the virtual disk" log_lacks 'virtual disk: first write'
cp "$C/d.vhdx" "$C/boot2.vhdx"
expect "count 2: the entries are as boot 1 left them" test "$(entries "$C/boot2.vhdx")" = "good.conf new+0-1.conf"
clean "count 2" "$C/boot2.vhdx"
session_checked "count 2: one session update and nothing else (DataWriteGuid kept)" "$C/boot1.vhdx" "$C/boot2.vhdx"

# ---- absent: systemd-boot's random-seed write lands on a block the image does not hold ---------------------------
new_case absent
if ! build_image "$C/img" 1 dynamic; then
	notok "absent: setup: image" "$(tail -1 "$C/img/make.log")"
else
	seed=$((ESP_OFF + $(seed_offset "$C/img/part.fat")))
	config 'next = vhdx:' 'vdisk-write = yes'
	cp "$C/img/d.vhdx" "$C/d.vhdx"
	cp "$C/d.vhdx" "$C/boot0.vhdx"
	"$VHDX" export "$C/boot0.vhdx" "$C/boot0.raw" >/dev/null
	expect "absent: setup: loader/random-seed (virtual byte $seed) lies in a NOT_PRESENT block" \
		test "$(block_state "$C/d.vhdx" "$seed")" = 0
	attach_virtio "$C/d.vhdx"
	with_rng
	boot_guest
	show_log
	grep -Ei 'seed|Failed' "$C/log" | grep -v '^vhdxboot' | head -5 | sed 's/^/#   sd-boot: /'
	blk=$((seed >> 20))
	expect "absent: the seed write was refused (EFI_WRITE_PROTECTED), naming block $blk and NOT_PRESENT" \
		log_has "^vhdxboot: virtual disk: write of [0-9]+ bytes at block [0-9]+ refused \\(EFI_WRITE_PROTECTED\\): BAT: payload block $blk .*NOT_PRESENT.*nothing was written"
	expect "absent: systemd-boot saw the refusal" log_has 'Failed to (write|flush) random seed file: Write Protected'
	# OVMF's FAT driver keeps the sector it could not write dirty in its cache and fails the next access with the
	# same status, so systemd-boot cannot load the entry and returns; the firmware moves on to its next option
	expect "absent: the refusal ends systemd-boot's run (it returns EFI_WRITE_PROTECTED)" \
		log_has '^vhdxboot: \\EFI\\BOOT\\BOOTX64.EFI returned EFI_WRITE_PROTECTED'
	expect "absent: no entry was started with half-written data" log_lacks '^PAYLOAD-MARKER'
	expect "absent: the block is still NOT_PRESENT (nothing was written there)" test "$(block_state "$C/d.vhdx" "$seed")" = 0
	expect "absent: the rename still went through" test "$(entries "$C/d.vhdx")" = "good.conf new+0-1.conf"
	expect "absent: the seed reads as it did (zeros)" \
		bash -c "mtype -i '$C/view.raw@@$ESP_OFF' ::/loader/random-seed | cmp -s - '$C/img/seed.bin'"
	expect "absent: every byte outside the ESP is unchanged" outside_same "$C/boot0.raw" "$C/view.raw"
	clean "absent" "$C/d.vhdx"
fi

# ---- seed: the same seed layout in a fixed image (every block present): systemd-boot refreshes its seed ---------
new_case seed
if ! build_image "$C/img" 1 fixed; then
	notok "seed: setup: image" "$(tail -1 "$C/img/make.log")"
else
	config 'next = vhdx:' 'vdisk-write = yes'
	cp "$C/img/d.vhdx" "$C/d.vhdx"
	cp "$C/d.vhdx" "$C/boot0.vhdx"
	"$VHDX" export "$C/boot0.vhdx" "$C/boot0.raw" >/dev/null
	attach_virtio "$C/d.vhdx"
	with_rng
	boot_guest
	show_log
	expect "seed: systemd-boot booted NEW" log_has '^PAYLOAD-MARKER: NEW'
	expect "seed: no write was refused" log_lacks 'virtual disk: write of'
	expect "seed: the rename went through" test "$(entries "$C/d.vhdx")" = "good.conf new+0-1.conf"
	expect "seed: loader/random-seed was rewritten (no longer zeros)" \
		bash -c "mtype -i '$C/view.raw@@$ESP_OFF' ::/loader/random-seed | cmp -s - '$C/img/seed.bin'; test \$? = 1"
	expect "seed: the DataWriteGuid changed" test "$(dwg "$C/boot0.vhdx")" != "$(dwg "$C/d.vhdx")"
	expect "seed: every byte outside the ESP is unchanged" outside_same "$C/boot0.raw" "$C/view.raw"
	clean "seed" "$C/d.vhdx"
fi

# ---- file: the image is a file on a FAT volume (a second disk), written through the firmware's FAT driver --------
# every write through the virtual disk is flushed to the file before it returns (the outer FAT driver caches)
new_case file
if [[ -f $WORK/count/img/d.vhdx ]]; then
	mkfs.vfat -C -n OUTER "$C/outer.fat" 65536 >/dev/null
	mcopy -i "$C/outer.fat" "$WORK/count/img/d.vhdx" ::/d.vhdx
	config 'next = vhdx:' 'image = \d.vhdx' 'vdisk-write = yes'
	attach_virtio "$C/outer.fat"
	with_rng
	boot_guest
	show_log
	mcopy -n -i "$C/outer.fat" ::/d.vhdx "$C/d.vhdx"
	expect "file: the image was found as a file" log_has '^vhdxboot: image file \\d.vhdx on '
	expect "file: the virtual disk is presented writable" log_has "$WRITABLE_RE"
	expect "file: systemd-boot booted NEW" log_has '^PAYLOAD-MARKER: NEW'
	expect "file: the rename reached the file on the outer volume" test "$(entries "$C/d.vhdx")" = "good.conf new+0-1.conf"
	clean "file" "$C/d.vhdx"
	expect "file: the outer FAT is consistent (fsck.vfat -n)" fsck.vfat -n "$C/outer.fat"
fi

# ---- read-only modes: vdisk-write = yes, but the rule says no ----------------------------------------------------
readonly_case() { # NAME EXTRA-CONFIG-LINE WHY-REGEX
	local name=$1 extra=$2 why=$3
	new_case "$name"
	cp "$WORK/count/img/d.vhdx" "$C/d.vhdx"
	cp "$C/d.vhdx" "$C/before.vhdx"
	config 'next = vhdx:' 'vdisk-write = yes' "$extra"
	attach_virtio "$C/d.vhdx"
	with_rng
	boot_guest
	show_log
	expect "$name: the virtual disk is presented read-only" log_has "$READONLY_RE"
	expect "$name: the console says why" log_has "^vhdxboot: virtual disk: vdisk-write = yes, but read-only: $why"
	expect "$name: systemd-boot still booted NEW (it cannot count a try)" log_has '^PAYLOAD-MARKER: NEW'
	expect "$name: the rename did not happen" test "$(entries "$C/d.vhdx")" = "good.conf new+1.conf"
	local a b
	a=$("$VHDX" export "$C/before.vhdx" - | sha256sum)
	b=$("$VHDX" export "$C/d.vhdx" - | sha256sum)
	expect "$name: the virtual disk's SHA-256 is unchanged" test "$a" = "$b"
	expect "$name: the DataWriteGuid is unchanged" test "$(dwg "$C/before.vhdx")" = "$(dwg "$C/d.vhdx")"
}
if [[ -f $WORK/count/img/d.vhdx ]]; then
	readonly_case checkonly 'check-only = yes' 'vhdxboot wrote nothing this boot'
	unchanged "checkonly: the image file is byte-identical" "$C/before.vhdx" "$C/d.vhdx"
	sum=$("$VHDX" export "$WORK/count/img/d.vhdx" - | sha256sum | cut -c1-64)
	readonly_case pinned "require-sha256 = $sum" 'require-sha256/require-data-write-guid pin the content'
	session_checked "pinned: one session update and nothing else" "$C/before.vhdx" "$C/d.vhdx"
fi
