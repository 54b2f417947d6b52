/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * logwalk.c - reading the log: its sectors (raw, through io.c), entry headers, descriptors, data sectors, and the
 * walk over the active sequence that both the overlay (log.c) and the replay (replay.c) make.
 */
#include "logwalk.h"

#define SECTOR VHDX_LOG_SECTOR

vhdx_status vhdx_log_sector(struct vhdx_logctx *c, uint64_t ring_sector, uint8_t *buf)
{
	return vhdx_raw_read(c->img, c->base + (ring_sector % c->sectors) * SECTOR, buf, SECTOR, "log");
}

uint64_t vhdx_log_desc_sectors(const struct vhdx_log_ehdr *e)
{
	return (VHDX_LOG_HEADER_SIZE + (uint64_t)e->count * VHDX_LOG_DESC_SIZE + SECTOR - 1) / SECTOR;
}

int vhdx_log_parse_header(struct vhdx_logctx *c, const uint8_t *s, struct vhdx_log_ehdr *e)
{
	struct vhdx_guid g;
	uint64_t dsecs;

	if (vhdx_le32(s + VHDX_LOGE_SIG) != VHDX_LOG_ENTRY_SIGNATURE)
		return 1;
	e->len = vhdx_le32(s + VHDX_LOGE_LENGTH);
	e->tail = vhdx_le32(s + VHDX_LOGE_TAIL);
	e->seq = vhdx_le64(s + VHDX_LOGE_SEQUENCE);
	e->count = vhdx_le32(s + VHDX_LOGE_DESC_COUNT);
	e->flushed = vhdx_le64(s + VHDX_LOGE_FLUSHED);
	e->last = vhdx_le64(s + VHDX_LOGE_LAST);
	vhdx_guid_load(&g, s + VHDX_LOGE_LOG_GUID);
	dsecs = vhdx_log_desc_sectors(e);
	if (!vhdx_guid_equal(&g, &c->img->header[c->img->current].log_guid) || e->seq == 0 || e->len == 0 ||
	    e->len % SECTOR || e->len > c->length || e->tail % SECTOR || e->tail >= c->length ||
	    dsecs > e->len / SECTOR)
		return 1;
	return 0;
}

vhdx_status vhdx_log_descriptor(struct vhdx_logctx *c, uint64_t pos, uint32_t i, const uint8_t **desc)
{
	uint64_t at = VHDX_LOG_HEADER_SIZE + (uint64_t)i * VHDX_LOG_DESC_SIZE;
	uint64_t ring = (pos + at / SECTOR) % c->sectors;

	if (c->dsec_at != ring) {
		vhdx_status st = vhdx_log_sector(c, ring, c->dsec);
		if (st)
			return st;
		c->dsec_at = ring;
	}
	*desc = c->dsec + at % SECTOR;
	return VHDX_OK;
}

void vhdx_log_parse_desc(const uint8_t *d, struct vhdx_log_desc *o)
{
	o->raw = d;
	o->zero = vhdx_le32(d + VHDX_LOGD_SIG) == VHDX_LOG_ZERO_SIGNATURE;
	o->offset = vhdx_le64(d + VHDX_LOGD_FILE_OFFSET);
	o->length = o->zero ? vhdx_le64(d + VHDX_LOGD_ZERO_LENGTH) : SECTOR;
}

/* The data descriptor holds the sector's leading 8 bytes and trailing 4; the data sector holds the 4084 between. */
vhdx_status vhdx_log_load_data(struct vhdx_logctx *c, uint64_t pos, const struct vhdx_log_ehdr *e,
			       const struct vhdx_log_desc *d, uint8_t *out)
{
	uint8_t lead[8], trail[4];
	vhdx_status st;

	memcpy(lead, d->raw + VHDX_LOGD_LEADING, sizeof lead);
	memcpy(trail, d->raw + VHDX_LOGD_TRAILING, sizeof trail);
	st = vhdx_log_sector(c, pos + vhdx_log_desc_sectors(e) + d->data_index, out);
	if (st)
		return st;
	memcpy(out, lead, sizeof lead);
	memcpy(out + VHDX_LOGS_SEQ_LOW, trail, sizeof trail);
	return VHDX_OK;
}

vhdx_status vhdx_log_walk(struct vhdx_logctx *c, vhdx_log_visit_fn fn, void *arg)
{
	struct vhdx_log_state *L = &c->img->log;
	uint64_t pos = L->tail / SECTOR;
	struct vhdx_log_ehdr e;
	vhdx_status st;

	for (uint32_t n = 0; n < L->entries; n++) {
		uint32_t data = 0;
		if ((st = vhdx_log_sector(c, pos, c->sec)))
			return st;
		if (vhdx_log_parse_header(c, c->sec, &e) || e.seq != L->tail_seq + n)
			return vhdx_fail(c->img, VHDX_E_CORRUPT, "log: entry %llu changed on disk since it was validated",
					 (unsigned long long)(L->tail_seq + n));
		for (uint32_t i = 0; i < e.count; i++) {
			const uint8_t *d;
			struct vhdx_log_desc o;
			if ((st = vhdx_log_descriptor(c, pos, i, &d)))
				return st;
			vhdx_log_parse_desc(d, &o);
			o.data_index = data;
			data += !o.zero;
			if ((st = fn(c, pos, &e, &o, arg)))
				return st;
		}
		pos = (pos + e.len / SECTOR) % c->sectors;
	}
	return VHDX_OK;
}

vhdx_status vhdx_log_ctx_init(struct vhdx_image *img, struct vhdx_logctx *c, uint8_t **extra)
{
	const struct vhdx_header *h = &img->header[img->current];

	memset(c, 0, sizeof(*c));
	c->img = img;
	c->base = h->log_offset;
	c->length = h->log_length;
	c->sectors = (uint32_t)(h->log_length / SECTOR);
	c->dsec_at = UINT64_MAX;
	c->budget = c->length * VHDX_LOG_CHECK_BUDGET;
	c->sec = img->io->alloc(img->io->ctx, 3 * SECTOR);
	if (!c->sec)
		return vhdx_fail(img, VHDX_E_NOMEM, "log: no memory for sector buffers");
	c->dsec = c->sec + SECTOR;
	*extra = c->sec + 2 * SECTOR;
	return VHDX_OK;
}

void vhdx_log_ctx_done(struct vhdx_logctx *c)
{
	if (c->sec)
		c->img->io->free(c->img->io->ctx, c->sec, 3 * SECTOR);
	c->sec = 0;
}
