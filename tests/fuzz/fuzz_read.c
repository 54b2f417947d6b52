/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_read.c - libFuzzer harness: vhdx_open, then virtual reads and block lookups at fuzzed offsets and
 * lengths, each compared with a reference reader written here from the format notes (BAT entry -> state ->
 * file bytes or zeros; a differencing image's PARTIALLY_PRESENT blocks through the chunk's sector bitmap, and
 * refused where a sector is the parent's, as no parent is attached here).
 *
 * Input: the image part (fuzzlib.h format), then a tail of read operations: the last byte n (mod 9) counts the
 * operations, each 12 bytes just before it: u64 offset, u32 length (LE).  Offset bits 62-63 pick the mode:
 * 0 raw, 1 offset mod (virtual size + 1), 2 virtual size minus (offset mod 64 MiB), 3 UINT64_MAX minus the low
 * 16 bits (overflow probes).  Length: mod (4 MiB + 4097).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"

#define OP_SIZE 12

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_bases_init();
	return 0;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t bat_entry_at(struct fz_file *f, const struct vhdx_image *img, uint64_t idx)
{
	uint8_t e[8];
	fz_file_pread(f, img->bat_offset + 8 * idx, e, 8);
	return rd64(e);
}

static uint64_t bat_entry(struct fz_file *f, const struct vhdx_image *img, uint64_t b)
{
	uint8_t e[8];
	fz_file_pread(f, img->bat_offset + 8 * (b + b / img->chunk_ratio), e, 8);
	return rd64(e);
}

/* the reference: what a read of [off, off + len) must give */
static vhdx_status ref_read(struct fz_file *f, const struct vhdx_image *img, uint64_t off, uint8_t *out, size_t len)
{
	if (off > img->virtual_size || len > img->virtual_size - off)
		return VHDX_E_RANGE;
	while (len) {
		uint64_t b = off / img->block_size, in = off % img->block_size, n = img->block_size - in;
		uint64_t e = bat_entry(f, img, b);
		unsigned st = (unsigned)(e & 7);
		if (n > len)
			n = len;
		if (st == 6) {
			uint64_t fo = (e & 0xFFFFFFFFFFF00000ull) + in;
			FZ_ASSERT(fo + n <= f->io.size, "validated block %llu points beyond the file", (unsigned long long)b);
			fz_file_pread(f, fo, out, (size_t)n);
		} else if (img->has_parent && st == 0) {
			return VHDX_E_UNSUPPORTED; /* the parent's, and none is attached */
		} else if (st == 7) {
			/* sector bitmap of the chunk: every sector of the piece must be this file's, else the parent's */
			uint64_t ss = img->logical_sector_size, c = b / img->chunk_ratio;
			uint64_t sb = bat_entry_at(f, img, c * (img->chunk_ratio + 1) + img->chunk_ratio);
			for (uint64_t s = off / ss; s <= (off + n - 1) / ss; s++) {
				uint64_t bit = s - c * (1ull << 23);
				uint8_t byte;
				fz_file_pread(f, (sb & 0xFFFFFFFFFFF00000ull) + bit / 8, &byte, 1);
				if (!((byte >> (bit % 8)) & 1))
					return VHDX_E_UNSUPPORTED;
			}
			fz_file_pread(f, (e & 0xFFFFFFFFFFF00000ull) + in, out, (size_t)n);
		} else {
			memset(out, 0, (size_t)n);
		}
		out += n;
		off += n;
		len -= (size_t)n;
	}
	return VHDX_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_file f;
	static struct vhdx_image img;
	size_t nops = 0, img_len = size;
	unsigned flags;
	int raw;
	vhdx_status st;

	if (size >= 4) {
		nops = data[size - 1] % 9;
		while (nops && nops * OP_SIZE + 1 + 3 > size)
			nops--;
		img_len = size - 1 - nops * OP_SIZE;
	}
	fz_load_input(&f, data, img_len, &flags, &raw);
	f.io.read_only = 1;
	st = vhdx_open(&img, &f.io);
	fz_check_open(&f, &img, st);
	if (st != VHDX_OK) {
		fz_file_reset(&f);
		return 0;
	}
	/* flags2 bits 1-7 (k = flags2 >> 1): the k-th backend read after open fails; the read that meets it must
	 * report VHDX_E_IO */
	unsigned k = fz_flags2(data, size) >> 1; /* backend reads inside vhdx_read calls still to go before it */
	for (size_t i = 0; i < nops; i++) {
		const uint8_t *op = data + img_len + i * OP_SIZE;
		uint64_t o = rd64(op), vs = img.virtual_size;
		size_t len = (size_t)((op[8] | (uint32_t)op[9] << 8 | (uint32_t)op[10] << 16 | (uint32_t)op[11] << 24) %
				      (4 * FZ_MiB + 4097));
		switch (o >> 62) {
		case 1:
			o %= vs + 1;
			break;
		case 2:
			o = vs - (o % (vs < 64 * FZ_MiB ? vs + 1 : 64 * FZ_MiB));
			break;
		case 3:
			o = UINT64_MAX - (o & 0xFFFF);
			break;
		}
		/* buffers allocated once; a read of len bytes ends where the allocation ends, so ASan sees overruns */
		static uint8_t *gbuf, *wbuf;
		const size_t cap = 4 * FZ_MiB + 4097;
		if (!gbuf) {
			gbuf = malloc(cap);
			wbuf = malloc(cap);
			FZ_ASSERT(gbuf && wbuf, "host memory");
		}
		uint8_t *got = gbuf + (cap - len), *want = wbuf + (cap - len);
		memset(got, 0xCC, len);
		int was = f.injected;
		unsigned before = f.reads;
		if (k)
			f.fail_read_at = f.reads + k; /* armed only around vhdx_read: the checks below read too */
		vhdx_status cs = vhdx_read(&img, o, got, len);
		f.fail_read_at = 0;
		if (k)
			k = f.injected ? 0 : k - (f.reads - before < k ? f.reads - before : k);
		fz_check_msg(img.msg, sizeof(img.msg));
		if (f.injected && !was) {
			FZ_ASSERT(cs == VHDX_E_IO, "read of %zu bytes at %llu met an injected I/O error but gave %d (%s)", len,
				  (unsigned long long)o, (int)cs, img.msg);
			continue;
		}
		if (img.log.active) {
			/* reads see the log through the overlay: fuzz_replay compares them with the replayed file */
			FZ_ASSERT((cs == VHDX_E_RANGE) == (o > img.virtual_size || len > img.virtual_size - o), "range");
			continue;
		}
		vhdx_status rs = ref_read(&f, &img, o, want, len);
		FZ_ASSERT(cs == rs, "read of %zu bytes at %llu: core status %d (%s), reference %d", len,
			  (unsigned long long)o, (int)cs, cs ? img.msg : "", (int)rs);
		if (cs == VHDX_OK)
			FZ_ASSERT(memcmp(got, want, len) == 0, "read of %zu bytes at %llu: data differs from the reference",
				  len, (unsigned long long)o);

		/* and the block lookup of the block at (the masked) offset */
		uint64_t b = (o & 0x3FFFFFFFFFFFFFFFull) / img.block_size;
		unsigned state;
		uint64_t fo;
		vhdx_status ls = vhdx_block_lookup(&img, b, &state, &fo);
		if (b >= img.payload_blocks) {
			FZ_ASSERT(ls == VHDX_E_RANGE, "lookup of block %llu beyond the disk gave %d", (unsigned long long)b,
				  (int)ls);
		} else {
			uint64_t e = bat_entry(&f, &img, b);
			FZ_ASSERT(ls == VHDX_OK, "lookup of block %llu: %s", (unsigned long long)b, img.msg);
			FZ_ASSERT(state == (e & 7), "lookup state %u vs %u", state, (unsigned)(e & 7));
			FZ_ASSERT(fo == ((state == 6 || state == 7) ? (e & 0xFFFFFFFFFFF00000ull) : 0), "lookup offset");
		}
	}
	vhdx_close(&img);
	FZ_ASSERT(f.writes == 0 && f.flushes == 0, "reads wrote");
	fz_file_reset(&f);
	return 0;
}
