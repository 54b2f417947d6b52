#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# scripts/fetch-gnuefi-arm64.sh DEST - Debian's gnu-efi for arm64 (crt0, libgnuefi.a, headers), unpacked into DEST.
#
# The aarch64 build of the boot module needs gnu-efi's arm64 files, but adding arm64 as a foreign architecture
# would change how the whole machine resolves packages.  Instead apt runs with a private state directory (its
# own package lists, cache and an empty dpkg status) and APT::Architecture=arm64, so `apt-get download` fetches
# the arm64 .deb from the machine's own Debian sources; `dpkg-deb -x` unpacks it (no package script runs,
# nothing is installed).  Safe to run again: it does nothing when DEST is complete.
set -euo pipefail
dest=${1:?usage: fetch-gnuefi-arm64.sh DEST}
mkdir -p "$(dirname "$dest")"
# apt resolves relative Dir:: settings against its own directories: absolute paths only
dest=$(cd "$(dirname "$dest")" && pwd)/$(basename "$dest")
probe=usr/lib/crt0-efi-aarch64.o
if [[ -f $dest/$probe && -d $dest/usr/include/efi/aarch64 && -f $dest/usr/lib/libgnuefi.a ]]; then
	exit 0
fi
for c in apt-get dpkg-deb; do
	command -v "$c" >/dev/null || { echo "fetch-gnuefi-arm64: $c is missing (a Debian system is needed)" >&2; exit 1; }
done

state=$dest.apt
rm -rf "$state"
mkdir -p "$state/lists/partial" "$state/archives/partial" "$state/sources.list.d" "$state/debs"
: >"$state/status"
# the machine's own sources (one-line and deb822 files), so the same mirror and keys are used
[[ -f /etc/apt/sources.list ]] && cp /etc/apt/sources.list "$state/sources.list" || : >"$state/sources.list"
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[[ -f $f ]] && cp "$f" "$state/sources.list.d/"
done
apt_private=(
	-o "APT::Architecture=arm64" -o "APT::Architectures::=arm64"
	-o "Dir::State=$state" -o "Dir::State::Lists=$state/lists" -o "Dir::State::status=$state/status"
	-o "Dir::Cache=$state" -o "Dir::Cache::Archives=$state/archives"
	-o "Dir::Etc::SourceList=$state/sources.list" -o "Dir::Etc::SourceParts=$state/sources.list.d"
	-o "Debug::NoLocking=1" -o "APT::Sandbox::User=$(id -un)"
)
# a few attempts: the network or the mirror may hiccup on a loaded CI machine
ok=0
for i in 1 2 3; do
	if apt-get -q "${apt_private[@]}" update >"$state/update.log" 2>&1 &&
		(cd "$state/debs" && apt-get -q "${apt_private[@]}" download gnu-efi:arm64 >"$state/download.log" 2>&1); then
		ok=1
		break
	fi
	sleep $((5 * i))
done
if ((!ok)); then
	echo "fetch-gnuefi-arm64: apt-get could not fetch gnu-efi:arm64 (logs in $state):" >&2
	tail -n 3 "$state/update.log" "$state/download.log" >&2 2>/dev/null || true
	exit 1
fi
deb=$(ls "$state"/debs/gnu-efi_*_arm64.deb | head -1)
rm -rf "$dest"
mkdir -p "$dest"
dpkg-deb -x "$deb" "$dest"
if [[ ! -f $dest/$probe ]]; then
	echo "fetch-gnuefi-arm64: $deb has no $probe" >&2
	exit 1
fi
echo "fetch-gnuefi-arm64: $(basename "$deb") unpacked into $dest" >&2
rm -rf "$state"
