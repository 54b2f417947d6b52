#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/shape/layers.sh - core/ stays layered: the checker passes on the built core objects, fails on the same
# objects read against the table upside down (so it can fail), and passes its own self-test of cycle detection.
# efi/ and host/ have no call cycle between their files either (the boot module for every architecture built):
# checked on their objects, shown to fail on the same objects with one call added back into main, and on two
# objects compiled here that call each other.
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

# no file of efi/ or host/ calls round a loop; main.c is where such loops used to close
cycles() { # SRCDIR OBJDIR BACK-CALL
	local src=$1 dir=$2 back=$3 out
	if ! ls "$dir"/*.o >/dev/null 2>&1; then
		echo "not ok - cycles: no objects in $dir (run make first)"
		return
	fi
	python3 "$checker" --cycles "$src" "$dir"
	if out=$(python3 "$checker" --cycles "$src" --add-call "$back" "$dir"); then
		echo "not ok - cycles: $dir with a call $back added passed: $out"
	else
		grep -q "^not ok - cycles: $src/: call cycle: .*${back%%:*} calls (added call) in ${back#*:}" <<<"$out" &&
			echo "ok - cycles: $dir with a call $back added is refused, the loop named" ||
			echo "not ok - cycles: $dir with a call $back added failed without naming the loop: $out"
	fi
}
cycles efi "$BUILD/efi" console:main
for arch in aa64 ia32; do
	[[ -d $BUILD/$arch/obj/efi ]] && python3 "$checker" --cycles efi "$BUILD/$arch/obj/efi"
done
cycles host "$BUILD/host" cli:main

# two real objects that call each other: the check reads nm's view of them and names both calls
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src" "$tmp/obj"
printf 'int pong(int);\nint ping(int n) { return n ? pong(n - 1) : 0; }\n' >"$tmp/src/ping.c"
printf 'int ping(int);\nint pong(int n) { return n ? ping(n - 1) : 1; }\n' >"$tmp/src/pong.c"
${CC:-cc} -c "$tmp/src/ping.c" -o "$tmp/obj/ping.o" && ${CC:-cc} -c "$tmp/src/pong.c" -o "$tmp/obj/pong.o"
out=$(python3 "$checker" --cycles "$tmp/src" "$tmp/obj")
[[ $out == *"call cycle: ping -> pong -> ping (ping calls pong in pong; pong calls ping in ping)"* ]] &&
	echo "ok - cycles: two compiled objects calling each other are refused, both calls named" ||
	echo "not ok - cycles: two compiled objects calling each other: $out"
exit 0
