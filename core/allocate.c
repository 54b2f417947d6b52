/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * allocate.c - make the payload blocks of a virtual-disk range present and zero-filled, so that Linux
 * can map the range read-write straight onto the file.
 *
 * Order of events, each step durable before the next (see logwrite.c for the log's part):
 *   1. everything is checked and the room found (a device that lacks it is refused) - nothing written yet;
 *   2. a new FileWriteGuid in the headers (the session rule: before the first write of anything else);
 *   3. the room is made: the file grows (new bytes read as zero) and any space reused past the last used byte is
 *      written with zeros; flush - the new blocks are zero on disk before any BAT entry points at them;
 *   4. the log goes live: a fresh LogGuid in the headers;
 *   5. the BAT sectors that change go through the log, as many per entry as it holds: entry, flush, the sectors
 *      in place, flush - repeated while blocks remain;
 *   6. LogGuid is cleared in both headers.
 * Making the room before LogGuid is set keeps the time during which LogGuid names no entry short (one write and a
 * flush): QEMU opens such a file but leaves LogGuid set and then refuses to allocate blocks in it, whereas zeroing
 * room on a device may take minutes.
 * A crash leaves each block either as it was or present and zero, and the image opens (a live log replays).
 *
 * DataWriteGuid is not changed.  MS-VHDX ties it to changes a reader of the virtual disk can see; an absent (or
 * ZERO, UNMAPPED, UNDEFINED) block reads as zeros and so does the block allocated for it, and present blocks are
 * not touched.  Keeping it also keeps differencing children that link to this image by DataWriteGuid valid.
 * QEMU changes it before any log write, but its log writes carry guest writes, which are user-visible.  The new
 * FileWriteGuid still tells every reader that the file changed.
 */
#include "internal.h"

#define BAT_SECTOR VHDX_LOG_SECTOR
#define BAT_PER_SECTOR (BAT_SECTOR / 8)
#define ZERO_CHUNK VHDX_MiB

struct alloc {
	struct vhdx_image *img;
	uint64_t first, last;  /* payload blocks of the range */
	uint64_t count;        /* of them to allocate */
	uint64_t place, end;   /* where the new blocks go: [place, end) */
	uint64_t next;         /* file offset of the next new block */
	struct vhdx_log_writer w;
	struct vhdx_log_sector *desc; /* the batch: changed BAT sectors, their bytes in secs */
	uint8_t *secs;
	uint32_t cap, n;
	uint64_t entries;
};

static int absent(uint64_t e)
{
	switch (e & VHDX_BAT_STATE_MASK) {
	case VHDX_BAT_NOT_PRESENT:
	case VHDX_BAT_UNDEFINED:
	case VHDX_BAT_ZERO:
	case VHDX_BAT_UNMAPPED:
		return 1;
	default:
		return 0;
	}
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Every byte any structure uses: headers, log, regions of both table copies (unknown ones too), blocks. */
static vhdx_status used_end(struct vhdx_image *img, uint64_t *out)
{
	const struct vhdx_header *h = &img->header[img->current];
	uint64_t end = max64(VHDX_HEADER_AREA, h->log_offset + h->log_length);
	uint8_t *t = img->io->alloc(img->io->ctx, VHDX_REGION_SIZE);
	vhdx_status st = VHDX_OK;

	if (!t)
		return vhdx_fail(img, VHDX_E_NOMEM, "allocate: no memory for a region table");
	end = max64(end, img->bat_offset + img->bat_length);
	end = max64(end, img->meta_offset + img->meta_length);
	end = max64(end, img->data_end);
	for (int i = 0; i < 2 && !st; i++) {
		uint32_t count;
		if (!img->region_valid[i])
			continue;
		st = vhdx_pread(img, i ? VHDX_REGION2_OFFSET : VHDX_REGION1_OFFSET, t, VHDX_REGION_SIZE,
				i ? "region table 2" : "region table 1");
		count = st ? 0 : vhdx_le32(t + VHDX_RGN_COUNT);
		for (uint32_t k = 0; k < count && k < VHDX_RGN_MAX_ENTRIES; k++) {
			const uint8_t *e = t + VHDX_RGN_ENTRIES + (size_t)k * VHDX_RGN_ENTRY_SIZE;
			end = max64(end, vhdx_le64(e + VHDX_RGNE_FILE_OFFSET) + vhdx_le32(e + VHDX_RGNE_LENGTH));
		}
	}
	img->io->free(img->io->ctx, t, VHDX_REGION_SIZE);
	*out = end;
	return st;
}

/* Counts the blocks to allocate and finds their room; writes nothing. */
static vhdx_status plan(struct alloc *a, struct vhdx_allocate_result *res)
{
	struct vhdx_image *img = a->img;
	struct vhdx_io *io = img->io;
	uint64_t used = 0, bytes;
	vhdx_status st;

	for (uint64_t b = a->first; b <= a->last; b++) {
		uint64_t e;
		if ((st = vhdx_bat_entry(img, vhdx_bat_index(img, b), &e)))
			return st;
		if (absent(e))
			a->count++;
		else
			res->present++;
	}
	if ((st = used_end(img, &used)))
		return st;
	a->place = (used + VHDX_MiB - 1) / VHDX_MiB * VHDX_MiB;
	if (vhdx_mul_overflow(a->count, img->block_size, &bytes) || vhdx_add_overflow(a->place, bytes, &a->end) ||
	    a->end > VHDX_BAT_OFFSET_MASK)
		return vhdx_fail(img, VHDX_E_UNSUPPORTED, "allocate: %llu blocks of %u bytes from file offset %llu pass the largest file offset a BAT entry holds",
				 (unsigned long long)a->count, img->block_size, (unsigned long long)a->place);
	if (a->count && a->end > io->size && !io->resize)
		return vhdx_fail(img, VHDX_E_UNSUPPORTED,
				 "allocate: %llu blocks need %llu bytes from file offset %llu (the end of the used space) to %llu, but the device has %llu bytes and cannot grow: %llu bytes short; nothing was written",
				 (unsigned long long)a->count, (unsigned long long)bytes, (unsigned long long)a->place,
				 (unsigned long long)a->end, (unsigned long long)io->size,
				 (unsigned long long)(a->end - io->size));
	a->next = a->place;
	return VHDX_OK;
}

/* Step 3: the new blocks' bytes are zero on disk before anything points at them. */
static vhdx_status make_room(struct alloc *a, struct vhdx_allocate_result *res)
{
	struct vhdx_image *img = a->img;
	struct vhdx_io *io = img->io;
	uint64_t old = io->size, reuse_end = a->end < old ? a->end : old;
	vhdx_status st = VHDX_OK;

	if (a->end > old) {
		if (io->resize(io->ctx, a->end))
			return vhdx_fail(img, VHDX_E_IO, "allocate: growing the file from %llu to %llu bytes failed",
					 (unsigned long long)old,
					 (unsigned long long)a->end);
		io->size = a->end;
		res->grown = a->end - old;
	}
	if (a->place < reuse_end) {
		uint8_t *zero = io->alloc(io->ctx, ZERO_CHUNK);
		if (!zero)
			return vhdx_fail(img, VHDX_E_NOMEM, "allocate: no memory for a zero buffer");
		memset(zero, 0, ZERO_CHUNK);
		for (uint64_t at = a->place; at < reuse_end && !st;) {
			uint64_t n = reuse_end - at < ZERO_CHUNK ? reuse_end - at : ZERO_CHUNK;
			st = vhdx_pwrite(img, at, zero, (size_t)n, "allocate: zeroing new blocks");
			at += n;
		}
		io->free(io->ctx, zero, ZERO_CHUNK);
		res->zeroed = reuse_end - a->place;
	}
	return st ? st : vhdx_flush(img);
}

/* One flush cycle: the batch as a log entry, then in place. */
static vhdx_status commit(struct alloc *a)
{
	uint64_t size = a->img->io->size; /* grown and flushed by make_room */
	vhdx_status st;

	if (!a->n)
		return VHDX_OK;
	if ((st = vhdx_logw_entry(&a->w, a->desc, a->n, size, size)) || (st = vhdx_logw_apply(&a->w, a->desc, a->n)))
		return st;
	a->entries++;
	a->n = 0;
	return VHDX_OK;
}

/* Step 4: walks the range's BAT sectors in order, each read once, changed ones batched. */
static vhdx_status rewrite_bat(struct alloc *a)
{
	struct vhdx_image *img = a->img;
	uint64_t cur = UINT64_MAX;
	uint8_t *slot = 0;
	int changed = 0;
	vhdx_status st;

	for (uint64_t b = a->first; b <= a->last; b++) {
		uint64_t idx = vhdx_bat_index(img, b), sec = idx / BAT_PER_SECTOR, e;
		uint8_t *p;
		if (sec != cur) {
			if (changed && ++a->n == a->cap && (st = commit(a)))
				return st;
			slot = a->secs + (size_t)a->n * BAT_SECTOR;
			a->desc[a->n] = (struct vhdx_log_sector){ img->bat_offset + sec * BAT_SECTOR, 0, slot };
			if ((st = vhdx_pread(img, img->bat_offset + sec * BAT_SECTOR, slot, BAT_SECTOR, "BAT")))
				return st;
			cur = sec;
			changed = 0;
		}
		p = slot + (idx % BAT_PER_SECTOR) * 8;
		e = vhdx_le64(p);
		if (!absent(e))
			continue;
		if (a->next >= a->end)
			return vhdx_fail(img, VHDX_E_CORRUPT, "allocate: BAT entry %llu (payload block %llu) changed while allocating",
					 (unsigned long long)idx, (unsigned long long)b);
		vhdx_put64(p, a->next | VHDX_BAT_FULLY_PRESENT);
		img->state_count[e & VHDX_BAT_STATE_MASK]--;
		img->state_count[VHDX_BAT_FULLY_PRESENT]++;
		a->next += img->block_size;
		changed = 1;
	}
	if (changed)
		a->n++;
	return commit(a);
}

static vhdx_status checks(struct vhdx_image *img, uint64_t offset, uint64_t length)
{
	uint64_t end;
	vhdx_status st;

	/* FileWriteGuid, LogGuid set, LogGuid cleared in both copies: four raises (vhdx_logw_check repeats it) */
	if ((st = vhdx_write_allowed(img, "allocate", 4)))
		return st;
	if (img->has_parent)
		return vhdx_fail(img, VHDX_E_UNSUPPORTED,
				 "allocate: the image is a differencing disk (HasParent): allocating its blocks is not supported; nothing was written");
	if (img->log_pending)
		return vhdx_fail(img, VHDX_E_LOG_PENDING,
				 "allocate: header %u: LogGuid %s is not zero: replay the log first; nothing was written",
				 (unsigned)img->current + 1, VHDX_GUID_STR(&img->header[img->current].log_guid));
	if (vhdx_add_overflow(offset, length, &end) || end > img->virtual_size)
		return vhdx_fail(img, VHDX_E_RANGE, "allocate: bytes %llu..%llu lie beyond the virtual disk (%llu bytes)",
				 (unsigned long long)offset, (unsigned long long)(offset + length),
				 (unsigned long long)img->virtual_size);
	return VHDX_OK;
}

/* Step 2: the new FileWriteGuid in the non-current header slot (which becomes current), flushed. */
static vhdx_status new_file_write_guid(struct vhdx_image *img, const uint8_t random[32])
{
	struct vhdx_header h = img->header[img->current];
	uint8_t *block;
	vhdx_status st = vhdx_header_block(img, &block);

	if (st)
		return st;
	vhdx_guid_from_random(&h.file_write_guid, random);
	h.sequence++;
	st = vhdx_header_write(img, block, &h);
	img->io->free(img->io->ctx, block, VHDX_HEADER_SIZE);
	return st;
}

static vhdx_status run(struct alloc *a, const uint8_t random[32], const struct vhdx_allocate_opts *o,
		       struct vhdx_allocate_result *res)
{
	struct vhdx_image *img = a->img;
	struct vhdx_io *io = img->io;
	vhdx_status st;

	if ((st = new_file_write_guid(img, random)) || (st = make_room(a, res)))
		return st;
	/* the same random bytes: the FileWriteGuid written above stays */
	if ((st = vhdx_logw_begin(img, &a->w, random, o->entry_sectors, o->log_start)))
		return st;
	a->cap = vhdx_logw_capacity(&a->w);
	a->desc = io->alloc(io->ctx, (size_t)a->cap * sizeof(*a->desc));
	a->secs = io->alloc(io->ctx, (size_t)a->cap * BAT_SECTOR);
	if (!a->desc || !a->secs)
		return vhdx_fail(img, VHDX_E_NOMEM, "allocate: no memory for %u BAT sectors", a->cap);
	if ((st = rewrite_bat(a)))
		return st;
	if (a->next != a->end)
		return vhdx_fail(img, VHDX_E_CORRUPT, "allocate: placed %llu bytes of blocks, planned %llu: the BAT changed while allocating",
				 (unsigned long long)(a->next - a->place), (unsigned long long)(a->end - a->place));
	return vhdx_logw_end(&a->w);
}

vhdx_status vhdx_allocate(struct vhdx_image *img, uint64_t offset, uint64_t length, const uint8_t random[32],
			  const struct vhdx_allocate_opts *opts, struct vhdx_allocate_result *res)
{
	static const struct vhdx_allocate_opts defaults;
	struct vhdx_allocate_result scratch;
	struct vhdx_io *io = img->io;
	struct alloc a;
	uint64_t writes = img->stats.writes;
	vhdx_status st;

	if (!res)
		res = &scratch;
	memset(res, 0, sizeof(*res));
	memset(&a, 0, sizeof(a));
	a.img = img;
	if ((st = checks(img, offset, length)))
		return st;
	if (!length)
		return VHDX_OK;
	a.first = offset / img->block_size;
	a.last = (offset + length - 1) / img->block_size;
	if ((st = plan(&a, res)))
		return st;
	res->first_offset = a.place;
	if (!a.count)
		return VHDX_OK; /* nothing to do, nothing written */
	/* the log must be usable before the FileWriteGuid and the room are written (one more raise: FileWriteGuid) */
	if ((st = vhdx_logw_check(img, opts ? opts->entry_sectors : 0, opts ? opts->log_start : 0, 1)))
		return st;

	st = run(&a, random, opts ? opts : &defaults, res);
	vhdx_logw_release(&a.w);
	if (a.desc)
		io->free(io->ctx, a.desc, (size_t)a.cap * sizeof(*a.desc));
	if (a.secs)
		io->free(io->ctx, a.secs, (size_t)a.cap * BAT_SECTOR);
	/* the cached BAT window and the summary describe the old file now */
	img->batwin_count = 0;
	img->file_size = io->size;
	res->entries = a.entries;
	res->blocks = (a.next - a.place) / img->block_size;
	if (st) {
		if (img->stats.writes != writes)
			img->validated = 0; /* what is in memory no longer matches the file: reopen */
		return st;
	}
	if (a.end > img->data_end)
		img->data_end = a.end;
	return VHDX_OK;
}
