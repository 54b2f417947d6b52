/* SPDX-License-Identifier: BSD-2-Clause */
/* read.c - virtual-disk reads through the BAT. */
#include "internal.h"

vhdx_status vhdx_block_lookup(struct vhdx_image *img, uint64_t block, unsigned *state, uint64_t *file_off)
{
	uint64_t e;
	vhdx_status st;

	if (!img->validated)
		return vhdx_fail(img, VHDX_E_STATE, "lookup: the image was not opened and validated");
	if (block >= img->payload_blocks)
		return vhdx_fail(img, VHDX_E_RANGE, "lookup: block %llu is beyond the last block %llu",
				 (unsigned long long)block,
				 (unsigned long long)(img->payload_blocks - 1));
	st = vhdx_bat_entry(img, vhdx_bat_index(img, block), &e);
	if (st)
		return st;
	*state = (unsigned)(e & VHDX_BAT_STATE_MASK);
	*file_off = (*state == VHDX_BAT_FULLY_PRESENT || *state == VHDX_BAT_PARTIALLY_PRESENT) ?
			    e & VHDX_BAT_OFFSET_MASK :
			    0;
	return VHDX_OK;
}

vhdx_status vhdx_read(struct vhdx_image *img, uint64_t off, void *buf, size_t len)
{
	uint8_t *out = buf;
	uint64_t end;
	vhdx_status st;

	if (!img->validated)
		return vhdx_fail(img, VHDX_E_STATE, "read: the image was not opened and validated");
	if (vhdx_add_overflow(off, len, &end) || end > img->virtual_size)
		return vhdx_fail(img, VHDX_E_RANGE, "read: bytes %llu..%llu lie beyond the virtual disk (%llu bytes)",
				 (unsigned long long)off, (unsigned long long)(off + (uint64_t)len),
				 (unsigned long long)img->virtual_size);
	if (img->has_parent) /* a differencing image: blocks it does not hold come from its parent */
		return vhdx_diff_read(img, off, out, len);

	while (len) {
		uint64_t b = off / img->block_size, in = off % img->block_size, file_off = 0;
		uint64_t n = img->block_size - in;
		unsigned state = VHDX_BAT_NOT_PRESENT; /* set by the lookup; gcc -m32 -O3 cannot see that */

		st = vhdx_block_lookup(img, b, &state, &file_off);
		if (st)
			return st;
		if (n > len)
			n = len;
		if (state == VHDX_BAT_FULLY_PRESENT) {
			/* one backend call for a run of blocks that are also contiguous in the file */
			uint64_t next_off = 0, first = b;
			unsigned next_state = 0;
			while (n < len && !vhdx_block_lookup(img, b + 1, &next_state, &next_off) &&
			       next_state == VHDX_BAT_FULLY_PRESENT &&
			       next_off == file_off + (b + 1 - first) * img->block_size) {
				uint64_t more = len - n < img->block_size ? len - n : img->block_size;
				n += more;
				b++;
			}
			st = vhdx_pread(img, file_off + in, out, (size_t)n, "payload block");
			if (st)
				return st;
		} else {
			memset(out, 0, (size_t)n);
		}
		out += n;
		off += n;
		len -= (size_t)n;
	}
	return VHDX_OK;
}

/*
 * Virtual reads of a differencing image: its own blocks, and its parent's where it holds nothing.  In this file
 * because a chain read recurses into vhdx_read for the parent, which a file of its own would turn into a call
 * cycle between two files.
 *
 * NOT_PRESENT blocks come from the parent whole; PARTIALLY_PRESENT blocks sector by sector through the chunk's
 * sector bitmap (bit set: this file, clear: the parent).  Runs of sectors with the same bit become one read, so
 * a block written in a few places costs a few reads, not one per sector.  A chain recurses once per level, and
 * vhdx_attach_parent bounds the levels.
 */

#define BITMAP_WINDOW 512 /* bytes of sector bitmap looked at per step: 4096 sectors */

/* The parent's bytes, or a refusal naming what was wanted from it. */
static vhdx_status from_parent(struct vhdx_image *img, uint64_t b, uint64_t off, uint8_t *out, size_t n)
{
	vhdx_status st;

	if (!img->parent)
		return vhdx_fail(img, VHDX_E_UNSUPPORTED,
				 "read: payload block %llu comes from the parent disk (parent_linkage %s), which is not attached",
				 (unsigned long long)b, VHDX_GUID_STR(&img->locator->linkage));
	st = vhdx_read(img->parent, off, out, n);
	if (st)
		return vhdx_fail(img, st, "parent %s: %s",
				 VHDX_GUID_STR(&img->parent->header[img->parent->current].data_write_guid),
				 img->parent->msg);
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
	uint64_t chunk_first = (b / img->chunk_ratio) * VHDX_CHUNK_SECTORS; /* first sector of the chunk */
	uint8_t bits[BITMAP_WINDOW];
	vhdx_status st = vhdx_bitmap_block(img, b / img->chunk_ratio, &bm_off);

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
		uint64_t b = off / img->block_size, in = off % img->block_size, file_off = 0;
		uint64_t n = img->block_size - in;
		unsigned state = VHDX_BAT_NOT_PRESENT; /* set by the lookup; gcc -m32 -O3 cannot see that */
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
