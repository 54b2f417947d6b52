# SPDX-License-Identifier: BSD-2-Clause
# tests/sanitize/lib.bash - shared by tests/sanitize/unit.sh and tests/sanitize/tools.sh (sourced; not a suite).
#
# Result lines of the suites run under the sanitizers are passed on with "asan: " put in front of their name (so
# the counts add up next to the plain runs), and every sanitizer report - written to files through
# ASAN_OPTIONS/UBSAN_OPTIONS log_path, so that a report from a tool run whose output a suite swallowed is still
# seen - becomes one `not ok - asan: SUITE: ...` line; the report itself is kept in build/sanitize/reports/.
#
# Environment: BUILD (default build), SAN_SKIP (space-separated name substrings to skip, e.g. "test_crash").
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 2
export ROOT
BUILD=${BUILD:-build}
SAN=$BUILD/sanitize
export VHDX=$ROOT/$SAN/vhdx
export PYTHONDONTWRITEBYTECODE=1

buildlog=$SAN/build.log
builderr() { grep -m1 -E "${1:-}.*error:" "$buildlog" 2>/dev/null | cut -c1-200; }
if [[ ! -x $VHDX ]]; then
	echo "not ok - asan: build: $VHDX is missing ($(builderr || true); make sanitize needs clang)"
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

