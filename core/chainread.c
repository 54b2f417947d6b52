/*
 * chainread.c - virtual reads of a differencing image: its own blocks, and its parent's where it holds nothing.
 *
 * NOT_PRESENT blocks come from the parent whole; PARTIALLY_PRESENT blocks sector by sector through the chunk's
 * sector bitmap (bit set: this file, clear: the parent).  Runs of sectors with the same bit become one read, so
 * a block written in a few places costs a few reads, not one per sector.  A chain recurses once per level, and
 * vhdx_attach_parent bounds the levels.
 */
#include "internal.h"

#define BITMAP_WINDOW 512 /* bytes of sector bitmap looked at per step: 4096 sectors */

/* The parent's bytes, or a refusal naming what was wanted from it. */
static vhdx_status from_parent(struct vhdx_image *img, uint64_t b, uint64_t off, uint8_t *out, size_t n)
{
	vhdx_status st;

	if (!img->parent)
		return vhdx_fail(img, VHDX_E_UNSUPPORTED,
				 "read: payload block %llu comes from the parent disk (parent_linkage %G), which is not attached",
				 b, &img->locator->linkage);
	st = vhdx_read(img->parent, off, out, n);
	if (st)
		return vhdx_fail(img, st, "parent %G: %s", &img->parent->header[img->parent->current].data_write_guid,
				 img->parent->msg);
	return VHDX_OK;
}

/* The file offset of chunk c's sector bitmap block; open checked that a chunk with partial blocks has one. */
static vhdx_status bitmap_offset(struct vhdx_image *img, uint64_t c, uint64_t *off)
{
	uint64_t idx = c * (img->chunk_ratio + 1) + img->chunk_ratio, e;
	vhdx_status st = vhdx_bat_entry(img, idx, &e);

	if (st)
		return st;
	if ((e & VHDX_BAT_STATE_MASK) != VHDX_SB_PRESENT)
		return vhdx_fail(img, VHDX_E_CORRUPT, "BAT entry %llu (sector bitmap %llu): state %u is not present", idx, c,
				 (unsigned)(e & VHDX_BAT_STATE_MASK));
	*off = e & VHDX_BAT_OFFSET_MASK;
	return VHDX_OK;
}

static int bit(const uint8_t *bits, uint64_t i)
{
	return (bits[i / 8] >> (i % 8)) & 1;
}

/* [off, off + n) inside PARTIALLY_PRESENT block b stored at file_off. */
static vhdx_status read_partial(struct vhdx_image *img, uint64_t b, uint64_t file_off, uint64_t off, uint8_t *out,
				size_t n)
{
	uint64_t ss = img->logical_sector_size, end = off + n, bm_off = 0;
	uint64_t chunk_first = (b / img->chunk_ratio) * VHDX_CHUNK_BYTES; /* first sector of the chunk */
	uint8_t bits[BITMAP_WINDOW];
	vhdx_status st = bitmap_offset(img, b / img->chunk_ratio, &bm_off);

	while (!st && off < end) {
		/* the bitmap bytes for the sectors from off's sector on, at most one window */
		uint64_t s0 = off / ss, s1 = (end + ss - 1) / ss, first_byte = (s0 - chunk_first) / 8;
		uint64_t last_byte = (s1 - 1 - chunk_first) / 8, nbytes = last_byte - first_byte + 1;
		if (nbytes > BITMAP_WINDOW) {
			nbytes = BITMAP_WINDOW;
			s1 = chunk_first + (first_byte + nbytes) * 8;
		}
		st = vhdx_pread(img, bm_off + first_byte, bits, (size_t)nbytes, "sector bitmap");
		while (!st && s0 < s1) {
			uint64_t rel = s0 - chunk_first - first_byte * 8, s = s0 + 1, from, to;
			int here = bit(bits, rel);
			/* the run of sectors with the same bit; always at least one, so every step moves on */
			for (rel++; s < s1 && bit(bits, rel) == here; s++, rel++)
				;
			from = off;
			to = s * ss < end ? s * ss : end;
			if (here)
				st = vhdx_pread(img, file_off + (from - b * img->block_size), out, (size_t)(to - from),
						"payload block");
			else
				st = from_parent(img, b, from, out, (size_t)(to - from));
			out += to - from;
			off = to;
			s0 = s;
		}
	}
	return st;
}

vhdx_status vhdx_diff_read(struct vhdx_image *img, uint64_t off, uint8_t *out, size_t len)
{
	while (len) {
		uint64_t b = off / img->block_size, in = off % img->block_size, file_off;
		uint64_t n = img->block_size - in;
		unsigned state;
		vhdx_status st = vhdx_block_lookup(img, b, &state, &file_off);

		if (st)
			return st;
		if (n > len)
			n = len;
		switch (state) {
		case VHDX_BAT_FULLY_PRESENT:
			st = vhdx_pread(img, file_off + in, out, (size_t)n, "payload block");
			break;
		case VHDX_BAT_PARTIALLY_PRESENT:
			st = read_partial(img, b, file_off, off, out, (size_t)n);
			break;
		case VHDX_BAT_NOT_PRESENT:
			st = from_parent(img, b, off, out, (size_t)n);
			break;
		default: /* ZERO, UNMAPPED, UNDEFINED: nothing to inherit */
			memset(out, 0, (size_t)n);
		}
		if (st)
			return st;
		out += n;
		off += n;
		len -= (size_t)n;
	}
	return VHDX_OK;
}
