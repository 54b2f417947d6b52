#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# scripts/check-fresh.sh [COMMIT] - does a fresh Debian 12 machine build this tree?
#
# Builds a minimal Debian 12 (bookworm, mmdebstrap's minbase variant) in a scratch directory from this machine's
# apt sources, clones COMMIT (default HEAD: what is not committed is not checked) into /src inside it, and runs
# there, as a new user would:
#   1. bash tests/deps.sh      installs the packages the build and the tests need (network)
#   2. make                    with the network cut off (unshare -n): plain make must need no download
# then checks that the products are there.  Runs as root (mmdebstrap, chroot); no QEMU guest.  Every .deb apt
# downloads is kept in build/cache/debs and put back into the next scratch system, so a second run downloads
# almost nothing.  The log is build/check-fresh.log; KEEP=1 keeps the scratch system (its path is printed).
# Several minutes: it installs some 450 packages and builds everything once.  Not part of `make test`.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
SUITE=${SUITE:-bookworm}

die() {
	echo "check-fresh: $*" >&2
	exit 2
}
[[ $(id -u) == 0 ]] || die "needs root (mmdebstrap and chroot)"
command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: apt-get install mmdebstrap"
commit=$(git -C "$ROOT" rev-parse --verify "${1:-HEAD}^{commit}") || die "no commit ${1:-HEAD}"
gitdir=$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir)
[[ -z $(git -C "$ROOT" status --porcelain --untracked-files=no) ]] ||
	echo "check-fresh: the work tree has uncommitted changes: checking commit ${commit:0:12} without them" >&2

cache=$ROOT/$BUILD/cache/debs
log=$ROOT/$BUILD/check-fresh.log
mkdir -p "$cache"
work=$(mktemp -d "${TMPDIR:-/tmp}/vhdx-fresh.XXXXXX")
cleanup() {
	if [[ ${KEEP:-0} == 1 ]]; then
		echo "check-fresh: scratch system kept in $work/root" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# this machine's apt sources (one-line and deb822 files) and its Acquire settings (a proxy, a snapshot mirror's
# validity), so the scratch system fetches from where this machine does
sources=()
if [[ -f /etc/apt/sources.list ]] && grep -q '^[[:space:]]*deb' /etc/apt/sources.list; then
	sources+=(/etc/apt/sources.list)
fi
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[[ -f $f ]] && sources+=("$f")
done
((${#sources[@]} > 0)) || die "this machine has no apt sources (/etc/apt/sources.list, /etc/apt/sources.list.d)"
aptopts=()
for f in /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do
	[[ -f $f ]] && grep -q '^[[:space:]]*Acquire' "$f" && aptopts+=("--aptopt=$f")
done

# the steps inside, one status file each (a failing step must not stop the .debs from being saved)
cat >"$work/hook.sh" <<EOF
#!/bin/bash
set -u
R=\$1
W=$(printf %q "$work")
step() { # step NAME COMMAND...: run COMMAND in the scratch system, time it, keep its status
	local name=\$1 t0=\$(date +%s)
	shift
	chroot "\$R" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 CI=true "\$@" >"\$W/\$name.log" 2>&1 </dev/null
	echo \$? >"\$W/\$name.rc"
	echo \$((\$(date +%s) - t0)) >"\$W/\$name.secs"
}
git clone -q $(printf %q "$gitdir") "\$R/src" && git -C "\$R/src" checkout -q $(printf %q "$commit") || exit 1
step deps bash -c 'cd /src && bash tests/deps.sh'
cp -u "\$R"/var/cache/apt/archives/*.deb $(printf %q "$cache")/ 2>/dev/null
if [[ \$(cat "\$W/deps.rc") == 0 ]]; then
	step make bash -c 'cd /src && unshare -n make'
	ls -l "\$R"/src/$(printf %q "$BUILD")/efi/vhdxboot.efi "\$R"/src/$(printf %q "$BUILD")/host/vhdx >"\$W/products" 2>&1
	ls -d "\$R"/src/$(printf %q "$BUILD")/{aa64,ia32}/vhdxboot.efi >"\$W/arches" 2>/dev/null
fi
exit 0
EOF
chmod +x "$work/hook.sh"

t0=$(date +%s)
echo "check-fresh: a minimal Debian $SUITE in $work/root, then tests/deps.sh and make in a clone of ${commit:0:12}" >&2
if ! mmdebstrap --mode=root --variant=minbase --skip=essential/unlink "${aptopts[@]}" \
	--setup-hook='mkdir -p "$1"/var/cache/apt/archives' \
	--setup-hook="sync-in $(printf %q "$cache") /var/cache/apt/archives/" \
	--customize-hook="$work/hook.sh" \
	"$SUITE" "$work/root" "${sources[@]}" >"$log" 2>&1; then
	echo "check-fresh: mmdebstrap failed: $(tail -n 3 "$log" | tr '\n' ';')" >&2
	exit 1
fi
total=$(($(date +%s) - t0))
{
	for s in deps make; do
		[[ -f $work/$s.log ]] && { echo "=== $s (exit $(cat "$work/$s.rc"), $(cat "$work/$s.secs")s)"; cat "$work/$s.log"; }
	done
} >>"$log"

fail=0
report() { # report STEP TITLE
	local s=$1 title=$2
	if [[ ! -f $work/$s.rc ]]; then
		echo "not ok - check-fresh: $title: did not run"
		fail=1
	elif [[ $(cat "$work/$s.rc") == 0 ]]; then
		echo "ok - check-fresh: $title ($(cat "$work/$s.secs")s)"
	else
		echo "not ok - check-fresh: $title: exit $(cat "$work/$s.rc") after $(cat "$work/$s.secs")s: $(tail -n 3 "$work/$s.log" | tr '\n' ';' | cut -c1-400)"
		fail=1
	fi
}
report deps "bash tests/deps.sh on a fresh Debian $SUITE"
report make "make with the network cut off (unshare -n)"
if [[ ! -f $work/make.rc || $(cat "$work/make.rc") != 0 ]]; then
	: # make failed or did not run: reported above
elif ! grep -q 'No such file' "$work/products"; then
	echo "ok - check-fresh: $BUILD/efi/vhdxboot.efi and $BUILD/host/vhdx built"
else
	echo "not ok - check-fresh: products: $(grep 'No such file' "$work/products" | tr '\n' ';')"
	fail=1
fi
if [[ -f $work/make.log ]]; then
	grep -E '^make: skipped' "$work/make.log" | sed 's/^/# /' || true
fi
if [[ -s $work/arches ]]; then
	echo "# also built: $(sed "s|^$work/root/src/||" "$work/arches" | tr '\n' ' ')"
fi
echo "check-fresh: ${total}s in all; log in $log; $(find "$cache" -name '*.deb' | wc -l) .debs cached in $cache"
exit $fail
