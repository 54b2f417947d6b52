#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# spdx: every source file git tracks names its licence, `SPDX-License-Identifier: BSD-2-Clause` (LICENSE), in its
# first 3 lines.  Source files: C, headers, assembly, linker scripts, shell, bash, Python, make fragments,
# Makefile, debian/rules, and every other file that starts with #! (the initramfs scripts, .ci/run).  Data is not
# source: test images, fuzz inputs, fixtures, manual pages, Markdown, debian/'s metadata.  One line per source
# file without it; scripts/spdx-add.sh adds the line in the file's comment syntax.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT" || exit 2
S=spdx
TAG='SPDX-License-Identifier: BSD-2-Clause'
command -v git >/dev/null && git rev-parse --git-dir >/dev/null 2>&1 || {
	echo "not ok - $S: setup: needs git and a git checkout (it checks the tracked files)"
	exit 1
}

is_source() {
	case ${1##*/} in
	*.c | *.h | *.S | *.lds | *.sh | *.bash | *.py | *.mk | Makefile) return 0 ;;
	esac
	[[ $1 == debian/rules ]] && return 0
	[[ $(head -c 2 "$1" 2>/dev/null) == '#!' ]]
}

n=0
bad=0
while IFS= read -r -d '' f; do
	[[ -f $f ]] || continue # deleted in the work tree, not yet in the index
	case $f in tests/fuzz/seeds/* | tests/fuzz/regress/* | tests/fuzz/bases/* | tests/fixtures/*) continue ;; esac
	is_source "$f" || continue
	n=$((n + 1))
	if ! head -n 3 "$f" | grep -qF "$TAG"; then
		echo "not ok - $S: $f: no '$TAG' in its first 3 lines (scripts/spdx-add.sh $f)"
		bad=$((bad + 1))
	fi
done < <(git ls-files -z)

if ((n == 0)); then
	echo "not ok - $S: no source files found among git's tracked files"
	exit 1
fi
if ((bad == 0)); then
	echo "ok - $S: all $n source files carry '$TAG' in their first 3 lines"
fi
((bad == 0))
