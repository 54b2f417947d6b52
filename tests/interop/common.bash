# SPDX-License-Identifier: BSD-2-Clause
# tests/interop/common.bash - shared helpers for the interop suites (sourced, not a suite itself).
# Protocol: one line per case, `ok - NAME` or `not ok - NAME: reason`.

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
VHDX=${VHDX:-$ROOT/build/host/vhdx}
TOOLS=$ROOT/tests/tools
export PYTHONDONTWRITEBYTECODE=1
FAILS=0

ok() { echo "ok - $*"; }
skip() { echo "ok - $1 # skip $2"; }
notok() {
	echo "not ok - $1: $2"
	FAILS=$((FAILS + 1))
}

# one line of a command's output, for reasons
oneline() { tr '\n' ' ' | sed 's/  */ /g' | cut -c1-300; }

# t NAME CMD...: ok when CMD exits 0; otherwise the tail of its output is the reason
t() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if ((rc == 0)); then
		ok "$name"
	else
		notok "$name" "exit $rc: $(printf '%s' "$out" | tail -n 3 | oneline)"
	fi
	return $rc
}

# expect_rc NAME WANT CMD...: ok when CMD exits with status WANT
expect_rc() {
	local name=$1 want=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if ((rc == want)); then
		ok "$name"
	else
		notok "$name" "exit $rc, expected $want: $(printf '%s' "$out" | tail -n 3 | oneline)"
	fi
	((rc == want))
}

# a work directory under /tmp, removed at exit (and a trap that unmounts FUSE mounts registered in MOUNTS)
MOUNTS=()
mkwork() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/vhdx-$1.XXXXXX")
	trap 'for m in "${MOUNTS[@]}"; do fusermount3 -u "$m" 2>/dev/null || fusermount -u "$m" 2>/dev/null || umount "$m" 2>/dev/null; done; rm -rf "$WORK"' EXIT
}

# require the tool and the peers; print one failure and exit otherwise
require() {
	local missing=()
	[[ -x $VHDX ]] || missing+=("$VHDX (run make)")
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	if ((${#missing[@]})); then
		notok "$SUITE: prerequisites" "missing ${missing[*]} (run tests/deps.sh)"
		exit 1
	fi
}

finish() {
	echo "# $SUITE: $FAILS failed"
	((FAILS == 0))
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# qemu-io writes: qio IMAGE 'write -P 0xNN OFF LEN' ...
qio() {
	local img=$1
	shift
	local args=()
	local c
	for c in "$@"; do
		args+=(-c "$c")
	done
	qemu-io -f vhdx "${args[@]}" "$img" >/dev/null
}

# map_ok NAME EXPECTED OFF LEN -- MAP-ARGS...: `vhdx map MAP-ARGS` succeeds and its table, resolved as
# device-mapper would (tests/tools/dmtable.py), holds EXPECTED's bytes OFF..OFF+LEN
map_ok() {
	local name=$1 want=$2 off=$3 len=$4 out
	shift 5
	if ! "$VHDX" map "$@" >"$WORK/table" 2>"$WORK/err"; then
		notok "$name" "vhdx map $* failed: $(oneline <"$WORK/err")"
		return 1
	fi
	if out=$(python3 "$TOOLS/dmtable.py" "$WORK/table" "$want" "$off" "$len"); then
		ok "$name ($(tail -1 <<<"$out"))"
	else
		notok "$name" "$(oneline <<<"$out")"
		return 1
	fi
}
