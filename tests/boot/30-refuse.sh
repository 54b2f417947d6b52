#!/usr/bin/env bash
# 30-refuse: images the module must refuse, without writing a byte: a corrupt BAT (with on-error stop the next
# stage does not start; with on-error continue it does, and the image is still untouched), and an image whose
# log needs a replay (QEMU's dirty-log sample).
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

# --- a log that must be replayed: refused, nothing written, nothing started
new_case dirtylog
esp_shell_script \
	'vhdxboot.efi --next \payload.efi -- marker=SHOULD-NOT-RUN' \
	'echo SHELL-LASTERROR-DIRTY %lasterror%'
fixture=$ROOT/tests/fixtures/iotest-dirtylog-10G-4M.vhdx.bz2
[[ -f $fixture ]] || fixture=/work/shared/fixtures/iotest-dirtylog-10G-4M.vhdx.bz2
if [[ ! -f $fixture ]]; then
	notok "dirty log: fixture" "iotest-dirtylog-10G-4M.vhdx.bz2 not found"
	exit 1
fi
bunzip2 -c "$fixture" >"$C/d.vhdx"
cp "$C/d.vhdx" "$C/before.vhdx"
attach_virtio "$C/d.vhdx"
with_rng
boot_guest
rc=$?
show_log
expect "dirty log: guest finished" test "$rc" -eq 0
expect "dirty log: refused with a reason" log_has '^vhdxboot: .*(refused|log).*(replay|log)'
expect "dirty log: payload not started" log_lacks 'PAYLOAD-MARKER'
expect "dirty log: no session update" log_lacks '^vhdxboot: session update'
expect "dirty log: non-zero exit status" log_lacks '^SHELL-LASTERROR-DIRTY 0x0$'
unchanged "dirty log: image byte-identical" "$C/before.vhdx" "$C/d.vhdx"
