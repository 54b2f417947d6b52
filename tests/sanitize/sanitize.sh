#!/usr/bin/env bash
# tests/sanitize/sanitize.sh - the unit tests and the tool's suites again, built with ASan + UBSan (make sanitize).
#
# Runs build/sanitize/unit/test_* and then tests/interop/*.sh and tests/malformed/test_*.py with
# VHDX=build/sanitize/vhdx.  Every result line is passed on with "asan: " put in front of its name (so the counts
# add up next to the plain runs), and every sanitizer report - written to files through ASAN_OPTIONS/UBSAN_OPTIONS
# log_path, so that a report from a tool run whose output a suite swallowed is still seen - becomes one
# `not ok - asan: SUITE: ...` line.  Clang warnings of the sanitize build are reported as `ok - ... # warnings`
# notes (they do not fail the suite).
#
# Environment: BUILD (default build), SAN_SUITES (space-separated globs, default: the above), SAN_UNIT_TIMEOUT
# seconds per unit test (default 900), SAN_SUITE_TIMEOUT seconds per tool suite (default 1200),
# SAN_SKIP (space-separated name substrings to skip, e.g. "test_crash").
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 2
export ROOT
BUILD=${BUILD:-build}
SAN=$BUILD/sanitize
export VHDX=$ROOT/$SAN/vhdx
export PYTHONDONTWRITEBYTECODE=1

if [[ ! -x $VHDX ]]; then
	echo "not ok - asan: build: $VHDX is missing (make sanitize needs clang)"
	exit 1
fi

reports=$(mktemp -d "${TMPDIR:-/tmp}/vhdx-asan.XXXXXX")
trap 'rm -rf "$reports"' EXIT
# detect_leaks: the unit tests and the tool free what they allocate; a leak is a finding
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1:log_path=$reports/asan:malloc_context_size=10"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"
export LSAN_OPTIONS="log_path=$reports/lsan"

fail=0
skipped() {
	local s
	for s in ${SAN_SKIP:-}; do
		[[ $1 == *"$s"* ]] && return 0
	done
	return 1
}

# the first lines of each new report, as one not-ok line per report file
check_reports() {
	local suite=$1 f line
	for f in "$reports"/*; do
		[[ -f $f ]] || continue
		line=$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY:' "$f" | cut -c1-250)
		local where
		where=$(grep -m1 -E '#[0-9]+ 0x[0-9a-f]+ in (vhdx_|cr_|check_|[a-z_]+) ' "$f" | sed 's/^ *//' | cut -c1-200)
		echo "not ok - asan: $suite: ${line:-sanitizer report} ${where:+(at $where)} [${f##*/}]"
		fail=1
		mkdir -p "$ROOT/$SAN/reports"
		cp "$f" "$ROOT/$SAN/reports/$(echo "$suite" | tr '/ ' '__').${f##*/}"
		rm -f "$f"
	done
}

# runs one suite command, prefixing its result lines; a timeout or a silent non-zero exit is one failure
run_suite() {
	local suite=$1 limit=$2
	shift 2
	local out rc n
	out=$(timeout --kill-after=30 "$limit" "$@" </dev/null 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed -e 's/^ok - /ok - asan: /' -e 's/^not ok - /not ok - asan: /' | grep -E '^(not )?ok - |^#'
	n=$(printf '%s\n' "$out" | grep -cE '^not ok - ')
	((n > 0)) && fail=1
	if ((rc == 124 || rc == 137)); then
		echo "not ok - asan: $suite: timed out after ${limit}s under the sanitizers"
		fail=1
	elif ((rc != 0 && n == 0)); then
		echo "not ok - asan: $suite: exited with status $rc without reporting a failure"
		fail=1
	fi
	check_reports "$suite"
}

# compiler warnings the sanitize build produced (clang sees things gcc does not)
for w in "$SAN"/*/*.warn; do
	[[ -s $w ]] || continue
	src=$(grep -m1 -oE '^[^:]+\.c' "$w")
	echo "ok - asan: clang warnings in ${src:-${w##*/}} # $(grep -m1 'warning:' "$w" | sed 's/^[^ ]* //' | cut -c1-160)"
done

for t in "$SAN"/unit/test_*; do
	[[ -f $t && -x $t ]] || continue
	name=unit/${t##*/}
	if skipped "$name"; then
		echo "ok - asan: $name # skip SAN_SKIP"
		continue
	fi
	run_suite "$name" "${SAN_UNIT_TIMEOUT:-900}" "$t"
done

for s in ${SAN_SUITES:-tests/interop/*.sh tests/malformed/test_*.py}; do
	[[ -f $s ]] || continue
	if skipped "$s"; then
		echo "ok - asan: $s # skip SAN_SKIP"
		continue
	fi
	case $s in
	*.py) run_suite "$s" "${SAN_SUITE_TIMEOUT:-1200}" python3 "$s" ;;
	*) run_suite "$s" "${SAN_SUITE_TIMEOUT:-1200}" bash "$s" ;;
	esac
done
exit $fail
