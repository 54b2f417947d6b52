#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# scripts/demo.sh - `make demo`: vhdxboot end to end under QEMU, headless, on this terminal.
#
# Installs what is missing (tests/deps.sh), builds, makes a demo VHDX (the project's `vhdx create`, else
# qemu-img) and an ESP folder with vhdxboot.efi as \EFI\BOOT\BOOTX64.EFI, a vhdxboot.conf and the test payload,
# boots Debian's OVMF under QEMU (TCG), shows the module find the image, validate it, do the session update and
# chainload the payload, which prints its options and powers the machine off.  Then compares the headers.
# Environment: BUILD (default build), DEMO_DIR (default $BUILD/demo), DEMO_TIMEOUT seconds (default 120).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DEMO_DIR=${DEMO_DIR:-$BUILD/demo}
DEMO_TIMEOUT=${DEMO_TIMEOUT:-120}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "dependencies"
if [[ -f tests/deps.sh ]]; then
	bash tests/deps.sh
fi

step "build"
make --no-print-directory -s all
VHDX=$BUILD/host/vhdx
ls -l "$BUILD/efi/vhdxboot.efi" "$BUILD/efi/payload.efi"

step "a demo VHDX and an ESP"
rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR/esp/EFI/BOOT"
img=$DEMO_DIR/demo.vhdx
if [[ -x $VHDX ]]; then
	"$VHDX" create --block-size 1M "$img" 256M
else
	qemu-img create -f vhdx -o block_size=1M "$img" 256M
	VHDX=
fi
cp "$BUILD/efi/vhdxboot.efi" "$DEMO_DIR/esp/EFI/BOOT/BOOTX64.EFI"
cp "$BUILD/efi/payload.efi" "$DEMO_DIR/esp/payload.efi"
printf '# vhdxboot.conf: the next stage, and what it is told\r\nnext = \\payload.efi\r\nargs = hello from vhdxboot marker=DEMO poweroff\r\n' \
	>"$DEMO_DIR/esp/EFI/BOOT/vhdxboot.conf"
printf '@echo -off\r\nreset -s\r\n' >"$DEMO_DIR/esp/startup.nsh"
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$DEMO_DIR/vars.fd"
echo "ESP:"
find "$DEMO_DIR/esp" -type f | sed "s|^$DEMO_DIR/esp|  |"
echo "vhdxboot.conf:"
sed 's/\r$//; s/^/  /' "$DEMO_DIR/esp/EFI/BOOT/vhdxboot.conf"

headers() {
	if [[ -n $VHDX ]]; then
		"$VHDX" info "$img" | grep -E '^(header [12]|  file write guid|current header)'
	else
		python3 tests/tools/vhdxlib.py headers "$img" | grep -E '"(sequence|file_write_guid)"'
	fi
}
step "headers before the boot"
headers | tee "$DEMO_DIR/before.txt"
cp "$img" "$DEMO_DIR/before.vhdx"

step "booting OVMF (QEMU, TCG, headless; serial console below)"
set +e
timeout --kill-after=10 "$DEMO_TIMEOUT" qemu-system-x86_64 \
	-machine q35,accel=tcg -cpu max -m 256 -nographic -nic none -no-reboot \
	-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
	-drive "if=pflash,format=raw,unit=1,file=$DEMO_DIR/vars.fd" \
	-drive "format=raw,file=fat:rw:$DEMO_DIR/esp" \
	-drive "if=none,id=vhdx,format=raw,file=$img" -device virtio-blk-pci,drive=vhdx \
	-device virtio-rng-pci </dev/null 2>&1 |
	tee "$DEMO_DIR/serial.log" |
	sed -u -e 's/\x1b\[[0-9;?=]*[A-Za-z]//g' -e 's/\r//g' |
	grep --line-buffered -E '^(BdsDxe: (loading|starting)|vhdxboot:|PAYLOAD-)' | sed -u 's/^/  | /'
rc=${PIPESTATUS[0]}
set -e
echo "QEMU exit status: $rc"

step "headers after the boot"
headers | tee "$DEMO_DIR/after.txt"
echo
ok=1
if python3 tests/boot/lib/imgcheck.py session "$DEMO_DIR/before.vhdx" "$img"; then
	echo "host-side check: both headers valid, sequence +2, new FileWriteGuid, nothing else in the file changed"
else
	echo "host-side check FAILED"
	ok=0
fi
if sed 's/\r//g' "$DEMO_DIR/serial.log" | grep -q '^PAYLOAD-MARKER: DEMO'; then
	echo "the payload ran and printed its marker and options"
else
	echo "the payload did not run"
	ok=0
fi
echo "files in $DEMO_DIR (serial.log holds the whole console)"
[[ $rc -eq 0 && $ok -eq 1 ]]
