#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 90-ioerror: QEMU's blkdebug fails I/O under the module at the moments that matter: reading header 1 while
# validating, writing the first and the second session header, and writing a log replay.  Each time the console
# names the failure, the module returns without hanging and without starting the next stage, and the image still
# opens on the host afterwards (`vhdx check`), with its virtual-disk content unchanged.
source "$(dirname "$0")/lib/common.bash"
need_tools

# error_case NAME EVENT SECTOR [IMAGE-MAKER]: blkdebug fails EVENT ("read_aio" / "write_aio") at SECTOR
error_case() {
	new_case "$1"
	esp_shell_script \
		'vhdxboot.efi --next \payload.efi -- marker=SHOULD-NOT-RUN' \
		'echo SHELL-LASTERROR-IOERR %lasterror%'
	if [[ ${4:-} == dirty ]]; then
		bunzip2 -c "$FIXTURE" >"$C/d.vhdx"
	else
		make_vhdx "$C/d.vhdx" 64M
	fi
	cp "$C/d.vhdx" "$C/before.vhdx"
	printf '[inject-error]\nevent = "%s"\nerrno = "5"\nsector = "%s"\nonce = "off"\n' "$2" "$3" >"$C/blkdebug.conf"
	QEMU_EXTRA+=(-drive "if=none,id=dbg,format=raw,file=blkdebug:$C/blkdebug.conf:$C/d.vhdx" -device virtio-blk-pci,drive=dbg)
	with_rng
	boot_guest
	GUEST_RC=$?
	show_log
}

after_checks() { # NAME: the image opens and its virtual disk is what it was
	local n=$1
	expect "$n: guest finished (no hang)" test "$GUEST_RC" -eq 0
	expect "$n: payload not started" log_lacks 'PAYLOAD-MARKER'
	expect "$n: non-zero exit status" log_lacks '^SHELL-LASTERROR-IOERR 0x0$'
	expect "$n: image still opens on the host" "$VHDX" check "$C/d.vhdx"
	if "$VHDX" export "$C/before.vhdx" "$C/before.raw" && "$VHDX" export "$C/d.vhdx" "$C/after.raw" &&
		cmp -s "$C/before.raw" "$C/after.raw"; then
		ok "$n: virtual disk unchanged"
	else
		notok "$n: virtual disk unchanged" "export failed or the content differs"
	fi
	rm -f "$C/before.raw" "$C/after.raw"
}

FIXTURE=$ROOT/tests/fixtures/iotest-dirtylog-10G-4M.vhdx.bz2
VHDX=${VHDX:-$(cd "$ROOT" && realpath "${BUILD:-build}/host/vhdx")}

# header 1 sits at 64 KiB = sector 128, header 2 at 128 KiB = sector 256
error_case read-header1 read_aio 128
expect "read-header1: refusal names the I/O error" log_has '^vhdxboot: .*refused: I/O error: header 1'
expect "read-header1: nothing written" log_lacks '^vhdxboot: session update'
after_checks read-header1
unchanged "read-header1: image byte-identical" "$C/before.vhdx" "$C/d.vhdx"

# qemu-img makes header 2 current (sequence 1), so the first session write goes to header 1
error_case write-first-header write_aio 128
expect "write-first-header: failure named" log_has '^vhdxboot: .*session update failed: I/O error: header 1: write'
after_checks write-first-header

error_case write-second-header write_aio 256
expect "write-second-header: failure named" log_has '^vhdxboot: .*session update failed: I/O error: header 2: write'
after_checks write-second-header

# the fixture's log writes one sector at 2 MiB + 0 (its BAT); fail every write at 2 MiB: the replay stops after
# its first header update and the image opens with the log still pending (reads see it replayed)
error_case write-replay write_aio 4096 dirty
expect "write-replay: failure named" log_has '^vhdxboot: .*log replay failed: I/O error'
after_checks write-replay
expect "write-replay: log still pending afterwards" grep -q '"log_pending": *true' <("$VHDX" info --json "$C/d.vhdx")
