#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/interop/chain.sh - differencing chains: chains made by `vhdx create --parent`, depth 1 to 3,
# with data written into every level by tests/tools/diffwriter.py (unaligned offsets, partial sectors, block and
# sector-bitmap byte boundaries, FULLY and PARTIALLY_PRESENT blocks).  `vhdx export` of the child must equal the
# writer's own model and what libvhdi's vhdimount shows for the same chain.  Broken chains are refused with the
# value named, and no file of the chain changes (sha256 before/after).
source "$(dirname "$0")/common.bash"
mkwork chain
require python3 sha256sum

FUSE=no
FUSE_WHY="/dev/fuse or vhdimount is missing"
if [[ -c /dev/fuse ]] && command -v vhdimount >/dev/null; then
	FUSE=yes
fi

MiB=$((1024 * 1024))
SIZE=$((64 * MiB))
# base content: a raw file with data in a few places (the base level is a plain dynamic image --from it)
python3 - "$WORK/base.raw" "$SIZE" <<'PY'
import random, sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    f.truncate(size)
    r = random.Random(7)
    for off in (0, 3 * 1024 * 1024 + 100, 17 * 1024 * 1024, 40 * 1024 * 1024 - 4096):
        f.seek(off)
        f.write(r.randbytes(300000))
PY

# writes per level: [offset, length, seed]; unaligned, partial sectors, across 1 MiB blocks, across bitmap
# bytes (8 sectors) and the core's 4096-sector bitmap window (2 MiB), a whole block (FULLY_PRESENT)
W1='[[12345, 7000, 1], [1048000, 2000, 2], [2097152, 1048576, 3], [5242880, 511, 4], [6291455, 3, 5]]'
W2='[[12000, 600, 11], [1048576, 4096, 12], [2097152, 513, 13], [3145728, 2500000, 14], [33554431, 2, 15]]'
W3='[[100, 1, 21], [4095, 4098, 22], [2097151, 2, 23], [63963136, 1048576, 24], [20971520, 1, 25]]'
WRITES=("$W1" "$W2" "$W3")

# make_chain DIR DEPTH: base.vhdx and c1..cDEPTH in DIR, data in every child, reference DIR/ref.raw
make_chain() {
	local dir=$1 depth=$2 parent levels="" i
	mkdir -p "$dir"
	"$VHDX" create --block-size 1M --from "$WORK/base.raw" "$dir/base.vhdx" >/dev/null || return 1
	parent=$dir/base.vhdx
	for ((i = 1; i <= depth; i++)); do
		"$VHDX" create --parent "$parent" "$dir/c$i.vhdx" >/dev/null || return 1
		levels+="${levels:+,}{\"image\": \"$dir/c$i.vhdx\", \"writes\": ${WRITES[i - 1]}}"
		parent=$dir/c$i.vhdx
	done
	printf '{"size": %d, "base_raw": "%s", "reference": "%s", "levels": [%s]}\n' "$SIZE" "$WORK/base.raw" \
		"$dir/ref.raw" "$levels" >"$dir/spec.json"
	python3 "$TOOLS/diffwriter.py" run "$dir/spec.json"
}

for depth in 1 2 3; do
	dir=$WORK/d$depth
	name="depth $depth"
	if ! make_chain "$dir" "$depth" 2>"$WORK/err"; then
		notok "$name: chain made" "$(oneline <"$WORK/err")"
		continue
	fi
	top=$dir/c$depth.vhdx
	t "$name: check of the chain" "$VHDX" check "$top"
	if "$VHDX" export "$top" "$dir/out.raw" 2>"$WORK/err"; then
		if cmp "$dir/out.raw" "$dir/ref.raw" >"$WORK/cmp" 2>&1; then
			ok "$name: export = the model"
		else
			notok "$name: export = the model" "$(oneline <"$WORK/cmp")"
		fi
	else
		notok "$name: export" "$(oneline <"$WORK/err")"
	fi
	# the data really is in the children: the chain differs from the base alone
	if ! cmp -s "$dir/ref.raw" "$WORK/base.raw"; then ok "$name: the children change the disk"; else notok "$name: the children change the disk" "reference equals the base"; fi
	n=$("$VHDX" info --json "$top" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["chain"]))')
	if [[ $n == "$depth" ]]; then ok "$name: info --json lists $depth parents"; else notok "$name: info --json lists $depth parents" "got $n"; fi
	# explicit --parent options (a copy elsewhere: the locator paths would not find it)
	if ((depth == 1)); then
		mkdir -p "$WORK/elsewhere"
		cp "$top" "$WORK/elsewhere/child.vhdx"
		cp "$dir/base.vhdx" "$WORK/elsewhere/renamed-base.vhdx"
		rm -f "$dir/base.vhdx.moved"
		mv "$dir/base.vhdx" "$dir/base.vhdx.moved"
		if "$VHDX" export --parent "$WORK/elsewhere/renamed-base.vhdx" "$WORK/elsewhere/child.vhdx" "$WORK/p.raw" 2>"$WORK/err" && cmp -s "$WORK/p.raw" "$dir/ref.raw"; then
			ok "$name: --parent PATH names the parent"
		else
			notok "$name: --parent PATH names the parent" "$(oneline <"$WORK/err")"
		fi
		mv "$dir/base.vhdx.moved" "$dir/base.vhdx"
	fi
	if [[ $FUSE == yes ]]; then
		mnt=$WORK/mnt$depth
		mkdir -p "$mnt"
		if timeout 60 vhdimount "$top" "$mnt" >/dev/null 2>"$WORK/err"; then
			MOUNTS+=("$mnt")
			# vhdimount shows every level: vhdi1 the base ... vhdi<depth+1> the child
			if [[ ! -e $mnt/vhdi$((depth + 1)) || -e $mnt/vhdi$((depth + 2)) ]]; then
				notok "$name: vhdimount (libvhdi) = export" "expected $((depth + 1)) levels, got: $(ls "$mnt" | oneline)"
			elif cmp "$mnt/vhdi$((depth + 1))" "$dir/out.raw" >"$WORK/cmp" 2>&1; then
				ok "$name: vhdimount (libvhdi) = export"
			else
				notok "$name: vhdimount (libvhdi) = export" "$(oneline <"$WORK/cmp")"
			fi
			fusermount3 -u "$mnt" 2>/dev/null || fusermount -u "$mnt" 2>/dev/null || umount "$mnt"
		else
			notok "$name: vhdimount" "$(oneline <"$WORK/err")"
		fi
	else
		skip "$name: vhdimount (libvhdi) = export" "$FUSE_WHY"
	fi
done

# ---- broken chains: refused, the value named, nothing written
hashes() { sha256sum "$@" | sort; }
# refused NAME WANT_RC PATTERN DIR CMD...: exit WANT_RC, stderr matches PATTERN, every .vhdx in DIR unchanged
refused() {
	local name=$1 want=$2 pat=$3 dir=$4 before after rc
	shift 4
	before=$(hashes "$dir"/*.vhdx)
	"$@" >/dev/null 2>"$WORK/err"
	rc=$?
	after=$(hashes "$dir"/*.vhdx)
	if ((rc != want)); then
		notok "$name" "exit $rc, expected $want: $(oneline <"$WORK/err")"
	elif ! grep -Eq -- "$pat" "$WORK/err"; then
		notok "$name" "message lacks /$pat/: $(oneline <"$WORK/err")"
	elif [[ $before != "$after" ]]; then
		notok "$name" "a file of the chain changed"
	else
		ok "$name"
	fi
}

B=$WORK/broken
mkdir -p "$B"
"$VHDX" create --block-size 1M "$B/p.vhdx" 8M >/dev/null
"$VHDX" create --parent "$B/p.vhdx" "$B/c.vhdx" >/dev/null
"$VHDX" create --block-size 1M "$B/other.vhdx" 8M >/dev/null
linkage=$("$VHDX" info --json "$B/c.vhdx" | python3 -c 'import json,sys; print(json.load(sys.stdin)["parent_locator"]["parent_linkage"])')

for cmd in check export; do
	out=$WORK/x.raw
	args=("$B/c.vhdx")
	[[ $cmd == export ]] && args+=("$out")
	refused "$cmd: linkage mismatch (--parent another image) refused" 1 "DataWriteGuid.*parent_linkage $linkage" "$B" \
		"$VHDX" "$cmd" --parent "$B/other.vhdx" "${args[@]}"
	mv "$B/p.vhdx" "$B/p.away"
	refused "$cmd: missing parent refused" 2 "parent \{$linkage\} not found.*relative_path" "$B" "$VHDX" "$cmd" "${args[@]}"
	mv "$B/p.away" "$B/p.vhdx"
	[[ $cmd == export && -e $out ]] && notok "export: nothing left behind" "$out exists" && rm -f "$out"
done

# a parent that is itself damaged: its BAT points outside the file
cp "$B/p.vhdx" "$B/p.good"
python3 - "$B/p.vhdx" <<'PY'
import sys
sys.path.insert(0, "tests/tools")
import vhdxlib as V
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
V.set_bat(b, 0, (1 << 40) | 6)
open(p, "wb").write(b)
PY
refused "damaged parent refused, named" 1 "its parent .*p.vhdx.*not a sound image" "$B" "$VHDX" check "$B/c.vhdx"
mv "$B/p.good" "$B/p.vhdx"

# a loop: a child whose parent_linkage is its own DataWriteGuid, given itself as parent
python3 - "$B/c.vhdx" "$B/loop.vhdx" <<'PY'
import struct, sys
sys.path.insert(0, "tests/tools")
import vhdxlib as V
src, dst = sys.argv[1:3]
b = bytearray(open(src, "rb").read())
hs = [V.parse_header(b, o) for o in V.HEADER_OFFS]
cur = V.current_header(hs)
dw = hs[cur]["data_write_guid"] if isinstance(hs[cur], dict) else None
meta = V.find_region(b, V.GUID_METADATA)["offset"]
loc = V.meta_item(b, meta, V.GUID_PARENT_LOC)
base = meta + loc["offset"]
ko, vo, kl, vl = struct.unpack_from("<IIHH", b, base + 20)
text = "{" + V.guid_text(dw).lower() + "}"
b[base + vo:base + vo + vl] = text.encode("utf-16-le")
open(dst, "wb").write(b)
PY
cp "$B/loop.vhdx" "$B/loop2.vhdx"
refused "a loop (the image as its own parent) refused" 1 "loop" "$B" "$VHDX" check --parent "$B/loop2.vhdx" "$B/loop.vhdx"

# a locator with an entry's value offset beyond the item
python3 - "$B/c.vhdx" "$B/badloc.vhdx" <<'PY'
import struct, sys
sys.path.insert(0, "tests/tools")
import vhdxlib as V
src, dst = sys.argv[1:3]
b = bytearray(open(src, "rb").read())
meta = V.find_region(b, V.GUID_METADATA)["offset"]
loc = V.meta_item(b, meta, V.GUID_PARENT_LOC)
struct.pack_into("<I", b, meta + loc["offset"] + 20 + 4, 60000)
open(dst, "wb").write(b)
PY
refused "locator with a bad value offset refused" 1 "Parent Locator entry 0 .*value 60000" "$B" "$VHDX" check "$B/badloc.vhdx"

# session of a child refuses, writing nothing, unless its parent is found and is the one parent_linkage names (as
# vhdxboot refuses to update such an image); with --parent naming the right one elsewhere it goes ahead
mv "$B/p.vhdx" "$B/p.away"
refused "session: missing parent refused, the parent's GUID named, nothing written" 2 \
	"parent \{$linkage\} not found.*relative_path.*nothing was written|parent \{$linkage\} not found" "$B" \
	"$VHDX" session "$B/c.vhdx"
refused "session --data: missing parent refused, nothing written" 2 "parent \{$linkage\} not found" "$B" \
	"$VHDX" session --data "$B/c.vhdx"
refused "session: --parent another image refused (linkage mismatch), nothing written" 1 \
	"DataWriteGuid.*parent_linkage $linkage" "$B" "$VHDX" session --parent "$B/other.vhdx" "$B/c.vhdx"
mkdir -p "$B/moved"
cp "$B/p.away" "$B/moved/renamed.vhdx"
before=$(sha256sum <"$B/c.vhdx")
if "$VHDX" session --parent "$B/moved/renamed.vhdx" "$B/c.vhdx" >/dev/null 2>"$WORK/err" &&
	[[ $(sha256sum <"$B/c.vhdx") != "$before" ]]; then
	ok "session: --parent naming the right parent elsewhere: updated"
else
	notok "session: --parent naming the right parent elsewhere: updated" "$(oneline <"$WORK/err")"
fi
refused "session: --parent for an image without a parent refused" 2 "HasParent is clear" "$B" \
	"$VHDX" session --parent "$B/moved/renamed.vhdx" "$B/other.vhdx"
mv "$B/p.away" "$B/p.vhdx"

# a parent is never written: session on the child leaves the parent byte-identical
before=$(sha256sum <"$B/p.vhdx")
"$VHDX" session "$B/c.vhdx" >/dev/null 2>"$WORK/err"
rc=$?
if ((rc == 0)) && [[ $(sha256sum <"$B/p.vhdx") == "$before" ]] && "$VHDX" check "$B/c.vhdx" >/dev/null 2>&1; then
	ok "session of a child writes only the child; the chain still opens"
else
	notok "session of a child writes only the child; the chain still opens" "exit $rc: $(oneline <"$WORK/err")"
fi

exit $((FAILS > 0))
