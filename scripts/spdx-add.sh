#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# scripts/spdx-add.sh FILE... - puts `SPDX-License-Identifier: BSD-2-Clause` into each FILE, in its own comment
# syntax, as tests/shape/spdx.sh wants it: within the first 3 lines.
#
#   C, headers, assembly (.S, run through cpp), linker scripts    /* SPDX-License-Identifier: BSD-2-Clause */
#   shell, Python, make, and any file that starts with #!         # SPDX-License-Identifier: BSD-2-Clause
# The line goes first, or right after the #! line.  A file that has the identifier in its first 3 lines is left
# as it is, so running it twice changes nothing.  A file of any other kind is refused (exit 1) and left alone.
set -euo pipefail
TAG='SPDX-License-Identifier: BSD-2-Clause'
(($# > 0)) || { echo "usage: scripts/spdx-add.sh FILE..." >&2; exit 2; }

# comment_for FILE: the line to insert, or nothing for a kind of file this does not know
comment_for() {
	local f=$1 base=${1##*/}
	case $base in
	*.c | *.h | *.S | *.lds) echo "/* $TAG */" ;;
	*.sh | *.bash | *.py | *.mk | Makefile | rules) echo "# $TAG" ;;
	*) if [[ $(head -c 2 "$f") == '#!' ]]; then echo "# $TAG"; fi ;;
	esac
}

rc=0
for f in "$@"; do
	if [[ ! -f $f ]]; then
		echo "spdx-add: $f: no such file" >&2
		rc=1
		continue
	fi
	if head -n 3 "$f" | grep -qF "$TAG"; then
		continue
	fi
	line=$(comment_for "$f")
	if [[ -z $line ]]; then
		echo "spdx-add: $f: unknown kind of file (not C, assembly, linker script, shell, Python or make): left alone" >&2
		rc=1
		continue
	fi
	tmp=$(mktemp "$f.spdx.XXXXXX")
	if [[ $(head -c 2 "$f") == '#!' ]]; then
		{ head -n 1 "$f"; echo "$line"; tail -n +2 "$f"; } >"$tmp"
	else
		{ echo "$line"; cat "$f"; } >"$tmp"
	fi
	# the file keeps its mode (scripts stay executable)
	chmod --reference="$f" "$tmp"
	mv "$tmp" "$f"
	echo "spdx-add: $f"
done
exit $rc
