#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/interop/log.sh - log replay against QEMU: the shared dirty fixture and dirty images of our own log writer.
#
# Fixture iotest-dirtylog-10G-4M.vhdx (QEMU's sample, decompressed into a temporary folder):
#   QEMU refuses to open it read-only (control); our read-only export equals QEMU's replay of a copy
#   (qemu-img check -r all, then qemu-img convert -O raw) and leaves the file untouched; `vhdx replay` on a copy
#   gives valid headers with zero LogGuid, after which QEMU opens it read-only (qemu-io -r, qemu-img compare)
#   with the same content and qemu-img check finds no errors; `vhdx session` on a dirty copy replays, then
#   updates (exit 0, clean headers, same content).
# tests/tools/logwriter.py scenarios (see `logwriter.py list`), each over a base made by qemu-img and one made by
#   `vhdx create --from`: vhdx check accepts the dirty image, QEMU refuses it read-only (control), our export
#   equals the content the tool computed with the file untouched, `vhdx replay` gives an image that qemu-img check
#   finds clean, qemu-img compare equal to that content, with zero LogGuid, and a second replay changes nothing;
#   where QEMU's replay follows the same rules, QEMU's own replay gives that content too (a cross-check of the
#   tool).  flushed-beyond: check, export, replay and session all refuse (exit 1) and write nothing.
set -u
SUITE=interop-log
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
require qemu-img qemu-io python3 bunzip2 cmp
mkwork log
LW=$TOOLS/logwriter.py

# header facts through vhdxlib: `hdrs IMAGE` prints "valid0 valid1 current sequence all-LogGuids-zero"
hdrs() {
	python3 - "$TOOLS" "$1" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import vhdxlib as V
hs = V.read_headers(sys.argv[2])
c = V.current_header(hs)
print(int(hs[0]["valid"]), int(hs[1]["valid"]), c, hs[c]["sequence"] if c is not None else -1,
      int(all(h["log_guid"] == V.ZERO_GUID for h in hs if h["valid"])))
EOF
}

# clean NAME IMAGE [OLDSEQ RAISE]: both headers valid, LogGuid zero (and the sequence raised by RAISE)
clean() {
	local v0 v1 c seq z want=""
	[[ -n ${3:-} ]] && want=$(($3 + $4))
	read -r v0 v1 c seq z < <(hdrs "$2")
	if [[ $v0 == 1 && $v1 == 1 && $z == 1 && (-z $want || $seq == "$want") ]]; then
		ok "$1"
	else
		notok "$1" "headers valid $v0/$v1, current $c, sequence $seq (expected ${want:-any}), LogGuid zero $z"
	fi
}

# qemu_ro NAME IMAGE: QEMU opens IMAGE read-only and reads it (it refuses a dirty log read-only)
qemu_ro() {
	t "$1" qemu-io -r -f vhdx -c 'read 0 512' "$2"
}

# qemu_refuses NAME IMAGE: the control: QEMU will not open the dirty IMAGE read-only
qemu_refuses() {
	local out
	if out=$(qemu-io -r -f vhdx -c 'read 0 512' "$2" 2>&1); then
		notok "$1" "qemu-io opened the dirty image read-only: $(printf '%s' "$out" | oneline)"
	else
		ok "$1"
	fi
}

same_sha() { # NAME FILE SUM
	if [[ $(sha "$2") == "$3" ]]; then ok "$1"; else notok "$1" "the file changed"; fi
}

if "$VHDX" replay --help >/dev/null 2>&1; then
	ok "log: the tool has a replay command"
else
	notok "log: the tool has a replay command" "'vhdx replay --help' failed: the replay cases below fail too"
fi

# ------------------------------------------------------------------ the QEMU fixture
NAME=iotest-dirtylog-10G-4M.vhdx
BZ=""
for d in "$ROOT/tests/fixtures" "$ROOT/../shared/fixtures"; do
	[[ -f $d/$NAME.bz2 ]] && BZ=$d/$NAME.bz2 && break
done
if [[ -z $BZ ]]; then
	notok "fixture: $NAME.bz2" "in neither tests/fixtures nor ../shared/fixtures"
else
	F=$WORK/fixture.vhdx
	bunzip2 -kc "$BZ" >"$F"
	SUM=$(sha "$F")
	read -r _ _ _ SEQ0 _ < <(hdrs "$F")
	qemu_refuses "fixture: QEMU refuses the dirty image read-only (control)" "$F"

	Q=$WORK/fq.vhdx
	cp "$F" "$Q"
	t "fixture: qemu-img check -r all replays a copy" qemu-img check -q -r all -f vhdx "$Q" &&
		t "fixture: qemu-img convert of QEMU's replay" qemu-img convert -f vhdx -O raw "$Q" "$WORK/fq.raw"

	if t "fixture: vhdx export of the dirty image" "$VHDX" export "$F" "$WORK/fo.raw"; then
		t "fixture: export (overlay) = QEMU's replayed content" qemu-img compare -q -f raw -F raw "$WORK/fo.raw" "$WORK/fq.raw"
		rm -f "$WORK/fo.raw"
	fi
	same_sha "fixture: export left the dirty file untouched" "$F" "$SUM"

	R=$WORK/fr.vhdx
	cp "$F" "$R"
	if t "fixture: vhdx replay" "$VHDX" replay "$R"; then
		clean "fixture: replayed: valid headers, LogGuid zero, sequence + 3" "$R" "$SEQ0" 3
		qemu_ro "fixture: replayed: QEMU opens it read-only without asking for a replay" "$R"
		# qemu-img convert opens the source read-only; comparing two sparse raw files is quick
		t "fixture: replayed: QEMU converts it (read-only)" qemu-img convert -f vhdx -O raw "$R" "$WORK/fr.raw" &&
			t "fixture: replayed: content as QEMU reads it = QEMU's replay" qemu-img compare -q -f raw -F raw "$WORK/fr.raw" "$WORK/fq.raw"
		rm -f "$WORK/fr.raw"
		t "fixture: replayed: qemu-img check finds no errors" qemu-img check -q -f vhdx "$R"
	fi

	S=$WORK/fs.vhdx
	cp "$F" "$S"
	if t "fixture: vhdx session on the dirty image replays, then updates" "$VHDX" session "$S"; then
		clean "fixture: session: valid headers, LogGuid zero, sequence + 5" "$S" "$SEQ0" 5
		qemu_ro "fixture: session: QEMU opens it read-only" "$S"
		t "fixture: session: QEMU converts it (read-only)" qemu-img convert -f vhdx -O raw "$S" "$WORK/fs.raw" &&
			t "fixture: session: content as QEMU reads it = QEMU's replay" qemu-img compare -q -f raw -F raw "$WORK/fs.raw" "$WORK/fq.raw"
		rm -f "$WORK/fs.raw"
	fi
	rm -f "$Q" "$R" "$S" "$WORK/fq.raw"
	same_sha "fixture: the dirty file is unchanged at the end" "$F" "$SUM"
	rm -f "$F"
fi

# ------------------------------------------------------------------ logwriter scenarios
BQ=$WORK/base-qemu.vhdx
BV=$WORK/base-vhdx.vhdx
qemu-img create -q -f vhdx -o subformat=dynamic,block_size=1M,log_size=1M "$BQ" 24M &&
	qio "$BQ" 'write -P 0x11 0 2M' 'write -P 0x22 5M 1M' 'write -P 0x33 23M 1M' &&
	qemu-img convert -f vhdx -O raw "$BQ" "$WORK/base.raw" &&
	"$VHDX" create --block-size 1M --from "$WORK/base.raw" "$BV" >/dev/null
rc=$?
if ((rc != 0)) || [[ ! -s $BQ || ! -s $BV ]]; then
	notok "logwriter: base images" "qemu-img / qemu-io / vhdx create failed (exit $rc)"
	finish
	exit
fi
ok "logwriter: base images (qemu-img create + qemu-io; vhdx create --from)"

while read -r sc qemu outcome; do
	qemu=${qemu#qemu=}
	outcome=${outcome#outcome=}
	for base in qemu vhdx; do
		B=$WORK/base-$base.vhdx
		n="$sc/$base"
		D=$WORK/$sc-$base.vhdx
		E=$WORK/$sc-$base.raw
		if ! out=$(python3 "$LW" make "$sc" "$B" "$D" "$E" 2>&1); then
			notok "$n: logwriter make" "$(printf '%s' "$out" | oneline)"
			continue
		fi
		SUM=$(sha "$D")
		read -r _ _ _ SEQ0 _ < <(hdrs "$D")
		if [[ $outcome == refused ]]; then
			"$VHDX" check "$D" >"$WORK/out" 2>&1
			rc=$?
			if ((rc == 1)) && grep -q FlushedFileOffset "$WORK/out"; then
				ok "$n: check refuses (exit 1, names FlushedFileOffset)"
			else
				notok "$n: check refuses (exit 1, names FlushedFileOffset)" "exit $rc: $(oneline <"$WORK/out")"
			fi
			expect_rc "$n: export refuses" 1 "$VHDX" export "$D" "$WORK/o.raw"
			expect_rc "$n: replay refuses" 1 "$VHDX" replay "$D"
			expect_rc "$n: session refuses" 1 "$VHDX" session "$D"
			same_sha "$n: nothing was written" "$D" "$SUM"
			rm -f "$D" "$WORK/o.raw"
			continue
		fi
		t "$n: vhdx check accepts the dirty image" "$VHDX" check "$D"
		qemu_refuses "$n: QEMU refuses it read-only (control)" "$D"
		if t "$n: vhdx export" "$VHDX" export "$D" "$WORK/o.raw"; then
			t "$n: export (overlay) = the logwriter's expected content" cmp "$WORK/o.raw" "$E"
		fi
		same_sha "$n: check and export left the file untouched" "$D" "$SUM"

		R=$WORK/r.vhdx
		cp "$D" "$R"
		if t "$n: vhdx replay" "$VHDX" replay "$R"; then
			clean "$n: replayed: valid headers, LogGuid zero, sequence + 3" "$R" "$SEQ0" 3
			t "$n: replayed: qemu-img check is clean" qemu-img check -q -f vhdx "$R"
			t "$n: replayed: qemu-img compare = expected content" qemu-img compare -q -f vhdx -F raw "$R" "$E"
			before=$(sha "$R")
			if "$VHDX" replay "$R" >"$WORK/out" 2>&1 && [[ $(sha "$R") == "$before" ]]; then
				ok "$n: a second replay changes nothing"
			else
				notok "$n: a second replay changes nothing" "$(oneline <"$WORK/out")"
			fi
		fi
		if [[ $sc == several || $sc == growth ]]; then
			cp "$D" "$R"
			if t "$n: vhdx session replays, then updates" "$VHDX" session "$R"; then
				clean "$n: session: valid headers, LogGuid zero, sequence + 5" "$R" "$SEQ0" 5
				t "$n: session: qemu-img compare = expected content" qemu-img compare -q -f vhdx -F raw "$R" "$E"
			fi
		fi
		if [[ $qemu == same ]]; then
			cp "$D" "$R"
			if t "$n: QEMU replays it (qemu-img check -r all)" qemu-img check -q -r all -f vhdx "$R"; then
				t "$n: QEMU's replay = the logwriter's expected content" qemu-img compare -q -f vhdx -F raw "$R" "$E"
			fi
		fi
		rm -f "$D" "$E" "$R" "$WORK/o.raw"
	done
done < <(python3 "$LW" list)

finish
