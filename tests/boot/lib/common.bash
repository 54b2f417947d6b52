# SPDX-License-Identifier: BSD-2-Clause
# tests/boot/lib/common.bash - shared by the OVMF-under-QEMU suites in tests/boot/*.sh.  Sourced, not run.
#
# Each suite prints `ok - NAME` or `not ok - NAME: reason` per case.  Every guest run is bounded by `timeout`
# and its serial console captured; assertions are made on the log and, afterwards, on the image from the host.
#
# Environment: BUILD (default build), BOOT_TIMEOUT (seconds per guest run, default 150), KEEP=1 keeps work dirs,
#              QEMU_ACCEL (default tcg: OVMF does not get far under KVM here).
# BOOT_ARCH (set by the suite before sourcing): x86_64 (default), aa64 or ia32 -- which build of the
#              module and payload, which QEMU, firmware, machine, default CPU and removable-media file name.

set -u
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
export ROOT
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
BOOT_ARCH=${BOOT_ARCH:-x86_64}
ARCH_MACHINE_EXTRA=()
case $BOOT_ARCH in
x86_64)
	EFI_DIR=$BUILD/efi
	QEMU_SYSTEM=qemu-system-x86_64
	BOOT_NAME=BOOTX64.EFI
	ARCH_MACHINE=q35
	ARCH_CPU=max
	ARCH_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
	ARCH_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
	;;
aa64) # AAVMF (qemu-efi-aarch64) on QEMU's virt board; cortex-a57 has CRC32 but no RNDR
	EFI_DIR=$BUILD/aa64
	QEMU_SYSTEM=qemu-system-aarch64
	BOOT_NAME=BOOTAA64.EFI
	ARCH_MACHINE=virt
	ARCH_CPU=cortex-a57
	ARCH_CODE=/usr/share/AAVMF/AAVMF_CODE.fd
	ARCH_VARS=/usr/share/AAVMF/AAVMF_VARS.fd
	;;
ia32) # ovmf-ia32 ships only the Secure Boot build, which needs SMM and a secure pflash (no keys enrolled: off)
	EFI_DIR=$BUILD/ia32
	QEMU_SYSTEM=qemu-system-i386
	BOOT_NAME=BOOTIA32.EFI
	ARCH_MACHINE=q35,smm=on
	ARCH_MACHINE_EXTRA=(-global driver=cfi.pflash01,property=secure,value=on)
	ARCH_CPU=max
	ARCH_CODE=/usr/share/OVMF/OVMF32_CODE_4M.secboot.fd
	ARCH_VARS=/usr/share/OVMF/OVMF32_VARS_4M.fd
	;;
*)
	echo "not ok - $(basename "$0" .sh): setup: BOOT_ARCH=$BOOT_ARCH is not x86_64, aa64 or ia32"
	exit 1
	;;
esac
EFI_MODULE=$EFI_DIR/vhdxboot.efi
EFI_PAYLOAD=$EFI_DIR/payload.efi
OVMF_CODE=${OVMF_CODE:-$ARCH_CODE}
OVMF_VARS=${OVMF_VARS:-$ARCH_VARS}
OVMF_CODE_PLAIN=$OVMF_CODE
BOOT_TIMEOUT=${BOOT_TIMEOUT:-150}
QEMU_ACCEL=${QEMU_ACCEL:-tcg}
IMGCHECK=$ROOT/tests/boot/lib/imgcheck.py
SUITE=$(basename "$0" .sh)

ok() { echo "ok - $SUITE: $1"; }
notok() { echo "not ok - $SUITE: $1: $2"; }

# skip_all REASON: report every case as skipped (for machines that cannot run guests at all)
need_tools() {
	local missing=()
	for t in "$QEMU_SYSTEM" qemu-img python3 timeout mcopy mformat; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	for f in "$OVMF_CODE" "$OVMF_VARS" "$EFI_MODULE" "$EFI_PAYLOAD"; do
		[[ -f $f ]] || missing+=("$f")
	done
	if ((${#missing[@]})); then
		notok setup "missing: ${missing[*]} (run make deps, make fetch and make)"
		exit 1
	fi
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vhdxboot-$SUITE.XXXXXX")
cleanup_work() { [[ ${KEEP:-0} == 1 ]] && echo "# work kept in $WORK" || rm -rf "$WORK"; }
trap cleanup_work EXIT

# new_case NAME: a fresh directory $C for one case, with an ESP folder $C/esp
new_case() {
	C=$WORK/$1
	rm -rf "$C"
	mkdir -p "$C/esp"
	cp "$OVMF_VARS" "$C/vars.fd"
	QEMU_EXTRA=()
	OVMF_CODE=$OVMF_CODE_PLAIN
	OVMF_MACHINE_EXTRA=("${ARCH_MACHINE_EXTRA[@]}")
	QEMU_MACHINE=$ARCH_MACHINE
}

# esp_module_as_bootx64: the module as the removable-media path ($BOOT_NAME: BOOTX64.EFI on x86_64), the payload
# beside it
esp_module_as_bootx64() {
	mkdir -p "$C/esp/EFI/BOOT"
	cp "$EFI_MODULE" "$C/esp/EFI/BOOT/$BOOT_NAME"
	cp "$EFI_PAYLOAD" "$C/esp/payload.efi"
	# if the module returns an error, the boot manager moves on and the Shell runs this: power off
	printf '@echo -off\r\necho STARTUP-NSH-FALLBACK\r\nreset -s\r\n' >"$C/esp/startup.nsh"
}

# esp_shell_script LINES...: module and payload in the ESP root, and a startup.nsh running LINES then powering off
esp_shell_script() {
	cp "$EFI_MODULE" "$C/esp/vhdxboot.efi"
	cp "$EFI_PAYLOAD" "$C/esp/payload.efi"
	{
		printf '@echo -off\r\n'
		printf 'fs0:\r\n'
		for l in "$@"; do printf '%s\r\n' "$l"; done
		printf 'echo SHELL-LASTERROR %%lasterror%%\r\n'
		printf 'reset -s\r\n'
	} >"$C/esp/startup.nsh"
}

# make_vhdx OUT SIZE [qemu-img -o options]: a dynamic VHDX by qemu-img
make_vhdx() {
	local out=$1 size=$2
	shift 2
	local o=()
	(($#)) && o=(-o "$1")
	qemu-img create -q -f vhdx "${o[@]}" "$out" "$size"
}

# attach_virtio FILE [extra device props] / attach_ahci / attach_nvme: the VHDX as a raw drive
attach_virtio() {
	local id=d${#QEMU_EXTRA[@]}
	QEMU_EXTRA+=(-drive "if=none,id=$id,format=raw,file=$1${3:+,$3}" -device "virtio-blk-pci,drive=$id${2:+,$2}")
}
attach_ahci() {
	local id=d${#QEMU_EXTRA[@]}
	QEMU_EXTRA+=(-device ahci,id=ahci$id -drive "if=none,id=$id,format=raw,file=$1" -device "ide-hd,drive=$id,bus=ahci$id.0")
}
attach_nvme() {
	local id=d${#QEMU_EXTRA[@]}
	QEMU_EXTRA+=(-drive "if=none,id=$id,format=raw,file=$1" -device "nvme,drive=$id,serial=vhdx$id")
}
with_rng() { QEMU_EXTRA+=(-device virtio-rng-pci); }

# Firmware images: the default OVMF, or (secure_boot_firmware) the Secure Boot build with Debian's snakeoil keys
# enrolled (PK/KEK/db), which needs SMM and a secure pflash.
OVMF_MACHINE_EXTRA=()
secure_boot_firmware() {
	OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd
	cp /usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd "$C/vars.fd"
	OVMF_MACHINE_EXTRA=(-global driver=cfi.pflash01,property=secure,value=on)
	QEMU_MACHINE=q35,smm=on
}

# boot_guest [CPU]: run OVMF with the ESP folder and whatever was attached; log in $C/serial.log and $C/log
# (ANSI sequences and CRs removed).  Returns qemu's status (124 = timed out).
boot_guest() {
	local cpu=${1:-$ARCH_CPU}
	local start=$(date +%s)
	timeout --kill-after=10 "$BOOT_TIMEOUT" "$QEMU_SYSTEM" \
		-machine "${QEMU_MACHINE:-$ARCH_MACHINE},accel=$QEMU_ACCEL" "${OVMF_MACHINE_EXTRA[@]}" \
		-cpu "$cpu" -m "${QEMU_MEM:-256}" -smp 1 -nographic -nic none -no-reboot \
		-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE" \
		-drive "if=pflash,format=raw,unit=1,file=$C/vars.fd" \
		-drive "format=raw,file=fat:rw:$C/esp" \
		"${QEMU_EXTRA[@]}" </dev/null >"$C/serial.log" 2>&1 &
	local qpid=$!
	# STOP_ON=REGEX: end the run once the console shows REGEX, for runs that would otherwise
	# sit in the firmware's menu until the timeout
	if [[ -n ${STOP_ON:-} ]]; then
		while kill -0 "$qpid" 2>/dev/null; do
			if sed -e 's/\x1b\[[0-9;?=]*[A-Za-z]//g' -e 's/\r//g' "$C/serial.log" 2>/dev/null | grep -Eq -- "$STOP_ON"; then
				pkill -TERM -P "$qpid" 2>/dev/null
				break
			fi
			sleep 0.5
		done
	fi
	wait "$qpid"
	local rc=$?
	sed -e 's/\x1b\[[0-9;?=]*[A-Za-z]//g' -e 's/\r//g' "$C/serial.log" >"$C/log"
	GUEST_SECS=$(($(date +%s) - start))
	echo "# guest run $(basename "$C"): ${GUEST_SECS}s, qemu exit $rc"
	return $rc
}

# show_log: the module's and the payload's lines, for the test output
show_log() {
	grep -E '^(vhdxboot:|PAYLOAD-|SHELL-LASTERROR|STARTUP-NSH)' "$C/log" | sed 's/^/#   /'
}

# log_has REGEX / log_lacks REGEX
log_has() { grep -Eq -- "$1" "$C/log"; }
log_lacks() { ! grep -Eq -- "$1" "$C/log"; }

# expect NAME CONDITION-COMMAND... : ok or not ok with the command as the reason
expect() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else notok "$name" "failed: $*"; fi
}

# virtual_size IMAGE: bytes, per qemu-img (0 if it cannot tell).  qemu-img compare walks the whole virtual disk,
# so it is skipped for huge ones; the byte comparison of the files covers them.
virtual_size() {
	qemu-img info --output=json -f vhdx "$1" 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin).get("virtual-size", 0))' 2>/dev/null || echo 0
}

# session_checked NAME BEFORE AFTER [RUNS]: the image got exactly one (RUNS) session update(s) and nothing else
session_checked() {
	local out
	if out=$(python3 "$IMGCHECK" session "$2" "$3" "${4:-1}" 2>&1); then
		# qemu-img check must be clean, unless QEMU cannot read the image at all (it knows 512-byte
		# logical sectors only): then it fails on the copy taken before the run as well
		if command -v qemu-img >/dev/null && ! qemu-img check -q -f vhdx "$3" >/dev/null 2>&1 &&
			qemu-img check -q -f vhdx "$2" >/dev/null 2>&1; then
			notok "$1" "qemu-img check reports problems"
		elif qemu-img check -q -f vhdx "$2" >/dev/null 2>&1 && (($(virtual_size "$3") <= 8 << 30)) &&
			! qemu-img compare -q -f vhdx -F vhdx "$2" "$3" >/dev/null 2>&1; then
			notok "$1" "qemu-img compare: the virtual disk content changed"
		else
			ok "$1"
		fi
	else
		notok "$1" "$(echo "$out" | tr '\n' ';')"
	fi
}

# unchanged NAME BEFORE AFTER
unchanged() {
	if cmp -s "$2" "$3"; then ok "$1"; else notok "$1" "image changed: $(cmp "$2" "$3" 2>&1 | head -1)"; fi
}

# pe_checked NAME FILE: the file is a PE image for $BOOT_ARCH (machine type, PE32/PE32+, subsystem 10 = EFI
# application, .text/.data/.sbat sections inside the image and the file), read by tests/boot/lib/pecheck.py
pe_checked() {
	local out
	if out=$(python3 "$ROOT/tests/boot/lib/pecheck.py" "$BOOT_ARCH" "$2" 2>&1); then
		ok "$1"
	else
		notok "$1" "$(echo "$out" | tr '\n' ';')"
	fi
}
