#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 85-measure: vhdxboot under OVMF with a software TPM (swtpm) measures the image it validated into PCR 9 through
# EFI_TCG2_PROTOCOL.HashLogExtendEvent.  The next stage is tests/tools/payload/tcglog.c, which reads the event log
# (GetEventLog, crypto-agile) and PCR 9 (TPM2_PCR_Read) back; here on the host: replaying every PCR 9 event of the
# log gives the PCR's value, vhdxboot's event is in the log, and its digest and bytes are what `vhdx seal`
# predicted (with and without require-sha256).  Without a TPM: said once, boots as before.
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/tpm.bash"
need_tools
VHDX=${VHDX:-$BUILD/host/vhdx}
TCGLOG=$BUILD/efi/tcglog.efi
if ! command -v swtpm >/dev/null || [[ ! -f $TCGLOG ]]; then
	notok "measure: tools" "swtpm (make deps) and $TCGLOG (make) are needed"
	exit 1
fi

# replay PCR 9's events from the guest's TCGLOG lines; compare with the PCR value and with seal's prediction
replay_check() { # NAME SEAL-OUTPUT
	python3 - "$C/log" "$2" <<'PY'
import hashlib, re, sys
log = open(sys.argv[1], errors="replace").read()
seal = dict(l[2:].split(" = ", 1) for l in open(sys.argv[2]).read().splitlines() if l.startswith("# ") and " = " in l)
events = re.findall(r"^TCGLOG-EVENT: pcr=9 type=0x([0-9a-fA-F]+) sha256=([0-9a-f]{64}) data=([0-9a-f]*)$", log, re.M)
pcr = re.findall(r"^TCGLOG-PCR: pcr=9 sha256=([0-9a-f]{64})$", log, re.M)
errs = []
if not pcr: errs.append("no PCR 9 value read back")
value = bytes(32)
for _, d, _ in events:
    value = hashlib.sha256(value + bytes.fromhex(d)).digest()
if pcr and value.hex() != pcr[0]: errs.append("replay of %d events %s != PCR %s" % (len(events), value.hex(), pcr[0]))
ours = [e for e in events if e[2].startswith("56484458494d4700")]
if len(ours) != 1: errs.append("%d vhdxboot events in PCR 9" % len(ours))
else:
    t, d, data = ours[0]
    if t.lower() != "d": errs.append("event type 0x%s, want 0xd (EV_IPL)" % t)
    if d != seal["event-sha256"]: errs.append("event digest %s != seal's %s" % (d, seal["event-sha256"]))
    if data != seal["event-data"]: errs.append("event data differs from seal's")
    if hashlib.sha256(bytes.fromhex(data)).hexdigest() != d: errs.append("digest is not the SHA-256 of the data")
print("%d PCR 9 events; " % len(events) + "; ".join(errs))
sys.exit(1 if errs else 0)
PY
}

measure_case() { # NAME CONF-EXTRA SEAL-OPTS
	new_case "$1"
	esp_module_as_bootx64
	cp "$TCGLOG" "$C/esp/tcglog.efi"
	make_vhdx "$C/d.vhdx" 64M "block_size=1M"
	qemu-io -f vhdx -c 'write -P 0x61 5M 2M' "$C/d.vhdx" >/dev/null
	"$VHDX" seal $3 "$C/d.vhdx" >"$C/seal.out"
	{
		printf 'next = \\tcglog.efi\r\nargs = pcr=9 poweroff\r\n'
		[[ -n $2 ]] && grep "^$2 = " "$C/seal.out" | sed 's/$/\r/'
	} >"$C/esp/EFI/BOOT/vhdxboot.conf"
	attach_virtio "$C/d.vhdx"
	with_rng
	with_tpm
	boot_guest
	stop_tpm
	show_log
	grep '^TCGLOG' "$C/log" | cut -c1-200 | sed 's/^/#   /'
}

measure_case plain "" ""
expect "plain: measured into PCR 9" log_has '^vhdxboot: measured into PCR 9 \(EV_IPL, 104 bytes\): event sha256 [0-9a-f]{64}$'
expect "plain: the log was read back" log_has '^TCGLOG-DONE: events=[1-9]'
if why=$(replay_check plain "$C/seal.out"); then ok "plain: log replays to PCR 9; the event is seal's prediction ($why)"; else notok "plain: replay" "$why"; fi

measure_case sha256 require-sha256 --sha256
expect "sha256: pin matched, measured with the content digest" log_has '^vhdxboot: measured into PCR 9 \(EV_IPL, 104 bytes, with the content digest\)'
expect "sha256: policy matched" log_has '^vhdxboot: policy: the image matches require-sha256$'
if why=$(replay_check sha256 "$C/seal.out"); then ok "sha256: log replays to PCR 9; the event (with the digest) is seal --sha256's prediction ($why)"; else notok "sha256: replay" "$why"; fi

# no TPM: one line, and the boot goes on as before
new_case notpm
esp_module_as_bootx64
printf 'next = \\payload.efi\r\nargs = marker=NOTPM poweroff\r\n' >"$C/esp/EFI/BOOT/vhdxboot.conf"
make_vhdx "$C/d.vhdx" 64M
attach_virtio "$C/d.vhdx"
with_rng
boot_guest
show_log
n=$(grep -c '^vhdxboot: measure: ' "$C/log")
expect "notpm: said once that there is no TPM" [ "$n" = 1 ]
expect "notpm: names the missing protocol" log_has '^vhdxboot: measure: no TPM \(no EFI_TCG2_PROTOCOL\)'
expect "notpm: boots as before" log_has '^PAYLOAD-MARKER: NOTPM'
