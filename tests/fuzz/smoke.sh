#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/fuzz/smoke.sh - the fuzzing suite: for every harness build/fuzz/fuzz_NAME
#   1. replays each regression input tests/fuzz/regress/NAME/* (one `ok`/`not ok` line each),
#   2. replays the seed corpus tests/fuzz/seeds/NAME/ (one line),
#   3. fuzzes for a while starting from the seeds (and, for `make fuzz`, the working corpus build/fuzz/corpus/NAME):
#      one line with the number of executions; `not ok` with the saved crashing input when it found something.
# Time: FUZZ_SECONDS per harness when set (`make fuzz FUZZ_SECONDS=N`), otherwise FUZZ_SMOKE_TOTAL seconds
# (default 60) shared between the harnesses - the `make test` smoke.
# A crash input lands in build/fuzz/artifacts/NAME/; to keep it, minimize it (build/fuzz/fuzz_NAME
# -minimize_crash=1 -runs=10000 FILE) and copy it into tests/fuzz/regress/NAME/ with a note in its README.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 2
BUILD=${BUILD:-build}
FZ=$BUILD/fuzz

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

bins=()
fail=0
for src in tests/fuzz/fuzz_*.c; do
	b=$FZ/$(basename "$src" .c)
	if [[ -x $b ]]; then
		bins+=("$b")
	else
		err=$(grep -m1 -E "error:" "$FZ/build.log" 2>/dev/null | cut -c1-200)
		echo "not ok - fuzz/${b##*/fuzz_}: harness not built (${err:-make fuzz-build; it needs clang and libclang-rt-dev})"
		fail=1
	fi
done
if ((${#bins[@]} == 0)); then
	exit 1
fi
if [[ -n ${FUZZ_SECONDS:-} ]]; then
	per=$FUZZ_SECONDS
else
	per=$((${FUZZ_SMOKE_TOTAL:-60} / ${#bins[@]}))
	((per < 3)) && per=3
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vhdx-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# the first line that explains a failure in a libFuzzer log
why() {
	grep -m1 -E 'FUZZ CHECK FAILED|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY:' "$1" |
		sed 's/^[[:space:]]*//' | cut -c1-300
}

for b in "${bins[@]}"; do
	name=${b##*/fuzz_}
	# 1. regression inputs
	for f in tests/fuzz/regress/"$name"/*; do
		[[ -f $f ]] || continue
		case $f in *.md | *.txt) continue ;; esac
		if timeout 300 "$b" -timeout=60 "$f" >"$tmp/log" 2>&1; then
			echo "ok - fuzz/regress/$name/${f##*/}"
		else
			echo "not ok - fuzz/regress/$name/${f##*/}: $(why "$tmp/log")"
			fail=1
		fi
	done
	# 2. seeds
	seeds=(tests/fuzz/seeds/"$name"/*)
	if [[ -f ${seeds[0]} ]]; then
		if timeout 600 "$b" "${seeds[@]}" >"$tmp/log" 2>&1; then
			echo "ok - fuzz/seeds/$name: ${#seeds[@]} inputs"
		else
			echo "not ok - fuzz/seeds/$name: $(grep -m1 -o 'Running: .*' "$tmp/log" | tail -1) $(why "$tmp/log")"
			fail=1
		fi
	fi
	# 3. fuzzing (fuzz_open twice: the patch format, and raw mode where inputs are whole files of up to 1.5 MiB)
	runs=("$name")
	[[ $name == open ]] && runs=(open open-raw)
	for run in "${runs[@]}"; do
		# `make fuzz` keeps growing the working corpus under build/; the `make test` smoke starts from the seeds in
		# a scratch corpus, so that its time does not grow with the history of earlier runs
		corpus=$FZ/corpus/$run
		[[ -z ${FUZZ_SECONDS:-} ]] && corpus=$tmp/corpus-$run
		art=$FZ/artifacts/$run
		mkdir -p "$corpus" "$art"
		maxlen=16384
		secs=$per
		dirs=("$corpus" "tests/fuzz/seeds/$name")
		if [[ $run == open-raw ]]; then
			maxlen=$((3 * 1024 * 1024 / 2 + 1))
			secs=$(((per + 2) / 3))
			dirs=("$corpus")
			[[ -f $corpus/raw-vhdxlib ]] || python3 tests/fuzz/mkseeds.py raw "$corpus" >/dev/null 2>&1 || true
		elif [[ $name == open ]]; then
			secs=$((per - (per + 2) / 3))
		fi
		start=$(date +%s)
		timeout $((secs + 120)) "$b" -max_total_time="$secs" -timeout=30 -rss_limit_mb=3072 -max_len=$maxlen \
			-print_final_stats=1 -artifact_prefix="$art/" "${dirs[@]}" >"$tmp/log" 2>&1
		rc=$?
		took=$(($(date +%s) - start))
		execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$tmp/log" | tail -1)
		cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$tmp/log" | tail -1)
		if ((rc == 0)); then
			echo "ok - fuzz/$run: ${execs:-?} executions in ${took}s, no crash ($cov)"
		else
			crash=$(grep -m1 -oE "Test unit written to [^ ]+" "$tmp/log" | sed 's/Test unit written to //')
			echo "not ok - fuzz/$run: crash after ${execs:-?} executions in ${took}s (input: ${crash:-none saved}): $(why "$tmp/log")"
			fail=1
		fi
	done
done
exit $fail
