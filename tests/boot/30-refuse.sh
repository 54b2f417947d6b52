#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 30-refuse: a corrupt BAT the module must refuse without writing a byte (with on-error stop the next stage does
# not start; with on-error continue it does, and the image is still untouched); and an image whose log needs a
# replay (QEMU's dirty-log sample): replayed at boot to QEMU's result, or, with --check-only, booted through the
# in-memory replay without a write.
source "$(dirname "$0")/lib/common.bash"
need_tools

# --- a corrupt image: BAT entry 0 FULLY_PRESENT at 1 TiB, far beyond the end of the file
new_case corrupt
esp_shell_script \
	'vhdxboot.efi --next \payload.efi -- marker=SHOULD-NOT-RUN' \
	'echo SHELL-LASTERROR-STOP %lasterror%' \
	'vhdxboot.efi --on-error continue --next \payload.efi -- marker=CONTINUED status=0' \
	'echo SHELL-LASTERROR-CONTINUE %lasterror%'
make_vhdx "$C/d.vhdx" 64M
python3 - "$C/d.vhdx" <<'PY'
import sys, os
sys.path.insert(0, os.path.join(os.environ["ROOT"], "tests", "tools"))
import vhdxlib
buf = bytearray(open(sys.argv[1], "rb").read())
vhdxlib.set_bat(buf, 0, (1 << 40) | 6)
open(sys.argv[1], "wb").write(buf)
PY
cp "$C/d.vhdx" "$C/before.vhdx"
attach_virtio "$C/d.vhdx"
with_rng
boot_guest
rc=$?
show_log
expect "corrupt: guest finished" test "$rc" -eq 0
expect "corrupt: refusal names the image and the reason" log_has '^vhdxboot: PciRoot.*: refused: .*: .*BAT'
expect "corrupt: summary says the next stage was not started" log_has 'next \\payload.efi \(not started: the image was refused\)'
expect "corrupt: with on-error stop the payload does not run" log_lacks 'PAYLOAD-MARKER: SHOULD-NOT-RUN'
expect "corrupt: exit status EFI_VOLUME_CORRUPTED (0xA)" log_has '^SHELL-LASTERROR-STOP 0xA'
expect "corrupt: with on-error continue the payload runs" log_has '^PAYLOAD-MARKER: CONTINUED'
expect "corrupt: on-error continue is announced" log_has '^vhdxboot: on-error continue: starting the next stage anyway'
expect "corrupt: with continue the payload's status comes back" log_has '^SHELL-LASTERROR-CONTINUE 0x0'
expect "corrupt: no session update attempted" log_lacks '^vhdxboot: session update'
unchanged "corrupt: image byte-identical" "$C/before.vhdx" "$C/d.vhdx"

# --- a log that must be replayed: the module replays it, then the session update, then the next stage
new_case dirtylog
esp_shell_script \
	'vhdxboot.efi --next \payload.efi -- marker=REPLAYED' \
	'echo SHELL-LASTERROR-DIRTY %lasterror%'
fixture=$ROOT/tests/fixtures/iotest-dirtylog-10G-4M.vhdx.bz2
[[ -f $fixture ]] || fixture=/work/shared/fixtures/iotest-dirtylog-10G-4M.vhdx.bz2
if [[ ! -f $fixture ]]; then
	notok "dirty log: fixture" "iotest-dirtylog-10G-4M.vhdx.bz2 not found"
	exit 1
fi
bunzip2 -c "$fixture" >"$C/d.vhdx"
cp "$C/d.vhdx" "$C/before.vhdx"
# QEMU's own replay of a copy is the reference content
cp "$C/d.vhdx" "$C/qemu.vhdx"
qemu-img check -q -r all -f vhdx "$C/qemu.vhdx" >/dev/null 2>&1
attach_virtio "$C/d.vhdx"
with_rng
boot_guest
rc=$?
show_log
expect "dirty log: guest finished" test "$rc" -eq 0
expect "dirty log: pending log announced" log_has '^vhdxboot: log pending: 1 entries'
expect "dirty log: replayed at boot" log_has '^vhdxboot: log replay: 1 entries applied'
expect "dirty log: session update after the replay" log_has '^vhdxboot: session update: sequence'
expect "dirty log: payload started" log_has '^PAYLOAD-MARKER: REPLAYED'
expect "dirty log: exit status 0" log_has '^SHELL-LASTERROR-DIRTY 0x0$'
expect "dirty log: QEMU opens the image read-only without a replay" qemu-io -r -f vhdx -c 'read 0 512' "$C/d.vhdx"
expect "dirty log: qemu-img check clean" qemu-img check -q -f vhdx "$C/d.vhdx"
expect "dirty log: content equals QEMU's replay" qemu-img compare -q -f vhdx -F vhdx "$C/qemu.vhdx" "$C/d.vhdx"

# --- the same image with --check-only: booted through the in-memory replay, not one byte written
new_case dirtylog-checkonly
esp_shell_script \
	'vhdxboot.efi --check-only --next \payload.efi -- marker=READ-ONLY-BOOT' \
	'echo SHELL-LASTERROR-DIRTYRO %lasterror%'
bunzip2 -c "$fixture" >"$C/d.vhdx"
cp "$C/d.vhdx" "$C/before.vhdx"
attach_virtio "$C/d.vhdx"
with_rng
boot_guest
rc=$?
show_log
expect "dirty log, check-only: guest finished" test "$rc" -eq 0
expect "dirty log, check-only: pending log announced" log_has '^vhdxboot: log pending: 1 entries'
expect "dirty log, check-only: no replay" log_lacks '^vhdxboot: log replay'
expect "dirty log, check-only: no session update" log_lacks '^vhdxboot: session update'
expect "dirty log, check-only: payload started" log_has '^PAYLOAD-MARKER: READ-ONLY-BOOT'
unchanged "dirty log, check-only: image byte-identical" "$C/before.vhdx" "$C/d.vhdx"
