#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 10-make-install: `make install DESTDIR=...` puts every file where the pages say, the installed vhdx runs and
# finds the installed vhdxboot.efi, a second install changes nothing, and `make uninstall` leaves nothing behind
# (and keeps what was there before).  PREFIX=/usr moves everything and the compiled-in module directory.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD_ARG=${BUILD:-build}
case $BUILD_ARG in /*) BUILD=$BUILD_ARG ;; *) BUILD=$ROOT/$BUILD_ARG ;; esac
S=make-install
ok() { echo "ok - $S: $1"; }
notok() { echo "not ok - $S: $1: $2"; }
expect() { local n=$1; shift; if "$@"; then ok "$n"; else notok "$n" "failed: $*"; fi; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vhdx-make-install.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mk() { make --no-print-directory -s -C "$ROOT" BUILD="$BUILD_ARG" "$@"; }

T=$WORK/dest
if ! mk install DESTDIR="$T" >"$WORK/install.log" 2>&1; then
	notok "make install DESTDIR" "$(tail -3 "$WORK/install.log" | tr '\n' ';')"
	exit 1
fi
want=(usr/local/bin/vhdx usr/local/lib/vhdxboot/vhdxboot.efi usr/local/lib/vhdxboot/vhdxbootx64.efi
	usr/local/share/man/man1/vhdx.1 usr/local/share/man/man5/vhdxboot.conf.5 usr/local/share/man/man8/vhdxboot.8
	usr/local/share/bash-completion/completions/vhdx)
[[ -f $ROOT/initramfs/hooks/vhdx ]] && want+=(usr/share/initramfs-tools/hooks/vhdx)
[[ -f $ROOT/initramfs/scripts/local-top/vhdx ]] && want+=(usr/share/initramfs-tools/scripts/local-top/vhdx)
for a in aa64 ia32; do
	[[ -f $BUILD/$a/vhdxboot.efi ]] && want+=(usr/local/lib/vhdxboot/vhdxboot$a.efi)
done
missing=()
for f in "${want[@]}"; do [[ -f $T/$f ]] || missing+=("$f"); done
if ((${#missing[@]} == 0)); then ok "make install DESTDIR: ${#want[@]} files where the pages say"
else notok "make install DESTDIR: files" "missing ${missing[*]}"; fi
expect "installed module is the built one" cmp -s "$T/usr/local/lib/vhdxboot/vhdxboot.efi" "$BUILD/efi/vhdxboot.efi"
expect "installed vhdx is executable, completion and pages are not" \
	test -x "$T/usr/local/bin/vhdx" -a ! -x "$T/usr/local/share/man/man1/vhdx.1" -a ! -x "$T/usr/local/lib/vhdxboot/vhdxboot.efi"

v=$("$T/usr/local/bin/vhdx" --version 2>&1)
expect "installed vhdx runs: $v" grep -q '^vhdx (vhdxboot) [0-9]' <<<"$v"
expect "installed vhdx looks for the module in /usr/local/lib/vhdxboot" \
	grep -q 'vhdxbootARCH.efi in /usr/local/lib/vhdxboot' <(MANWIDTH=200 "$T/usr/local/bin/vhdx" install-boot --help | tr -s ' \n' ' ')
# the installed tool finds the installed module beside it (../lib/vhdxboot), as a DESTDIR or unpacked install must
mkdir -p "$WORK/esp"
out=$(env -u VHDXBOOT_MODULE "$T/usr/local/bin/vhdx" install-boot --esp "$WORK/esp" --force --no-entry 2>&1)
rc=$?
if ((rc == 0)) && cmp -s "$WORK/esp/EFI/vhdxboot/vhdxboot.efi" "$T/usr/local/lib/vhdxboot/vhdxbootx64.efi"; then
	ok "installed vhdx install-boot installs the installed module"
else
	notok "installed vhdx install-boot" "exit $rc: $(tr '\n' ';' <<<"$out")"
fi

# a second install: the same files, the same record
before=$(cd "$T" && find . | sort && cat usr/local/lib/vhdxboot/make-install.list)
mk install DESTDIR="$T" >/dev/null 2>&1
after=$(cd "$T" && find . | sort && cat usr/local/lib/vhdxboot/make-install.list)
expect "a second make install changes nothing" test "$before" == "$after"

mk uninstall DESTDIR="$T" >"$WORK/uninstall.log" 2>&1
left=$(cd "$T" && find . -mindepth 1)
if [[ -z $left ]]; then ok "make uninstall DESTDIR leaves nothing (not even empty directories)"
else notok "make uninstall DESTDIR" "left: $(echo $left)"; fi

# what was there before install stays: a file in bin/, and its directories
T2=$WORK/dest2
mkdir -p "$T2/usr/local/bin" "$T2/usr/local/share/man/man1"
echo theirs >"$T2/usr/local/bin/other"
echo theirs >"$T2/usr/local/share/man/man1/other.1"
mk install DESTDIR="$T2" >/dev/null 2>&1 && mk uninstall DESTDIR="$T2" >/dev/null 2>&1
left=$(cd "$T2" && find . -mindepth 1 | sort | tr '\n' ' ')
want_left="./usr ./usr/local ./usr/local/bin ./usr/local/bin/other ./usr/local/share ./usr/local/share/man ./usr/local/share/man/man1 ./usr/local/share/man/man1/other.1 "
expect "make uninstall keeps what was there before install" test "$left" == "$want_left"

# without a record (INSTALL_MANIFEST empty, as the package build does): uninstall removes the files of the list
T4=$WORK/dest4
mk install DESTDIR="$T4" INSTALL_MANIFEST= >/dev/null 2>&1
had=$(cd "$T4" && find . -type f | wc -l)
mk uninstall DESTDIR="$T4" INSTALL_MANIFEST= >/dev/null 2>&1
expect "no record: install wrote no record, uninstall removes all $had files of the list" \
	test "$had" -ge 7 -a -z "$(cd "$T4" && find . -type f)"

# PREFIX=/usr: everything under /usr, and the tool compiled to look in /usr/lib/vhdxboot
T3=$WORK/dest3
if mk install PREFIX=/usr DESTDIR="$T3" >"$WORK/install3.log" 2>&1 && [[ -x $T3/usr/bin/vhdx && -f $T3/usr/lib/vhdxboot/vhdxboot.efi &&
	-f $T3/usr/share/man/man8/vhdxboot.8 && -f $T3/usr/share/bash-completion/completions/vhdx ]] &&
	"$T3/usr/bin/vhdx" install-boot --help | tr -s ' \n' ' ' | grep -q 'in /usr/lib/vhdxboot)'; then
	ok "make install PREFIX=/usr: under /usr, module directory /usr/lib/vhdxboot compiled in"
else
	notok "make install PREFIX=/usr" "$(tail -3 "$WORK/install3.log" | tr '\n' ';')"
fi
mk uninstall PREFIX=/usr DESTDIR="$T3" >/dev/null 2>&1
expect "make uninstall PREFIX=/usr leaves nothing" test -z "$(cd "$T3" && find . -mindepth 1)"
# the tree's own tool back to the default PREFIX
mk all >/dev/null 2>&1
expect "tree's vhdx back to /usr/local/lib/vhdxboot" grep -q 'in /usr/local/lib/vhdxboot)' <("$BUILD/host/vhdx" install-boot --help | tr -s ' \n' ' ')
