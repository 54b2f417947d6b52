#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 20-shell: vhdxboot.efi typed at the UEFI Shell (startup.nsh): arguments, "--" passing the rest to the next
# stage, the next stage's status coming back as %lasterror%, command line over config, --help, a bad option,
# and a second run doing a second session update.
source "$(dirname "$0")/lib/common.bash"
need_tools

new_case shell
esp_shell_script \
	'vhdxboot.efi --next \payload.efi -- alpha "beta gamma" error=14' \
	'echo SHELL-LASTERROR-1 %lasterror%' \
	'vhdxboot.efi next=\payload.efi -- second status=0' \
	'echo SHELL-LASTERROR-2 %lasterror%' \
	'vhdxboot.efi --help' \
	'echo SHELL-LASTERROR-3 %lasterror%' \
	'vhdxboot.efi --bogus' \
	'echo SHELL-LASTERROR-4 %lasterror%'
# a config beside the module that the command line overrides
printf 'next = \\nonexistent.efi\r\nargs = from-config\r\n' >"$C/esp/vhdxboot.conf"
make_vhdx "$C/d.vhdx" 64M
cp "$C/d.vhdx" "$C/before.vhdx"
attach_virtio "$C/d.vhdx"
with_rng
boot_guest
rc=$?
show_log
expect "shell ran startup.nsh and powered off" test "$rc" -eq 0
expect "arguments after -- reach the payload" log_has '^PAYLOAD-OPTIONS: \[alpha "beta gamma" error=14\]'
expect "payload status reported by the module" log_has '^vhdxboot: \\payload.efi returned EFI_NOT_FOUND'
expect "module returns the payload's status (lasterror 0xE)" log_has '^SHELL-LASTERROR-1 0xE'
expect "key=value form and second run" log_has '^PAYLOAD-OPTIONS: \[second status=0\]'
expect "second run returns success" log_has '^SHELL-LASTERROR-2 0x0'
expect "--help prints usage" log_has '^usage: vhdxboot.efi'
expect "--bogus refused with EFI_INVALID_PARAMETER" log_has '^SHELL-LASTERROR-4 0x2'
expect "command line wins over the config" log_lacks 'nonexistent.efi'
n=$(grep -c '^vhdxboot: session update: ' "$C/log")
expect "two runs, two session updates" test "$n" -eq 2
# two updates: the sequence rose by 4; check the second step against a copy of the first
python3 - "$C/before.vhdx" "$C/d.vhdx" <<'PY' && ok "image: sequence +4 after two runs, both headers valid" || notok "image: sequence +4 after two runs" "see above"
import sys, os
sys.path.insert(0, os.path.join(os.environ.get("ROOT", "."), "tests", "tools"))
import vhdxlib
b = vhdxlib.read_headers(sys.argv[1]); a = vhdxlib.read_headers(sys.argv[2])
old = b[vhdxlib.current_header(b)]["sequence"]
ok = all(h["valid"] for h in a) and sorted(h["sequence"] for h in a) == [old + 3, old + 4]
if not ok: print("headers after:", [(h["valid"], h["sequence"]) for h in a], "old", old)
sys.exit(0 if ok else 1)
PY

# --- raw LoadOptions (no Shell parameters): vhdxboot chainloads vhdxboot; the inner one parses its LoadOptions
new_case nested
esp_shell_script 'vhdxboot.efi --check-only --next \vhdxboot.efi -- --next \payload.efi -- marker=NESTED "two words"'
make_vhdx "$C/d.vhdx" 64M
cp "$C/d.vhdx" "$C/before.vhdx"
attach_virtio "$C/d.vhdx"
with_rng
boot_guest
show_log
expect "nested: outer run is check-only" log_has '^vhdxboot: check-only: writing nothing'
expect "nested: inner vhdxboot gets its options as LoadOptions" log_has '^vhdxboot: starting \\vhdxboot.efi with options "--next \\payload.efi -- marker=NESTED \"two words\""'
expect "nested: inner vhdxboot passes the rest on, quoting kept" log_has '^PAYLOAD-OPTIONS: \[marker=NESTED "two words"\]'
expect "nested: statuses come back through both" log_has '^SHELL-LASTERROR 0x0'
session_checked "nested: one session update (by the inner run)" "$C/before.vhdx" "$C/d.vhdx"
