#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/deps.sh - makes sure the Debian packages that the build, the tests and the benchmarks need are installed.
#
# Checks commands and files; if any is missing: as root, `apt-get update` and one non-interactive
# `apt-get install`; otherwise prints the one apt-get line to run and exits 1.  Exit 0 when all is present.
# Safe with CI=true and no terminal.  DEPS_CHECK_ONLY=1: only report, never install.
# `tests/deps.sh --list`: print the packages of the list below, one a line, and nothing else (the one source of
# the package list: tests/install/05-deps.sh checks that they install together, scripts/check-fresh.sh uses it).
set -euo pipefail

# requirement|package: a command name, or an absolute path (glob) that must exist
reqs=(
	"make|make"
	"gcc|gcc"
	"cc|gcc"
	"/usr/include/stdio.h|libc6-dev"
	"ar|binutils"
	"objcopy|binutils"
	"ld|binutils"
	"/usr/include/x86_64-linux-gnu/gnu/stubs-32.h|libc6-dev-i386"
	"/usr/lib/gcc/x86_64-linux-gnu/*/32/crtbegin.o|gcc-12-multilib"
	"clang|clang"
	"python3|python3"
	"bunzip2|bzip2"
	"cmp|diffutils"
	"sha256sum|coreutils"
	"timeout|coreutils"
	"truncate|coreutils"
	"qemu-img|qemu-utils"
	"qemu-io|qemu-utils"
	"vhdiinfo|libvhdi-utils"
	"vhdimount|libvhdi-utils"
	"fusermount3|fuse3"
	"/usr/include/efi/efi.h|gnu-efi"
	"/usr/lib/crt0-efi-x86_64.o|gnu-efi"
	"/usr/lib/elf_x86_64_efi.lds|gnu-efi"
	"/usr/share/OVMF/OVMF_CODE_4M.fd|ovmf"
	"/usr/share/OVMF/OVMF_VARS_4M.fd|ovmf"
	"qemu-system-x86_64|qemu-system-x86"
	"mcopy|mtools"
	"mkfs.vfat|dosfstools"
	"sgdisk|gdisk"
	"hyperfine|hyperfine"
	"/usr/bin/time|time"
	"qemu-i386|qemu-user"
	"sbsign|sbsigntool"
	"scdoc|scdoc"
	"fusefat|fusefat"
	"dpkg-buildpackage|dpkg-dev"
	"dh|debhelper"
	"lintian|lintian"
	"efibootmgr|efibootmgr"
	"/usr/share/bash-completion/bash_completion|bash-completion"
	"/usr/lib/systemd/boot/efi/systemd-bootx64.efi|systemd-boot-efi"
	"/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a|libclang-rt-14-dev"
	# tests/boot/75-linuxroot.sh: initramfs, device-mapper, ext4 root, Debian kernel modules
	"mkinitramfs|initramfs-tools"
	"dmsetup|dmsetup"
	"mkfs.ext4|e2fsprogs"
	"debugfs|e2fsprogs"
	"depmod|kmod"
	"zstd|zstd"
	"busybox|busybox-static"
	# the measured-boot and shim suites: a software TPM (swtpm, socket mode: no swtpm_setup needed), Debian's shim, openssl for the test keys
	"swtpm|swtpm"
	"/usr/lib/shim/shimx64.efi|shim-unsigned"
	"openssl|openssl"
	# aarch64 and ia32 UEFI (gnu-efi for arm64 is not installed: `make fetch` unpacks it into build/cache)
	"aarch64-linux-gnu-gcc|gcc-aarch64-linux-gnu"
	"/usr/aarch64-linux-gnu/lib/libc.a|libc6-dev-arm64-cross"
	"qemu-aarch64|qemu-user"
	"qemu-system-aarch64|qemu-system-arm"
	"/usr/share/AAVMF/AAVMF_CODE.fd|qemu-efi-aarch64"
	"/usr/share/AAVMF/AAVMF_VARS.fd|qemu-efi-aarch64"
	"qemu-system-i386|qemu-system-x86"
	"/usr/share/OVMF/OVMF32_CODE_4M.secboot.fd|ovmf-ia32"
	"/usr/share/OVMF/OVMF32_VARS_4M.fd|ovmf-ia32"
	"/usr/lib32/crt0-efi-ia32.o|gnu-efi"
	"/usr/lib/gcc/x86_64-linux-gnu/*/32/libgcc.a|gcc-12-multilib"
	"dpkg-deb|dpkg"
	# tests/install/30-deb.sh builds from a clean clone; tests/shape/spdx.sh lists the tracked files
	"git|git"
	# NTFS locator tests: images by mkntfs, populated through ntfs-3g, inspected with ntfsinfo; compression set by setfattr
	"mkntfs|ntfs-3g"
	"ntfs-3g|ntfs-3g"
	"ntfsinfo|ntfs-3g"
	"ntfscluster|ntfs-3g"
	"setfattr|attr"
	# the file locators' oracles (tests/interop/fslocate-*.sh): exFAT made by exfatprogs, written and read back
	# through exfat-fuse on a loop device
	"mkfs.exfat|exfatprogs"
	"mount.exfat-fuse|exfat-fuse"
	"fusermount|fuse3"
	"losetup|mount"
	# tests/boot/76-wholedisk.sh and 77-debian.sh: a copy of an image changed by QEMU, a Debian tree
	"qemu-io|qemu-utils"
	"mmdebstrap|mmdebstrap"
)

if [[ ${1:-} == --list ]]; then
	for r in "${reqs[@]}"; do
		echo "${r##*|}"
	done | awk '!seen[$0]++'
	exit 0
elif (($# > 0)); then
	echo "usage: tests/deps.sh [--list]" >&2
	exit 2
fi
# DEPS_SKIP=1: do nothing (a Debian package build, where debian/control's Build-Depends are the dependencies)
[[ ${DEPS_SKIP:-0} == 1 ]] && exit 0

have() {
	local what=$1
	if [[ $what == /* ]]; then
		compgen -G "$what" >/dev/null
	else
		# sbin directories may be missing from a non-root PATH
		command -v "$what" >/dev/null 2>&1 || [[ -x /usr/sbin/$what || -x /sbin/$what ]]
	fi
}

missing_pkgs=()
missing_what=()
for r in "${reqs[@]}"; do
	what=${r%%|*}
	pkg=${r##*|}
	if ! have "$what"; then
		missing_what+=("$what")
		case " ${missing_pkgs[*]-} " in
		*" $pkg "*) ;;
		*) missing_pkgs+=("$pkg") ;;
		esac
	fi
done

if ((${#missing_pkgs[@]} == 0)); then
	exit 0
fi

line="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing_pkgs[*]}"
echo "deps: missing: ${missing_what[*]}" >&2

if [[ ${DEPS_CHECK_ONLY:-0} == 1 || $(id -u) != 0 ]]; then
	echo "deps: install them with (as root):" >&2
	echo "  $line" >&2
	exit 1
fi

echo "deps: installing: ${missing_pkgs[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
# another apt run (unattended upgrades on a fresh machine) may hold the lock for a while: wait for it
apt_try() {
	local i
	for i in $(seq 1 6); do
		if "$@" </dev/null; then
			return 0
		fi
		echo "deps: '$*' failed (attempt $i), retrying in 10s" >&2
		sleep 10
	done
	return 1
}
apt_try apt-get "${apt_opts[@]}" -o DPkg::Lock::Timeout=300 update
apt_try apt-get "${apt_opts[@]}" -o DPkg::Lock::Timeout=300 install --no-install-recommends "${missing_pkgs[@]}"

still=()
for r in "${reqs[@]}"; do
	what=${r%%|*}
	have "$what" || still+=("$what")
done
if ((${#still[@]} > 0)); then
	echo "deps: still missing after install: ${still[*]}" >&2
	exit 1
fi
echo "deps: all present" >&2
