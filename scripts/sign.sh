#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# scripts/sign.sh - `make sign`: optionally embed a policy file into vhdxboot.efi as a PE section named .vhdxpol, then
# sign the result with sbsign.  The signature covers every section, so under Secure Boot the embedded policy is as
# trustworthy as the module itself; at boot, vhdxboot reads it from its own loaded image and ignores policy keys
# from vhdxboot.conf and the command line.
#
#   make sign KEY=db.key CERT=db.crt [POLICY=policy.conf] [OUT=build/efi/vhdxboot.signed.efi]
#
# The policy file holds the policy keys only (require-disk-id, require-data-write-guid, require-sha256,
# on-mismatch; `vhdx seal` prints the first three), "key = value" lines and # comments.  An encrypted KEY makes
# sbsign ask for its passphrase.
set -euo pipefail
IN=${IN:-build/efi/vhdxboot.efi}
OUT=${OUT:-build/efi/vhdxboot.signed.efi}
KEY=${KEY:-}
CERT=${CERT:-}
POLICY=${POLICY:-}
SECTION=.vhdxpol
POLICY_MAX=16384

die() { echo "sign: $*" >&2; exit 2; }
[[ -n $KEY && -n $CERT ]] || die "KEY=... and CERT=... are required (make sign KEY=db.key CERT=db.crt [POLICY=file])"
[[ -f $IN ]] || die "$IN: no such file (run make first)"
[[ -f $KEY ]] || die "KEY $KEY: no such file"
[[ -f $CERT ]] || die "CERT $CERT: no such file"
command -v sbsign >/dev/null || die "sbsign not found (Debian: sbsigntool)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$IN" "$tmp/unsigned.efi"

if [[ -n $POLICY ]]; then
	[[ -f $POLICY ]] || die "POLICY $POLICY: no such file"
	size=$(stat -c %s "$POLICY")
	((size > 0 && size <= POLICY_MAX)) || die "POLICY $POLICY: $size bytes (1..$POLICY_MAX)"
	# the same rules vhdxboot applies at boot, so a typo fails here and not on the machine
	n=0
	while IFS= read -r line || [[ -n $line ]]; do
		n=$((n + 1))
		line=${line%%#*}
		line=${line//$'\r'/}
		[[ -z ${line//[[:space:]]/} ]] && continue
		key=$(sed -E 's/^[[:space:]]*([^=[:space:]]+)[[:space:]]*=.*$/\1/' <<<"$line")
		case $key in
		require-disk-id | require-data-write-guid | require-sha256 | on-mismatch) ;;
		*) die "POLICY $POLICY line $n: \"$key\" is not a policy key (require-disk-id, require-data-write-guid, require-sha256, on-mismatch)" ;;
		esac
	done <"$POLICY"
	objdump -h "$IN" | grep -q " $SECTION " && die "$IN already has a $SECTION section"
	# the new section goes after the last one, on the image's section alignment
	align=$((16#$(objdump -p "$IN" | awk '/^SectionAlignment/ {print $2}')))
	end=0
	while read -r idx _ ssize vma _; do
		[[ $idx =~ ^[0-9]+$ ]] || continue
		e=$((16#$vma + 16#$ssize))
		((e > end)) && end=$e
	done < <(objdump -h "$IN")
	vma=$(((end + align - 1) / align * align))
	objcopy --add-section "$SECTION=$POLICY" --change-section-vma "$SECTION=$vma" \
		--set-section-flags "$SECTION=data,readonly" "$tmp/unsigned.efi" "$tmp/policy.efi"
	mv "$tmp/policy.efi" "$tmp/unsigned.efi"
	echo "sign: embedded $POLICY ($size bytes) as section $SECTION at RVA 0x$(printf %x "$vma")"
fi
sbsign --key "$KEY" --cert "$CERT" --output "$OUT" "$tmp/unsigned.efi"
echo "sign: wrote $OUT"
