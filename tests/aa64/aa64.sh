#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/aa64/aa64.sh - the aarch64 unit suite (built by `make aa64-unit`, tests/aa64/aa64.mk), run under
# qemu-aarch64 (user mode; the kernel's and QEMU's emulation of ID-register reads lets the core detect the CRC32
# instructions as it does in firmware).
#
#   - every core file compiled with aarch64-linux-gnu-gcc and the build's own -Wall -Wextra -Werror
#     -ffreestanding flags must be warning-free: one line per file; likewise the unit tests' own warnings;
#   - build/aa64-user/unit/test_* run, their result lines passed on with "aa64: " in front (test_crc32c runs the
#     known answers, the bitwise reference and the portable comparison on the ARMv8 path and the portable path);
#   - test_crc32c once more on a CPU model with CRC32 but no other extras (cortex-a57), where the dispatcher
#     must still choose the ARMv8 path;
#   - crcbench (aarch64): its known answers and the ARMv8-vs-portable cross-check on a 4 MiB buffer.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 2
BUILD=${BUILD:-build}
D=$BUILD/aa64-user
fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vhdx-aa64.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

notok() {
	echo "not ok - aa64: $*"
	fail=1
}

for c in aarch64-linux-gnu-gcc qemu-aarch64; do
	if ! command -v "$c" >/dev/null; then
		notok "toolchain: $c is missing (tests/deps.sh installs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user)"
		exit 1
	fi
done

# 1. the core, file by file, as the aarch64 build compiled it; then the unit tests' own warnings
for src in core/*.c; do
	f=${src##*/}
	o=$D/core/${f%.c}.o
	if [[ ! -f $o ]]; then
		err=$(grep -m1 -E "^$src:[0-9]+:[0-9]+: (fatal )?error" "$D/build.log" 2>/dev/null | cut -c1-250)
		notok "$src does not compile for aarch64: ${err:-not built (make aa64-unit)}"
	elif [[ -s $o.warn ]]; then
		notok "$src: aarch64 -Wall -Wextra -Werror fails: $(grep -m1 'warning:' "$o.warn" | cut -c1-250)"
	else
		echo "ok - aa64: $src compiles with aarch64-linux-gnu-gcc -Wall -Wextra -Werror -ffreestanding"
	fi
done
for w in "$D"/unit/*.warn; do
	[[ -s $w ]] || continue
	notok "${w##*/}: aarch64 -Werror would fail: $(grep -m1 'warning:' "$w" | cut -c1-200)"
done

# run_unit BIN [qemu -cpu]: one unit-test binary, its lines passed on with a prefix
run_unit() {
	local t=$1 cpu=${2:-} n
	n=$(basename "$t")
	local tag=${cpu:+ [-cpu $cpu]}
	local q=(qemu-aarch64)
	[[ -n $cpu ]] && q+=(-cpu "$cpu")
	timeout --kill-after=30 "${AA64_UNIT_TIMEOUT:-900}" "${q[@]}" "$t" </dev/null >"$tmp/out" 2>&1
	local rc=$? nbad=0
	while IFS= read -r line; do
		case $line in
		"ok - "*) echo "ok - aa64: ${line#ok - }$tag" ;;
		"not ok - "*)
			nbad=$((nbad + 1))
			echo "not ok - aa64: ${line#not ok - }$tag"
			fail=1
			;;
		esac
	done <"$tmp/out"
	if ((rc == 124 || rc == 137)); then
		notok "unit/$n$tag: timed out after ${AA64_UNIT_TIMEOUT:-900}s"
	elif ((rc != 0 && nbad == 0)); then
		notok "unit/$n$tag: exited with status $rc without reporting a failure: $(tail -n 1 "$tmp/out" | cut -c1-200)"
	fi
}

# 2. the unit tests
for src in tests/unit/test_*.c; do
	n=$(basename "$src" .c)
	if [[ ! -x $D/unit/$n ]]; then
		err=$(grep -m1 -E "error" "$D/build.log" 2>/dev/null | grep -F "$n" | cut -c1-200)
		notok "unit/$n: not built ${err:+($err)}"
		continue
	fi
	run_unit "$D/unit/$n"
done

# 3. the CRC-32C paths on a plain ARMv8.0 CPU model with CRC32 (the one the boot tests use)
if [[ -x $D/unit/test_crc32c ]]; then
	run_unit "$D/unit/test_crc32c" cortex-a57
	if grep -qx '# ARMv8 CRC32 available' "$tmp/out"; then
		echo "ok - aa64: cortex-a57: the core detects the CRC32 instructions (ID_AA64ISAR0_EL1.CRC32)"
	else
		notok "cortex-a57: the core did not detect the CRC32 instructions"
	fi
fi

# 4. crcbench for aarch64: known answers and the cross-check (a small buffer: this is not the benchmark)
if [[ -x $D/bench/crcbench ]]; then
	if out=$(timeout 300 qemu-aarch64 "$D/bench/crcbench" 4 1 2>&1) && grep -q '^crc32c armv8 [0-9.]* GB/s' <<<"$out"; then
		echo "ok - aa64: crcbench: known answers and ARMv8 == portable on 4 MiB"
	else
		notok "crcbench: $(echo "$out" | tr '\n' ';' | cut -c1-250)"
	fi
else
	notok "crcbench: not built (make aa64-unit)"
fi
exit $fail
