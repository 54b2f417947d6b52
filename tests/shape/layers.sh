#!/usr/bin/env bash
# tests/shape/layers.sh - core/ stays layered: the checker passes on the built core objects, fails on the same
# objects read against the table upside down (so it can fail), and passes its own self-test of cycle detection.
set -u
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-build}
cd "$ROOT" || exit 2
objs=$BUILD/core
checker=tests/tools/corelayers.py

if ! ls "$objs"/*.o >/dev/null 2>&1; then
	echo "not ok - layers: no core objects in $objs (run make first)"
	exit 1
fi
python3 "$checker" "$objs"
if out=$(python3 "$checker" --reverse "$objs"); then
	echo "not ok - layers: the checker accepted the layer table read upside down"
else
	grep -q '^not ok - layers: upward calls:' <<<"$out" &&
		echo "ok - layers: the checker rejects the table read upside down (upward calls reported)" ||
		echo "not ok - layers: the reversed table failed without reporting upward calls: $out"
fi
python3 "$checker" --selftest
exit 0
