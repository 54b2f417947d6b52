/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_create.c - libFuzzer harness: vhdx_create with fuzzed parameters, then vhdx_open of the result.
 *
 * Input (missing bytes read as zero):
 *   0      flags: bit0 fixed, bit1 content source, bit2 the medium holds junk first, bit3 no resize (the medium
 *          must already be large enough), bit4 the source fails at block (byte 32 % 8), bit5 the backend fails
 *          write number (byte 33 % 64) + 1, bit6 the medium first holds an existing VHDX (a base image)
 *   1      virtual size mode (mod 4): raw u64 / mod 256 MiB / mod (64 TiB + 2) / (mod 4096 + 1) * 512;  2-9 u64
 *   10     block size mode (mod 4): 0 (default) / 1 MiB << (raw mod 9) / raw u32 / 1 MiB << (raw mod 10); 11-14
 *   15,16  logical, physical sector size code (mod 4): 0 / 512 / 4096 / raw u16 from 17-18
 *   19     log size mode (mod 4): 0 / (raw mod 8) MiB / raw u32 / 1 MiB;  20-23 u32
 *   24-31  mask of the first 64 blocks the source fills (first 4 KiB and last 16 bytes of each piece)
 *   32     pattern seed;  33-36 junk size in 512-byte units (mod 8 MiB)
 *   37-100 the 64 random bytes of the parameters
 * Checks: invalid parameters are refused with VHDX_E_ARG before anything is written; valid ones succeed unless
 * the medium cannot hold the image or a failure was injected; core memory stays within 4 MiB + the block buffer;
 * a created image opens with exactly the parameters asked for, its GUIDs from the random bytes, its data as the
 * source gave it, and takes a session update; a failed create that wrote anything leaves no openable image.
 * Cost guard: inputs that would make a very large disk with per-block work (more than 2^18 blocks, blocks
 * above 32 MiB, or a source over more than 256 MiB) are skipped.
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

struct src {
	uint64_t mask, vsize, next; /* next: where the core's next read must start (reads come in order) */
	uint32_t block_size;
	uint8_t seed;
	int fail_block; /* -1: never */
	unsigned calls;
};

/* byte i of the piece of block b (len bytes long) as the source gives it */
static uint8_t pattern_byte(const struct src *s, uint64_t b, uint64_t i, uint64_t len)
{
	if (b >= 64 || !((s->mask >> b) & 1))
		return 0;
	if (len > 4096 && i >= len - 16)
		return 0xEE;
	return i < 4096 ? (uint8_t)((b * 31 + i * 7 + s->seed) | 1) : 0;
}

/* The source reads pieces of a block (at most 1 MiB, in order, never across a block's end); each piece gets the
 * bytes of its place in the block's pattern. */
static int src_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct src *s = ctx;
	uint64_t b = off / s->block_size, start = b * s->block_size, in = off - start;
	uint64_t blen = s->vsize - start < s->block_size ? s->vsize - start : s->block_size;
	uint8_t *p = buf;

	s->calls++;
	FZ_ASSERT(off == s->next, "source read at %llu, expected %llu (in order)", (unsigned long long)off,
		  (unsigned long long)s->next);
	FZ_ASSERT(len && len <= FZ_MiB && in + len <= blen, "source read of %zu bytes at %llu crosses block %llu's end",
		  len, (unsigned long long)off, (unsigned long long)b);
	s->next = off + len;
	if ((int64_t)b == s->fail_block)
		return -1;
	memset(p, 0, len);
	for (uint64_t i = in; i < in + len && i < 4096; i++)
		p[i - in] = pattern_byte(s, b, i, blen);
	for (uint64_t i = blen > 16 && blen - 16 > in ? blen - 16 : in; i < in + len; i++)
		p[i - in] = pattern_byte(s, b, i, blen);
	return 0;
}

static uint64_t u64at(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}
static uint32_t u32at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* the backend's write-failure injection wraps the fuzzlib write callback */
static int (*real_write)(void *, uint64_t, const void *, size_t);
static unsigned fail_write_at, write_calls, writes_ok;
static int inj_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	if (++write_calls == fail_write_at)
		return -1;
	int r = real_write(ctx, off, buf, len);
	if (!r)
		writes_ok++;
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_file f;
	static struct vhdx_image img;
	uint8_t in[101];
	struct vhdx_create_params p;
	struct src s;
	char msg[VHDX_MSG_LEN];
	vhdx_status st;

	memset(in, 0, sizeof(in));
	memcpy(in, data, size < sizeof(in) ? size : sizeof(in));
	memset(&p, 0, sizeof(p));
	unsigned fl = in[0];
	uint64_t v = u64at(in + 2);
	switch (in[1] % 4) {
	case 0: p.virtual_size = v; break;
	case 1: p.virtual_size = v % (256 * FZ_MiB); break;
	case 2: p.virtual_size = v % (64 * FZ_MiB * FZ_MiB + 2); break;
	default: p.virtual_size = (v % 4096 + 1) * 512; break;
	}
	uint32_t r = u32at(in + 11);
	switch (in[10] % 4) {
	case 0: p.block_size = 0; break;
	case 1: p.block_size = (uint32_t)(FZ_MiB << (r % 9)); break;
	case 2: p.block_size = r; break;
	default: p.block_size = (uint32_t)(FZ_MiB << (r % 10)); break;
	}
	uint32_t raw16 = (uint32_t)in[17] | (uint32_t)in[18] << 8;
	static const uint32_t sec[3] = { 0, 512, 4096 };
	p.logical_sector_size = in[15] % 4 == 3 ? raw16 : sec[in[15] % 4];
	p.physical_sector_size = in[16] % 4 == 3 ? raw16 : sec[in[16] % 4];
	r = u32at(in + 20);
	switch (in[19] % 4) {
	case 0: p.log_size = 0; break;
	case 1: p.log_size = (uint32_t)((r % 8) * FZ_MiB); break;
	case 2: p.log_size = r; break;
	default: p.log_size = (uint32_t)FZ_MiB; break;
	}
	p.fixed = fl & 1;
	memcpy(p.random, in + 37, 64);

	/* the model of valid parameters */
	uint64_t bs = p.block_size ? p.block_size : 32 * FZ_MiB, lss = p.logical_sector_size ? p.logical_sector_size : 512;
	uint64_t pss = p.physical_sector_size ? p.physical_sector_size : 4096, log = p.log_size ? p.log_size : FZ_MiB;
	uint64_t vs = p.virtual_size;
	int valid = (lss == 512 || lss == 4096) && (pss == 512 || pss == 4096) && bs >= FZ_MiB && bs <= 256 * FZ_MiB &&
		    !(bs & (bs - 1)) && log % FZ_MiB == 0 && vs > 0 && vs <= 64 * FZ_MiB * FZ_MiB && vs % lss == 0;
	uint64_t pb = 0, cr = 0, entries = 0, payload_off = 0, nz = 0;
	if (valid) {
		pb = (vs + bs - 1) / bs;
		cr = 8 * FZ_MiB * lss / bs;
		entries = pb + (pb - 1) / cr;
		payload_off = FZ_MiB + log + FZ_MiB + (entries * 8 + FZ_MiB - 1) / FZ_MiB * FZ_MiB;
		if (pb > (1u << 18) || bs > 32 * FZ_MiB || ((fl & 2) && vs > 256 * FZ_MiB))
			return 0; /* cost guard */
	}

	memset(&s, 0, sizeof(s));
	s.mask = (fl & 2) ? u64at(in + 24) : 0;
	s.block_size = (uint32_t)bs;
	s.vsize = vs;
	s.seed = in[32];
	s.fail_block = (fl & 0x12) == 0x12 ? in[32] % 8 : -1;
	if (fl & 2) {
		p.source = src_read;
		p.source_ctx = &s;
		for (uint64_t b = 0; b < 64 && b < pb; b++)
			nz += (s.mask >> b) & 1;
	}

	/* the medium */
	const struct fz_base *old = (fl & 0x40) ? fz_base_get(0) : NULL;
	uint64_t junk = (fl & 4) ? (u32at(in + 33) % 16384) * 512 : 0;
	uint64_t initial = old ? old->size : junk;
	fz_file_init(&f, old, initial);
	if (!old && junk) {
		static uint8_t jb[4096];
		for (size_t i = 0; i < sizeof(jb); i++)
			jb[i] = (uint8_t)(0xA5 ^ (i * 11));
		for (uint64_t o = 0; o < junk; o += sizeof(jb))
			fz_file_pwrite(&f, o, jb, junk - o < sizeof(jb) ? (size_t)(junk - o) : sizeof(jb));
	}
	f.allow_write = 1;
	f.allow_resize = !(fl & 8);
	if (f.allow_resize)
		f.io.resize = fz_resize_cb;
	f.budget_extra = bs;
	real_write = f.io.write;
	write_calls = writes_ok = 0;
	fail_write_at = (fl & 0x20) ? in[33] % 64 + 1 : 0;
	f.io.write = inj_write;

	st = vhdx_create(&f.io, &p, msg, sizeof(msg));
	fz_check_msg(msg, sizeof(msg));
	FZ_ASSERT(f.live == 0, "create left %zu bytes allocated", f.live);
	FZ_ASSERT(st == VHDX_OK || msg[0], "create failed (%d) without a message", (int)st);
	f.io.write = real_write;

	if (!valid) {
		FZ_ASSERT(st == VHDX_E_ARG, "invalid parameters (vs %llu bs %u lss %u pss %u log %u) gave %d: %s",
			  (unsigned long long)vs, p.block_size, p.logical_sector_size, p.physical_sector_size, p.log_size,
			  (int)st, msg);
		FZ_ASSERT(writes_ok == 0 && write_calls == 0 && f.resizes == 0 && f.flushes == 0,
			  "refused parameters but touched the medium");
		fz_file_reset(&f);
		return 0;
	}
	uint64_t need = p.fixed ? payload_off + pb * bs : payload_off + nz * bs;
	int injected = s.fail_block >= 0 && (uint64_t)s.fail_block < pb;
	injected |= fail_write_at != 0 && write_calls >= fail_write_at;
	int must_ok = !injected && !f.overlay_full && (f.allow_resize || initial >= need);
	if (must_ok)
		FZ_ASSERT(st == VHDX_OK, "valid create (vs %llu bs %llu lss %llu pss %llu log %llu fixed %d) failed: %s",
			  (unsigned long long)vs, (unsigned long long)bs, (unsigned long long)lss,
			  (unsigned long long)pss, (unsigned long long)log, p.fixed, msg);
	if (!f.allow_resize && initial < need)
		FZ_ASSERT(st != VHDX_OK, "create into a medium of %llu bytes needing %llu succeeded",
			  (unsigned long long)initial, (unsigned long long)need);

	f.allow_write = 0;
	f.budget_extra = 0;
	f.io.resize = NULL;
	if (st != VHDX_OK) {
		vhdx_status o = vhdx_open(&img, &f.io);
		fz_check_open(&f, &img, o);
		if (writes_ok > 0 && !f.overlay_full)
			FZ_ASSERT(o != VHDX_OK, "a failed create (%s) left an image that opens", msg);
		if (o == VHDX_OK)
			vhdx_close(&img);
		fz_file_reset(&f);
		return 0;
	}

	FZ_ASSERT(f.io.size >= need, "file of %llu bytes, the image needs %llu", (unsigned long long)f.io.size,
		  (unsigned long long)need);
	if (f.allow_resize && !p.fixed)
		FZ_ASSERT(f.io.size == need, "dynamic file of %llu bytes, expected %llu", (unsigned long long)f.io.size,
			  (unsigned long long)need);
	st = vhdx_open(&img, &f.io);
	fz_check_open(&f, &img, st);
	FZ_ASSERT(st == VHDX_OK, "a created image (vs %llu bs %llu lss %llu log %llu fixed %d) does not open: %s",
		  (unsigned long long)vs, (unsigned long long)bs, (unsigned long long)lss, (unsigned long long)log,
		  p.fixed, img.msg);
	FZ_ASSERT(img.virtual_size == vs && img.block_size == bs && img.logical_sector_size == lss &&
			  img.physical_sector_size == pss,
		  "created image parameters differ");
	FZ_ASSERT(img.header[img.current].log_length == log && !img.log_pending && !img.has_parent, "log / parent");
	FZ_ASSERT(img.leave_blocks_allocated == p.fixed, "LeaveBlocksAllocated");
	FZ_ASSERT(img.state_count[VHDX_BAT_FULLY_PRESENT] == (p.fixed ? pb : nz), "present blocks %llu",
		  (unsigned long long)img.state_count[VHDX_BAT_FULLY_PRESENT]);
	FZ_ASSERT(strcmp(img.creator, "vhdxboot " VHDX_VERSION_STRING) == 0, "creator '%s'", img.creator);
	struct vhdx_guid g;
	vhdx_guid_from_random(&g, p.random);
	FZ_ASSERT(vhdx_guid_equal(&img.header[img.current].file_write_guid, &g), "FileWriteGuid");
	vhdx_guid_from_random(&g, p.random + 16);
	FZ_ASSERT(vhdx_guid_equal(&img.header[img.current].data_write_guid, &g), "DataWriteGuid");
	vhdx_guid_from_random(&g, p.random + 32);
	FZ_ASSERT(vhdx_guid_equal(&img.disk_id, &g), "disk id");

	/* the data: the first 8 KiB and the last 16 bytes of each of the first 64 blocks */
	static uint8_t want[8192], got[8192];
	for (uint64_t b = 0; b < pb && b < 64; b++) {
		uint64_t start = b * bs, piece = vs - start < bs ? vs - start : bs;
		size_t n = piece < sizeof(got) ? (size_t)piece : sizeof(got), t = piece < 16 ? (size_t)piece : 16;
		for (size_t i = 0; i < n; i++)
			want[i] = pattern_byte(&s, b, i, piece);
		st = vhdx_read(&img, start, got, n);
		FZ_ASSERT(st == VHDX_OK && memcmp(got, want, n) == 0, "block %llu data differs (%s)", (unsigned long long)b,
			  img.msg);
		for (size_t i = 0; i < t; i++)
			want[i] = pattern_byte(&s, b, piece - t + i, piece);
		st = vhdx_read(&img, start + piece - t, got, t);
		FZ_ASSERT(st == VHDX_OK && memcmp(got, want, t) == 0, "block %llu tail differs", (unsigned long long)b);
	}

	/* a fresh image takes a session update: only the two header slots are written */
	f.allow_write = 1;
	f.nallowed = 2;
	f.allowed[0].off = 64 * FZ_KiB;
	f.allowed[0].len = 4096;
	f.allowed[1].off = 128 * FZ_KiB;
	f.allowed[1].len = 4096;
	st = vhdx_session_update(&img, p.random + 32);
	FZ_ASSERT(st == VHDX_OK, "session update of a created image: %s", img.msg);
	FZ_ASSERT(img.header[img.current].sequence == 3, "sequence after the update %llu",
		  (unsigned long long)img.header[img.current].sequence);
	vhdx_close(&img);
	fz_file_reset(&f);
	return 0;
}
