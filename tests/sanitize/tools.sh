#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/sanitize/tools.sh - the suites that drive the tool, run against the ASan + UBSan build of it:
# tests/interop/*.sh and tests/malformed/test_*.py with VHDX=build/sanitize/vhdx (make sanitize).
# Environment: see lib.bash; SAN_SUITES (space-separated globs, default the above), SAN_SUITE_TIMEOUT seconds per
# suite (default 1200).
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

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
