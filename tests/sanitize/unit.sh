#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/sanitize/unit.sh - the unit tests built with ASan + UBSan (build/sanitize/unit/test_*, make sanitize).
# Also reports clang's warnings about the sources (as `ok - ... # note`, they do not fail the suite).
# Environment: see lib.bash; SAN_UNIT_TIMEOUT seconds per unit test (default 1500: test_crash needs ~5 CPU
# minutes under ASan).
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# compiler warnings the sanitize build produced (clang sees things gcc does not)
for w in "$SAN"/*/*.warn; do
	[[ -s $w ]] || continue
	src=$(grep -m1 -oE '^[^:]+\.c' "$w")
	echo "ok - asan: clang warnings in ${src:-${w##*/}} # note: $(grep -m1 'warning:' "$w" | sed 's/^[^ ]* //' | cut -c1-160)"
done

for src in tests/unit/test_*.c; do
	t=$SAN/unit/$(basename "$src" .c)
	name=unit/${t##*/}
	if [[ ! -x $t ]]; then
		echo "not ok - asan: $name: not built ($(builderr "${t##*/}"))"
		fail=1
		continue
	fi
	if skipped "$name"; then
		echo "ok - asan: $name # skip SAN_SKIP"
		continue
	fi
	run_suite "$name" "${SAN_UNIT_TIMEOUT:-1500}" "$t"
done

exit $fail
