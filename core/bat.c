/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bat.c - BAT geometry, the one streaming pass that checks every entry, and entry lookups for reads.
 * Memory stays flat whatever the BAT size: one read window plus one bit per MiB of file for the overlap check.
 */
#include "internal.h"

#define SCAN_BYTES (1024 * 1024)

vhdx_status vhdx_bat_geometry(struct vhdx_image *img)
{
	uint64_t bs = img->block_size, pb, cr, need;

	cr = (VHDX_CHUNK_SECTORS * img->logical_sector_size) / bs;
	pb = img->virtual_size / bs + (img->virtual_size % bs != 0);
	if (img->has_parent)
		need = (pb / cr + (pb % cr != 0)) * (cr + 1);
	else
		need = pb + (pb - 1) / cr;
	img->chunk_ratio = cr;
	img->payload_blocks = pb;
	img->bat_entries = need;
	if (need > img->bat_length / VHDX_BAT_ENTRY_SIZE)
		return vhdx_fail(img, VHDX_E_CORRUPT, "BAT region: length %u holds %u entries but the disk needs %llu",
				 img->bat_length, img->bat_length / VHDX_BAT_ENTRY_SIZE, (unsigned long long)need);
	return VHDX_OK;
}

struct scan {
	uint8_t *used;     /* one bit per MiB of file: taken by a block */
	uint64_t used_mib; /* bits in `used` */
	uint64_t reserved_bits;
	uint64_t first_reserved;
	int chunk_partial;      /* a PARTIALLY_PRESENT block in this chunk: its sector bitmap must be present */
	uint64_t partial_block; /* the first such block, for the message */
};

static int inside(uint64_t off, uint64_t len, uint64_t start, uint64_t slen)
{
	return off < start + slen && start < off + len;
}

/* Checks where a present block lies; `what` names the entry ("BAT entry 7 (payload block 7)"). */
static vhdx_status check_place(struct vhdx_image *img, struct scan *s, uint64_t idx, const char *kind, uint64_t num,
			       uint64_t off, uint64_t len)
{
	const struct vhdx_header *h = &img->header[img->current];
	uint64_t end;

	if (off < VHDX_HEADER_AREA)
		return vhdx_fail(img, VHDX_E_CORRUPT, "BAT entry %llu (%s %llu): file offset %llu lies in the header area",
				 (unsigned long long)idx, kind, (unsigned long long)num, (unsigned long long)off);
	if (vhdx_add_overflow(off, len, &end) || end > img->file_size)
		return vhdx_fail(img, VHDX_E_CORRUPT,
				 "BAT entry %llu (%s %llu): block at %llu, %llu bytes, runs beyond the end of the file (%llu bytes)",
				 (unsigned long long)idx, kind, (unsigned long long)num, (unsigned long long)off,
				 (unsigned long long)len, (unsigned long long)img->file_size);
	if (h->log_length && inside(off, len, h->log_offset, h->log_length))
		return vhdx_fail(img, VHDX_E_CORRUPT, "BAT entry %llu (%s %llu): block at %llu overlaps the log",
				 (unsigned long long)idx, kind,
				 (unsigned long long)num, (unsigned long long)off);
	if (inside(off, len, img->meta_offset, img->meta_length))
		return vhdx_fail(img, VHDX_E_CORRUPT, "BAT entry %llu (%s %llu): block at %llu overlaps the metadata region",
				 (unsigned long long)idx, kind, (unsigned long long)num, (unsigned long long)off);
	if (inside(off, len, img->bat_offset, img->bat_length))
		return vhdx_fail(img, VHDX_E_CORRUPT, "BAT entry %llu (%s %llu): block at %llu overlaps the BAT region",
				 (unsigned long long)idx,
				 kind, (unsigned long long)num, (unsigned long long)off);
	for (uint64_t m = off / VHDX_MiB; m < (end + VHDX_MiB - 1) / VHDX_MiB && m < s->used_mib; m++) {
		if (s->used[m / 8] & (1u << (m % 8)))
			return vhdx_fail(img, VHDX_E_CORRUPT,
					 "BAT entry %llu (%s %llu): block at %llu overlaps another block at MiB %llu",
					 (unsigned long long)idx,
					 kind, (unsigned long long)num, (unsigned long long)off, (unsigned long long)m);
		s->used[m / 8] |= (uint8_t)(1u << (m % 8));
	}
	if (end > img->data_end)
		img->data_end = end;
	return VHDX_OK;
}

static vhdx_status check_payload(struct vhdx_image *img, struct scan *s, uint64_t idx, uint64_t b, uint64_t e)
{
	unsigned state = (unsigned)(e & VHDX_BAT_STATE_MASK);
	uint64_t len, left;

	if (b >= img->payload_blocks) {
		/* padding of a differencing disk's last chunk: nothing may live there */
		if (state != VHDX_BAT_NOT_PRESENT)
			return vhdx_fail(img, VHDX_E_CORRUPT,
					 "BAT entry %llu: state %u beyond the last payload block %llu",
					 (unsigned long long)idx, state,
					 (unsigned long long)(img->payload_blocks - 1));
		return VHDX_OK;
	}
	switch (state) {
	case VHDX_BAT_NOT_PRESENT:
	case VHDX_BAT_UNDEFINED:
	case VHDX_BAT_ZERO:
	case VHDX_BAT_UNMAPPED:
		img->state_count[state]++;
		return VHDX_OK;
	case VHDX_BAT_PARTIALLY_PRESENT:
		if (!img->has_parent)
			return vhdx_fail(img, VHDX_E_CORRUPT,
					 "BAT entry %llu (payload block %llu): state 7 (partially present) on a disk without a parent",
					 (unsigned long long)idx, (unsigned long long)b);
		if (!s->chunk_partial++)
			s->partial_block = b;
		/* fall through */
	case VHDX_BAT_FULLY_PRESENT:
		break;
	default:
		return vhdx_fail(img, VHDX_E_CORRUPT, "BAT entry %llu (payload block %llu): state %u is not a payload state",
				 (unsigned long long)idx, (unsigned long long)b, state);
	}
	img->state_count[state]++;
	/*
	 * The last block of a disk whose size is not a block multiple need only hold the data it covers: QEMU ends a
	 * fully allocated fixed image right after the virtual disk's last byte.
	 */
	left = img->virtual_size - b * img->block_size;
	len = left < img->block_size ? left : img->block_size;
	return check_place(img, s, idx, "payload block", b, e & VHDX_BAT_OFFSET_MASK, len);
}

static vhdx_status check_bitmap(struct vhdx_image *img, struct scan *s, uint64_t idx, uint64_t c, uint64_t e)
{
	unsigned state = (unsigned)(e & VHDX_BAT_STATE_MASK);

	if (state == VHDX_BAT_NOT_PRESENT)
		return VHDX_OK;
	if (state != VHDX_SB_PRESENT)
		return vhdx_fail(img, VHDX_E_CORRUPT, "BAT entry %llu (sector bitmap %llu): state %u is not 0 or 6",
				 (unsigned long long)idx, (unsigned long long)c,
				 state);
	img->bitmaps_present++;
	return check_place(img, s, idx, "sector bitmap", c, e & VHDX_BAT_OFFSET_MASK, VHDX_MiB);
}

vhdx_status vhdx_bat_scan(struct vhdx_image *img)
{
	struct vhdx_io *io = img->io;
	struct scan s = { 0, 0, 0, 0, 0, 0 };
	size_t used_bytes;
	uint8_t *buf;
	uint64_t idx = 0, b = 0, c = 0, pos = 0; /* pos: place inside a chunk of chunk_ratio + 1 entries */
	vhdx_status st = VHDX_OK;

	s.used_mib = img->file_size / VHDX_MiB + (img->file_size % VHDX_MiB != 0);
	if ((s.used_mib + 7) / 8 > (uint64_t)SIZE_MAX - 1)
		return vhdx_fail(img, VHDX_E_NOMEM, "BAT: a file of %llu bytes needs an overlap map larger than memory",
				 (unsigned long long)img->file_size);
	used_bytes = (size_t)((s.used_mib + 7) / 8);
	s.used = io->alloc(io->ctx, used_bytes ? used_bytes : 1);
	buf = io->alloc(io->ctx, SCAN_BYTES);
	if (!s.used || !buf) {
		st = vhdx_fail(img, VHDX_E_NOMEM, "BAT: no memory for the scan (%llu bytes)",
			       ((unsigned long long)used_bytes + SCAN_BYTES));
		goto out;
	}
	memset(s.used, 0, used_bytes ? used_bytes : 1);

	while (idx < img->bat_entries && !st) {
		uint64_t n = img->bat_entries - idx;
		if (n > SCAN_BYTES / VHDX_BAT_ENTRY_SIZE)
			n = SCAN_BYTES / VHDX_BAT_ENTRY_SIZE;
		st = vhdx_pread(img, img->bat_offset + idx * VHDX_BAT_ENTRY_SIZE, buf, (size_t)(n * VHDX_BAT_ENTRY_SIZE), "BAT");
		for (uint64_t k = 0; k < n && !st; k++, idx++) {
			uint64_t e = vhdx_le64(buf + k * VHDX_BAT_ENTRY_SIZE);
			if (e & VHDX_BAT_RESERVED_MASK) {
				if (!s.reserved_bits++)
					s.first_reserved = idx;
			}
			if (pos == img->chunk_ratio) {
				if (s.chunk_partial && (e & VHDX_BAT_STATE_MASK) != VHDX_SB_PRESENT)
					st = vhdx_fail(img, VHDX_E_CORRUPT,
						       "BAT entry %llu (sector bitmap %llu): state %u, but payload block %llu is partially present",
						       (unsigned long long)idx, (unsigned long long)c,
						       (unsigned)(e & VHDX_BAT_STATE_MASK),
						       (unsigned long long)s.partial_block);
				else if (e)
					st = check_bitmap(img, &s, idx, c, e);
				s.chunk_partial = 0;
				c++;
				pos = 0;
			} else {
				if (e)
					st = check_payload(img, &s, idx, b, e);
				else if (b < img->payload_blocks)
					img->state_count[VHDX_BAT_NOT_PRESENT]++;
				b++;
				pos++;
			}
		}
	}
	if (!st && s.reserved_bits)
		vhdx_warn(img, "BAT: %llu entries have reserved bits set (first: entry %llu)",
			  (unsigned long long)s.reserved_bits,
			  (unsigned long long)s.first_reserved);
out:
	if (buf)
		io->free(io->ctx, buf, SCAN_BYTES);
	if (s.used)
		io->free(io->ctx, s.used, used_bytes ? used_bytes : 1);
	return st;
}

vhdx_status vhdx_bat_entry(struct vhdx_image *img, uint64_t index, uint64_t *entry)
{
	if (index >= img->bat_entries)
		return vhdx_fail(img, VHDX_E_ARG, "BAT: entry %llu is beyond the %llu entries",
				 (unsigned long long)index, (unsigned long long)img->bat_entries);
	if (index < img->batwin_first || index >= img->batwin_first + img->batwin_count) {
		uint64_t first = index - index % VHDX_BAT_WINDOW, n = img->bat_entries - first;
		vhdx_status st;
		if (n > img->batwin_cap)
			n = img->batwin_cap;
		img->batwin_count = 0;
		st = vhdx_pread(img, img->bat_offset + first * VHDX_BAT_ENTRY_SIZE, img->batwin, (size_t)(n * VHDX_BAT_ENTRY_SIZE), "BAT");
		if (st)
			return st;
		for (uint64_t k = 0; k < n; k++) /* keep entries in host order once */
			img->batwin[k] = vhdx_le64(&img->batwin[k]);
		img->batwin_first = first;
		img->batwin_count = (uint32_t)n;
	}
	*entry = img->batwin[index - img->batwin_first];
	return VHDX_OK;
}

/* The file offset of chunk c's sector bitmap block (the reads and extents of a differencing image); open checked
 * that a chunk with partial blocks has one. */
vhdx_status vhdx_bitmap_block(struct vhdx_image *img, uint64_t c, uint64_t *off)
{
	/* e starts at 0: gcc -m32 -O3 cannot see that vhdx_bat_entry sets it whenever it returns VHDX_OK */
	uint64_t idx = c * (img->chunk_ratio + 1) + img->chunk_ratio, e = 0;
	vhdx_status st = vhdx_bat_entry(img, idx, &e);

	if (st)
		return st;
	if ((e & VHDX_BAT_STATE_MASK) != VHDX_SB_PRESENT)
		return vhdx_fail(img, VHDX_E_CORRUPT, "BAT entry %llu (sector bitmap %llu): state %u is not present",
				 (unsigned long long)idx, (unsigned long long)c,
				 (unsigned)(e & VHDX_BAT_STATE_MASK));
	*off = e & VHDX_BAT_OFFSET_MASK;
	return VHDX_OK;
}
