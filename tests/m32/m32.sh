#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/m32/m32.sh - the 32-bit suite (built by `make m32`, tests/m32/m32.mk).
#
#   - every core file compiled with gcc -m32 -Wall -Wextra -Werror -ffreestanding (the build's own flags) must be
#     warning-free: one line per file; the core is also compiled at -O0, -Os and -O3 and with clang -m32, where
#     other warnings show up (one line per variant);
#   - the unit tests' own -m32 warnings (which would stop a -Werror build) are one line per file;
#   - build/m32/unit/test_* run, their result lines passed on with "m32: " in front; a case that fails only
#     here (it passes in the 64-bit build/tests/unit binary) is marked "[32-bit only]";
#   - build/m32/fuzz/replay_* (the fuzz harnesses, 32-bit, ASan + UBSan, no libFuzzer) replay the regression
#     inputs (one line each) and the seeds (one line per harness).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 2
BUILD=${BUILD:-build}
M=$BUILD/m32
fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vhdx-m32.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

notok() {
	echo "not ok - m32: $*"
	fail=1
}

if ! gcc -m32 -E -x c /dev/null >/dev/null 2>&1 || [[ ! -e /usr/include/x86_64-linux-gnu/gnu/stubs-32.h && ! -e /usr/include/gnu/stubs-32.h ]]; then
	notok "toolchain: gcc -m32 cannot build here (apt-get install gcc-multilib)"
	exit 1
fi

# How to run a 32-bit program: natively when the kernel has IA-32 emulation, else under qemu-i386 (qemu-user);
# LeakSanitizer cannot stop the world under qemu-user, so leak checks stay with the 64-bit runs there.
RUN32=()
probe=$M/unit/test_status
if [[ -x $probe ]] && "$probe" >/dev/null 2>&1; then
	RUN32=()
elif command -v qemu-i386 >/dev/null; then
	RUN32=(qemu-i386)
	ASAN_OPTIONS=${ASAN_OPTIONS/detect_leaks=1/detect_leaks=0}
	echo "# this kernel does not run 32-bit programs: running them under qemu-i386"
else
	RUN32=(none)
fi
run32() {
	if [[ ${RUN32[0]:-} == none ]]; then
		return 126
	fi
	"${RUN32[@]}" "$@"
}

# 1. the core, file by file, as the -m32 build compiled it
for src in core/*.c; do
	f=${src##*/}
	o=$M/core/${f%.c}.o
	if [[ ! -f $o ]]; then
		err=$(grep -m1 -E "^$src:[0-9]+:[0-9]+: (fatal )?error" "$M/build.log" 2>/dev/null | cut -c1-250)
		notok "$src does not compile with -m32: ${err:-not built (make m32)}"
	elif [[ -s $o.warn ]]; then
		notok "$src: -m32 -Wall -Wextra -Werror fails: $(grep -m1 'warning:' "$o.warn" | cut -c1-250) ($(grep -c 'warning:' "$o.warn") warnings)"
	else
		echo "ok - m32: $src compiles with gcc -m32 -Wall -Wextra -Werror -ffreestanding"
	fi
done

# 2. other optimisation levels and clang: warnings that only show up there
variants=("gcc -O0" "gcc -Os" "gcc -O3" "clang -O2")
for v in "${variants[@]}"; do
	cc=${v%% *}
	opt=${v#* }
	command -v "$cc" >/dev/null || {
		echo "ok - m32: core with $cc -m32 $opt # skip $cc missing"
		continue
	}
	: >"$tmp/w"
	for src in core/*.c; do
		"$cc" -m32 -std=c11 -Wall -Wextra "$opt" -ffreestanding -fno-strict-aliasing -Icore -c "$src" -o /dev/null 2>>"$tmp/w"
	done
	if grep -q -E 'warning:|error:' "$tmp/w"; then
		notok "core with $cc -m32 $opt -Wall -Wextra: $(grep -m1 -E 'warning:|error:' "$tmp/w" | cut -c1-220) ($(grep -cE 'warning:|error:' "$tmp/w") in all)"
	else
		echo "ok - m32: core compiles without warnings with $cc -m32 $opt -Wall -Wextra"
	fi
done

# 3. the unit tests' own 32-bit warnings (the normal build uses -Werror)
for w in "$M"/unit/*.warn; do
	[[ -s $w ]] || continue
	src=$(grep -m1 -oE '^tests/unit/[^:]+\.c' "$w")
	notok "${src:-${w##*/}}: -m32 -Werror would fail: $(grep -m1 'warning:' "$w" | sed 's/^[^ ]* //' | cut -c1-200)"
done

# 4. the unit tests
for src in tests/unit/test_*.c; do
	n=$(basename "$src" .c)
	t=$M/unit/$n
	if [[ ! -x $t ]]; then
		err=$(grep -m1 -E "error" "$M/build.log" 2>/dev/null | grep -F "$n" | cut -c1-200)
		notok "unit/$n: not built ${err:+($err)}"
		continue
	fi
	if [[ ${RUN32[0]:-} == none ]]; then
		echo "ok - m32: unit/$n # skip this kernel cannot run 32-bit programs and qemu-i386 (qemu-user) is missing"
		continue
	fi
	timeout --kill-after=30 "${M32_UNIT_TIMEOUT:-900}" "${RUN32[@]}" "$t" </dev/null >"$tmp/out" 2>&1
	rc=$?
	nbad=0
	while IFS= read -r line; do
		case $line in
		"ok - "*) echo "ok - m32: ${line#ok - }" ;;
		"not ok - "*)
			nbad=$((nbad + 1))
			name=${line#not ok - }
			name=${name%%: *}
			tag=""
			if [[ -x $BUILD/tests/unit/$n ]]; then
				[[ -f $tmp/$n.64 ]] || "$BUILD/tests/unit/$n" </dev/null >"$tmp/$n.64" 2>&1
				grep -qxF "ok - $name" "$tmp/$n.64" && tag=" [32-bit only]"
			fi
			echo "not ok - m32: ${line#not ok - }$tag"
			fail=1
			;;
		esac
	done <"$tmp/out"
	if ((rc == 124 || rc == 137)); then
		notok "unit/$n: timed out after ${M32_UNIT_TIMEOUT:-900}s"
	elif ((rc != 0 && nbad == 0)); then
		notok "unit/$n: exited with status $rc without reporting a failure: $(grep -m1 -E 'ERROR|error|Assert|assert' "$tmp/out" | cut -c1-200)"
	fi
done

# 5. the fuzz harnesses in 32-bit: regression inputs and seeds
why() {
	local first at
	first=$(grep -m1 -E 'FUZZ CHECK FAILED|ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY:' "$1" | sed 's/^[[:space:]]*//' | cut -c1-200)
	at=$(grep -m1 -E '#[0-9]+ 0x[0-9a-f]+ in [a-z_]+ core/' "$1" | sed 's/^.* in //' | cut -c1-80)
	echo "$first${at:+ (in $at)}"
}
for src in tests/fuzz/fuzz_*.c; do
	h=$(basename "$src" .c)
	h=${h#fuzz_}
	r=$M/fuzz/replay_$h
	if [[ ! -x $r ]]; then
		notok "fuzz/$h: 32-bit replay harness not built"
		continue
	fi
	if [[ ${RUN32[0]:-} == none ]]; then
		echo "ok - m32: fuzz/$h # skip this kernel cannot run 32-bit programs and qemu-i386 (qemu-user) is missing"
		continue
	fi
	for f in tests/fuzz/regress/"$h"/*; do
		[[ -f $f ]] || continue
		case $f in *.md | *.txt) continue ;; esac
		if timeout 120 "${RUN32[@]}" "$r" "$f" >"$tmp/log" 2>&1; then
			echo "ok - m32: fuzz/regress/$h/${f##*/}"
		else
			notok "fuzz/regress/$h/${f##*/}: $(why "$tmp/log")"
		fi
	done
	seeds=(tests/fuzz/seeds/"$h"/*)
	[[ -f ${seeds[0]} ]] || continue
	# in groups: a 32-bit address space under ASan fills up after a few hundred executions in one process
	bad=""
	for ((i = 0; i < ${#seeds[@]}; i += 20)); do
		if ! timeout 1200 "${RUN32[@]}" "$r" "${seeds[@]:i:20}" >"$tmp/log" 2>&1; then
			bad="after $((i + $(grep -c '^replayed' "$tmp/log"))) inputs: $(why "$tmp/log")"
			break
		fi
	done
	if [[ -z $bad ]]; then
		echo "ok - m32: fuzz/seeds/$h: ${#seeds[@]} inputs"
	else
		notok "fuzz/seeds/$h: $bad"
	fi
done
exit $fail
