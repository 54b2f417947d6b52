/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * logwrite.c - the log writer (vhdx_allocate's BAT changes go through it): entries exactly as log.c (and QEMU's
 * block/vhdx-log.c) find and replay them, placed in the ring one after another and wrapping at its end.
 *
 * A writer session follows the order MS-VHDX prescribes for metadata changes: a fresh LogGuid (with a new
 * FileWriteGuid) goes into the headers and is flushed before the first entry; each entry is written and flushed
 * before any of its sectors is written to its final place; the final places are flushed before the next entry may
 * reuse the ring; LogGuid is cleared last.  A crash at any point therefore leaves either no valid entry with the
 * live LogGuid (replay only clears it), or a newest valid entry whose replay gives the state the writer was
 * heading for.
 *
 * Two rules keep QEMU's reader in step with ours.  QEMU ignores the Tail field and replays the first chain of
 * adjacent entries with consecutive sequence numbers it meets scanning from the ring's start; such a chain that
 * covers the whole ring makes its replay read nothing.  So an entry is at most the ring less one sector, and when
 * the entry that follows an applied one would end exactly where an older entry of this session still starts
 * (closing a chain around the ring), it is moved on by one sector: a lone entry is a sequence of its own.
 */
#include "internal.h"

#define SECTOR VHDX_LOG_SECTOR
#define DEFAULT_MAX_SECTORS 256U /* 1 MiB entries: ~250 BAT sectors per flush cycle, within the core's 4 MiB of scratch */
#define DATA_BYTES (SECTOR - 12) /* a data sector carries all but the leading 8 and trailing 4 bytes */

/* entry header fields (MS-VHDX 2.3.1.1) */
#define LE_SIGNATURE 0
#define LE_CHECKSUM 4
#define LE_LENGTH 8
#define LE_TAIL 12
#define LE_SEQUENCE 16
#define LE_COUNT 24
#define LE_LOG_GUID 32
#define LE_FLUSHED 48
#define LE_LAST 56
/* descriptor fields (2.3.1.2, 2.3.1.3) */
#define LD_SIGNATURE 0
#define LD_TRAILING 4
#define LD_LEADING 8 /* a zero descriptor keeps its length here */
#define LD_OFFSET 16
#define LD_SEQUENCE 24
/* data sector fields (2.3.1.4) */
#define LS_SIGNATURE 0
#define LS_SEQ_HIGH 4
#define LS_DATA 8
#define LS_SEQ_LOW (SECTOR - 4)

static uint32_t desc_sectors(uint32_t n)
{
	return (uint32_t)((VHDX_LOG_HEADER_SIZE + (uint64_t)n * VHDX_LOG_DESC_SIZE + SECTOR - 1) / SECTOR);
}

static int bit(const uint8_t *map, uint32_t i)
{
	return map[i / 8] >> (i % 8) & 1;
}

static void set_bit(uint8_t *map, uint32_t i, int on)
{
	if (on)
		map[i / 8] |= (uint8_t)(1U << (i % 8));
	else
		map[i / 8] &= (uint8_t)~(1U << (i % 8));
}

void vhdx_logw_release(struct vhdx_log_writer *w)
{
	struct vhdx_io *io = w->img ? w->img->io : 0;

	if (io && w->buf)
		io->free(io->ctx, w->buf, w->buf_len);
	if (io && w->starts)
		io->free(io->ctx, w->starts, w->starts_len);
	w->buf = 0;
	w->starts = 0;
}

uint32_t vhdx_logw_capacity(const struct vhdx_log_writer *w)
{
	uint32_t n = w->max_sectors - 1;

	while (n && desc_sectors(n) + n > w->max_sectors)
		n--;
	return n;
}

/* Rewrites the headers with `h`: the non-current slot first, each write flushed (vhdx_header_write). */
static vhdx_status headers_put(struct vhdx_image *img, struct vhdx_header *h, int copies)
{
	uint8_t *block = 0;
	vhdx_status st = vhdx_header_block(img, &block);

	for (int i = 0; i < copies && !st; i++) {
		h->sequence++;
		st = vhdx_header_write(img, block, h);
	}
	if (block)
		img->io->free(img->io->ctx, block, VHDX_HEADER_SIZE);
	return st;
}

vhdx_status vhdx_logw_check(struct vhdx_image *img, uint32_t max_sectors, uint32_t start, uint64_t raises)
{
	const struct vhdx_header *cur = &img->header[img->current];
	vhdx_status st;

	/* one raise to set LogGuid, two to clear it in both copies */
	if ((st = vhdx_write_allowed(img, "log", raises + 3)))
		return st;
	if (img->log_pending)
		return vhdx_fail(img, VHDX_E_LOG_PENDING,
				 "header %u: LogGuid %s is not zero: the log must be replayed before a new one is written; nothing was written",
				 (unsigned)img->current + 1, VHDX_GUID_STR(&cur->log_guid));
	if (cur->log_length < 2 * SECTOR)
		return vhdx_fail(img, VHDX_E_UNSUPPORTED,
				 "header %u: LogLength %u leaves no room for a log entry; nothing was written",
				 (unsigned)img->current + 1, cur->log_length);
	if (start >= cur->log_length / SECTOR)
		return vhdx_fail(img, VHDX_E_ARG, "log: start sector %u lies beyond the %u-sector ring", start,
				 cur->log_length / SECTOR);
	if (max_sectors == 1)
		return vhdx_fail(img, VHDX_E_ARG, "log: entries of 1 sector cannot hold a data descriptor");
	return VHDX_OK;
}

vhdx_status vhdx_logw_begin(struct vhdx_image *img, struct vhdx_log_writer *w, const uint8_t random[32],
			    uint32_t max_sectors, uint32_t start)
{
	const struct vhdx_header *cur = &img->header[img->current];
	struct vhdx_io *io = img->io;
	struct vhdx_header h;
	vhdx_status st;

	memset(w, 0, sizeof(*w));
	w->img = img;
	if ((st = vhdx_logw_check(img, max_sectors, start, 0)))
		return st;
	w->base = cur->log_offset;
	w->sectors = cur->log_length / SECTOR;
	/* one sector of the ring always stays open (QEMU reads a ring-long sequence as empty) */
	w->max_sectors = max_sectors ? max_sectors : DEFAULT_MAX_SECTORS;
	if (w->max_sectors > w->sectors - 1)
		w->max_sectors = w->sectors - 1;
	w->pos = w->tail = start;
	w->seq = 1;
	w->buf_len = (size_t)w->max_sectors * SECTOR;
	w->starts_len = (w->sectors + 7) / 8;
	w->buf = io->alloc(io->ctx, w->buf_len);
	w->starts = io->alloc(io->ctx, w->starts_len);
	if (!w->buf || !w->starts) {
		vhdx_logw_release(w);
		return vhdx_fail(img, VHDX_E_NOMEM, "log: no memory for an entry buffer (%llu bytes)",
				 ((unsigned long long)w->buf_len + w->starts_len));
	}
	memset(w->starts, 0, w->starts_len);

	/* The session's first write: a new FileWriteGuid, and the LogGuid that makes the entries count. */
	h = *cur;
	vhdx_guid_from_random(&h.file_write_guid, random);
	vhdx_guid_from_random(&w->guid, random + 16);
	h.log_guid = w->guid;
	if ((st = headers_put(img, &h, 1))) {
		vhdx_logw_release(w);
		return st;
	}
	img->log_pending = 1; /* no other writer may start while the log is live */
	return VHDX_OK;
}

/* Refuses a descriptor the replay would refuse: it is checked here so that no such entry is ever written. */
static vhdx_status check_desc(struct vhdx_log_writer *w, const struct vhdx_log_sector *d, uint32_t i, uint64_t limit)
{
	const struct vhdx_header *h = &w->img->header[w->img->current];
	uint64_t len = d->zero_length ? d->zero_length : SECTOR, end;

	if (d->offset % SECTOR || len % SECTOR || vhdx_add_overflow(d->offset, len, &end) || end > limit ||
	    d->offset < VHDX_REGION1_OFFSET || (d->offset < h->log_offset + h->log_length && h->log_offset < end) ||
	    (!d->zero_length && !d->data))
		return vhdx_fail(w->img, VHDX_E_ARG,
				 "log entry %llu: descriptor %u (file offset %llu, %llu bytes) is not 4 KiB aligned, lies in the headers or the log, or beyond %llu bytes",
				 (unsigned long long)w->seq, i, (unsigned long long)d->offset, (unsigned long long)len,
				 (unsigned long long)limit);
	return VHDX_OK;
}

/* Where the next entry of `len` sectors goes: see the top of this file for why it may move on by one sector. */
static vhdx_status place(struct vhdx_log_writer *w, uint32_t len, uint32_t *at)
{
	uint32_t p = w->pos;

	if (w->pending) {
		/* unapplied entries must stay one chain, so no gap; nor may the new one reach the oldest of them */
		uint32_t used = (w->pos + w->sectors - w->tail) % w->sectors;
		if (used + len + 1 > w->sectors)
			return vhdx_fail(w->img, VHDX_E_ARG,
					 "log: an entry of %u sectors does not fit beside %u unapplied sectors in the %u-sector ring",
					 len, used, w->sectors);
		*at = p;
		return VHDX_OK;
	}
	for (uint32_t tries = 0; tries < w->sectors; tries++) {
		if (!bit(w->starts, (p + len) % w->sectors)) {
			*at = p;
			return VHDX_OK;
		}
		p = (p + 1) % w->sectors;
	}
	return vhdx_fail(w->img, VHDX_E_UNSUPPORTED, "log: no place in the %u-sector ring for an entry of %u sectors",
			 w->sectors, len);
}

/* Fills w->buf with the entry: header, descriptors, data sectors, checksum. */
static void build(struct vhdx_log_writer *w, const struct vhdx_log_sector *d, uint32_t n, uint32_t len, uint32_t at,
		  uint64_t flushed, uint64_t last)
{
	uint8_t *b = w->buf, *data = w->buf + (size_t)desc_sectors(n) * SECTOR;
	uint32_t tail = w->pending ? w->tail : at;

	memset(b, 0, (size_t)desc_sectors(n) * SECTOR);
	vhdx_put32(b + LE_SIGNATURE, VHDX_LOG_ENTRY_SIGNATURE);
	vhdx_put32(b + LE_LENGTH, len * SECTOR);
	vhdx_put32(b + LE_TAIL, tail * SECTOR);
	vhdx_put64(b + LE_SEQUENCE, w->seq);
	vhdx_put32(b + LE_COUNT, n);
	vhdx_guid_store(b + LE_LOG_GUID, &w->guid);
	vhdx_put64(b + LE_FLUSHED, flushed);
	vhdx_put64(b + LE_LAST, last);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *o = b + VHDX_LOG_HEADER_SIZE + (size_t)i * VHDX_LOG_DESC_SIZE;
		vhdx_put64(o + LD_OFFSET, d[i].offset);
		vhdx_put64(o + LD_SEQUENCE, w->seq);
		if (d[i].zero_length) {
			vhdx_put32(o + LD_SIGNATURE, VHDX_LOG_ZERO_SIGNATURE);
			vhdx_put64(o + LD_LEADING, d[i].zero_length);
			continue;
		}
		/* the sector's first 8 and last 4 bytes travel in the descriptor, the rest in a data sector */
		vhdx_put32(o + LD_SIGNATURE, VHDX_LOG_DESC_SIGNATURE);
		memcpy(o + LD_TRAILING, d[i].data + SECTOR - 4, 4);
		memcpy(o + LD_LEADING, d[i].data, 8);
		vhdx_put32(data + LS_SIGNATURE, VHDX_LOG_DATA_SIGNATURE);
		vhdx_put32(data + LS_SEQ_HIGH, (uint32_t)(w->seq >> 32));
		memcpy(data + LS_DATA, d[i].data + 8, DATA_BYTES);
		vhdx_put32(data + LS_SEQ_LOW, (uint32_t)w->seq);
		data += SECTOR;
	}
	vhdx_put32(b + LE_CHECKSUM, vhdx_struct_crc(b, (size_t)len * SECTOR, LE_CHECKSUM));
}

vhdx_status vhdx_logw_entry(struct vhdx_log_writer *w, const struct vhdx_log_sector *d, uint32_t n,
			    uint64_t flushed_offset, uint64_t last_offset)
{
	struct vhdx_image *img = w->img;
	uint64_t limit = last_offset > img->io->size ? last_offset : img->io->size;
	uint32_t ndata = 0, len, at = 0, first;
	vhdx_status st;

	if (!w->buf)
		return vhdx_fail(img, VHDX_E_STATE, "log: the writer is not open");
	if (flushed_offset > img->io->size || last_offset < flushed_offset)
		return vhdx_fail(img, VHDX_E_ARG,
				 "log entry %llu: FlushedFileOffset %llu and LastFileOffset %llu do not fit a file of %llu bytes",
				 (unsigned long long)w->seq, (unsigned long long)flushed_offset,
				 (unsigned long long)last_offset, (unsigned long long)img->io->size);
	for (uint32_t i = 0; i < n; i++) {
		if ((st = check_desc(w, &d[i], i, limit)))
			return st;
		ndata += !d[i].zero_length;
	}
	len = desc_sectors(n) + ndata;
	if ((uint64_t)desc_sectors(n) + ndata > w->max_sectors)
		return vhdx_fail(img, VHDX_E_ARG, "log entry %llu: %u descriptors need more than %u sectors",
				 (unsigned long long)w->seq, n,
				 w->max_sectors);
	if ((st = place(w, len, &at)))
		return st;
	build(w, d, n, len, at, flushed_offset, last_offset);

	/* the ring wraps: the part past its end goes to its start */
	first = w->sectors - at < len ? w->sectors - at : len;
	st = vhdx_pwrite(img, w->base + (uint64_t)at * SECTOR, w->buf, (size_t)first * SECTOR, "log entry");
	if (!st && first < len)
		st = vhdx_pwrite(img, w->base, w->buf + (size_t)first * SECTOR, (size_t)(len - first) * SECTOR,
				 "log entry");
	if (!st)
		st = vhdx_flush(img);
	if (st)
		return st;
	for (uint32_t k = 0; k < len; k++)
		set_bit(w->starts, (at + k) % w->sectors, k == 0);
	if (!w->pending)
		w->tail = at;
	w->pending++;
	w->pos = (at + len) % w->sectors;
	w->seq++;
	w->entries++;
	return VHDX_OK;
}

/* Writes `count` zero bytes at `off` from the (zeroed) entry buffer. */
static vhdx_status write_zeros(struct vhdx_log_writer *w, uint64_t off, uint64_t count)
{
	memset(w->buf, 0, w->buf_len);
	while (count) {
		size_t n = count < w->buf_len ? (size_t)count : w->buf_len;
		vhdx_status st = vhdx_pwrite(w->img, off, w->buf, n, "log apply");
		if (st)
			return st;
		off += n;
		count -= n;
	}
	return VHDX_OK;
}

vhdx_status vhdx_logw_apply(struct vhdx_log_writer *w, const struct vhdx_log_sector *d, uint32_t n)
{
	vhdx_status st = VHDX_OK;

	if (!w->buf)
		return vhdx_fail(w->img, VHDX_E_STATE, "log: the writer is not open");
	for (uint32_t i = 0; i < n && !st;) {
		uint32_t run = 1;
		if (d[i].zero_length) {
			st = write_zeros(w, d[i].offset, d[i].zero_length);
			i++;
			continue;
		}
		/* sectors that follow each other in the file and in memory go out as one write */
		while (i + run < n && !d[i + run].zero_length && d[i + run].offset == d[i].offset + (uint64_t)run * SECTOR &&
		       d[i + run].data == d[i].data + (size_t)run * SECTOR)
			run++;
		st = vhdx_pwrite(w->img, d[i].offset, d[i].data, (size_t)run * SECTOR, "log apply");
		i += run;
	}
	if (!st)
		st = vhdx_flush(w->img);
	if (st)
		return st;
	w->pending = 0;
	w->tail = w->pos;
	return VHDX_OK;
}

vhdx_status vhdx_logw_end(struct vhdx_log_writer *w)
{
	struct vhdx_image *img = w->img;
	struct vhdx_header h;
	vhdx_status st;

	if (!w->buf)
		return vhdx_fail(img, VHDX_E_STATE, "log: the writer is not open");
	if (w->pending)
		return vhdx_fail(img, VHDX_E_ARG, "log: %u entries are not applied yet; LogGuid stays set", w->pending);
	/* both copies, so that neither header names a log that is gone */
	h = img->header[img->current];
	memset(&h.log_guid, 0, sizeof(h.log_guid));
	st = headers_put(img, &h, 2);
	if (!st)
		img->log_pending = 0;
	vhdx_logw_release(w);
	return st;
}
