/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * replay.c - the log replay: writes the active sequence that log.c found into the file, between two header updates
 * that first give the file new identities and last clear LogGuid, so a crash at any point leaves an image that
 * opens and replays again.
 */
#include "logwalk.h"

#define SECTOR VHDX_LOG_SECTOR
#define ZERO_CHUNK (64 * 1024)

struct replay {
	uint8_t *work;      /* ZERO_CHUNK zero bytes, then one sector for data */
	uint64_t old_size;  /* the file's size before the replay grew it */
	uint64_t grown_hi;  /* end of the highest data write past old_size so far */
};

static vhdx_status visit_replay(struct vhdx_logctx *c, uint64_t pos, const struct vhdx_log_ehdr *e,
				 const struct vhdx_log_desc *d, void *arg)
{
	struct replay *r = arg;
	uint64_t end = d->offset + d->length, clean;
	vhdx_status st;

	if (!d->zero) {
		if ((st = vhdx_log_load_data(c, pos, e, d, r->work + ZERO_CHUNK)))
			return st;
		if (end > r->old_size && end > r->grown_hi)
			r->grown_hi = end;
		return vhdx_pwrite(c->img, d->offset, r->work + ZERO_CHUNK, SECTOR, "log replay");
	}
	/* bytes past both the old end and any data written there are still the zeros the growth made */
	clean = r->old_size > r->grown_hi ? r->old_size : r->grown_hi;
	if (end > clean)
		end = clean > d->offset ? clean : d->offset;
	for (uint64_t at = d->offset; at < end;) {
		uint64_t n = end - at < ZERO_CHUNK ? end - at : ZERO_CHUNK;
		if ((st = vhdx_pwrite(c->img, at, r->work, (size_t)n, "log replay")))
			return st;
		at += n;
	}
	return VHDX_OK;
}

vhdx_status vhdx_replay(struct vhdx_image *img, const uint8_t random[32])
{
	struct vhdx_io *io = img->io;
	struct vhdx_log_state *L = &img->log;
	struct vhdx_header h;
	struct vhdx_logctx c;
	struct replay r;
	uint8_t *block = 0, *work, *unused;
	vhdx_status st;

	if ((st = vhdx_write_allowed(img, "log replay", 3)))
		return st;
	if (!img->log_pending)
		return VHDX_OK;
	if (L->last_offset > io->size && !io->resize)
		return vhdx_fail(img, VHDX_E_UNSUPPORTED,
				 "log replay: LastFileOffset %llu needs the file to grow from %llu bytes, which this device cannot do; nothing was written",
				 (unsigned long long)L->last_offset, (unsigned long long)io->size);
	work = io->alloc(io->ctx, ZERO_CHUNK + SECTOR);
	if (!work)
		return vhdx_fail(img, VHDX_E_NOMEM, "log replay: no memory for a work buffer");
	memset(work, 0, ZERO_CHUNK);
	if ((st = vhdx_log_ctx_init(img, &c, &unused)))
		goto out;
	if ((st = vhdx_header_block(img, &block)))
		goto out;
	/* New identities before the first write; LogGuid stays until the data is safely in place. */
	h = img->header[img->current];
	vhdx_guid_from_random(&h.file_write_guid, random);
	vhdx_guid_from_random(&h.data_write_guid, random + 16);
	h.sequence++;
	if ((st = vhdx_header_write(img, block, &h)))
		goto out;
	r.work = work;
	r.old_size = io->size;
	r.grown_hi = 0;
	if (L->last_offset > io->size) {
		if (io->resize(io->ctx, L->last_offset)) {
			st = vhdx_fail(img, VHDX_E_IO, "log replay: growing the file to %llu bytes failed",
				       (unsigned long long)L->last_offset);
			goto out;
		}
		io->size = L->last_offset;
	}
	if ((st = vhdx_log_walk(&c, visit_replay, &r)) || (st = vhdx_flush(img)))
		goto out;
	memset(&h.log_guid, 0, sizeof(h.log_guid));
	h.sequence++;
	if ((st = vhdx_header_write(img, block, &h)))
		goto out;
	h.sequence++;
	if ((st = vhdx_header_write(img, block, &h)))
		goto out;
	img->log_pending = 0;
	L->active = 0;
	img->file_size = io->size;
out:
	if (block)
		io->free(io->ctx, block, VHDX_HEADER_SIZE);
	vhdx_log_ctx_done(&c);
	io->free(io->ctx, work, ZERO_CHUNK + SECTOR);
	return st;
}
