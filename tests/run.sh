#!/usr/bin/env bash
# tests/run.sh - the single test runner.
#
# Runs every suite: build/tests/unit/test_* binaries, tests/interop/*.sh, tests/malformed/*.sh and
# tests/malformed/test_*.py, tests/boot/*.sh, tests/fuzz/smoke.sh, tests/sanitize/{unit,tools}.sh, tests/m32/m32.sh,
# tests/shape/*.sh (the structure of the code: core/ layering), tests/aa64/aa64.sh.
# Each suite prints one line per case, `ok - NAME` or
# `not ok - NAME: reason`; other lines are free.  A suite that exits non-zero without printing a `not ok`
# line, or prints no result at all, counts as one failure named after the suite.  The last line is
# `N passed, N failed`; the exit status is non-zero if anything failed.
#
# Usage: tests/run.sh [PATTERN...]   run only suites whose path contains one of the patterns
# Environment: BUILD (default build), VHDX (default $BUILD/host/vhdx), SUITE_TIMEOUT seconds (default 900),
#              KEEP_LOGS=1 keeps the per-suite logs directory.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
export ROOT
export BUILD=${BUILD:-build}
export VHDX=${VHDX:-$ROOT/$BUILD/host/vhdx}
export PYTHONDONTWRITEBYTECODE=1
SUITE_TIMEOUT=${SUITE_TIMEOUT:-1800}

suites=()
# one binary per tests/unit/test_*.c (stale binaries of removed sources are not run; a missing one is a failure)
for src in tests/unit/test_*.c; do
	[[ -f $src ]] && suites+=("$BUILD/tests/unit/$(basename "$src" .c)")
done
for f in tests/interop/*.sh tests/malformed/*.sh tests/malformed/test_*.py tests/boot/*.sh tests/fuzz/smoke.sh \
	tests/sanitize/unit.sh tests/sanitize/tools.sh tests/m32/m32.sh tests/aa64/aa64.sh tests/shape/*.sh tests/install/*.sh; do
	[[ -f $f ]] && suites+=("$f")
done

if (($# > 0)); then
	picked=()
	for s in "${suites[@]}"; do
		for p in "$@"; do
			if [[ $s == *"$p"* ]]; then
				picked+=("$s")
				break
			fi
		done
	done
	suites=("${picked[@]}")
fi

logdir=$(mktemp -d "${TMPDIR:-/tmp}/vhdx-tests.XXXXXX")
cleanup() { [[ ${KEEP_LOGS:-0} == 1 ]] && echo "logs kept in $logdir" || rm -rf "$logdir"; }
trap cleanup EXIT

passed=0
failed=0
skipped=0
failures=()

if ((${#suites[@]} == 0)); then
	echo "not ok - runner: no test suites found (was the tree built?)"
	failures+=("runner: no test suites found")
	failed=1
fi

for s in "${suites[@]}"; do
	name=${s#"$BUILD"/}
	log="$logdir/$(echo "$name" | tr '/' '_').log"
	echo "=== $name"
	start=$(date +%s)
	if [[ $s == "$BUILD"/* && ! -x $s ]]; then
		echo "not ok - $name: not built (run make test)"
		failures+=("$name: not built")
		failed=$((failed + 1))
		continue
	fi
	case $s in
	*.py) cmd=(python3 "$s") ;;
	*.sh) cmd=(bash "$s") ;;
	*) cmd=("$s") ;;
	esac
	# stdin from /dev/null: CI has no terminal, and no suite may wait for one
	timeout --kill-after=30 "$SUITE_TIMEOUT" "${cmd[@]}" </dev/null 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	secs=$(($(date +%s) - start))
	n_ok=$(grep -c '^ok - ' "$log")
	n_skip=$(grep -c '^ok - .*# *[Ss][Kk][Ii][Pp]' "$log")
	n_bad=$(grep -c '^not ok - ' "$log")
	passed=$((passed + n_ok))
	skipped=$((skipped + n_skip))
	failed=$((failed + n_bad))
	while IFS= read -r line; do
		failures+=("${line#not ok - }")
	done < <(grep '^not ok - ' "$log")
	why=""
	if ((rc == 124 || rc == 137)); then
		why="timed out after ${SUITE_TIMEOUT}s"
	elif ((rc != 0 && n_bad == 0)); then
		why="exited with status $rc without reporting a failure"
	elif ((n_ok + n_bad == 0)); then
		why="printed no test results"
	fi
	if [[ -n $why ]]; then
		echo "not ok - $name: $why"
		failures+=("$name: $why")
		failed=$((failed + 1))
	fi
	echo "=== $name: $n_ok ok ($n_skip skipped), $n_bad not ok, exit $rc, ${secs}s"
done

echo
if ((${#failures[@]} > 0)); then
	echo "Failures:"
	for f in "${failures[@]}"; do
		echo "  not ok - $f"
	done
fi
if ((skipped > 0)); then
	echo "($skipped of the passed cases were skipped)"
fi
echo "$passed passed, $failed failed"
((failed == 0))
