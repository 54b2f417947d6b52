#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 40-manpages: the manual pages agree with --help (both ways: tests/install/mancheck.py), the checker notices a
# page that lost an option, the pages render, and the bash completion offers the commands and options.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
VHDX=${VHDX:-$BUILD/host/vhdx}
S=manpages
ok() { echo "ok - $S: $1"; }
notok() { echo "not ok - $S: $1: $2"; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vhdx-manpages.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# the real comparison: its own ok / not ok lines
python3 "$ROOT/tests/install/mancheck.py" "$VHDX" "$ROOT"

# negative control: a copy of the pages without --json (vhdx info) and without the "image" key must be reported
mkdir -p "$WORK/root/man" "$WORK/root/efi"
cp "$ROOT"/man/*.scd "$WORK/root/man/"
cp "$ROOT/efi/options.c" "$ROOT/efi/optparse.c" "$WORK/root/efi/"
sed -i '/^\*--json\*/d' "$WORK/root/man/vhdx.1.scd"
sed -i '/^\*image\* = /d' "$WORK/root/man/vhdxboot.conf.5.scd"
out=$(python3 "$ROOT/tests/install/mancheck.py" "$VHDX" "$WORK/root" 2>&1)
if grep -q '^not ok - manpages: vhdx info options: in vhdx info --help but not in .*--json' <<<"$out" &&
	grep -q '^not ok - manpages: vhdxboot.conf keys: in keys\[\] .* but not in .*: image' <<<"$out"; then
	ok "the checker reports an option and a key missing from a page"
else
	notok "the checker reports an option and a key missing from a page" "it said: $(tr '\n' ';' <<<"$out")"
fi

# every page renders with man(1) without warnings, and names itself
for p in "$BUILD"/man/*.[0-9]; do
	name=$(basename "$p")
	if [[ ! -s $p ]]; then
		notok "$name renders" "$p missing (run make)"
		continue
	fi
	warn=$(LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings -l "$p" 2>&1 >/dev/null)
	text=$(MANWIDTH=100 man -l "$p" 2>/dev/null)
	if [[ -z $warn ]] && grep -q "^NAME" <<<"$text" && grep -q "${name%.*}" <<<"$text"; then
		ok "$name renders without warnings ($(wc -l <<<"$text") lines)"
	else
		notok "$name renders" "man warnings: ${warn:-none}"
	fi
done

# bash completion: source it with bash-completion, call the function, look at COMPREPLY
complete_line() { # LINE -> the candidates, one a line
	PATH="$(dirname "$VHDX"):$PATH" bash -c '
		source /usr/share/bash-completion/bash_completion
		source "$1"
		line=$2
		read -ra COMP_WORDS <<<"$line"
		[[ $line == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$line
		COMP_POINT=${#line}
		_vhdx vhdx "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$ROOT/completion/vhdx.bash" "$1" 2>&1
}
want_cmds=$("$VHDX" --help | sed -n '/^Commands:/,/^$/{s/^  \([a-z][a-z0-9-]*\).*/\1/p}' | LC_ALL=C sort)
got_cmds=$(complete_line "vhdx " | LC_ALL=C sort)
if [[ -n $want_cmds && $got_cmds == "$want_cmds" ]]; then
	ok "completion: 'vhdx <TAB>' offers the $(wc -l <<<"$want_cmds") commands of vhdx --help"
else
	notok "completion: 'vhdx <TAB>'" "offered [$(echo $got_cmds)], vhdx --help lists [$(echo $want_cmds)]"
fi
got=$(complete_line "vhdx install-boot --re" | LC_ALL=C sort | tr '\n' ' ')
if [[ $got == "--removable --remove " ]]; then ok "completion: 'vhdx install-boot --re<TAB>' offers --removable --remove"
else notok "completion: 'vhdx install-boot --re<TAB>'" "offered [$got]"; fi
got=$(complete_line "vhdx create --log" | LC_ALL=C sort | tr '\n' ' ')
if [[ $got == "--log-size --logical-sector " ]]; then ok "completion: 'vhdx create --log<TAB>' offers --log-size --logical-sector"
else notok "completion: 'vhdx create --log<TAB>'" "offered [$got]"; fi
got=$(complete_line "vhdx install-boot --on-error " | LC_ALL=C sort | tr '\n' ' ')
if [[ $got == "continue stop " ]]; then ok "completion: '--on-error <TAB>' offers stop continue"
else notok "completion: '--on-error <TAB>'" "offered [$got]"; fi
