#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
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
# Environment: BUILD (default build), VHDX (default $BUILD/host/vhdx), SUITE_TIMEOUT seconds (default 1800),
#              KEEP_LOGS=1 keeps the per-suite logs directory, JOBS (2 with CI=true and in `make test`, else 1):
#              how many suites whose path contains PARALLEL (default tests/boot/) run at once; their output is
#              kept per suite and printed in order.  Each boot suite works in its own mktemp directory and
#              boots its guests with no network and no ports or sockets outside it; what they share under
#              build/cache (kernel, systemd-boot, busybox, the unpacked kernel package) is fetched before they
#              start, so they only read it.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
export ROOT
export BUILD=${BUILD:-build}
export VHDX=${VHDX:-$ROOT/$BUILD/host/vhdx}
export PYTHONDONTWRITEBYTECODE=1
SUITE_TIMEOUT=${SUITE_TIMEOUT:-1800}
# the boot suites (QEMU guests, one CPU each) run JOBS at a time; JOBS=1: one after the other.  2 by default in CI
# and in `make test`; 1 when the runner is started by hand, on a machine others share
if [[ -z ${JOBS:-} ]]; then
	JOBS=1
	[[ ${CI:-} == true ]] && JOBS=2
fi
PARALLEL=${PARALLEL:-tests/boot/}
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || { echo "not ok - runner: JOBS=$JOBS is not a number of suites"; exit 2; }

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

# suite_cmd SUITE: how to run it
suite_cmd() {
	case $1 in
	*.py) cmd=(python3 "$1") ;;
	*.sh) cmd=(bash "$1") ;;
	*) cmd=("$1") ;;
	esac
}

# log_of SUITE: its log file (name, rc and seconds files beside it)
log_of() {
	local name=${1#"$BUILD"/}
	echo "$logdir/$(echo "$name" | tr '/' '_').log"
}

# run_bg SUITE: run it in the background, its output only into its log; LOG.rc and LOG.secs when it ends
run_bg() {
	local s=$1 log
	log=$(log_of "$s")
	suite_cmd "$s"
	(
		start=$(date +%s)
		# an interrupted runner stops the suite too: timeout passes the signal on to it
		timeout --kill-after=30 "$SUITE_TIMEOUT" "${cmd[@]}" </dev/null >"$log" 2>&1 &
		tpid=$!
		trap 'kill -TERM "$tpid" 2>/dev/null' TERM
		wait "$tpid"
		rc=$?
		echo $(($(date +%s) - start)) >"$log.secs"
		echo $rc >"$log.rc"
	) &
	bg_pids+=($!)
}

# account SUITE: count its results from its log, name a failure it did not report itself, print its last line
account() {
	local s=$1 name=${1#"$BUILD"/} log rc secs
	log=$(log_of "$s")
	rc=$(cat "$log.rc")
	secs=$(cat "$log.secs")
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
}

# run_one SUITE: on its own, its output shown as it comes
run_one() {
	local s=$1 name=${1#"$BUILD"/} log start
	log=$(log_of "$s")
	echo "=== $name"
	suite_cmd "$s"
	start=$(date +%s)
	# stdin from /dev/null: CI has no terminal, and no suite may wait for one
	timeout --kill-after=30 "$SUITE_TIMEOUT" "${cmd[@]}" </dev/null 2>&1 | tee "$log"
	echo "${PIPESTATUS[0]}" >"$log.rc"
	echo $(($(date +%s) - start)) >"$log.secs"
	account "$s"
}

# run_side_by_side SUITE...: up to JOBS at a time; each one's output is printed whole when it and every suite
# before it have ended, so the output reads as if they had run one after the other
run_side_by_side() {
	local list=("$@") n=$# next=0 shown=0 running i log
	echo "# the next $n suites run $JOBS at a time (JOBS); each one's output is printed when it has ended"
	while ((shown < n)); do
		running=0
		for ((i = shown; i < next; i++)); do
			[[ -f $(log_of "${list[i]}").rc ]] || running=$((running + 1))
		done
		while ((next < n && running < JOBS)); do
			run_bg "${list[next]}"
			next=$((next + 1))
			running=$((running + 1))
		done
		log=$(log_of "${list[shown]}")
		if [[ -f $log.rc ]]; then
			echo "=== ${list[shown]#"$BUILD"/}"
			cat "$log"
			account "${list[shown]}"
			shown=$((shown + 1))
		else
			sleep 1
		fi
	done
}

# suites whose path contains $PARALLEL (the boot suites: each boots its own guests in its own temporary directory)
# run side by side; the parts they share in build/cache are fetched first, so that they only read them
bg_pids=()
trap 'kill "${bg_pids[@]}" 2>/dev/null; wait; exit 130' INT TERM
i=0
while ((i < ${#suites[@]})); do
	s=${suites[i]}
	if [[ $s == "$BUILD"/* && ! -x $s ]]; then
		echo "=== ${s#"$BUILD"/}"
		echo "not ok - ${s#"$BUILD"/}: not built (run make test)"
		failures+=("${s#"$BUILD"/}: not built")
		failed=$((failed + 1))
		i=$((i + 1))
		continue
	fi
	group=()
	while ((JOBS > 1 && i < ${#suites[@]})) && [[ -n $PARALLEL && ${suites[i]} == *"$PARALLEL"* ]]; do
		group+=("${suites[i]}")
		i=$((i + 1))
	done
	if ((${#group[@]} > 1)); then
		if [[ $PARALLEL == tests/boot/ ]]; then
			BUILD=$BUILD bash scripts/fetch-testparts.sh || echo "# the boot suites' shared parts could not all be fetched: the suites that need them will say so"
		fi
		run_side_by_side "${group[@]}"
	elif ((${#group[@]} == 1)); then
		run_one "${group[0]}"
	else
		run_one "$s"
		i=$((i + 1))
	fi
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
