# SPDX-License-Identifier: BSD-2-Clause
# tests/boot/lib/linuxroot.sh - sourced: a whole Linux system inside a VHDX, from real Debian parts.
#
# lr_kernel DIR        Debian's kernel package (apt-get download, cached in DIR), unpacked without running any
#                      package script; depmod run on the unpacked copy.  Sets LR_VERSION, LR_TREE, LR_VMLINUZ.
# lr_initramfs OUT     mkinitramfs with a private configuration directory holding our hook and local-top script
#                      (the machine's /etc/initramfs-tools is not read).  mkinitramfs insists on
#                      /lib/modules/VERSION and /boot/config-VERSION: they are put in place (a hard-linked copy of
#                      the unpacked tree, the config file) only if absent, and removed afterwards.  Cached by the
#                      content of the hook, the script, the vhdx binary, the module list and the kernel version.
#                      The modules: the guest's disk and ext4, and vfat with its code pages so that the root's
#                      init can mount the inner ESP (/dev/mapper/vhdx-p1) the way an fstab line would.
# lr_rootdir DIR MARKER-TEXT   a root file system tree: static busybox, /sbin/init (tests/boot/lib/rootinit.sh),
#                      /etc/vhdx-test holding MARKER-TEXT.
# lr_inner_raw OUT DISK_MIB ESP_FAT ROOT_DIR   a raw GPT disk: partition 1 the ESP (ESP_FAT's bytes), partition 2 an
#                      ext4 of the Discoverable Partitions x86-64 root type made by mkfs.ext4 -d ROOT_DIR (no mount).
# lr_esp_fat OUT INITRD CMDLINE   a FAT image with systemd-boot as BOOTX64.EFI, the kernel, INITRD, one entry;
#                      its volume ID (the UUID an fstab names) is LR_ESP_ID (default 5648-4458), and it holds
#                      /vhdx-esp.txt with LR_ESP_TEXT (default "inner ESP").

LR_ROOT_TYPE=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
LR_ESP_TYPE=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
LR_MODULES="virtio_pci virtio_blk ext4 vfat nls_cp437 nls_ascii nls_utf8"
LR_ESP_ID=${LR_ESP_ID:-5648-4458}
LR_ESP_TEXT=${LR_ESP_TEXT:-inner ESP}

lr_kernel() {
	local dir=$1 pkg deb
	mkdir -p "$dir"
	deb=$(ls "$dir"/linux-image-[0-9]*_amd64.deb 2>/dev/null | sort -V | tail -1)
	if [[ -z $deb ]]; then
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1)
		[[ -n $pkg ]] || return 1
		(cd "$dir" && apt-get download "$pkg" >/dev/null 2>&1) || return 1
		deb=$(ls "$dir"/"$pkg"_*.deb | tail -1)
	fi
	LR_TREE=$dir/x
	if [[ ! -f $LR_TREE/.done ]]; then
		rm -rf "$LR_TREE"
		dpkg-deb -x "$deb" "$LR_TREE" || return 1
		LR_VERSION=$(ls "$LR_TREE/lib/modules" | head -1)
		depmod -b "$LR_TREE" "$LR_VERSION" || return 1
		touch "$LR_TREE/.done"
	fi
	LR_VERSION=$(ls "$LR_TREE/lib/modules" | head -1)
	LR_VMLINUZ=$LR_TREE/boot/vmlinuz-$LR_VERSION
	[[ -s $LR_VMLINUZ && -f $LR_TREE/lib/modules/$LR_VERSION/modules.dep ]]
}

# Suites run two at a time (tests/run.sh JOBS), and a build borrows the host's /lib/modules/VERSION for as long as
# mkinitramfs runs: one build at a time, and whoever waited finds the image the other one cached.
lr_initramfs() {
	local lock=$BUILD/cache/linuxroot/initramfs.lock fd rc
	mkdir -p "${lock%/*}"
	exec {fd}>"$lock"
	flock "$fd"
	lr_initramfs_locked "$@"
	rc=$?
	exec {fd}>&-
	return $rc
}

lr_initramfs_locked() {
	local out=$1 conf key cached made_mod=0 made_cfg=0 made_dir=0 rc
	key=$( (cat "$ROOT/initramfs/hooks/vhdx" "$ROOT/initramfs/scripts/local-top/vhdx" "$VHDX" && echo "$LR_MODULES") |
		sha256sum | cut -c1-16)
	cached=$BUILD/cache/linuxroot/initrd-$LR_VERSION-$key.img
	if [[ -s $cached ]]; then
		cp "$cached" "$out"
		return 0
	fi
	conf=$(mktemp -d "${TMPDIR:-/tmp}/vhdx-initramfs-conf.XXXXXX")
	mkdir -p "$conf/hooks" "$conf/scripts/local-top" "$conf/conf.d"
	cp "$ROOT/initramfs/hooks/vhdx" "$conf/hooks/"
	cp "$ROOT/initramfs/scripts/local-top/vhdx" "$conf/scripts/local-top/"
	# Debian's initramfs.conf, except MODULES=list: the drivers of this guest only, so the image stays small
	# (MODULES=most, the default, works the same way and is about four times larger)
	printf 'MODULES=list\nBUSYBOX=auto\nKEYMAP=n\nCOMPRESS=zstd\nDEVICE=\nNFSROOT=auto\nRUNSIZE=10%%\nFSTYPE=auto\n' \
		>"$conf/initramfs.conf"
	printf '%s\n' $LR_MODULES >"$conf/modules"
	[[ -d /lib/modules ]] || { mkdir -p /lib/modules && made_dir=1; }
	if [[ ! -e /lib/modules/$LR_VERSION ]]; then
		cp -al "$LR_TREE/lib/modules/$LR_VERSION" "/lib/modules/$LR_VERSION" && made_mod=1
	fi
	if [[ ! -e /boot/config-$LR_VERSION ]]; then
		mkdir -p /boot && cp "$LR_TREE/boot/config-$LR_VERSION" "/boot/config-$LR_VERSION" && made_cfg=1
	fi
	VHDX_TOOL=$VHDX mkinitramfs -d "$conf" -o "$out" "$LR_VERSION" >"$conf/log" 2>&1
	rc=$?
	((made_mod)) && rm -rf "/lib/modules/$LR_VERSION"
	((made_cfg)) && rm -f "/boot/config-$LR_VERSION"
	((made_dir)) && rmdir /lib/modules 2>/dev/null
	if ((rc)) || [[ ! -s $out ]]; then
		sed 's/^/# mkinitramfs: /' "$conf/log"
		rm -rf "$conf"
		return 1
	fi
	rm -rf "$conf"
	cp "$out" "$cached"
}

lr_rootdir() {
	local dir=$1 text=$2 a
	mkdir -p "$dir"/{bin,sbin,etc,proc,sys,dev,tmp,mnt}
	cp "$LR_BUSYBOX" "$dir/bin/busybox"
	for a in $("$LR_BUSYBOX" --list); do
		[[ $a == busybox ]] || ln -sf busybox "$dir/bin/$a"
	done
	cp "$ROOT/tests/boot/lib/rootinit.sh" "$dir/sbin/init"
	chmod 755 "$dir/sbin/init"
	printf '%s\n' "$text" >"$dir/etc/vhdx-test"
}

lr_esp_fat() {
	local out=$1 initrd=$2 cmdline=$3 t
	t=$(mktemp -d "${TMPDIR:-/tmp}/vhdx-esp.XXXXXX")
	rm -f "$out"
	mkfs.vfat -C -n VHDXOS -i "${LR_ESP_ID//-/}" "$out" 40960 >/dev/null || return 1
	mmd -i "$out" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries
	mcopy -i "$out" "$OS/systemd-bootx64.efi" ::/EFI/BOOT/BOOTX64.EFI
	mcopy -i "$out" "$LR_VMLINUZ" ::/vmlinuz
	mcopy -i "$out" "$initrd" ::/initrd.img
	printf 'timeout 0\ndefault test.conf\nconsole-mode keep\n' >"$t/loader.conf"
	printf 'title vhdxboot Linux root test\nlinux /vmlinuz\ninitrd /initrd.img\noptions %s\n' "$cmdline" >"$t/test.conf"
	printf '%s\n' "$LR_ESP_TEXT" >"$t/vhdx-esp.txt"
	mcopy -i "$out" "$t/vhdx-esp.txt" ::/vhdx-esp.txt
	mcopy -i "$out" "$t/loader.conf" ::/loader/loader.conf
	mcopy -i "$out" "$t/test.conf" ::/loader/entries/test.conf
	rm -rf "$t"
}

# The ESP is 40 MiB at 1 MiB; the root partition fills the rest.
lr_inner_raw() {
	local out=$1 mib=$2 fat=$3 rootdir=$4 root_start=$((42 << 11)) root_sectors
	rm -f "$out"
	truncate -s "${mib}M" "$out"
	sgdisk -n "1:2048:+40M" -t "1:$LR_ESP_TYPE" -n "2:$root_start:0" -t "2:$LR_ROOT_TYPE" "$out" >/dev/null || return 1
	dd if="$fat" of="$out" bs=1M seek=1 conv=notrunc,sparse status=none || return 1
	root_sectors=$(($(sgdisk -i 2 "$out" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p') - root_start + 1))
	rm -f "$out.ext4"
	mkfs.ext4 -q -F -L vhdxroot -d "$rootdir" "$out.ext4" "$((root_sectors / 2))k" >/dev/null || return 1
	dd if="$out.ext4" of="$out" bs=1M seek="$((root_start * 512))" oflag=seek_bytes conv=notrunc,sparse status=none || return 1
	rm -f "$out.ext4"
}
