# SPDX-License-Identifier: BSD-2-Clause
# tests/boot/lib/osparts.sh - sourced: the parts of a real OS boot, from Debian packages.
# ensure_osparts DIR: DIR/vmlinuz (a Debian kernel, EFI stub), DIR/systemd-bootx64.efi, DIR/busybox (static).
# Installed files are used when present; otherwise the .deb is fetched with `apt-get download` (Debian's
# registry, the ordinary client) into DIR/debs and unpacked with dpkg-deb -x, without running any package script.
ensure_osparts() {
	local dir=$1
	mkdir -p "$dir/debs"
	local k
	if [[ ! -s $dir/vmlinuz ]]; then
		k=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
		if [[ -n $k && -r $k ]]; then
			cp "$k" "$dir/vmlinuz"
		else
			local pkg
			pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1)
			[[ -n $pkg ]] || return 1
			(cd "$dir/debs" && apt-get download "$pkg" >/dev/null 2>&1) || return 1
			rm -rf "$dir/x" && dpkg-deb -x "$dir"/debs/"$pkg"_*.deb "$dir/x" || return 1
			cp "$(ls "$dir"/x/boot/vmlinuz-* | head -1)" "$dir/vmlinuz" && rm -rf "$dir/x"
		fi
	fi
	if [[ ! -s $dir/systemd-bootx64.efi ]]; then
		if [[ -r /usr/lib/systemd/boot/efi/systemd-bootx64.efi ]]; then
			cp /usr/lib/systemd/boot/efi/systemd-bootx64.efi "$dir/"
		else
			(cd "$dir/debs" && apt-get download systemd-boot-efi >/dev/null 2>&1) || return 1
			rm -rf "$dir/x" && dpkg-deb -x "$dir"/debs/systemd-boot-efi_*.deb "$dir/x" || return 1
			cp "$dir/x/usr/lib/systemd/boot/efi/systemd-bootx64.efi" "$dir/" && rm -rf "$dir/x"
		fi
	fi
	if [[ ! -s $dir/busybox ]]; then
		if [[ -x /bin/busybox ]] && ! readelf -l /bin/busybox 2>/dev/null | grep -q INTERP; then
			cp /bin/busybox "$dir/"
		else
			(cd "$dir/debs" && apt-get download busybox-static >/dev/null 2>&1) || return 1
			rm -rf "$dir/x" && dpkg-deb -x "$dir"/debs/busybox-static_*.deb "$dir/x" || return 1
			cp "$dir/x/bin/busybox" "$dir/" && rm -rf "$dir/x"
		fi
	fi
	rm -rf "$dir/debs"
	[[ -s $dir/vmlinuz && -s $dir/systemd-bootx64.efi && -s $dir/busybox ]]
}
