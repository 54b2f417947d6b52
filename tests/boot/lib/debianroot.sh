# SPDX-License-Identifier: BSD-2-Clause
# tests/boot/lib/debianroot.sh - sourced: a real Debian system tree for a VHDX, built by mmdebstrap from this
# machine's apt sources (/etc/apt/sources.list*, pasted into the tree's sources.list).
#
# dr_kernel            the linux-image package: the oldest 6.1 ABI apt knows besides the newest one (so the booted
#                      system has a newer kernel to upgrade to), or DEBIAN_KERNEL
# dr_base DIR          a directory tree DIR/base-KEY: systemd, the kernel, initramfs-tools, systemd-boot, dmsetup, e2fsprogs,
#                      dosfstools, zstd (minbase variant, root mode), KEY a hash of the package list and the
#                      suite: the same list is built once (DIR is build/cache/debian).  Sets DR_TREE and
#                      DR_KERNEL_PKG.
DR_SUITE=${DR_SUITE:-bookworm}

dr_kernel() {
	if [[ -n ${DEBIAN_KERNEL:-} ]]; then
		echo "$DEBIAN_KERNEL"
		return
	fi
	apt-cache pkgnames linux-image-6.1.0- 2>/dev/null | grep -E '^linux-image-6\.1\.0-[0-9]+-amd64$' | sort -V | tail -2 | head -1
}

dr_base() {
	local dir=$1 kernel pkgs key
	kernel=$(dr_kernel)
	[[ -n $kernel ]] || return 1
	pkgs="systemd-sysv,udev,$kernel,initramfs-tools,systemd-boot,dmsetup,e2fsprogs,dosfstools,zstd,kmod"
	key=$(echo "$DR_SUITE $pkgs" | sha256sum | cut -c1-16)
	DR_TREE=$dir/base-$key
	DR_KERNEL_PKG=$kernel
	[[ -f $DR_TREE/etc/os-release ]] && return 0
	mkdir -p "$dir"
	local src=() f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[[ -s $f ]] && grep -qv '^[[:space:]]*\(#\|$\)' "$f" && src+=("$f")
	done
	mmdebstrap --mode=root --variant=minbase --include="$pkgs" "$DR_SUITE" "$DR_TREE.tmp" "${src[@]}" \
		>"$dir/mmdebstrap-$key.log" 2>&1 ||
		{ tail -20 "$dir/mmdebstrap-$key.log" | sed 's/^/# mmdebstrap: /'; rm -rf "$DR_TREE.tmp"; return 1; }
	rm -rf "$DR_TREE" && mv "$DR_TREE.tmp" "$DR_TREE"
}
