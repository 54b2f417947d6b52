#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/bench/sha256.sh - `make bench`: SHA-256 throughput of the core against `sha256sum` on the same
# 256 MiB of bytes (host, file in the page cache, median of BENCH_RUNS), and the boot-time cost of require-sha256
# under OVMF/TCG: a 1 GiB dynamic VHDX whose every block is allocated, hashed by vhdxboot at boot (its own
# "hashed N MiB ... in about S s" line: RTC seconds), against a 1 GiB image with nothing allocated (hashing zeros
# only, no reads), so the per-GiB cost of allocated data is the difference.  Not part of `make test`.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
BENCH=$ROOT/$BUILD/tests/bench/sha256bench
VHDX_TOOL=$ROOT/$BUILD/host/vhdx
RUNS=${BENCH_RUNS:-5}
[[ -x $BENCH ]] || { echo "bench: $BENCH is missing (run make bench)" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/vhdx-shabench.XXXXXX")
trap 'rm -rf "$W"' EXIT

head -c $((256 << 20)) /dev/urandom >"$W/data"
core=$("$BENCH" "$W/data" "$RUNS")
# CPU time (user + system) of sha256sum, as sha256bench measures its own: the machine may be shared
ts=()
for ((i = 0; i < RUNS; i++)); do
	sum=$(/usr/bin/time -f '%U %S' -o "$W/time" sha256sum "$W/data" | cut -d' ' -f1)
	ts+=("$(awk '{print $1 + $2}' "$W/time")")
done
med=$(printf '%s\n' "${ts[@]}" | sort -g | sed -n "$((RUNS / 2 + 1))p")
echo "$core"
printf 'sha256 sha256sum %.0f MB/s (median of %d, CPU time)\n' "$(echo "268435456 / $med / 1000000" | bc -l)" "$RUNS"
if [[ ${core##*digest=} == "$sum" ]]; then echo "sha256: same digest as sha256sum: PASS"; else echo "sha256: digest differs from sha256sum: MISS"; fi

# boot-time cost under OVMF/TCG
BOOT_TIMEOUT=${BOOT_TIMEOUT:-900}
source tests/boot/lib/common.bash >/dev/null
need_tools
boot_cost() { # NAME FILL(0/1)
	new_case "$1"
	esp_module_as_bootx64
	make_vhdx "$C/d.vhdx" 1G "block_size=32M"
	(($2)) && qemu-io -f vhdx -c 'write -P 0x5c 0 1G' "$C/d.vhdx" >/dev/null
	local sha
	sha=$("$VHDX_TOOL" seal --sha256 "$C/d.vhdx" | sed -n 's/^require-sha256 = //p')
	printf 'next = \\payload.efi\r\nargs = marker=BENCH poweroff\r\nrequire-sha256 = %s\r\n' "$sha" >"$C/esp/EFI/BOOT/vhdxboot.conf"
	attach_virtio "$C/d.vhdx"
	with_rng
	boot_guest >/dev/null 2>&1
	sed -n 's/^vhdxboot: require-sha256: \(hashed .* in about [0-9]* s\)$/\1/p' "$C/log"
	grep -q '^vhdxboot: policy: the image matches require-sha256' "$C/log" || echo "(no match line: see $C/log)"
}
full=$(boot_cost full 1)
empty=$(boot_cost empty 0)
echo "boot under OVMF/TCG, 1 GiB all allocated: $full"
echo "boot under OVMF/TCG, 1 GiB none allocated: $empty"
