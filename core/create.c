/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * create.c - writes a new VHDX image, fixed or dynamic, through struct vhdx_io.
 *
 * Layout (offsets from the start of the file):
 *   0         file type identifier: "vhdxfile", creator "vhdxboot <version>" in UTF-16LE
 *   64 KiB    header 1 (sequence 0)
 *   128 KiB   header 2 (sequence 1: the current one; identical otherwise)
 *   192 KiB   region table 1 (BAT + metadata, both required)
 *   256 KiB   region table 2 (identical)
 *   1 MiB     log, log_size bytes of zeros (LogGuid is zero: nothing to replay)
 *   +log      metadata region, 1 MiB: the table, items from 64 KiB on
 *   +1 MiB    BAT region, the entry count rounded up to 1 MiB
 *   then      payload blocks in virtual order (fixed: all of them; dynamic: the non-zero ones); a differencing
 *             image has none, but a zeroed sector bitmap block (1 MiB) per chunk (see cr_bitmap)
 *
 * Order of writes: when the medium already holds data, its first MiB is wiped and flushed first; then the log,
 * the metadata, the payload and the BAT (streamed: one BAT chunk of 1 MiB and one payload piece of 1 MiB,
 * whatever the disk size); flush; the region tables and headers; flush; the file identifier last; flush.  A create that stops
 * half way therefore never leaves something that opens as a VHDX.
 *
 * Bytes the medium gained through io->resize are taken to read as zero (POSIX ftruncate guarantees it), so zero
 * data beyond the medium's size at the start is not written: a fresh fixed image stays sparse.  Bytes that were
 * there before (a block device, a file being overwritten) are always written.
 */
#include "internal.h"

#define CR_WORK VHDX_MiB                      /* scratch: BAT chunk, metadata, region tables, headers */
#define CR_BAT_CHUNK (CR_WORK / 8)            /* BAT entries per chunk write */
#define CR_META_ITEMS (64 * VHDX_KiB)         /* item data starts here within the metadata region */
#define CR_META_USED (CR_META_ITEMS + 4096)   /* table + items: the part of the metadata region written */
#define CR_GRAIN (64 * 1024)                  /* zero stretches of new payload this long are left as holes */
#define CR_PIECE VHDX_MiB                     /* payload is read and written this much at a time (cr_block) */

struct cr {
	struct vhdx_io *io;
	const struct vhdx_create_params *p;
	char *msg;
	size_t msglen;
	uint64_t initial_size; /* at or beyond this offset the medium reads zero once grown */
	uint8_t *work;
	uint8_t *block;     /* one piece of a payload block */
	uint32_t piece;     /* CR_PIECE, or the block size when smaller */

	uint32_t block_size, lss, pss, log_size;
	uint64_t vsize, payload_blocks, chunk_ratio, bat_entries;
	uint64_t log_off, meta_off, bat_off, bat_len, payload_off;
	uint64_t next_data; /* dynamic: where the next present block goes */
};

VHDX_PRINTF(3, 4) static vhdx_status cr_fail(struct cr *c, vhdx_status st, const char *fmt, ...)
{
	va_list ap;

	if (c->msg && c->msglen) {
		va_start(ap, fmt);
		vhdx_vfmt(c->msg, c->msglen, fmt, ap);
		va_end(ap);
	}
	return st;
}

static int all_zero(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && ((uintptr_t)(p + i) & 7))
		if (p[i++])
			return 0;
	for (; i + 32 <= n; i += 32) {
		const uint64_t *w = (const uint64_t *)(const void *)(p + i);
		if (w[0] | w[1] | w[2] | w[3])
			return 0;
	}
	for (; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static vhdx_status cr_write(struct cr *c, uint64_t off, const void *buf, size_t len, const char *what)
{
	uint64_t end;

	if (vhdx_add_overflow(off, len, &end) || end > c->io->size)
		return cr_fail(c, VHDX_E_ARG, "%s at offset %llu (%llu bytes) lies beyond the medium's %llu bytes", what,
			       (unsigned long long)off, (unsigned long long)len, (unsigned long long)c->io->size);
	if (c->io->write(c->io->ctx, off, buf, len))
		return cr_fail(c, VHDX_E_IO, "writing the %s at offset %llu (%llu bytes) failed", what,
			       (unsigned long long)off,
			       (unsigned long long)len);
	return VHDX_OK;
}

static vhdx_status cr_flush(struct cr *c)
{
	if (c->io->flush && c->io->flush(c->io->ctx))
		return cr_fail(c, VHDX_E_IO, "flushing the new image failed");
	return VHDX_OK;
}

/* Makes the medium at least `need` bytes long. */
static vhdx_status cr_grow(struct cr *c, uint64_t need)
{
	if (need <= c->io->size)
		return VHDX_OK;
	if (!c->io->resize)
		return cr_fail(c, VHDX_E_ARG, "the image needs %llu bytes but the medium holds only %llu",
			       (unsigned long long)need,
			       (unsigned long long)c->io->size);
	if (c->io->resize(c->io->ctx, need))
		return cr_fail(c, VHDX_E_IO, "growing the file to %llu bytes failed", (unsigned long long)need);
	c->io->size = need;
	return VHDX_OK;
}

/* Writes len bytes at off that must read as zero, skipping the part that already does.  Uses c->work. */
static vhdx_status cr_zero(struct cr *c, uint64_t off, uint64_t len, const char *what)
{
	vhdx_status st;

	if (off >= c->initial_size)
		return VHDX_OK;
	if (len > c->initial_size - off)
		len = c->initial_size - off;
	memset(c->work, 0, CR_WORK);
	while (len) {
		size_t n = len < CR_WORK ? (size_t)len : (size_t)CR_WORK;
		st = cr_write(c, off, c->work, n, what);
		if (st)
			return st;
		off += n;
		len -= n;
	}
	return VHDX_OK;
}

static int sector_ok(uint32_t s)
{
	return s == 512 || s == 4096;
}

static vhdx_status cr_check(struct cr *c)
{
	const struct vhdx_create_params *p = c->p;
	uint64_t bat_bytes;

	c->block_size = p->block_size ? p->block_size : (uint32_t)(32 * VHDX_MiB);
	c->lss = p->logical_sector_size ? p->logical_sector_size : 512;
	c->pss = p->physical_sector_size ? p->physical_sector_size : 4096;
	c->log_size = p->log_size ? p->log_size : (uint32_t)VHDX_MiB;
	c->vsize = p->virtual_size;

	if (!sector_ok(c->lss))
		return cr_fail(c, VHDX_E_ARG, "logical sector size %u: must be 512 or 4096", c->lss);
	if (!sector_ok(c->pss))
		return cr_fail(c, VHDX_E_ARG, "physical sector size %u: must be 512 or 4096", c->pss);
	if (c->block_size < VHDX_MIN_BLOCK || c->block_size > VHDX_MAX_BLOCK ||
	    (c->block_size & (c->block_size - 1)))
		return cr_fail(c, VHDX_E_ARG, "block size %u: must be a power of two from 1 MiB to 256 MiB",
			       c->block_size);
	if (c->log_size % VHDX_MiB)
		return cr_fail(c, VHDX_E_ARG, "log size %u: must be a multiple of 1 MiB", c->log_size);
	if (c->vsize == 0)
		return cr_fail(c, VHDX_E_ARG, "virtual size 0: must be at least one logical sector");
	if (c->vsize > VHDX_MAX_VIRTUAL_SIZE)
		return cr_fail(c, VHDX_E_ARG, "virtual size %llu: larger than 64 TiB", (unsigned long long)c->vsize);
	if (p->parent_locator && (p->fixed || p->source || p->parent_locator_len > VHDX_LOCATOR_BUILD_MAX ||
				  p->parent_locator_len < 20))
		return cr_fail(c, VHDX_E_ARG,
			       "differencing image: a Parent Locator of %u bytes (20 to %u) and neither fixed nor a source",
			       p->parent_locator_len, (unsigned)VHDX_LOCATOR_BUILD_MAX);
	if (c->vsize % c->lss)
		return cr_fail(c, VHDX_E_ARG, "virtual size %llu: not a multiple of the logical sector size %u",
			       (unsigned long long)c->vsize, c->lss);

	c->payload_blocks = (c->vsize + c->block_size - 1) / c->block_size;
	c->chunk_ratio = (VHDX_CHUNK_SECTORS * c->lss) / c->block_size;
	c->bat_entries = c->payload_blocks + (c->payload_blocks - 1) / c->chunk_ratio;
	if (p->parent_locator) /* a differencing disk has a bitmap entry after every chunk, the last one too */
		c->bat_entries = (c->payload_blocks + c->chunk_ratio - 1) / c->chunk_ratio * (c->chunk_ratio + 1);
	bat_bytes = c->bat_entries * 8;
	c->bat_len = (bat_bytes + VHDX_MiB - 1) / VHDX_MiB * VHDX_MiB;

	c->log_off = VHDX_HEADER_AREA;
	c->meta_off = c->log_off + c->log_size;
	c->bat_off = c->meta_off + VHDX_MiB;
	c->payload_off = c->bat_off + c->bat_len;
	c->next_data = c->payload_off;
	return VHDX_OK;
}

static void put_meta_entry(uint8_t *e, const struct vhdx_guid *g, uint32_t off, uint32_t len, uint32_t flags)
{
	vhdx_guid_store(e, g);
	vhdx_put32(e + VHDX_METAE_OFFSET, off);
	vhdx_put32(e + VHDX_METAE_LENGTH, len);
	vhdx_put32(e + VHDX_METAE_FLAGS, flags);
}

/* The first CR_META_USED bytes of the metadata region; the rest is zero. */
static vhdx_status cr_metadata(struct cr *c)
{
	static const struct vhdx_guid fp = VHDX_GUID_FILE_PARAMS, vds = VHDX_GUID_VDISK_SIZE,
				      p83 = VHDX_GUID_PAGE83, lss = VHDX_GUID_LOGICAL_SECTOR,
				      pss = VHDX_GUID_PHYSICAL_SECTOR;
	const uint32_t req = VHDX_META_IS_REQUIRED, vreq = VHDX_META_IS_REQUIRED | VHDX_META_IS_VDISK;
	const uint32_t base = (uint32_t)CR_META_ITEMS;
	uint8_t *t = c->work, *items = c->work + CR_META_ITEMS;
	struct vhdx_guid disk_id;
	vhdx_status st;

	/* a differencing image's locator follows the fixed items, from their 4 KiB on */
	const uint32_t loc_len = c->p->parent_locator ? c->p->parent_locator_len : 0;
	const uint32_t used = (uint32_t)CR_META_USED + (loc_len + 4095) / 4096 * 4096;

	st = cr_zero(c, c->meta_off + used, VHDX_MiB - used, "metadata region");
	if (st)
		return st;

	memset(t, 0, used);
	vhdx_put64(t, VHDX_META_SIGNATURE);
	vhdx_put16(t + VHDX_META_COUNT, loc_len ? 6 : 5);
	if (loc_len) {
		static const struct vhdx_guid loc = VHDX_GUID_PARENT_LOCATOR;
		put_meta_entry(t + VHDX_META_ENTRIES + 5 * VHDX_META_ENTRY_SIZE, &loc, (uint32_t)CR_META_USED, loc_len,
			       req);
		memcpy(t + CR_META_USED, c->p->parent_locator, loc_len);
	}
	put_meta_entry(t + VHDX_META_ENTRIES + 0 * VHDX_META_ENTRY_SIZE, &fp, base + 0, 8, req);
	put_meta_entry(t + VHDX_META_ENTRIES + 1 * VHDX_META_ENTRY_SIZE, &vds, base + 8, 8, vreq);
	put_meta_entry(t + VHDX_META_ENTRIES + 2 * VHDX_META_ENTRY_SIZE, &p83, base + 16, 16, vreq);
	put_meta_entry(t + VHDX_META_ENTRIES + 3 * VHDX_META_ENTRY_SIZE, &lss, base + 32, 4, vreq);
	put_meta_entry(t + VHDX_META_ENTRIES + 4 * VHDX_META_ENTRY_SIZE, &pss, base + 36, 4, vreq);

	vhdx_put32(items + 0, c->block_size);
	vhdx_put32(items + 4, (c->p->fixed ? VHDX_FP_LEAVE_ALLOCATED : 0) | (loc_len ? VHDX_FP_HAS_PARENT : 0));
	vhdx_put64(items + 8, c->vsize);
	vhdx_guid_from_random(&disk_id, c->p->random + 32);
	vhdx_guid_store(items + 16, &disk_id);
	vhdx_put32(items + 32, c->lss);
	vhdx_put32(items + 36, c->pss);

	return cr_write(c, c->meta_off, t, used, "metadata table");
}

/* Writes buf at off (where the file reads zero) skipping the CR_GRAIN-sized pieces that are all zero. */
static vhdx_status cr_write_sparse(struct cr *c, uint64_t off, const uint8_t *buf, size_t len)
{
	size_t i = 0, run = 0, k;
	vhdx_status st;

	while (i < len) {
		k = len - i < CR_GRAIN ? len - i : CR_GRAIN;
		if (all_zero(buf + i, k)) {
			if (i > run && (st = cr_write(c, off + run, buf + run, i - run, "payload block")))
				return st;
			run = i + k;
		}
		i += k;
	}
	return i > run ? cr_write(c, off + run, buf + run, i - run, "payload block") : VHDX_OK;
}

/*
 * One piece of a payload block at file offset q, its bytes in c->block unless zero.  Non-zero bytes are written
 * (their zero stretches left as holes where the file reads zero); a zero piece is written only where the medium
 * held bytes before.
 */
static vhdx_status cr_piece(struct cr *c, uint64_t q, size_t n, int zero)
{
	if (!zero)
		return q >= c->initial_size ? cr_write_sparse(c, q, c->block, n) : cr_write(c, q, c->block, n, "payload block");
	if (q >= c->initial_size)
		return VHDX_OK;
	if (n > c->initial_size - q)
		n = (size_t)(c->initial_size - q);
	memset(c->block, 0, n);
	return cr_write(c, q, c->block, n, "payload block");
}

/*
 * One payload block, read from the source and written a piece (CR_PIECE) at a time, so that each piece is still
 * in the CPU's cache when it is written (a whole 32 MiB block read before its write went through memory twice).
 * A dynamic image places the block at c->next_data, and allocates it there at its first non-zero piece: the
 * zero pieces before it need no write (the grown file reads zero), or were written there as zeros over what the
 * medium held (free space until the block is allocated: the next block or the final truncation reuses it).  A
 * block that stays all zero is not allocated.  *entry gets its BAT entry.
 */
static vhdx_status cr_block(struct cr *c, uint64_t b, uint64_t *entry)
{
	const struct vhdx_create_params *p = c->p;
	uint64_t voff = b * c->block_size, left = c->vsize - voff, off, k;
	uint64_t n = left < c->block_size ? left : c->block_size; /* bytes of the block inside the virtual disk */
	int placed = p->fixed;
	vhdx_status st;

	*entry = VHDX_BAT_NOT_PRESENT;
	off = p->fixed ? c->payload_off + voff : c->next_data;
	for (k = 0; k < c->block_size; k += c->piece) {
		size_t len = (size_t)(k >= n ? 0 : n - k < c->piece ? n - k : c->piece);
		int zero = 1;

		if (p->source && len) {
			int r = p->source(p->source_ctx, voff + k, c->block, len);
			if (r != 0 && r != VHDX_SOURCE_ZEROS)
				return cr_fail(c, VHDX_E_IO, "reading the source at offset %llu (%llu bytes) failed",
					       (unsigned long long)(voff + k), (unsigned long long)len);
			zero = r == VHDX_SOURCE_ZEROS || all_zero(c->block, len);
		}
		if (!zero && !placed) {
			c->next_data += c->block_size;
			st = cr_grow(c, c->next_data);
			if (st)
				return st;
			placed = 1;
		}
		if (!zero && len < c->piece) /* the virtual disk ends inside this piece: the rest of the block is zeros */
			memset(c->block + len, 0, c->piece - len);
		st = cr_piece(c, off + k, c->piece, zero);
		if (st)
			return st;
	}
	if (placed)
		*entry = off | VHDX_BAT_FULLY_PRESENT;
	return VHDX_OK;
}

/*
 * A differencing image gets a zeroed sector bitmap block for every chunk (SB_BLOCK_PRESENT, every bit clear: each
 * sector reads from the parent), although MS-VHDX lets a writer leave it NOT_PRESENT until the chunk is first
 * written.  Why: libvhdi (vhdimount, vhdiinfo) takes a NOT_PRESENT sector bitmap entry's offset, 0, as the bitmap's
 * place in the file and reads the file identifier's bytes as bits, so sectors of such a chunk read as zeros instead
 * of the parent's data.  The cost is 1 MiB per chunk (2^23 sectors: 4 GiB of virtual disk with 512-byte sectors,
 * 32 GiB with 4096-byte sectors), about 0.025% or 0.003% of the virtual size.  The block lies beyond the file's
 * end at creation, so the file grows and reads zero there; an overwritten medium gets the zeros written.
 */
static vhdx_status cr_bitmap(struct cr *c, uint64_t *entry)
{
	uint64_t off = c->next_data;
	vhdx_status st;

	c->next_data += VHDX_MiB;
	st = cr_grow(c, c->next_data);
	/* c->block is all zero (a differencing image has no source) and at least 1 MiB; c->work holds the BAT */
	if (!st && off < c->initial_size)
		st = cr_write(c, off, c->block, (size_t)(c->initial_size - off < VHDX_MiB ? c->initial_size - off : VHDX_MiB),
			      "sector bitmap block");
	*entry = off | VHDX_SB_PRESENT;
	return st;
}

/* Writes the BAT chunk in c->work whose first entry is `first`, unless it is all zero where the file reads zero. */
static vhdx_status cr_bat_chunk(struct cr *c, uint64_t first)
{
	uint64_t off = c->bat_off + first * 8;

	if (off >= c->initial_size && all_zero(c->work, CR_WORK))
		return VHDX_OK;
	return cr_write(c, off, c->work, CR_WORK, "BAT");
}

/* Streams the payload blocks in order, writing the BAT one chunk at a time as its entries become known. */
static vhdx_status cr_payload(struct cr *c)
{
	uint64_t i, b = 0, first = 0, entry;
	size_t fill = 0;
	vhdx_status st = VHDX_OK;

	if (!c->p->source)
		memset(c->block, 0, c->piece);
	for (i = 0; i < c->bat_entries; i++) {
		entry = 0; /* sector bitmap entries of a non-differencing image stay NOT_PRESENT */
		if (i % (c->chunk_ratio + 1) != c->chunk_ratio)
			st = cr_block(c, b++, &entry);
		else if (c->p->parent_locator)
			st = cr_bitmap(c, &entry);
		if (st)
			return st;
		vhdx_put64(c->work + fill * 8, entry);
		if (++fill == CR_BAT_CHUNK) {
			st = cr_bat_chunk(c, first);
			if (st)
				return st;
			first += fill;
			fill = 0;
		}
	}
	if (fill) { /* the region is a whole number of chunks: pad the last one with zeros */
		memset(c->work + fill * 8, 0, CR_WORK - fill * 8);
		st = cr_bat_chunk(c, first);
	}
	return st;
}

static vhdx_status cr_region_tables(struct cr *c)
{
	static const struct vhdx_guid bat = VHDX_GUID_BAT, meta = VHDX_GUID_METADATA;
	uint8_t *t = c->work, *e = c->work + VHDX_RGN_ENTRIES;
	vhdx_status st;

	memset(t, 0, VHDX_REGION_SIZE);
	vhdx_put32(t, VHDX_RGN_SIGNATURE);
	vhdx_put32(t + VHDX_RGN_COUNT, 2);
	vhdx_guid_store(e, &bat);
	vhdx_put64(e + VHDX_RGNE_FILE_OFFSET, c->bat_off);
	vhdx_put32(e + VHDX_RGNE_LENGTH, (uint32_t)c->bat_len);
	vhdx_put32(e + VHDX_RGNE_FLAGS, VHDX_RGN_REQUIRED);
	e += VHDX_RGN_ENTRY_SIZE;
	vhdx_guid_store(e, &meta);
	vhdx_put64(e + VHDX_RGNE_FILE_OFFSET, c->meta_off);
	vhdx_put32(e + VHDX_RGNE_LENGTH, (uint32_t)VHDX_MiB);
	vhdx_put32(e + VHDX_RGNE_FLAGS, VHDX_RGN_REQUIRED);
	vhdx_put32(t + VHDX_RGN_CHECKSUM, vhdx_crc32c(0, t, VHDX_REGION_SIZE));

	st = cr_write(c, VHDX_REGION1_OFFSET, t, VHDX_REGION_SIZE, "region table 1");
	if (!st)
		st = cr_write(c, VHDX_REGION2_OFFSET, t, VHDX_REGION_SIZE, "region table 2");
	return st;
}

static vhdx_status cr_headers(struct cr *c)
{
	struct vhdx_guid fw, dw;
	uint8_t *h = c->work;
	vhdx_status st;
	int i;

	vhdx_guid_from_random(&fw, c->p->random);
	vhdx_guid_from_random(&dw, c->p->random + 16);
	for (i = 0; i < 2; i++) {
		memset(h, 0, VHDX_HEADER_SIZE);
		vhdx_put32(h + VHDX_HDR_SIG, VHDX_HDR_SIGNATURE);
		vhdx_put64(h + VHDX_HDR_SEQUENCE, (uint64_t)i);
		vhdx_guid_store(h + VHDX_HDR_FILE_WRITE, &fw);
		vhdx_guid_store(h + VHDX_HDR_DATA_WRITE, &dw);
		/* LogGuid stays zero */
		vhdx_put16(h + VHDX_HDR_LOG_VERSION, 0);
		vhdx_put16(h + VHDX_HDR_VERSION, 1);
		vhdx_put32(h + VHDX_HDR_LOG_LENGTH, c->log_size);
		vhdx_put64(h + VHDX_HDR_LOG_OFFSET, c->log_off);
		vhdx_put32(h + VHDX_HDR_CHECKSUM, vhdx_crc32c(0, h, VHDX_HEADER_SIZE));
		st = cr_write(c, i ? VHDX_HEADER2_OFFSET : VHDX_HEADER1_OFFSET, h, VHDX_HEADER_SIZE,
			      i ? "header 2" : "header 1");
		if (st)
			return st;
	}
	return VHDX_OK;
}

static vhdx_status cr_identifier(struct cr *c)
{
	static const char creator[] = "vhdxboot " VHDX_VERSION_STRING;
	uint8_t *f = c->work;
	size_t i;

	memset(f, 0, 4096);
	vhdx_put64(f, VHDX_IDENT_SIGNATURE);
	for (i = 0; creator[i] && i < VHDX_IDENT_CREATOR_LEN / 2; i++)
		vhdx_put16(f + VHDX_IDENT_CREATOR + 2 * i, (uint16_t)(uint8_t)creator[i]);
	return cr_write(c, VHDX_IDENT_OFFSET, f, 4096, "file identifier");
}

static vhdx_status cr_run(struct cr *c)
{
	vhdx_status st;
	uint64_t end;

	end = c->p->fixed ? c->payload_off + c->payload_blocks * c->block_size : c->payload_off;
	if (end > c->io->size && !c->io->resize) /* refuse before the old contents are touched */
		return cr_grow(c, end);

	/* an old image on the medium stops being one before anything else is written */
	if (c->initial_size) {
		st = cr_zero(c, 0, VHDX_HEADER_AREA, "header area");
		if (!st)
			st = cr_flush(c);
		if (st)
			return st;
	}
	st = cr_grow(c, end);
	if (!st)
		st = cr_zero(c, c->log_off, c->log_size, "log");
	if (!st)
		st = cr_metadata(c);
	if (!st)
		st = cr_payload(c);
	if (st)
		return st;

	/* dynamic: the file ends with the last present block (or the BAT); drop anything an old file had beyond */
	end = c->p->fixed ? end : c->next_data;
	if (c->io->size > end && c->io->resize) {
		if (c->io->resize(c->io->ctx, end))
			return cr_fail(c, VHDX_E_IO, "truncating the file to %llu bytes failed",
				       (unsigned long long)end);
		c->io->size = end;
	}

	st = cr_flush(c);
	if (!st)
		st = cr_region_tables(c);
	if (!st)
		st = cr_headers(c);
	if (!st)
		st = cr_flush(c);
	if (!st)
		st = cr_identifier(c);
	if (!st)
		st = cr_flush(c);
	return st;
}

vhdx_status vhdx_create(struct vhdx_io *io, const struct vhdx_create_params *p, char *msg, size_t msglen)
{
	struct cr c;
	vhdx_status st;

	memset(&c, 0, sizeof(c));
	c.io = io;
	c.p = p;
	c.msg = msg;
	c.msglen = msglen;
	if (msg && msglen)
		msg[0] = 0;
	if (!io || !p || !io->write || !io->alloc || !io->free)
		return cr_fail(&c, VHDX_E_ARG, "create: no parameters or an incomplete I/O backend");
	if (io->read_only)
		return cr_fail(&c, VHDX_E_READONLY, "the medium is read-only");
	st = cr_check(&c);
	if (st)
		return st;
	c.initial_size = io->size;

	c.work = io->alloc(io->ctx, CR_WORK);
	if (!c.work)
		return cr_fail(&c, VHDX_E_NOMEM, "cannot allocate %llu bytes of scratch memory",
			       (unsigned long long)CR_WORK);
	c.piece = c.block_size < CR_PIECE ? c.block_size : CR_PIECE;
	c.block = io->alloc(io->ctx, c.piece);
	if (!c.block) {
		io->free(io->ctx, c.work, CR_WORK);
		return cr_fail(&c, VHDX_E_NOMEM, "cannot allocate a payload buffer of %u bytes", c.piece);
	}
	st = cr_run(&c);
	io->free(io->ctx, c.block, c.piece);
	io->free(io->ctx, c.work, CR_WORK);
	return st;
}
