#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/interop/seal.sh - `vhdx seal` on qemu-img-made images: require-sha256 equals `sha256sum` of `vhdx export`
# (and of `qemu-img convert -O raw`); the pins equal `vhdx info --json`; the event data, decoded independently here,
# carries what the documented layout says and its SHA-256 is the printed event-sha256; seal writes nothing; a
# pending log is refused; a one-byte change inside the virtual disk changes require-sha256 and the event digest.
source "$(dirname "$0")/common.bash"
W=$(mktemp -d "${TMPDIR:-/tmp}/vhdx-seal.XXXXXX")
trap 'rm -rf "$W"' EXIT

field() { sed -n "s/^$1 = //p;s/^# $1 = //p" "$2"; }

# decode the event bytes (layout in core/vhdx.h) and compare with info --json and the pinned digest
check_event() { # NAME SEAL-OUTPUT INFO-JSON WITH-SHA
	python3 - "$2" "$3" "$4" <<'PY'
import hashlib, json, struct, sys, uuid
out = dict(l[2:].split(" = ", 1) if l.startswith("# ") else l.split(" = ", 1)
           for l in open(sys.argv[1]).read().splitlines() if " = " in l)
info = json.load(open(sys.argv[2]))
with_sha = sys.argv[3] == "1"
ev = bytes.fromhex(out["event-data"])
def guid(b):  # MS layout -> text as vhdx prints it
    return str(uuid.UUID(bytes_le=b)).upper()
errs = []
if len(ev) != 104: errs.append("event is %d bytes" % len(ev))
sig, ver, flags, size = struct.unpack_from("<8sHHI", ev, 0)
vsize, bs, lss, pss, res = struct.unpack_from("<QIIII", ev, 32)
md = info["metadata"]
cur = [c for c in info["headers"]["copies"] if c["current"]][0]
want = {"signature": (sig, b"VHDXIMG\0"), "version": (ver, 1), "flags": (flags, 1 if with_sha else 0),
        "size": (size, 104), "disk id": (guid(ev[16:32]), md["disk_id"]), "virtual size": (vsize, md["virtual_size"]),
        "block size": (bs, md["block_size"]), "logical sector": (lss, md["logical_sector_size"]),
        "physical sector": (pss, md["physical_sector_size"]), "reserved": (res, 0),
        "data write guid": (guid(ev[56:72]), cur["data_write_guid"]),
        "pinned disk id": (out["require-disk-id"], md["disk_id"]),
        "pinned data write guid": (out["require-data-write-guid"], cur["data_write_guid"]),
        "event-sha256": (out["event-sha256"], hashlib.sha256(ev).hexdigest())}
want["content"] = (ev[72:].hex(), out["require-sha256"] if with_sha else "00" * 32)
for k, (g, w) in want.items():
    if g != w: errs.append("%s: %r != %r" % (k, g, w))
print("; ".join(errs))
sys.exit(1 if errs else 0)
PY
}

seal_case() { # NAME CREATE-OPTS SIZE QEMU-IO-CMDS...
	local name=$1 opts=$2 size=$3 img=$W/$1.vhdx
	shift 3
	qemu-img create -q -f vhdx ${opts:+-o "$opts"} "$img" "$size" || { notok "seal: $name: create" "qemu-img failed"; return; }
	local c args=()
	for c in "$@"; do args+=(-c "$c"); done
	((${#args[@]})) && qemu-io -f vhdx "${args[@]}" "$img" >/dev/null
	cp "$img" "$W/before"
	if ! "$VHDX" seal --sha256 "$img" >"$W/seal.out" 2>"$W/seal.err"; then
		notok "seal: $name: seal --sha256" "$(oneline <"$W/seal.err")"
		return
	fi
	local pinned export raw
	pinned=$(field require-sha256 "$W/seal.out")
	export=$("$VHDX" export "$img" - | sha256sum | cut -d' ' -f1)
	qemu-img convert -f vhdx -O raw "$img" "$W/raw"
	raw=$(sha256sum <"$W/raw" | cut -d' ' -f1)
	if [[ -n $pinned && $pinned == "$export" && $pinned == "$raw" ]]; then
		ok "seal: $name: require-sha256 = sha256sum of vhdx export = of qemu-img convert"
	else
		notok "seal: $name: require-sha256" "seal $pinned, export $export, qemu-img $raw"
	fi
	"$VHDX" info --json "$img" >"$W/info.json"
	local why
	if why=$(check_event "$name" "$W/seal.out" "$W/info.json" 1); then
		ok "seal: $name: event bytes decode to the image's identity; event-sha256 is their digest"
	else
		notok "seal: $name: event" "$why"
	fi
	"$VHDX" seal "$img" >"$W/seal2.out"
	if why=$(check_event "$name" "$W/seal2.out" "$W/info.json" 0) && ! grep -q require-sha256 "$W/seal2.out"; then
		ok "seal: $name: without --sha256: no content pin, flags 0, zeros in the event"
	else
		notok "seal: $name: without --sha256" "$why"
	fi
	if cmp -s "$img" "$W/before"; then ok "seal: $name: the image is unchanged"; else notok "seal: $name: unchanged" "bytes differ"; fi
}

seal_case empty "" 64M
seal_case dynamic-1M "block_size=1M" 40M 'write -P 0x5a 3M 1M' 'write -P 7 12345 3000' 'write -P 1 39M 1M'
seal_case dynamic-partial "block_size=8M" 33M 'write -P 0x11 32M 1M' 'write -P 0x22 0 512'
seal_case fixed "subformat=fixed,block_size=2M" 16M 'write -P 0x33 5M 64k'

# a one-byte change inside the virtual disk: a different content pin and event digest, the same identity pins
img=$W/change.vhdx
qemu-img create -q -f vhdx -o block_size=1M "$img" 8M
qemu-io -f vhdx -c 'write -P 0x44 2M 1M' "$img" >/dev/null
"$VHDX" seal --sha256 "$img" >"$W/a.out"
qemu-io -f vhdx -c 'write -P 0x45 2621440 1' "$img" >/dev/null
"$VHDX" seal --sha256 "$img" >"$W/b.out"
if [[ $(field require-sha256 "$W/a.out") != "$(field require-sha256 "$W/b.out")" &&
	$(field event-sha256 "$W/a.out") != "$(field event-sha256 "$W/b.out")" &&
	$(field require-disk-id "$W/a.out") == "$(field require-disk-id "$W/b.out")" ]]; then
	ok "seal: one changed byte: new require-sha256 and event-sha256, same disk id"
else
	notok "seal: one changed byte" "$(paste -d'|' "$W/a.out" "$W/b.out" | oneline)"
fi

# a pending log: refused (replaying it would change DataWriteGuid), nothing written
for d in "$ROOT/../shared/fixtures" "$ROOT/tests/fixtures"; do
	[[ -f $d/iotest-dirtylog-10G-4M.vhdx.bz2 ]] && { bzip2 -dc "$d/iotest-dirtylog-10G-4M.vhdx.bz2" >"$W/dirty.vhdx"; break; }
done
if [[ -f $W/dirty.vhdx ]]; then
	cp "$W/dirty.vhdx" "$W/dirty.before"
	"$VHDX" seal "$W/dirty.vhdx" >/dev/null 2>"$W/dirty.err"
	rc=$?
	if ((rc == 1)) && grep -q "LogGuid is not zero" "$W/dirty.err" && cmp -s "$W/dirty.vhdx" "$W/dirty.before"; then
		ok "seal: a pending log is refused (exit 1, named), nothing written"
	else
		notok "seal: pending log" "exit $rc: $(oneline <"$W/dirty.err")"
	fi
else
	notok "seal: pending log" "fixture iotest-dirtylog-10G-4M.vhdx.bz2 not found"
fi
expect_rc "seal: no operand is a usage error" 2 "$VHDX" seal
expect_rc "seal: a missing file is exit 2" 2 "$VHDX" seal "$W/nonexistent.vhdx"
((FAILS == 0))
