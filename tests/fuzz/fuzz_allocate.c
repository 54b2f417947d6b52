/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_allocate.c - libFuzzer harness: vhdx_allocate over a fuzzed image, and the log its writer leaves
 * when the machine stops in the middle.
 *
 * Input: the image format of fuzzlib.h.  Flag bit 7: the medium cannot grow (a device: no resize).  flags2 bits
 * 1-7 (k = flags2 >> 1): interrupt the allocation at its k-th write (that write and every later write and flush
 * fail), 0 = never.  The range: up to 32 blocks from a block chosen by the input's checksum (so mutations move it).
 *
 * Checks: the call refuses exactly when it must (pending log, differencing disk, sequence number that cannot be
 * raised four times; a device without room and an image without a log are refused when a block is absent) and
 * then writes nothing; it never writes the file
 * identifier, the unused parts of the header slots, the region tables or the metadata region; it stays within the
 * scratch budget.  On success the image reopens with no pending log, every block of the range FULLY_PRESENT,
 * the other blocks' states unchanged, and the range reading as before (sampled: first and last 4 KiB of each
 * block).  When interrupted, the file opens (replaying the log in memory when one is live) and reads as before,
 * and a replay followed by a second allocation completes.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"

static const uint8_t rnd[32] = { 0x6B, 0x1D, 0x90, 0x2E, 0xC7, 0x58, 0x03, 0xFA, 0x41, 0x8C, 0x35,
				 0xD2, 0x77, 0x0E, 0xB9, 0x64, 0x12, 0xEF, 0x38, 0xA5, 0x5C, 0x81,
				 0x29, 0xD6, 0x4F, 0x93, 0x0A, 0xBE, 0x67, 0xC1, 0x3D, 0x70 };

#define MAX_BLOCKS 32
#define SAMPLE 4096

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_bases_init();
	return 0;
}

static int (*real_write)(void *, uint64_t, const void *, size_t);
static int (*real_flush)(void *);
static unsigned stop_at, write_calls;
static int stopped;

static int inj_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	if (stop_at && ++write_calls >= stop_at) {
		stopped = 1;
		return -1;
	}
	return real_write(ctx, off, buf, len);
}

static int inj_flush(void *ctx)
{
	return stopped ? -1 : real_flush(ctx);
}

struct view {
	uint64_t first, count;
	unsigned state[MAX_BLOCKS];
	uint8_t head[MAX_BLOCKS][SAMPLE], tail[MAX_BLOCKS][SAMPLE];
	uint64_t counts[8];
};

/* the range's block states and samples, and the image's state counts */
static void look(struct vhdx_image *img, struct view *v)
{
	memcpy(v->counts, img->state_count, sizeof(v->counts));
	for (uint64_t i = 0; i < v->count; i++) {
		uint64_t b = v->first + i, start = b * img->block_size, left = img->virtual_size - start, off;
		size_t n = left < SAMPLE ? (size_t)left : SAMPLE;
		uint64_t last = start + (left < img->block_size ? left : img->block_size) - n;
		FZ_ASSERT(vhdx_block_lookup(img, b, &v->state[i], &off) == VHDX_OK, "lookup of block %llu: %s",
			  (unsigned long long)b, img->msg);
		memset(v->head[i], 0, SAMPLE);
		memset(v->tail[i], 0, SAMPLE);
		FZ_ASSERT(vhdx_read(img, start, v->head[i], n) == VHDX_OK, "read of block %llu: %s", (unsigned long long)b,
			  img->msg);
		FZ_ASSERT(vhdx_read(img, last, v->tail[i], n) == VHDX_OK, "read of block %llu: %s", (unsigned long long)b,
			  img->msg);
	}
}

/* reads as before; `present`: every block of the range present; `allocated`: blocks newly present */
static void same(const struct view *a, const struct view *b, int present, uint64_t allocated)
{
	for (uint64_t i = 0; i < a->count; i++) {
		FZ_ASSERT(b->state[i] == a->state[i] || b->state[i] == 6, "block %llu: state %u, was %u",
			  (unsigned long long)(a->first + i), b->state[i], a->state[i]);
		FZ_ASSERT(!present || b->state[i] == 6, "block %llu: state %u after allocation",
			  (unsigned long long)(a->first + i), b->state[i]);
		FZ_ASSERT(!memcmp(a->head[i], b->head[i], SAMPLE) && !memcmp(a->tail[i], b->tail[i], SAMPLE),
			  "block %llu reads differently", (unsigned long long)(a->first + i));
	}
	if (present)
		FZ_ASSERT(b->counts[6] == a->counts[6] + allocated, "present blocks %llu, were %llu, %llu allocated",
			  (unsigned long long)b->counts[6], (unsigned long long)a->counts[6], (unsigned long long)allocated);
}

/* after an interruption: opens, reads as before; then replay + allocation complete */
static void recover(struct fz_file *f, const struct view *before, struct vhdx_image *img)
{
	static struct view now;
	struct vhdx_allocate_result res;
	vhdx_status st;

	f->allow_write = 0;
	st = vhdx_open(img, &f->io);
	fz_check_open(f, img, st);
	FZ_ASSERT(st == VHDX_OK, "after an allocation stopped at write %u the image does not open: %s", stop_at,
		  img->msg);
	now.first = before->first;
	now.count = before->count;
	look(img, &now);
	same(before, &now, 0, 0);
	f->allow_write = 1;
	if (img->log_pending) {
		st = vhdx_replay(img, rnd);
		FZ_ASSERT(st == VHDX_OK, "replay after an interruption at write %u: %s", stop_at, img->msg);
	}
	st = vhdx_allocate(img, before->first * img->block_size, 1, rnd, NULL, &res);
	FZ_ASSERT(st == VHDX_OK, "allocation after an interruption at write %u: %s", stop_at, img->msg);
	vhdx_close(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_file f;
	static struct vhdx_image img, img2;
	static struct view before, after;
	struct vhdx_allocate_result res;
	unsigned flags, f2 = fz_flags2(data, size);
	int raw, device;
	vhdx_status st;

	fz_load_input(&f, data, size, &flags, &raw);
	device = (flags & 0x80) != 0;
	st = vhdx_open(&img, &f.io);
	fz_check_open(&f, &img, st);
	if (st != VHDX_OK) {
		fz_file_reset(&f);
		return 0;
	}
	const struct vhdx_header h = img.header[img.current];
	const int parent = img.has_parent, pending = img.log_pending;
	if (!img.payload_blocks) {
		vhdx_close(&img);
		fz_file_reset(&f);
		return 0;
	}
	before.first = vhdx_crc32c(0, data, size) % img.payload_blocks;
	before.count = img.payload_blocks - before.first < MAX_BLOCKS ? img.payload_blocks - before.first : MAX_BLOCKS;
	if (!parent) /* a differencing disk's absent blocks read from its parent, which this core does not do */
		look(&img, &before);
	const uint64_t off = before.first * img.block_size;
	const uint64_t end = before.first + before.count == img.payload_blocks ? img.virtual_size :
										      (before.first + before.count) * img.block_size;

	f.allow_write = 1;
	f.allow_resize = !device;
	f.io.resize = device ? NULL : fz_resize_cb;
	f.nforbid = 5;
	f.forbid[0] = (struct fz_range){ 0, 64 * FZ_KiB };            /* file identifier */
	f.forbid[1] = (struct fz_range){ 68 * FZ_KiB, 60 * FZ_KiB };  /* header slot 1 beyond the header */
	f.forbid[2] = (struct fz_range){ 132 * FZ_KiB, 60 * FZ_KiB }; /* header slot 2 beyond the header */
	f.forbid[3] = (struct fz_range){ 192 * FZ_KiB, 128 * FZ_KiB }; /* region tables */
	f.forbid[4] = (struct fz_range){ img.meta_offset, img.meta_length };
	real_write = f.io.write;
	real_flush = f.io.flush;
	f.io.write = inj_write;
	f.io.flush = inj_flush;
	stop_at = f2 >> 1;
	write_calls = 0;
	stopped = 0;

	st = vhdx_allocate(&img, off, end - off, rnd, NULL, &res);
	fz_check_msg(img.msg, sizeof(img.msg));
	vhdx_close(&img);
	FZ_ASSERT(f.live == 0, "allocate leaked %zu bytes", f.live);
	f.io.write = real_write;
	f.io.flush = real_flush;
	if (f.overlay_full) {
		fz_file_reset(&f);
		return 0;
	}
	vhdx_status must = h.sequence > UINT64_MAX - 4 ? VHDX_E_SEQUENCE :
			   parent ? VHDX_E_UNSUPPORTED :
			   pending ? VHDX_E_LOG_PENDING :
					     VHDX_OK;
	if (must != VHDX_OK || (st != VHDX_OK && !stopped)) {
		/* UNSUPPORTED also for a device without room, or an image without a log, when a block is absent */
		FZ_ASSERT(st == must || (must == VHDX_OK && st == VHDX_E_UNSUPPORTED && (device || !h.log_length)),
			  "allocate gave %d (%s), expected %d", (int)st, img.msg, (int)must);
		FZ_ASSERT(f.writes == 0 && f.flushes == 0 && f.resizes == 0, "a refused allocation wrote");
		fz_file_reset(&f);
		return 0;
	}
	if (stopped && st != VHDX_OK) {
		recover(&f, &before, &img2);
		fz_file_reset(&f);
		return 0;
	}
	FZ_ASSERT(res.blocks + res.present == before.count, "%llu allocated + %llu present of %llu blocks",
		  (unsigned long long)res.blocks, (unsigned long long)res.present, (unsigned long long)before.count);
	FZ_ASSERT(!res.blocks || res.first_offset % FZ_MiB == 0, "new blocks at %llu, not 1 MiB aligned",
		  (unsigned long long)res.first_offset);
	f.allow_write = 0;
	st = vhdx_open(&img2, &f.io);
	fz_check_open(&f, &img2, st);
	FZ_ASSERT(st == VHDX_OK, "re-open after the allocation failed: %s", img2.msg);
	FZ_ASSERT(!img2.log_pending, "a log is pending after a completed allocation");
	FZ_ASSERT(vhdx_guid_equal(&img2.header[img2.current].data_write_guid, &h.data_write_guid), "DataWriteGuid changed");
	after.first = before.first;
	after.count = before.count;
	look(&img2, &after);
	same(&before, &after, 1, res.blocks);
	vhdx_close(&img2);
	fz_file_reset(&f);
	return 0;
}
