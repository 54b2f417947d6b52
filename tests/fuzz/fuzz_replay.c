/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_replay.c - libFuzzer harness: log replay (vhdx_replay), writes going to the private in-memory copy.
 *
 * Input: the image format of fuzzlib.h (the pending-log bases are the interesting ones; log entry checksums are
 * recomputed after patches unless flags2 bit 0 says otherwise).  Flag bit 7: read-only medium.  flags2 bits 1-7
 * (k = flags2 >> 1): interrupt the replay at the k-th write (that write and every later write and flush fail, as
 * if the machine stopped), 0 = never.
 *
 * Checks, beyond those of every open: replay refuses exactly when it must (read-only medium, sequence number that
 * cannot be raised three times) without writing; it never writes the file identifier, the unused parts of the
 * header slots, or the log itself; an interrupted replay leaves a file that opens and replays again; after the
 * replay the image opens without a pending log, with the same geometry the pending-log open reported, new
 * FileWriteGuid and DataWriteGuid from the random bytes, and the virtual disk reads exactly as it read through the
 * log overlay before the replay, and the replay wrote at most 16 times the file plus twice the log (time bound).
 * A replay of an image with no pending log writes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"

static const uint8_t rnd[32] = { 0x5A, 0x17, 0x2B, 0x9C, 0x44, 0xE0, 0x71, 0x08, 0xC3, 0x6D, 0x92,
				 0x3E, 0xAF, 0x55, 0x10, 0xBB, 0x01, 0xFE, 0x23, 0xDC, 0x45, 0xBA,
				 0x67, 0x98, 0x89, 0x76, 0xAB, 0x54, 0xCD, 0x32, 0xEF, 0x10 };

#define SAMPLE_MAX (2 * FZ_MiB)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_bases_init();
	return 0;
}

static int (*real_write)(void *, uint64_t, const void *, size_t);
static int (*real_flush)(void *);
static unsigned stop_at, write_calls, writes_ok;
static int stopped;

static int inj_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	if (stop_at && ++write_calls >= stop_at) {
		stopped = 1;
		return -1;
	}
	int r = real_write(ctx, off, buf, len);
	writes_ok += !r;
	return r;
}

static int inj_flush(void *ctx)
{
	return stopped ? -1 : real_flush(ctx);
}

/* what the virtual disk reads: the first SAMPLE_MAX bytes and the last 64 KiB */
struct sample {
	uint8_t *buf[2]; /* SAMPLE_MAX bytes each, allocated once */
	vhdx_status st[2];
	uint8_t *data[2];
	uint64_t off[2];
	size_t len[2];
};

static void take(struct vhdx_image *img, struct sample *s)
{
	uint64_t vs = img->virtual_size;
	s->len[0] = (size_t)(vs < SAMPLE_MAX ? vs : SAMPLE_MAX);
	s->off[0] = 0;
	s->len[1] = (size_t)(vs < 65536 ? vs : 65536);
	s->off[1] = vs - s->len[1];
	for (int i = 0; i < 2; i++) {
		s->data[i] = s->buf[i] + (SAMPLE_MAX - s->len[i]); /* ends where the allocation ends: ASan sees overruns */
		s->st[i] = vhdx_read(img, s->off[i], s->data[i], s->len[i]);
	}
}

static void sample_init(struct sample *s)
{
	for (int i = 0; i < 2; i++) {
		if (!s->buf[i])
			s->buf[i] = malloc(SAMPLE_MAX);
		FZ_ASSERT(s->buf[i], "host memory");
	}
}

static void compare(struct vhdx_image *img, const struct sample *before)
{
	static struct sample now;
	sample_init(&now);
	take(img, &now);
	for (int i = 0; i < 2; i++) {
		FZ_ASSERT(now.st[i] == before->st[i], "read %d: status %d after replay, %d through the overlay", i,
			  (int)now.st[i], (int)before->st[i]);
		if (now.st[i] == VHDX_OK && memcmp(now.data[i], before->data[i], now.len[i]) != 0) {
			size_t k = 0;
			while (k < now.len[i] && now.data[i][k] == before->data[i][k])
				k++;
			FZ_ASSERT(k == now.len[i], "virtual byte %llu reads differently after replay than through the log",
				  (unsigned long long)(now.off[i] + k));
		}
	}
}

static void same_geometry(const struct vhdx_image *a, const struct vhdx_image *b)
{
	FZ_ASSERT(a->bat_offset == b->bat_offset && a->meta_offset == b->meta_offset && a->bat_length == b->bat_length &&
			  a->meta_length == b->meta_length,
		  "regions after replay differ from the overlay's");
	FZ_ASSERT(a->block_size == b->block_size && a->virtual_size == b->virtual_size &&
			  a->logical_sector_size == b->logical_sector_size &&
			  a->physical_sector_size == b->physical_sector_size && a->has_parent == b->has_parent &&
			  vhdx_guid_equal(&a->disk_id, &b->disk_id),
		  "metadata after replay differs from the overlay's");
	FZ_ASSERT(memcmp(a->state_count, b->state_count, sizeof(a->state_count)) == 0 &&
			  a->bitmaps_present == b->bitmaps_present && a->data_end == b->data_end,
		  "BAT after replay differs from the overlay's");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_file f;
	static struct vhdx_image img, img2;
	static struct sample before;
	unsigned flags, f2 = fz_flags2(data, size);
	int raw, ro;
	vhdx_status st;

	fz_load_input(&f, data, size, &flags, &raw);
	ro = (flags & 0x80) != 0;
	f.io.read_only = ro;
	st = vhdx_open(&img, &f.io);
	fz_check_open(&f, &img, st);
	if (st != VHDX_OK) {
		fz_file_reset(&f);
		return 0;
	}
	const struct vhdx_header h = img.header[img.current];
	const uint64_t old_size = f.io.size, last = img.log.last_offset;
	const int pending = img.log_pending;
	if (pending) {
		sample_init(&before);
		take(&img, &before);
	}

	f.allow_write = 1;
	f.allow_resize = 1;
	f.io.resize = fz_resize_cb;
	f.nforbid = 4;
	f.forbid[0] = (struct fz_range){ 0, 64 * FZ_KiB };                   /* file identifier */
	f.forbid[1] = (struct fz_range){ 68 * FZ_KiB, 60 * FZ_KiB };         /* header slot 1 beyond the header */
	f.forbid[2] = (struct fz_range){ 132 * FZ_KiB, 60 * FZ_KiB };        /* header slot 2 beyond the header */
	f.forbid[3] = (struct fz_range){ h.log_offset, h.log_length };       /* the log itself */
	real_write = f.io.write;
	real_flush = f.io.flush;
	f.io.write = inj_write;
	f.io.flush = inj_flush;
	stop_at = f2 >> 1;
	write_calls = writes_ok = 0;
	stopped = 0;

	st = vhdx_replay(&img, rnd);
	fz_check_msg(img.msg, sizeof(img.msg));
	vhdx_close(&img);
	FZ_ASSERT(f.live == 0, "replay leaked %zu bytes", f.live);
	f.io.write = real_write;
	f.io.flush = real_flush;

	/*
	 * Time: a replay writes each data sector of the log once and each zero range once; a log that makes it write
	 * more than 16 times the file (as the replay leaves it) plus twice the log is making it repeat itself.
	 */
	uint64_t allowed = 16 * (f.io.size > old_size ? f.io.size : old_size) + 2 * (uint64_t)h.log_length + FZ_MiB;
	FZ_ASSERT(f.write_bytes <= allowed,
		  "replay wrote %llu bytes for a file of %llu bytes (%llu before) and a %u-byte log (bound %llu)",
		  (unsigned long long)f.write_bytes, (unsigned long long)f.io.size, (unsigned long long)old_size,
		  h.log_length, (unsigned long long)allowed);
	vhdx_status want = ro ? VHDX_E_READONLY : h.sequence > UINT64_MAX - 3 ? VHDX_E_SEQUENCE : VHDX_OK;
	if (!stopped)
		FZ_ASSERT(st == want, "replay gave %d (%s), expected %d", (int)st, st ? img.msg : "", (int)want);
	if (st != VHDX_OK && !stopped) {
		FZ_ASSERT(f.writes == 0 && f.flushes == 0 && f.resizes == 0, "a refused replay wrote");
		goto out;
	}
	if (!pending) {
		FZ_ASSERT(f.writes == 0 && f.resizes == 0, "replay without a pending log wrote");
		goto out;
	}

	if (stopped && st != VHDX_OK) {
		/* the machine stopped: what is on the medium must open, and replay again when the log is still set */
		f.allow_write = 0;
		st = vhdx_open(&img2, &f.io);
		fz_check_open(&f, &img2, st);
		FZ_ASSERT(st == VHDX_OK, "after a replay interrupted at write %u the image does not open: %s", stop_at,
			  img2.msg);
		f.allow_write = 1;
		st = vhdx_replay(&img2, rnd);
		FZ_ASSERT(st == VHDX_OK, "the replay after an interruption at write %u failed: %s", stop_at, img2.msg);
		vhdx_close(&img2);
	}

	f.allow_write = 0;
	st = vhdx_open(&img2, &f.io);
	fz_check_open(&f, &img2, st);
	FZ_ASSERT(st == VHDX_OK, "the replayed image does not open: %s", img2.msg);
	FZ_ASSERT(!img2.log_pending, "log still pending after the replay");
	FZ_ASSERT(f.io.size == (last > old_size ? last : old_size), "file size %llu after the replay (was %llu, last %llu)",
		  (unsigned long long)f.io.size, (unsigned long long)old_size, (unsigned long long)last);
	const struct vhdx_header *n = &img2.header[img2.current];
	struct vhdx_guid g;
	vhdx_guid_from_random(&g, rnd);
	FZ_ASSERT(vhdx_guid_equal(&n->file_write_guid, &g), "FileWriteGuid after replay");
	vhdx_guid_from_random(&g, rnd + 16);
	FZ_ASSERT(vhdx_guid_equal(&n->data_write_guid, &g), "DataWriteGuid after replay");
	if (!stopped)
		FZ_ASSERT(n->sequence == h.sequence + 3, "sequence %llu after replay, was %llu",
			  (unsigned long long)n->sequence, (unsigned long long)h.sequence);
	same_geometry(&img, &img2);
	compare(&img2, &before);
	/* a second replay has nothing to do */
	f.allow_write = 1;
	unsigned w = f.writes;
	st = vhdx_replay(&img2, rnd);
	FZ_ASSERT(st == (n->sequence > UINT64_MAX - 3 ? VHDX_E_SEQUENCE : VHDX_OK) && f.writes == w,
		  "second replay: %d, %u writes", (int)st, f.writes - w);
	vhdx_close(&img2);
out:
	fz_file_reset(&f);
	return 0;
}
