#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/interop/dirtylog.sh - QEMU's sample image with a log to replay (10 GiB virtual, 30 MiB file).
#
# The fixture comes from ../shared/fixtures/ beside the repository, or tests/fixtures/ in it (same file); it is
# decompressed into a temporary folder and never modified.
#   vhdx check reports the pending log (exit 0: a valid log is not damage) and writes nothing; info --json says
#   log_pending; vhdx export (the log replayed in memory) has the same content as an export of QEMU's own replay
#   (qemu-img check -r all on a copy) and writes nothing.
#   vhdx session on a copy replays the log, then updates the headers: valid headers, zero LogGuid, higher
#   sequence numbers, qemu-img check clean, content and bytes (outside the header slots) equal to QEMU's replay.
#   When the tool has `replay`: a replayed copy is clean for vhdx check and qemu-img check, both headers have a
#   zero LogGuid, its content equals QEMU's, its bytes equal QEMU's outside the two header blocks, and a second
#   replay changes nothing.
set -u
SUITE=interop-dirtylog
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
require qemu-img python3 cmp bunzip2
mkwork dirtylog

NAME=iotest-dirtylog-10G-4M.vhdx
BZ=""
for d in "$ROOT/../shared/fixtures" "$ROOT/tests/fixtures"; do
	if [[ -f $d/$NAME.bz2 ]]; then
		BZ=$d/$NAME.bz2
		break
	fi
done
if [[ -z $BZ ]]; then
	notok "dirtylog: fixture" "$NAME.bz2 in neither ../shared/fixtures nor tests/fixtures"
	exit 1
fi
want_bz=f294ddc9a9ab2a621cee73d6ac30ea692a8864ebd14be211e795d4c5b400adbb
if [[ $(sha "$BZ") == "$want_bz" ]]; then ok "dirtylog: fixture checksum"; else notok "dirtylog: fixture checksum" "$BZ differs"; fi
bunzip2 -c "$BZ" >"$WORK/$NAME" || { notok "dirtylog: bunzip2" "failed"; exit 1; }
IMG=$WORK/$NAME
SUM=$(sha "$IMG")

unchanged() { # NAME: the image still has its original bytes
	if [[ $(sha "$IMG") == "$SUM" ]]; then ok "$1"; else notok "$1" "the file changed"; fi
}

"$VHDX" check "$IMG" >"$WORK/out" 2>&1
rc=$?
if ((rc == 0)) && grep -qi 'log' "$WORK/out" && grep -qiE 'replay|pending' "$WORK/out"; then
	ok "dirtylog: check reports the pending log (exit 0)"
else
	notok "dirtylog: check reports the pending log (exit 0)" "exit $rc: $(oneline <"$WORK/out")"
fi
unchanged "dirtylog: check wrote nothing"

if "$VHDX" info --json "$IMG" >"$WORK/info.json" 2>"$WORK/err" &&
	python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["log_pending"] is True else 1)' "$WORK/info.json"; then
	ok "dirtylog: info --json log_pending"
else
	notok "dirtylog: info --json log_pending" "$(oneline <"$WORK/err")"
fi
unchanged "dirtylog: info wrote nothing"

# QEMU's replay, on a copy
Q=$WORK/qemu.vhdx
cp "$IMG" "$Q" && chmod u+w "$Q"
if qemu-img check -r all -f vhdx "$Q" >"$WORK/qc" 2>&1; then
	ok "dirtylog: qemu-img replays a copy"
else
	notok "dirtylog: qemu-img replays a copy" "$(oneline <"$WORK/qc")"
fi

# (qemu-img compare would read all 10 GiB through QEMU's VHDX driver: compare sparse exports instead)
if "$VHDX" export "$IMG" "$WORK/mem.raw" 2>"$WORK/err" && "$VHDX" export "$Q" "$WORK/qemu.raw" 2>>"$WORK/err"; then
	if python3 "$TOOLS/sparsecmp.py" "$WORK/mem.raw" "$WORK/qemu.raw" 2>"$WORK/err"; then
		ok "dirtylog: export with the log replayed in memory = export of QEMU's replay"
	else
		notok "dirtylog: export with the log replayed in memory = export of QEMU's replay" "$(oneline <"$WORK/err")"
	fi
else
	notok "dirtylog: export" "$(oneline <"$WORK/err")"
fi
rm -f "$WORK/mem.raw"
unchanged "dirtylog: export wrote nothing"

if "$VHDX" replay --help >/dev/null 2>&1; then
	R=$WORK/replayed.vhdx
	cp "$IMG" "$R" && chmod u+w "$R"
	if t "dirtylog: vhdx replay" "$VHDX" replay "$R"; then
		"$VHDX" check "$R" >"$WORK/out" 2>&1
		rc=$?
		if ((rc == 0)) && ! grep -qi 'warning' "$WORK/out"; then
			ok "dirtylog: replayed copy checks clean"
		else
			notok "dirtylog: replayed copy checks clean" "exit $rc: $(oneline <"$WORK/out")"
		fi
		python3 - "$TOOLS" "$R" >"$WORK/out" 2>&1 <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import vhdxlib as V
hs = V.read_headers(sys.argv[2])
assert all(h["valid"] for h in hs), "a header is not valid"
assert all(h["log_guid"] == V.ZERO_GUID for h in hs), "LogGuid not zero"
EOF
		if (($? == 0)); then ok "dirtylog: replayed copy has valid headers with zero LogGuid"; else notok "dirtylog: replayed copy has valid headers with zero LogGuid" "$(oneline <"$WORK/out")"; fi
		if qemu-img check -f vhdx "$R" >"$WORK/qc" 2>&1 && grep -q "No errors" "$WORK/qc"; then
			ok "dirtylog: qemu-img check of the replayed copy"
		else
			notok "dirtylog: qemu-img check of the replayed copy" "$(oneline <"$WORK/qc")"
		fi
		if "$VHDX" export "$R" "$WORK/replayed.raw" 2>"$WORK/err" &&
			python3 "$TOOLS/sparsecmp.py" "$WORK/replayed.raw" "$WORK/qemu.raw" 2>>"$WORK/err"; then
			ok "dirtylog: replayed content = QEMU's"
		else
			notok "dirtylog: replayed content = QEMU's" "$(oneline <"$WORK/err")"
		fi
		rm -f "$WORK/replayed.raw"
		# byte for byte, except the two 64 KiB header slots (new GUIDs and sequence numbers)
		outside=$(cmp -l "$R" "$Q" 2>&1 | awk '$1 ~ /^[0-9]+$/ { o = $1 - 1; if (o < 65536 || o >= 196608) n++ } END { print n + 0 }')
		sz1=$(stat -c %s "$R")
		sz2=$(stat -c %s "$Q")
		if [[ $outside == 0 && $sz1 == "$sz2" ]]; then
			ok "dirtylog: replayed bytes = QEMU's outside the header slots"
		else
			notok "dirtylog: replayed bytes = QEMU's outside the header slots" "$outside bytes differ; sizes $sz1 / $sz2"
		fi
		before=$(sha "$R")
		if "$VHDX" replay "$R" >"$WORK/out" 2>&1 && [[ $(sha "$R") == "$before" ]]; then
			ok "dirtylog: a second replay changes nothing"
		else
			notok "dirtylog: a second replay changes nothing" "$(oneline <"$WORK/out")"
		fi
		expect_rc "dirtylog: session after replay" 0 "$VHDX" session "$R"
	fi
else
	skip "dirtylog: vhdx replay" "the tool has no replay command"
fi
# `vhdx session` on a dirty copy replays the log first, then does the header update
S=$WORK/session.vhdx
cp "$IMG" "$S" && chmod u+w "$S"
if t "dirtylog: vhdx session on a dirty copy (replays, then updates)" "$VHDX" session "$S"; then
	python3 - "$TOOLS" "$IMG" "$S" >"$WORK/out" 2>&1 <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import vhdxlib as V
old, new = V.read_headers(sys.argv[2]), V.read_headers(sys.argv[3])
assert all(h["valid"] for h in new), "a header is not valid"
assert all(h["log_guid"] == V.ZERO_GUID for h in new), "LogGuid not zero"
top = max(h["sequence"] for h in old if h["valid"])
assert all(h["sequence"] > top for h in new), f"sequence numbers {[h['sequence'] for h in new]} not above {top}"
assert new[0]["file_write_guid"] == new[1]["file_write_guid"] and V.guid_is_v4_ms(new[0]["file_write_guid"]), \
    "FileWriteGuid not the same v4 GUID in both headers"
EOF
	if (($? == 0)); then
		ok "dirtylog: session copy has valid headers, zero LogGuid, higher sequence, v4 FileWriteGuid"
	else
		notok "dirtylog: session copy has valid headers, zero LogGuid, higher sequence, v4 FileWriteGuid" "$(oneline <"$WORK/out")"
	fi
	if qemu-img check -f vhdx "$S" >"$WORK/qc" 2>&1 && grep -q "No errors" "$WORK/qc"; then
		ok "dirtylog: qemu-img check after session"
	else
		notok "dirtylog: qemu-img check after session" "$(oneline <"$WORK/qc")"
	fi
	if "$VHDX" export "$S" "$WORK/s.raw" 2>"$WORK/err" && python3 "$TOOLS/sparsecmp.py" "$WORK/s.raw" "$WORK/qemu.raw" 2>>"$WORK/err"; then
		ok "dirtylog: content after session = QEMU's replay"
	else
		notok "dirtylog: content after session = QEMU's replay" "$(oneline <"$WORK/err")"
	fi
	rm -f "$WORK/s.raw"
	outside=$(cmp -l "$S" "$Q" 2>&1 | awk '$1 ~ /^[0-9]+$/ { o = $1 - 1; if (o < 65536 || o >= 196608) n++ } END { print n + 0 }')
	if [[ $outside == 0 && $(stat -c %s "$S") == $(stat -c %s "$Q") ]]; then
		ok "dirtylog: bytes after session = QEMU's replay outside the header slots"
	else
		notok "dirtylog: bytes after session = QEMU's replay outside the header slots" "$outside bytes differ"
	fi
fi
unchanged "dirtylog: the fixture copy is unchanged at the end"
finish
