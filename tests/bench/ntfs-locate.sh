#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/bench/ntfs-locate.sh - information: how long `vhdx locate` takes, and how much it reads, to find a file on
# an NTFS volume holding 50 000 files, against libntfs-3g's own lookup of the same path (`ntfsinfo -F`, which opens
# the volume and walks the path the same way).  Part of `make bench`, not of `make test`: making the files through
# ntfs-3g takes a minute or two (the time is printed).
#
# Volume: 1 GiB, mkntfs defaults (4 KiB clusters); /aN/bN/cN/ (10 x 10 x 10 directories) with 40 empty files each
# (40 000), /crowd/ with 10 000 (one directory whose index is several levels deep), and a 4 MiB file at depth 4
# (/a7/b3/c5/target.bin) and in the crowded directory (/crowd/target.bin).
# Prints per path: best and median wall time over BENCH_RUNS runs (default 7), the bytes and reads of the lookup
# (from the locator's --json output when it reports them, or from a development driver's "# bytes_read N reads M"
# line on stderr), and the ratio to ntfsinfo.
# Then the firmware phase: the volume becomes a GPT partition of a virtio disk with a small VHDX at depth 4
# (/a7/b3/c5/target.vhdx), and vhdxboot under OVMF/TCG finds it with image = PARTUUID:PATH.  Its console brackets
# the lookup with two lines; the host stamps each console line as it arrives (tail -F), and the difference is the
# firmware's lookup time under TCG; the bytes and reads are the ones the firmware's own line reports.
# Environment: LOCATE (default "$VHDX locate"), FILES (default 50000; fewer for a quick look), BENCH_RUNS,
# BENCH_FIRMWARE=no to skip the boot.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export PATH=$PATH:/usr/sbin:/sbin
BUILD=${BUILD:-build}
VHDX=${VHDX:-$ROOT/$BUILD/host/vhdx}
LOCATE=${LOCATE:-"$VHDX locate"}
FILES=${FILES:-50000}
RUNS=${BENCH_RUNS:-7}
for c in mkntfs ntfs-3g ntfsinfo losetup python3; do
	command -v "$c" >/dev/null || { echo "bench: $c is missing (run tests/deps.sh)" >&2; exit 1; }
done

W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/vhdx-ntfsbench.XXXXXX")
LOOP=
trap 'mountpoint -q "$W/m" && umount "$W/m"; [[ -n $LOOP ]] && losetup -d "$LOOP"; rm -rf "$W"' EXIT
mkdir "$W/m"
IMG=$W/ntfs.img
truncate -s 1G "$IMG"
mkntfs -F -Q "$IMG" >/dev/null 2>&1
LOOP=$(losetup -f --show "$IMG")
ntfs-3g "$LOOP" "$W/m"
start=$(date +%s.%N)
python3 - "$W/m" "$FILES" <<'EOF'
import os, sys
m, total = sys.argv[1], int(sys.argv[2])
crowd = total // 5
per = max(1, (total - crowd) // 1000)
os.mkdir(m + '/crowd')
for i in range(crowd):
    os.close(os.open('%s/crowd/member-of-a-crowded-directory-%06d' % (m, i), os.O_CREAT | os.O_WRONLY))
for a in range(10):
    for b in range(10):
        for c in range(10):
            d = '%s/a%d/b%d/c%d' % (m, a, b, c)
            os.makedirs(d)
            for i in range(per):
                os.close(os.open('%s/file-%04d' % (d, i), os.O_CREAT | os.O_WRONLY))
data = os.urandom(4 << 20)
for p in ('a7/b3/c5/target.bin', 'crowd/target.bin'):
    open('%s/%s' % (m, p), 'wb').write(data)
EOF
"$VHDX" create "$W/target.vhdx" 64M >/dev/null # written whole: the locator refuses a sparse NTFS file
cp --sparse=never "$W/target.vhdx" "$W/m/a7/b3/c5/target.vhdx"
made=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)")
umount "$W/m"
losetup -d "$LOOP"
LOOP=
echo "ntfs-locate bench: $FILES files made through ntfs-3g in ${made} s"

python3 - "$IMG" "$RUNS" "$LOCATE" <<'EOF'
import json, re, shlex, statistics, subprocess, sys, time
img, runs, locate = sys.argv[1], int(sys.argv[2]), shlex.split(sys.argv[3])

def timed(cmd):
    best = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        best.append(time.perf_counter() - t)
        if r.returncode != 0:
            raise SystemExit('%s failed: %s' % (' '.join(cmd), r.stderr.strip()))
    return min(best), statistics.median(best), r

print('%-22s %12s %12s %10s %7s %12s %8s' % ('path', 'best ms', 'median ms', 'bytes', 'reads', 'ntfsinfo ms', 'ratio'))
for path in ('/a7/b3/c5/target.bin', '/crowd/target.bin'):
    b, m, r = timed(locate + [img, path])
    nb, nm, _ = timed(['ntfsinfo', '-F', path, img])
    got, reads = 'n/a', ''
    j = subprocess.run(locate[:1] + locate[1:] + ['--json', img, path], capture_output=True, text=True)
    mj = re.search(r'"bytes_read"\s*:\s*(\d+)', j.stdout) if j.returncode == 0 else None
    mr = re.search(r'"reads"\s*:\s*(\d+)', j.stdout) if mj else None
    md = re.search(r'# bytes_read (\d+) reads (\d+)', r.stderr)
    if mj:
        got, reads = mj.group(1), mr.group(1) if mr else ''
    elif md:
        got, reads = md.group(1), md.group(2)
    print('%-22s %12.2f %12.2f %10s %7s %12.2f %8.3f' % (path, b * 1e3, m * 1e3, got, reads, nb * 1e3, b / nb))
EOF

# ---- the firmware phase: vhdxboot finds /a7/b3/c5/target.vhdx on the same volume, under OVMF/TCG
[[ ${BENCH_FIRMWARE:-yes} == no ]] && exit 0
source "$ROOT/tests/boot/lib/common.bash" >/dev/null
trap 'cleanup_work; rm -rf "$W"' EXIT # common.bash sets its own trap: keep removing the volume too
need_tools
new_case locate
partuuid=$(cat /proc/sys/kernel/random/uuid)
truncate -s $(($(stat -c %s "$IMG") + (2 << 20))) "$C/disk.raw"
sgdisk -n 1:2048:+$(($(stat -c %s "$IMG") >> 10))K -t 1:EBD0A0A2-B9E5-4433-87C0-68B6B72699C7 -u "1:$partuuid" \
	"$C/disk.raw" >/dev/null
dd if="$IMG" of="$C/disk.raw" bs=1M seek=1 conv=notrunc status=none
rm -f "$IMG"
esp_module_as_bootx64
printf 'image = %s:\\a7\\b3\\c5\\target.vhdx\r\nnext = \\payload.efi\r\nargs = marker=LOCATE poweroff\r\n' "$partuuid" \
	>"$C/esp/EFI/BOOT/vhdxboot.conf"
attach_virtio "$C/disk.raw"
with_rng
: >"$C/serial.log"
{
	tail -n +1 -F "$C/serial.log" 2>/dev/null &
	echo $! >"$C/tail.pid"
	wait
} | while IFS= read -r line; do
	printf '%s %s\n' "$(date +%s.%N)" "${line//$'\r'/}"
done >"$C/stamped.log" &
BOOT_TIMEOUT=${BOOT_TIMEOUT:-600} boot_guest >/dev/null 2>&1
sleep 1
kill "$(cat "$C/tail.pid")" 2>/dev/null # the loop ends with it
wait
python3 - "$C/stamped.log" <<'EOF'
import re, sys
t0 = t1 = found = None
for line in open(sys.argv[1], errors='replace'):
    stamp, _, text = line.partition(' ')
    text = re.sub(r'\x1b\[[0-9;?=]*[A-Za-z]', '', text).strip()
    if t0 is None and re.search(r'vhdxboot: image file .*: looking on', text):
        t0 = float(stamp)
    m = re.search(r'vhdxboot: image file .* \(ntfs, (\d+) extents?; the lookup read (\d+) bytes in (\d+) reads\)', text)
    if m and t1 is None:
        t1, found = float(stamp), m
print('firmware phase (vhdxboot under OVMF/TCG, image = PARTUUID:\\a7\\b3\\c5\\target.vhdx, every partition probed):')
if t0 is None or t1 is None:
    print('  no lookup lines on the console: see the boot log')
    sys.exit(1)
print('  %-22s %8.0f ms from line to line, %s bytes in %s reads, %s extent(s)'
      % ('/a7/b3/c5/target.vhdx', (t1 - t0) * 1e3, found.group(2), found.group(3), found.group(1)))
EOF
