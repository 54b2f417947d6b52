/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log.c - the VHDX log: find the active sequence (open) and show it to readers through an overlay (view.c).
 * Reads only, through io.c and logwalk.c; replay.c is the writer above.
 *
 * The log is a ring of 4 KiB sectors.  Entries found at 4 KiB positions are kept in a small table (position,
 * length, sequence, tail); the active sequence is the chain of consecutive entries ending at the highest sequence
 * number whose head's Tail lies inside the chain.  The table is bounded, and the bytes checksummed are bounded
 * by a multiple of the log length, so a hostile log costs linear time and fixed memory.
 */
#include "logwalk.h"

#define SECTOR VHDX_LOG_SECTOR
#define MAX_ENTRIES 65536U
#define CHECK_BUDGET VHDX_LOG_CHECK_BUDGET
#define VHDX_MAX_LOG_GROWTH VHDX_TiB

struct entry {
	uint32_t pos, len; /* in sectors */
	uint32_t tail;     /* in sectors */
	uint32_t run;      /* first entry of the chain this one continues */
	uint64_t seq;
};

/* Full check of the entry at ring sector `pos`: checksum, descriptors, data sectors, targets. 0 when valid. */
static vhdx_status verify(struct vhdx_logctx *c, uint64_t pos, const struct vhdx_log_ehdr *e, int *valid)
{
	static const uint8_t zero4[4];
	const struct vhdx_header *h = &c->img->header[c->img->current];
	uint64_t nsec = e->len / SECTOR, dsecs, ndata = 0;
	uint32_t crc = 0;
	vhdx_status st;

	*valid = 0;
	if (c->budget < e->len)
		return vhdx_fail(c->img, VHDX_E_CORRUPT,
				 "log: entries claim more than %u times the log length; the log is not trustworthy",
				 CHECK_BUDGET);
	c->budget -= e->len;
	for (uint64_t k = 0; k < nsec; k++) {
		if ((st = vhdx_log_sector(c, pos + k, c->sec)))
			return st;
		if (k == 0) {
			/* the checksum field itself counts as zero */
			crc = vhdx_crc32c(0, c->sec, VHDX_LOGE_CHECKSUM);
			crc = vhdx_crc32c(crc, zero4, sizeof zero4);
			crc = vhdx_crc32c(crc, c->sec + VHDX_LOGE_LENGTH, SECTOR - VHDX_LOGE_LENGTH);
		} else {
			crc = vhdx_crc32c(crc, c->sec, SECTOR);
		}
	}
	if ((st = vhdx_log_sector(c, pos, c->sec)))
		return st;
	if (crc != vhdx_le32(c->sec + VHDX_LOGE_CHECKSUM))
		return VHDX_OK;
	dsecs = vhdx_log_desc_sectors(e);
	for (uint32_t i = 0; i < e->count; i++) {
		const uint8_t *d;
		struct vhdx_log_desc o;
		uint64_t end;
		uint32_t sig;

		if ((st = vhdx_log_descriptor(c, pos, i, &d)))
			return st;
		sig = vhdx_le32(d + VHDX_LOGD_SIG);
		if ((sig != VHDX_LOG_DESC_SIGNATURE && sig != VHDX_LOG_ZERO_SIGNATURE) || vhdx_le64(d + VHDX_LOGD_SEQUENCE) != e->seq)
			return VHDX_OK;
		vhdx_log_parse_desc(d, &o);
		if (o.offset % SECTOR || o.length == 0 || o.length % SECTOR || vhdx_add_overflow(o.offset, o.length, &end))
			return VHDX_OK;
		/* The log never rewrites the identifier, the headers or itself. */
		if (o.offset < VHDX_REGION1_OFFSET || (h->log_length && vhdx_overlaps(o.offset, o.length, h->log_offset,
										 h->log_length)))
			return vhdx_fail(c->img, VHDX_E_CORRUPT,
					 "log entry %llu: descriptor %u targets bytes %llu..%llu, inside the headers or the log",
					 (unsigned long long)e->seq, i, (unsigned long long)o.offset,
					 (unsigned long long)end);
		if (!o.zero) {
			if (dsecs + ndata >= nsec)
				return VHDX_OK;
			if ((st = vhdx_log_sector(c, pos + dsecs + ndata, c->sec)))
				return st;
			if (vhdx_le32(c->sec + VHDX_LOGS_SIG) != VHDX_LOG_DATA_SIGNATURE ||
			    vhdx_le32(c->sec + VHDX_LOGS_SEQ_HIGH) != (uint32_t)(e->seq >> 32) ||
			    vhdx_le32(c->sec + VHDX_LOGS_SEQ_LOW) != (uint32_t)e->seq)
				return VHDX_OK;
			ndata++;
		}
	}
	*valid = 1;
	return VHDX_OK;
}

/* Entries are found in position order, so a position lookup is a binary search. */
static uint32_t by_pos(const struct entry *t, uint32_t n, uint32_t pos)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (t[mid].pos < pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && t[lo].pos == pos ? lo : UINT32_MAX;
}

static void sift(const struct entry *t, uint32_t *ix, uint32_t root, uint32_t n)
{
	for (;;) {
		uint32_t child = 2 * root + 1, tmp;
		if (child >= n)
			return;
		if (child + 1 < n && t[ix[child + 1]].seq > t[ix[child]].seq)
			child++;
		if (t[ix[root]].seq >= t[ix[child]].seq)
			return;
		tmp = ix[root];
		ix[root] = ix[child];
		ix[child] = tmp;
		root = child;
	}
}

/* Heap sort of entry indices by sequence number: no recursion, no extra memory. */
static void sort_by_seq(const struct entry *t, uint32_t *ix, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		ix[i] = i;
	for (uint32_t i = n / 2; i-- > 0;)
		sift(t, ix, i, n);
	for (uint32_t end = n; end > 1; end--) {
		uint32_t tmp = ix[0];
		ix[0] = ix[end - 1];
		ix[end - 1] = tmp;
		sift(t, ix, 0, end - 1);
	}
}

/* Links each entry to the chain it continues and picks the head with the highest sequence whose tail is in it. */
static int choose(struct entry *t, uint32_t *ix, uint32_t n, uint32_t sectors, uint32_t *tail, uint32_t *head)
{
	int found = 0;

	for (uint32_t i = 0; i < n; i++)
		t[i].run = UINT32_MAX;
	sort_by_seq(t, ix, n);
	for (uint32_t i = 0; i < n; i++) {
		struct entry *e = &t[ix[i]];
		uint32_t next;
		if (e->run == UINT32_MAX)
			e->run = ix[i];
		next = by_pos(t, n, (uint32_t)(((uint64_t)e->pos + e->len) % sectors));
		if (next != UINT32_MAX && t[next].seq == e->seq + 1 && t[next].run == UINT32_MAX)
			t[next].run = e->run;
	}
	for (uint32_t h = 0; h < n; h++) {
		uint32_t tl = by_pos(t, n, t[h].tail);
		if (tl == UINT32_MAX || t[tl].run != t[h].run || t[tl].seq > t[h].seq)
			continue;
		if (!found || t[h].seq > t[*head].seq) {
			*head = h;
			*tail = tl;
			found = 1;
		}
	}
	return found;
}

static vhdx_status visit_bounds(struct vhdx_logctx *c, uint64_t pos, const struct vhdx_log_ehdr *e,
				 const struct vhdx_log_desc *d, void *arg)
{
	struct vhdx_log_state *L = &c->img->log;
	uint64_t limit = *(uint64_t *)arg, end = d->offset + d->length;

	(void)pos;
	if (end > limit)
		return vhdx_fail(c->img, VHDX_E_CORRUPT,
				 "log entry %llu: a descriptor writes bytes %llu..%llu, beyond LastFileOffset and the file (%llu bytes)",
				 (unsigned long long)e->seq, (unsigned long long)d->offset, (unsigned long long)end,
				 (unsigned long long)limit);
	/*
	 * Zeros past the old end of the file need no write (growth reads as zero), so only the part below it costs
	 * replay time; a sequence that zeroes more than 16 times the file is not a real log.
	 */
	if (d->zero && d->offset < c->img->io->size) {
		uint64_t below = (end < c->img->io->size ? end : c->img->io->size) - d->offset;
		L->zero_bytes += below;
		if (L->zero_bytes / 16 > c->img->io->size)
			return vhdx_fail(c->img, VHDX_E_CORRUPT,
					 "log entry %llu: zero descriptors cover %llu bytes, more than 16 times the file (%llu bytes)",
					 (unsigned long long)e->seq, (unsigned long long)L->zero_bytes,
					 (unsigned long long)c->img->io->size);
	}
	if (d->offset < L->dirty_lo)
		L->dirty_lo = d->offset;
	if (end > L->dirty_hi)
		L->dirty_hi = end;
	L->descriptors++;
	return VHDX_OK;
}

static vhdx_status find(struct vhdx_image *img, struct vhdx_logctx *c, struct entry *t, uint32_t *ix, uint32_t cap)
{
	struct vhdx_log_state *L = &img->log;
	uint32_t n = 0, tl = 0, hd = 0;
	struct vhdx_log_ehdr e;
	uint64_t limit;
	vhdx_status st;

	for (uint32_t pos = 0; pos < c->sectors; pos++) {
		int valid;
		if ((st = vhdx_log_sector(c, pos, c->sec)))
			return st;
		if (vhdx_log_parse_header(c, c->sec, &e))
			continue;
		if ((st = verify(c, pos, &e, &valid)))
			return st;
		if (!valid)
			continue;
		if (n == cap)
			return vhdx_fail(img, VHDX_E_UNSUPPORTED, "log: more than %u valid entries", cap);
		t[n].pos = pos;
		t[n].len = e.len / SECTOR;
		t[n].tail = e.tail / SECTOR;
		t[n].seq = e.seq;
		n++;
	}
	if (!choose(t, ix, n, c->sectors, &tl, &hd)) {
		/*
		 * A writer sets LogGuid before its first entry is complete, so a crash there leaves no valid sequence
		 * and no data changed: replay then only clears LogGuid.
		 */
		vhdx_warn(img, "log: no valid sequence of entries (%u valid entries): nothing to replay", n);
		return VHDX_OK;
	}
	if ((st = vhdx_log_sector(c, t[hd].pos, c->sec)))
		return st;
	vhdx_log_parse_header(c, c->sec, &e);
	if (e.flushed > img->io->size)
		return vhdx_fail(img, VHDX_E_CORRUPT,
				 "log entry %llu: FlushedFileOffset %llu lies beyond the end of the file (%llu bytes)",
				 (unsigned long long)e.seq,
				 (unsigned long long)e.flushed, (unsigned long long)img->io->size);
	/*
	 * Growth covers blocks allocated just before a crash, a few at most.  Bounding it keeps the BAT scan's
	 * one-bit-per-MiB map within a fixed budget of the real file, whatever a hostile log claims.
	 */
	if (e.last > img->io->size && e.last - img->io->size > VHDX_MAX_LOG_GROWTH)
		return vhdx_fail(img, VHDX_E_CORRUPT,
				 "log entry %llu: LastFileOffset %llu would grow the file (%llu bytes) by more than 1 TiB",
				 (unsigned long long)e.seq, (unsigned long long)e.last,
				 (unsigned long long)img->io->size);
	L->tail = (uint64_t)t[tl].pos * SECTOR;
	L->tail_seq = t[tl].seq;
	L->head_seq = t[hd].seq;
	L->entries = (uint32_t)(t[hd].seq - t[tl].seq + 1);
	L->flushed_offset = e.flushed;
	L->last_offset = e.last;
	L->dirty_lo = UINT64_MAX;
	L->dirty_hi = 0;
	limit = e.last > img->io->size ? e.last : img->io->size;
	if ((st = vhdx_log_walk(c, visit_bounds, &limit)))
		return st;
	img->file_size = limit;
	L->active = 1;
	return VHDX_OK;
}

vhdx_status vhdx_log_find(struct vhdx_image *img)
{
	const struct vhdx_header *h = &img->header[img->current];
	struct vhdx_logctx c;
	struct entry *t;
	uint32_t *ix, cap;
	size_t bytes;
	uint8_t *unused;
	vhdx_status st;

	if (!img->log_pending)
		return VHDX_OK;
	if (h->log_length == 0)
		return vhdx_fail(img, VHDX_E_CORRUPT, "header %u: LogGuid %s is set but LogLength is 0",
				 (unsigned)img->current + 1, VHDX_GUID_STR(&h->log_guid));
	cap = h->log_length / SECTOR < MAX_ENTRIES ? h->log_length / SECTOR : MAX_ENTRIES;
	bytes = (size_t)cap * (sizeof(*t) + sizeof(*ix));
	if ((st = vhdx_log_ctx_init(img, &c, &unused)))
		return st;
	t = img->io->alloc(img->io->ctx, bytes);
	if (!t) {
		vhdx_log_ctx_done(&c);
		return vhdx_fail(img, VHDX_E_NOMEM, "log: no memory for the entry table (%llu bytes)",
				 (unsigned long long)bytes);
	}
	ix = (uint32_t *)(void *)(t + cap);
	st = find(img, &c, t, ix, cap);
	img->io->free(img->io->ctx, t, bytes);
	vhdx_log_ctx_done(&c);
	return st;
}

struct overlay {
	uint64_t off;
	uint8_t *buf;
	size_t len;
	uint8_t *data;
};

static vhdx_status visit_overlay(struct vhdx_logctx *c, uint64_t pos, const struct vhdx_log_ehdr *e,
				  const struct vhdx_log_desc *d, void *arg)
{
	struct overlay *o = arg;
	uint64_t lo, hi;
	vhdx_status st;

	if (!vhdx_overlaps(d->offset, d->length, o->off, o->len))
		return VHDX_OK;
	lo = d->offset > o->off ? d->offset : o->off;
	hi = d->offset + d->length < o->off + o->len ? d->offset + d->length : o->off + o->len;
	if (d->zero) {
		memset(o->buf + (lo - o->off), 0, (size_t)(hi - lo));
		return VHDX_OK;
	}
	if ((st = vhdx_log_load_data(c, pos, e, d, o->data)))
		return st;
	memcpy(o->buf + (lo - o->off), o->data + (lo - d->offset), (size_t)(hi - lo));
	return VHDX_OK;
}

vhdx_status vhdx_log_overlay(struct vhdx_image *img, uint64_t off, void *buf, size_t len)
{
	struct vhdx_logctx c;
	struct overlay o = { off, buf, len, 0 };
	vhdx_status st;

	if ((st = vhdx_log_ctx_init(img, &c, &o.data)))
		return st;
	st = vhdx_log_walk(&c, visit_overlay, &o);
	vhdx_log_ctx_done(&c);
	return st;
}
