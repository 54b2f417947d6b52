#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 05-deps: the packages tests/deps.sh names (`tests/deps.sh --list`) install together on Debian 12.
#
# One `apt-get -s install --no-install-recommends` of the whole list (a simulation: nothing is downloaded or
# installed), twice: against this machine's dpkg status (what deps.sh would do here) and against an empty one (a
# machine with nothing installed, so a conflict hidden by what happens to be installed here still shows).  Two
# packages that Conflict (gcc-multilib and the aarch64 cross gcc did) make apt refuse: `not ok`, with apt's reason.
# Without package lists (a fresh container) apt knows no package: as root the lists are fetched once with
# `apt-get update`; otherwise the suite says so and fails.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
S=deps
ok() { echo "ok - $S: $1"; }
fail=0
notok() {
	echo "not ok - $S: $1: $2"
	fail=1
}
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vhdx-deps.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

for t in apt-get apt-cache; do
	command -v "$t" >/dev/null || { notok setup "$t is missing: this suite needs a Debian system"; exit 1; }
done

if ! mapfile -t pkgs < <(bash "$ROOT/tests/deps.sh" --list) || ((${#pkgs[@]} == 0)); then
	notok "tests/deps.sh --list" "printed no packages"
	exit 1
fi
bad_names=$(printf '%s\n' "${pkgs[@]}" | grep -vE '^[a-z0-9][a-z0-9.+-]+$')
if [[ -n $bad_names ]]; then
	notok "tests/deps.sh --list" "not Debian package names: $(echo $bad_names)"
	exit 1
fi
ok "tests/deps.sh --list names ${#pkgs[@]} packages"

# no_candidate: the packages apt has no version of (every one, without package lists)
no_candidate() {
	apt-cache policy "${pkgs[@]}" 2>/dev/null | awk '
		/^[^ ].*:$/ { name = substr($0, 1, length($0) - 1) }
		/^  Candidate:/ && $2 != "(none)" { print name }' | sort -u >"$WORK/have"
	printf '%s\n' "${pkgs[@]}" | sort -u | comm -23 - "$WORK/have"
}
lists=$(apt-config shell L Dir::State::Lists/d | sed -n "s/^L='\(.*\)'$/\1/p")
if ! compgen -G "${lists:-/var/lib/apt/lists/}*_Packages*" >/dev/null; then
	if [[ $(id -u) == 0 ]]; then
		echo "# no apt package lists in $lists: apt-get update (once)"
		if ! apt-get -q -o DPkg::Lock::Timeout=300 update >"$WORK/update.log" 2>&1; then
			notok "apt-get update" "$(tail -n 3 "$WORK/update.log" | tr '\n' ';' | cut -c1-300)"
			exit 1
		fi
	else
		notok "package lists" "this machine has no apt package lists and this is not root: run apt-get update first"
		exit 1
	fi
fi
missing=$(no_candidate)
if [[ -z $missing ]]; then
	ok "every package has an install candidate in this machine's apt sources"
else
	notok "install candidates" "apt knows no version of: $(echo $missing) (misspelt, not in Debian 12, or stale lists: apt-get update)"
fi

# simulate LABEL [apt options...]: one apt-get -s install of the whole list
simulate() {
	local label=$1
	shift
	local out=$WORK/sim.$RANDOM
	if apt-get -s -o Debug::NoLocking=1 "$@" install --no-install-recommends "${pkgs[@]}" >"$out" 2>&1; then
		local n_inst n_remv
		n_inst=$(grep -c '^Inst ' "$out")
		n_remv=$(grep -c '^Remv ' "$out")
		ok "$label: the ${#pkgs[@]} packages install together ($n_inst to install or upgrade)"
		((n_remv == 0)) || echo "# $label: apt would also remove: $(grep '^Remv ' "$out" | cut -d' ' -f2 | tr '\n' ' ')"
	else
		# apt's own reason: the unmet dependencies and conflicts, then its error line
		local why
		why=$(grep -E '^ [^ ].*: (Conflicts|Depends|Breaks|PreDepends)|^E: ' "$out" | sed 's/^ *//' | head -n 6 | tr '\n' ';')
		notok "$label" "apt-get -s install refuses the list: ${why:-$(tail -n 3 "$out" | tr '\n' ';')}"
	fi
}
simulate "on this machine"
: >"$WORK/empty-status"
simulate "on a machine with nothing installed" -o "Dir::State::status=$WORK/empty-status"
exit $fail
