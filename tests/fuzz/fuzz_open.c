/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_open.c - libFuzzer harness: vhdx_open over a fuzzed image (patch format or raw, see fuzzlib.h).
 *
 * Whatever the input: no crash, no sanitizer report, no write/flush/resize, no backend access outside the file,
 * core memory within 4 MiB + 1 bit per MiB of file, nothing left allocated after a failed open or after close,
 * a NUL-terminated message on every refusal, the same outcome when opened twice, and on success the structural
 * invariants fz_check_open() verifies independently (headers, region table, metadata items, every BAT entry).
 * flags2 bits 1-7 (k = flags2 >> 1) inject one failure: k = 1..63 makes allocation k return NULL, k = 64..127
 * makes backend read k - 63 fail; open must then refuse (VHDX_E_NOMEM / VHDX_E_IO) and leave nothing allocated.
 */
#include <string.h>

#include "fuzzlib.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_bases_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_file f;
	static struct vhdx_image img, again;
	unsigned flags;
	int raw;
	vhdx_status st, st2;

	unsigned k = fz_flags2(data, size) >> 1;
	fz_load_input(&f, data, size, &flags, &raw);
	f.io.read_only = (flags & 0x80) != 0; /* either way: open never writes */
	if (k >= 64)
		f.fail_read_at = k - 63;
	else
		f.fail_alloc_at = k;
	st = vhdx_open(&img, &f.io);
	f.fail_alloc_at = f.fail_read_at = 0; /* the injection is for open only, not for the checks below */
	fz_check_open(&f, &img, st);
	if (f.injected) {
		FZ_ASSERT(st == (k >= 64 ? VHDX_E_IO : VHDX_E_NOMEM), "injected %s failure gave status %d (%s)",
			  k >= 64 ? "read" : "allocation", (int)st, img.msg);
		FZ_ASSERT(f.writes == 0, "open wrote");
		fz_file_reset(&f);
		return 0;
	}
	if (st == VHDX_OK) {
		unsigned state;
		uint64_t off;
		vhdx_status l;
		l = vhdx_block_lookup(&img, img.payload_blocks - 1, &state, &off);
		FZ_ASSERT(l == VHDX_OK, "lookup of the last block: %s", img.msg);
		l = vhdx_block_lookup(&img, img.payload_blocks, &state, &off);
		FZ_ASSERT(l == VHDX_E_RANGE, "lookup beyond the last block gave %d", (int)l);
		vhdx_close(&img);
		FZ_ASSERT(f.live == 0, "close left %zu bytes allocated", f.live);
	}
	/* determinism: a second open of the same bytes gives the same outcome and message */
	st2 = vhdx_open(&again, &f.io);
	FZ_ASSERT(st2 == st, "second open gave %d, first %d", (int)st2, (int)st);
	FZ_ASSERT(st == VHDX_OK || strcmp(img.msg, again.msg) == 0, "messages differ: '%s' vs '%s'", img.msg, again.msg);
	if (st2 == VHDX_OK)
		vhdx_close(&again);
	FZ_ASSERT(f.writes == 0 && f.flushes == 0 && f.resizes == 0, "open wrote");
	fz_file_reset(&f);
	return 0;
}
