#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# suite-numbers: in each directory of numbered suites (tests/boot/NN-name.sh, tests/install/NN-name.sh), no two
# suites share a number: the number is the suite's place in the run, and two with one number run in an order
# decided only by their names.  Checked on the files git tracks; the checker must find a clash it is shown.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT" || exit 2
S=suite-numbers
fail=0

# clashes FILE...: "NN: a.sh b.sh" for every number more than one file has
clashes() {
	local f
	for f in "$@"; do
		f=${f##*/}
		[[ $f =~ ^([0-9]+)- ]] && echo "${BASH_REMATCH[1]} $f"
	done | sort | awk '{ n[$1]++; l[$1] = l[$1] " " $2 } END { for (k in n) if (n[k] > 1) print k ":" l[k] }' | sort
}

if [[ -z $(clashes tests/boot/85-aa64.sh tests/boot/85-measure.sh tests/boot/86-x.sh) ]]; then
	echo "not ok - $S: the checker misses 85-aa64.sh beside 85-measure.sh"
	exit 1
fi
for d in tests/boot tests/install; do
	mapfile -t files < <(git ls-files "$d" | grep -E "^$d/[0-9]+-[^/]*\.sh$")
	if ((${#files[@]} == 0)); then
		echo "not ok - $S: $d: no suites tracked"
		fail=1
		continue
	fi
	c=$(clashes "${files[@]}")
	if [[ -z $c ]]; then
		echo "ok - $S: $d: ${#files[@]} suites, each with its own number"
	else
		echo "not ok - $S: $d: numbers shared: $(echo "$c" | tr '\n' ';')"
		fail=1
	fi
done
exit $fail
