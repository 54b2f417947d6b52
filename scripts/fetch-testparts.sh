#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# scripts/fetch-testparts.sh - the Debian parts the boot suites boot, fetched once into build/cache before any
# suite runs (`make fetch`, which `make test` runs; tests/run.sh before it runs boot suites side by side):
#   build/cache/os          a Debian kernel, systemd-boot, static busybox (tests/boot/lib/osparts.sh)
#   build/cache/linuxroot   Debian's kernel package, unpacked, depmod run (tests/boot/lib/linuxroot.sh)
# Installed files are used where present, otherwise `apt-get download`.  With the caches filled the suites only
# read them, so two suites running at once never write the same file.  Safe to run again: it does nothing then.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
export PATH=$PATH:/usr/sbin:/sbin # depmod
source tests/boot/lib/osparts.sh
source tests/boot/lib/linuxroot.sh
rc=0
if ! ensure_osparts "$BUILD/cache/os"; then
	echo "fetch-testparts: no kernel, systemd-boot or busybox in $BUILD/cache/os (apt-get download failed?)" >&2
	rc=1
fi
if ! lr_kernel "$BUILD/cache/linuxroot"; then
	echo "fetch-testparts: no unpacked Debian kernel package in $BUILD/cache/linuxroot (apt-get download or depmod failed)" >&2
	rc=1
fi
exit $rc
