# SPDX-License-Identifier: BSD-2-Clause
# tests/interop/fslocate.bash - helpers of the fslocate-*.sh suites (sourced, not a suite itself): `vhdx locate`
# run on partition images made and read by the file systems' own tools.

CHECK=$ROOT/tests/tools/fslocate_check.py
LOCATE_TIMEOUT=${LOCATE_TIMEOUT:-30}

# locate IMG PATH: runs `vhdx locate` (bounded) into $WORK/out and $WORK/err; returns its status
locate() {
	timeout "$LOCATE_TIMEOUT" "$VHDX" locate "$1" "$2" >"$WORK/out" 2>"$WORK/err"
}

# found NAME IMG PATH REF: the extents select exactly the bytes of REF (the file as its own driver/tool reads it)
found() {
	local name=$1 img=$2 path=$3 ref=$4 why rc
	locate "$img" "$path"
	rc=$?
	if ((rc)); then
		notok "$name" "locate exit $rc: $(oneline <"$WORK/err")"
		return 1
	fi
	if ! why=$(python3 "$CHECK" bytes "$img" "$WORK/out" "$ref"); then
		notok "$name" "$why"
		return 1
	fi
	ok "$name ($(python3 "$CHECK" field "$WORK/out" extents) extents, $(python3 "$CHECK" field "$WORK/out" size) bytes)"
}

# refused NAME IMG PATH WANT_RC PATTERN: exit WANT_RC within the time bound, `vhdx locate: ...PATTERN...` on
# stderr, nothing on stdout, and not a byte of the image changed
refused() {
	local name=$1 img=$2 path=$3 want=$4 pat=$5 before rc
	before=$(sha "$img")
	locate "$img" "$path"
	rc=$?
	if ((rc != want)); then
		notok "$name" "exit $rc, expected $want: $(oneline <"$WORK/err") $(oneline <"$WORK/out")"
	elif ! grep -qE "^vhdx locate: .*($pat)" "$WORK/err"; then
		notok "$name" "message does not match /$pat/: $(oneline <"$WORK/err")"
	elif [[ -s $WORK/out ]]; then
		notok "$name" "a refusal printed extents: $(oneline <"$WORK/out")"
	elif [[ $(sha "$img") != "$before" ]]; then
		notok "$name" "the image changed"
	else
		ok "$name: $(oneline <"$WORK/err")"
	fi
}

# flags NAME IMG PATH WANT: the flags line
flags_are() {
	local name=$1 img=$2 path=$3 want=$4 got rc
	locate "$img" "$path"
	rc=$?
	if ((rc)); then
		notok "$name" "locate exit $rc: $(oneline <"$WORK/err")"
		return
	fi
	got=$(python3 "$CHECK" field "$WORK/out" flags)
	[[ $got == "$want" ]] && ok "$name (flags $got)" || notok "$name" "flags '$got', expected '$want'"
}

# patch IMG OFFSET HEXBYTES: writes the bytes at OFFSET
patch() {
	python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); f.write(bytes.fromhex(sys.argv[3]))' "$@"
}

# le32 IMG OFFSET / le16 IMG OFFSET: a little-endian field of the image
le32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
le16() { od -An -tu2 -j "$2" -N2 "$1" | tr -d ' '; }
hex32() { printf '%02x%02x%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }

# bench NAME IMG PATH: bytes read and time of one lookup (information for the benchmarks)
bench_line() {
	local img=$2 path=$3 t0 t1 j
	t0=$(date +%s%N)
	j=$("$VHDX" locate --json "$img" "$path") || return
	t1=$(date +%s%N)
	echo "# bench: $1: $(python3 -c 'import json,sys; d=json.load(sys.stdin); print("%d bytes read in %d reads" % (d["bytes_read"], d["reads"]))' <<<"$j"), $(((t1 - t0) / 1000)) us (process included)"
}
