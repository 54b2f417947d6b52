#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 30-deb: the Debian package from a clean clone of the committed tree (`make deb`, dpkg-buildpackage -b -us -uc
# with debhelper), unpacked into a scratch root with dpkg -x: its files are where the manual pages' FILES
# sections say, the packaged vhdx runs and installs the packaged vhdxboot.efi, and lintian reports no errors
# (its warnings and notes are printed as comments).  About two minutes: one build.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
S=deb
ok() { echo "ok - $S: $1"; }
notok() { echo "not ok - $S: $1: $2"; }
expect() { local n=$1; shift; if "$@"; then ok "$n"; else notok "$n" "failed: $*"; fi; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vhdx-deb.XXXXXX")
trap '[[ ${KEEP:-0} == 1 ]] && echo "# work kept in $WORK" || rm -rf "$WORK"' EXIT
for t in git dpkg-buildpackage dh dpkg-deb lintian scdoc; do
	command -v "$t" >/dev/null || { notok setup "missing $t (tests/deps.sh installs it)"; exit 1; }
done

# a clean clone of the commit under test (what is not committed is not in the package)
commit=$(git -C "$ROOT" rev-parse HEAD)
[[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no) ]] &&
	echo "# the work tree has uncommitted changes: the package is built from commit $commit without them"
if ! git clone -q "$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir)" "$WORK/src" ||
	! git -C "$WORK/src" checkout -q "$commit"; then
	notok "clean clone" "git clone of $ROOT at $commit failed"
	exit 1
fi
start=$(date +%s)
if ! (cd "$WORK/src" && DEB_BUILD_OPTIONS=parallel=2 make deb) >"$WORK/build.log" 2>&1; then
	notok "make deb in a clean clone" "$(tail -5 "$WORK/build.log" | tr '\n' ';')"
	exit 1
fi
deb=$(ls "$WORK"/src/build/deb/vhdxboot_*.deb 2>/dev/null | head -1)
changes=$(ls "$WORK"/src/build/deb/vhdxboot_*.changes 2>/dev/null | head -1)
if [[ -f $deb && -f $changes ]]; then
	ok "make deb in a clean clone of $commit: $(basename "$deb") in build/deb ($(($(date +%s) - start))s)"
else
	notok "make deb" "no .deb/.changes in build/deb: $(ls "$WORK/src/build/deb" | tr '\n' ' ')"
	exit 1
fi
expect "the tests did not run in the package build" bash -c "! grep -q 'tests/run.sh' '$WORK/build.log'"
expect "dpkg-buildpackage's results are not in the clone's parent" \
	test -z "$(ls "$WORK"/*.deb "$WORK"/*.changes 2>/dev/null)"

info=$(dpkg-deb -f "$deb" Package Architecture Depends)
expect "control: package vhdxboot, depends on libc6 ($(tr '\n' ' ' <<<"$info"))" \
	grep -q 'Depends: .*libc6' <<<"$info"

R=$WORK/root
dpkg -x "$deb" "$R"
# the paths the pages name in their FILES sections (the packaged pages, rendered), /usr/local ones aside
paths=$(for p in "$R"/usr/share/man/man*/*.gz; do
	MANWIDTH=200 man -l "$p" 2>/dev/null | sed -n '/^FILES/,/^[A-Z]/p'
done | grep -oE '/usr/[A-Za-z0-9_./-]*[A-Za-z0-9_]' | grep -v '^/usr/local' | sort -u)
missing=()
for p in $paths; do [[ -e $R$p ]] || missing+=("$p"); done
if [[ -n $paths && ${#missing[@]} == 0 ]]; then
	ok "every path in the pages' FILES sections is in the package: $(echo $paths)"
else
	notok "files where the pages say" "missing: ${missing[*]:-no paths found in the pages}"
fi
pages=(usr/share/man/man1/vhdx.1.gz usr/share/man/man5/vhdxboot.conf.5.gz usr/share/man/man8/vhdxboot.8.gz)
missing=()
for p in "${pages[@]}"; do [[ -f $R/$p ]] || missing+=("/$p"); done
if ((${#missing[@]} == 0)); then ok "manual pages in the package: vhdx(1) vhdxboot.conf(5) vhdxboot(8)"
else notok "manual pages in the package" "missing ${missing[*]}"; fi
[[ -f $ROOT/initramfs/hooks/vhdx ]] &&
	expect "initramfs-tools hook in the package" test -x "$R/usr/share/initramfs-tools/hooks/vhdx"
[[ -f $ROOT/initramfs/scripts/local-top/vhdx ]] &&
	expect "initramfs-tools local-top script in the package" test -x "$R/usr/share/initramfs-tools/scripts/local-top/vhdx"
expect "no make install record in the package" test ! -e "$R/usr/lib/vhdxboot/make-install.list"
# the hook's relations, and the trigger that puts it into every regenerated initramfs (dh_installinitramfs)
rel=$(dpkg-deb -f "$deb" Recommends)
expect "control: Recommends dmsetup and initramfs-tools ($rel)" grep -qE 'dmsetup.*initramfs-tools|initramfs-tools.*dmsetup' <<<"$rel"
dpkg-deb -e "$deb" "$WORK/control"
expect "triggers: activate-noawait update-initramfs" grep -qx 'activate-noawait update-initramfs' "$WORK/control/triggers"

# `dpkg -i` as the README says, into a scratch root with a dpkg database of its own; then `dpkg -r` empties it
D=$WORK/dpkgroot
mkdir -p "$D/var/lib/dpkg/info" "$D/var/lib/dpkg/updates"
touch "$D/var/lib/dpkg/status" "$D/var/lib/dpkg/available"
# --force-depends: the scratch database knows no libc6
if dpkg --root="$D" --force-depends -i "$deb" >"$WORK/dpkg-i.log" 2>&1 && [[ -x $D/usr/bin/vhdx && -f $D/usr/lib/vhdxboot/vhdxboot.efi ]] &&
	dpkg --root="$D" -L vhdxboot | grep -qx /usr/share/man/man8/vhdxboot.8.gz; then
	ok "dpkg -i into a scratch root: $(dpkg --root="$D" -L vhdxboot | wc -l) paths"
else
	notok "dpkg -i into a scratch root" "$(tail -3 "$WORK/dpkg-i.log" | tr '\n' ';')"
fi
dpkg --root="$D" -r vhdxboot >"$WORK/dpkg-r.log" 2>&1
left=$(cd "$D" && find . -mindepth 1 -not -path './var*' | tr '\n' ' ')
expect "dpkg -r leaves nothing outside the database" test -z "$left"

# the README's Install section: its apt-get line names every Build-Depends, its dpkg -i line the built file
readme=$(sed -n '/^## Install/,/^## [A-Z]/p' "$ROOT/README.md")
aptline=$(grep -m1 '^sudo apt-get install' <<<"$readme")
bdeps=$(sed -n '/^Build-Depends:/,/^[A-Z][A-Za-z-]*:/p' "$WORK/src/debian/control" | sed '$d;s/^Build-Depends://' |
	tr ',' '\n' | awk 'NF { print $1 }' | sed 's/^debhelper-compat$/debhelper/')
missing=()
for b in $bdeps; do grep -qw -- "$b" <<<"$aptline" || missing+=("$b"); done
if [[ -n $bdeps && -n $aptline && ${#missing[@]} == 0 ]]; then ok "README's apt-get line names every Build-Depends ($(echo $bdeps))"
else notok "README's apt-get line" "missing: ${missing[*]:-(no Build-Depends or no apt-get line found)}"; fi
expect "README's dpkg -i line names the built package" grep -q "dpkg -i build/deb/$(basename "$deb")\$" <<<"$readme"

v=$("$R/usr/bin/vhdx" --version 2>&1)
expect "the packaged vhdx runs: $v" grep -q '^vhdx (vhdxboot) ' <<<"$v"
expect "the packaged vhdx looks for the module in /usr/lib/vhdxboot" \
	grep -q 'in /usr/lib/vhdxboot)' <("$R/usr/bin/vhdx" install-boot --help | tr -s ' \n' ' ')
mkdir -p "$WORK/esp"
out=$(env -u VHDXBOOT_MODULE "$R/usr/bin/vhdx" install-boot --esp "$WORK/esp" --force --no-entry 2>&1)
if cmp -s "$WORK/esp/EFI/vhdxboot/vhdxboot.efi" "$R/usr/lib/vhdxboot/vhdxbootx64.efi"; then
	ok "the packaged vhdx install-boot installs the packaged vhdxboot.efi"
else
	notok "packaged install-boot" "$(tr '\n' ';' <<<"$out")"
fi

# lintian on what was built: no errors; the rest shown
lintian -EvIL +pedantic "$changes" >"$WORK/lintian.log" 2>&1
lrc=$?
grep -E '^[EWIPX]: ' "$WORK/lintian.log" | sed 's/^/# lintian: /'
n_err=$(grep -c '^E: ' "$WORK/lintian.log")
# lintian exits 1 when it found errors (its default --fail-on), 2 when it could not check
if ((lrc == 0 && n_err == 0)); then
	ok "lintian: no errors ($(grep -c '^W: ' "$WORK/lintian.log") warnings, $(grep -cE '^[IPX]: ' "$WORK/lintian.log") notes)"
else
	notok "lintian" "exit $lrc, $n_err errors: $(grep -E '^E: |rror' "$WORK/lintian.log" | head -5 | tr '\n' ';')"
fi
