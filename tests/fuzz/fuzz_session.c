/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_session.c - libFuzzer harness: vhdx_open, then the session header update with fixed random bytes.
 *
 * Input: the image format of fuzzlib.h; flag bit 7 makes the medium read-only.
 * Checks: the update refuses exactly when it must (read-only medium, pending log, sequence number that cannot be
 * raised by two) and then writes nothing; otherwise it writes the two header slots and nothing else (the
 * backend aborts on any other write), flushes after each, and the image re-opens with the sequence number
 * raised by 2 in the current header and by 1 in the other, the new FileWriteGuid, everything else of both the
 * header (reserved bytes included) and the image unchanged.  A second update on the re-opened image also works.
 */
#include <string.h>

#include "fuzzlib.h"

static const uint8_t rnd[32] = { 0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE, 0x01, 0x23, 0x45,
				 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xF0, 0xE1, 0xD2, 0xC3, 0xB4, 0xA5,
				 0x96, 0x87, 0x78, 0x69, 0x5A, 0x4B, 0x3C, 0x2D, 0x1E, 0x0F };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_bases_init();
	return 0;
}

static void same_image(const struct vhdx_image *a, const struct vhdx_image *b)
{
	FZ_ASSERT(a->region_used == b->region_used && a->bat_offset == b->bat_offset &&
			  a->meta_offset == b->meta_offset && a->bat_length == b->bat_length &&
			  a->meta_length == b->meta_length,
		  "regions changed");
	FZ_ASSERT(a->block_size == b->block_size && a->virtual_size == b->virtual_size &&
			  a->logical_sector_size == b->logical_sector_size &&
			  a->physical_sector_size == b->physical_sector_size && a->has_parent == b->has_parent &&
			  vhdx_guid_equal(&a->disk_id, &b->disk_id),
		  "metadata changed");
	FZ_ASSERT(memcmp(a->state_count, b->state_count, sizeof(a->state_count)) == 0 && a->data_end == b->data_end,
		  "BAT summary changed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_file f;
	static struct vhdx_image img, img2;
	static uint8_t before[2][4096], after[2][4096];
	unsigned flags;
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
	const int cur = img.current;
	const struct vhdx_header h = img.header[cur];
	for (int i = 0; i < 2; i++)
		fz_file_pread(&f, (uint64_t)(64 + 64 * i) * FZ_KiB, before[i], 4096);

	f.allow_write = 1;
	f.nallowed = 2;
	f.allowed[0].off = 64 * FZ_KiB;
	f.allowed[0].len = 4096;
	f.allowed[1].off = 128 * FZ_KiB;
	f.allowed[1].len = 4096;
	/* flags2 bits 1-7 (k = flags2 >> 1): k = 1..63 fails the k-th allocation after open, 64..127 the
	 * (k - 63)-th backend read: the update must then refuse with VHDX_E_NOMEM / VHDX_E_IO having written nothing */
	unsigned k = fz_flags2(data, size) >> 1;
	if (k >= 64)
		f.fail_read_at = f.reads + (k - 63);
	else if (k)
		f.fail_alloc_at = f.allocs + k;
	st = vhdx_session_update(&img, rnd);
	fz_check_msg(img.msg, sizeof(img.msg));
	f.fail_alloc_at = f.fail_read_at = 0;
	if (f.injected) {
		FZ_ASSERT(st == (k >= 64 ? VHDX_E_IO : VHDX_E_NOMEM), "injected failure gave %d (%s)", (int)st, img.msg);
		FZ_ASSERT(f.writes == 0 && f.flushes == 0, "an update that failed before writing wrote");
		vhdx_close(&img);
		fz_file_reset(&f);
		return 0;
	}
	vhdx_status want = ro ? VHDX_E_READONLY :
			   h.sequence > UINT64_MAX - 2 ? VHDX_E_SEQUENCE :
			   img.log_pending ? VHDX_E_LOG_PENDING :
							 VHDX_OK;
	FZ_ASSERT(st == want, "session update gave %d (%s), expected %d", (int)st, st ? img.msg : "", (int)want);
	vhdx_close(&img);
	FZ_ASSERT(f.live == 0, "leak after session update and close");
	if (st != VHDX_OK) {
		FZ_ASSERT(f.writes == 0 && f.flushes == 0, "a refused update wrote %u times", f.writes);
		fz_file_reset(&f);
		return 0;
	}
	FZ_ASSERT(f.writes == 2 && f.flushes == 2, "update: %u writes, %u flushes", f.writes, f.flushes);

	f.allow_write = 0;
	st = vhdx_open(&img2, &f.io);
	fz_check_open(&f, &img2, st);
	FZ_ASSERT(st == VHDX_OK, "re-open after the session update failed: %s", img2.msg);
	FZ_ASSERT(img2.current == cur, "current header moved from %d to %d", cur + 1, img2.current + 1);
	FZ_ASSERT(img2.header_valid[0] && img2.header_valid[1], "both headers valid after the update");
	const struct vhdx_header *n = &img2.header[cur], *o = &img2.header[!cur];
	FZ_ASSERT(n->sequence == h.sequence + 2, "current sequence %llu, was %llu", (unsigned long long)n->sequence,
		  (unsigned long long)h.sequence);
	FZ_ASSERT(o->sequence == h.sequence + 1, "other sequence %llu, was %llu", (unsigned long long)o->sequence,
		  (unsigned long long)h.sequence);
	struct vhdx_guid g;
	vhdx_guid_from_random(&g, rnd);
	FZ_ASSERT(vhdx_guid_equal(&n->file_write_guid, &g) && vhdx_guid_equal(&o->file_write_guid, &g),
		  "FileWriteGuid not the new one");
	FZ_ASSERT(vhdx_guid_equal(&n->data_write_guid, &h.data_write_guid) &&
			  vhdx_guid_equal(&o->data_write_guid, &h.data_write_guid),
		  "DataWriteGuid changed");
	FZ_ASSERT(vhdx_guid_equal(&n->log_guid, &h.log_guid) && n->log_offset == h.log_offset &&
			  n->log_length == h.log_length && n->version == h.version && n->log_version == h.log_version,
		  "header fields changed");
	for (int i = 0; i < 2; i++)
		fz_file_pread(&f, (uint64_t)(64 + 64 * i) * FZ_KiB, after[i], 4096);
	for (int i = 0; i < 2; i++)
		FZ_ASSERT(memcmp(after[i] + 80, before[cur] + 80, 4096 - 80) == 0,
			  "header %d: reserved bytes differ from the old current header's", i + 1);
	same_image(&img, &img2);

	/* and once more: the update works on its own output */
	f.allow_write = 1;
	st = vhdx_session_update(&img2, rnd);
	FZ_ASSERT(st == (h.sequence + 2 > UINT64_MAX - 2 ? VHDX_E_SEQUENCE : VHDX_OK), "second update: %s", img2.msg);
	vhdx_close(&img2);
	fz_file_reset(&f);
	return 0;
}
