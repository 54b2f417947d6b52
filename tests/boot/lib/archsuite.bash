# SPDX-License-Identifier: BSD-2-Clause
# tests/boot/lib/archsuite.bash - the boot cases every other UEFI architecture must pass, shared by
# tests/boot/93-aa64.sh and 94-ia32.sh.  Sourced after common.bash (with BOOT_ARCH set); run_arch_suite runs:
#   pe          vhdxboot.efi and payload.efi are PE images for this architecture (machine, subsystem 10, .sbat);
#               the x86_64 build is not
#   bootentry   the module as \EFI\BOOT\BOOT<ARCH>.EFI with vhdxboot.conf: validate, session update from
#               EFI_RNG_PROTOCOL (virtio-rng), the payload from the ESP with the config's arguments
#   refuse      a corrupt BAT with on-error stop: refused, named, nothing started, not a byte written
#   nornd       no virtio-rng and a CPU without the random instruction: no write, says why, still boots
#   hwrng       no virtio-rng, a CPU with RDRAND/RNDR: session update with randomness from the instruction
#   inside      a dynamic VHDX made from a GPT disk whose ESP holds the payload as \EFI\BOOT\BOOT<ARCH>.EFI:
#               `next = vhdx:` starts it from inside the virtual disk
# and the host-side header audit (session_checked) or byte comparison (unchanged) after each boot.
#
# run_arch_suite NORND_CPU HWRNG_CPU HWRNG_NAME
MKDISK=$ROOT/tests/boot/lib/mkdisk.py

arch_bootentry_case() { # NAME MARKER: the module as the removable-media path, the payload with the config's args
	new_case "$1"
	esp_module_as_bootx64
	printf 'next = \\payload.efi\r\nargs = from-config marker=%s poweroff\r\n' "$2" >"$C/esp/EFI/BOOT/vhdxboot.conf"
	make_vhdx "$C/d.vhdx" 64M
	cp "$C/d.vhdx" "$C/before.vhdx"
	attach_virtio "$C/d.vhdx"
}

# arch_raw_disk OUT: a 64 MiB GPT disk whose ESP holds the payload as the removable-media file of this architecture
arch_raw_disk() {
	local out=$1
	rm -f "$out.fat"
	mkfs.vfat -C -S 512 -n INSIDE "$out.fat" 32768 >/dev/null &&
		mmd -i "$out.fat" ::/EFI ::/EFI/BOOT &&
		mcopy -i "$out.fat" "$EFI_PAYLOAD" "::/EFI/BOOT/$BOOT_NAME" &&
		python3 "$MKDISK" "$out" 64 "$out.fat" 512
}

run_arch_suite() {
	local nornd_cpu=$1 hwrng_cpu=$2 hwrng=$3 t=$BOOT_ARCH

	pe_checked "$t: vhdxboot.efi is a PE EFI application for $t (machine, subsystem 10, sections, .sbat)" "$EFI_MODULE"
	pe_checked "$t: payload.efi is a PE EFI application for $t" "$EFI_PAYLOAD"
	# the check itself must be able to fail: the x86_64 build is not an image for this architecture
	if [[ -f $BUILD/efi/vhdxboot.efi ]]; then
		expect "$t: the PE check rejects the x86_64 build" \
			bash -c '! python3 "$1" "$2" "$3" >/dev/null 2>&1' _ "$ROOT/tests/boot/lib/pecheck.py" "$t" "$BUILD/efi/vhdxboot.efi"
	fi

	# --- the boot-entry case: update with EFI_RNG_PROTOCOL, payload from the ESP with arguments
	arch_bootentry_case bootentry "BOOTENTRY-$t"
	with_rng
	boot_guest
	local rc=$?
	show_log
	expect "$t bootentry: guest powered off by the payload (qemu exit 0)" test "$rc" -eq 0
	expect "$t bootentry: started as \\EFI\\BOOT\\$BOOT_NAME, config read beside it" log_has '^vhdxboot: config \\EFI\\BOOT\\vhdxboot.conf'
	expect "$t bootentry: image found on its own (auto)" log_has '^vhdxboot: image PciRoot.*Pci\('
	expect "$t bootentry: validated" log_has '^vhdxboot: valid: virtual size 64 MiB'
	expect "$t bootentry: session update with randomness from EFI_RNG_PROTOCOL" log_has '^vhdxboot: session update: sequence [0-9]+ -> [0-9]+, random from EFI_RNG_PROTOCOL'
	expect "$t bootentry: payload started with the config's args" log_has "^PAYLOAD-OPTIONS: \\[from-config marker=BOOTENTRY-$t poweroff\\]"
	session_checked "$t bootentry: image got one session update, nothing else changed" "$C/before.vhdx" "$C/d.vhdx"

	# --- a refusal: BAT entry 0 FULLY_PRESENT at 1 TiB, far beyond the end of the file
	arch_bootentry_case refuse SHOULD-NOT-RUN
	python3 - "$C/d.vhdx" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.environ["ROOT"], "tests", "tools"))
import vhdxlib
buf = bytearray(open(sys.argv[1], "rb").read())
vhdxlib.set_bat(buf, 0, (1 << 40) | 6)
open(sys.argv[1], "wb").write(buf)
PY
	cp "$C/d.vhdx" "$C/before.vhdx"
	with_rng
	# the module returns an error to the boot manager, which moves on: end the run once it has said so
	STOP_ON='^vhdxboot: exit status|STARTUP-NSH-FALLBACK' boot_guest
	show_log
	expect "$t refuse: refusal names the image and the BAT" log_has '^vhdxboot: PciRoot.*: refused: .*BAT'
	expect "$t refuse: exit status EFI_VOLUME_CORRUPTED" log_has '^vhdxboot: exit status EFI_VOLUME_CORRUPTED'
	expect "$t refuse: the next stage is not started" log_lacks 'PAYLOAD-MARKER'
	expect "$t refuse: no session update attempted" log_lacks '^vhdxboot: session update'
	unchanged "$t refuse: image byte-identical" "$C/before.vhdx" "$C/d.vhdx"

	# --- no randomness at all: no write, says why, still boots
	arch_bootentry_case nornd "NORND-$t"
	boot_guest "$nornd_cpu"
	show_log
	expect "$t no randomness ($nornd_cpu, no virtio-rng): says there is no random source" log_has "^vhdxboot: no random source: none \\(no EFI_RNG_PROTOCOL, no $hwrng\\)"
	expect "$t no randomness: summary says nothing was written" log_has 'wrote nothing \(no random source\)'
	expect "$t no randomness: still boots the next stage" log_has "^PAYLOAD-MARKER: NORND-$t"
	unchanged "$t no randomness: image byte-identical" "$C/before.vhdx" "$C/d.vhdx"

	# --- the CPU's instruction as the only source
	arch_bootentry_case hwrng "HWRNG-$t"
	boot_guest "$hwrng_cpu"
	show_log
	expect "$t $hwrng ($hwrng_cpu, no virtio-rng): session update with randomness from $hwrng" log_has "^vhdxboot: session update: .*random from $hwrng\$"
	expect "$t $hwrng: boots the next stage" log_has "^PAYLOAD-MARKER: HWRNG-$t"
	session_checked "$t $hwrng: image got one session update" "$C/before.vhdx" "$C/d.vhdx"

	# --- boot from inside a dynamic VHDX: `vhdx:` alone is \EFI\BOOT\BOOT<ARCH>.EFI of the virtual disk
	new_case inside
	esp_module_as_bootx64
	printf 'next = vhdx:\r\nargs = marker=INSIDE-%s poweroff\r\n' "$t" >"$C/esp/EFI/BOOT/vhdxboot.conf"
	if ! { arch_raw_disk "$C/raw" && qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=1M "$C/raw" "$C/d.vhdx"; } >"$C/make.log" 2>&1; then
		notok "$t inside: image" "$(tail -1 "$C/make.log")"
		return
	fi
	cp "$C/d.vhdx" "$C/before.vhdx"
	attach_virtio "$C/d.vhdx"
	with_rng
	boot_guest
	show_log
	expect "$t inside: virtual disk installed" log_has '^vhdxboot: virtual disk: 64 MiB, 512-byte sectors, read-only, at .*VenMedia\(35D09D52-059D-40A1-8D0B-4C9A929CDCC0'
	expect "$t inside: vhdx: alone means \\EFI\\BOOT\\$BOOT_NAME" log_has "^vhdxboot: starting \\\\EFI\\\\BOOT\\\\$BOOT_NAME"
	expect "$t inside: found on the FAT partition inside" log_has '^vhdxboot: virtual disk: .* found on .*VenMedia.*HD\(1,GPT'
	expect "$t inside: payload from inside the VHDX started" log_has "^PAYLOAD-MARKER: INSIDE-$t"
	session_checked "$t inside: image got one session update" "$C/before.vhdx" "$C/d.vhdx"
}
