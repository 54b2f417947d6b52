/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * extent.c - where virtual bytes live: which level of a differencing chain holds them, at which file offset, for
 * how long.
 *
 * `vhdx map` turns a chain into device-mapper segments, each pointing straight at one level's file, so it needs
 * the answer vhdx_diff_read (read.c) acts on without reading the data: the child's FULLY_PRESENT blocks, its
 * PARTIALLY_PRESENT blocks run by run through the sector bitmap, else the parent's, level by level; zeros where no
 * level holds anything.  A file of its own because it is a question about the layout, not a read; it walks down
 * the chain in a loop, so it needs no recursion into read.c.
 */
#include "internal.h"

#define BITMAP_WINDOW 512 /* bytes of sector bitmap looked at per step: 4096 sectors */
#define ALL_SET 0xFFu

/*
 * Inside PARTIALLY_PRESENT block b: the bytes from off on (at most n, all in the block) whose sectors share the
 * bitmap bit of off's sector.  *here: that bit (1: this file holds them); *run: how many bytes (at least one).
 */
static vhdx_status bitmap_run(struct vhdx_image *img, uint64_t b, uint64_t off, uint64_t n, int *here, uint64_t *run)
{
	uint64_t ss = img->logical_sector_size, chunk_first = (b / img->chunk_ratio) * VHDX_CHUNK_SECTORS;
	uint64_t s = off / ss, s_end = (off + n + ss - 1) / ss, bm_off = 0, end;
	uint8_t bits[BITMAP_WINDOW];
	vhdx_status st = vhdx_bitmap_block(img, b / img->chunk_ratio, &bm_off);

	for (int first = 1; !st && s < s_end;) {
		uint64_t first_byte = (s - chunk_first) / 8, last_byte = (s_end - 1 - chunk_first) / 8;
		uint64_t nbytes = last_byte - first_byte + 1, stop;
		if (nbytes > BITMAP_WINDOW)
			nbytes = BITMAP_WINDOW;
		stop = chunk_first + (first_byte + nbytes) * 8; /* first sector past the window */
		if (stop > s_end)
			stop = s_end;
		st = vhdx_pread(img, bm_off + first_byte, bits, (size_t)nbytes, "sector bitmap");
		while (!st && s < stop) {
			uint64_t rel = s - chunk_first, k = rel / 8 - first_byte;
			int bit = (bits[k] >> (rel % 8)) & 1;
			if (first) {
				*here = bit;
				first = 0;
			} else if (bit != *here) {
				goto done;
			}
			/* a whole byte of the same bit at once: bitmaps are mostly 0x00 and 0xFF */
			if (rel % 8 == 0 && s + 8 <= stop && bits[k] == (*here ? ALL_SET : 0))
				s += 8;
			else
				s++;
		}
	}
done:
	if (st)
		return st;
	end = s * ss < off + n ? s * ss : off + n;
	*run = end - off;
	return VHDX_OK;
}

/* A failure at a parent level, told on the image asked (levels below 0 keep their own message). */
static vhdx_status level_fail(struct vhdx_image *img, struct vhdx_image *cur, vhdx_status st)
{
	if (cur == img)
		return st;
	return vhdx_fail(img, st, "parent %s: %s", VHDX_GUID_STR(&cur->header[cur->current].data_write_guid), cur->msg);
}

vhdx_status vhdx_extent(struct vhdx_image *img, uint64_t off, uint64_t len, struct vhdx_extent *ext)
{
	struct vhdx_image *cur = img;
	uint64_t end;

	if (!img->validated)
		return vhdx_fail(img, VHDX_E_STATE, "extent: the image was not opened and validated");
	if (!len || vhdx_add_overflow(off, len, &end) || end > img->virtual_size)
		return vhdx_fail(img, VHDX_E_RANGE, "extent: bytes %llu..%llu are not inside the virtual disk (%llu bytes)",
				 (unsigned long long)off, (unsigned long long)(off + len),
				 (unsigned long long)img->virtual_size);
	for (unsigned level = 0;; level++) {
		uint64_t b = off / cur->block_size, in = off % cur->block_size, n = cur->block_size - in, file_off = 0;
		unsigned state = VHDX_BAT_NOT_PRESENT;
		vhdx_status st = vhdx_block_lookup(cur, b, &state, &file_off);
		int here = 0;

		if (st)
			return level_fail(img, cur, st);
		if (n > len)
			n = len;
		ext->level = level;
		ext->image = cur;
		ext->file_off = file_off + in;
		ext->len = n;
		if (state == VHDX_BAT_FULLY_PRESENT)
			return VHDX_OK;
		if (cur->has_parent && state == VHDX_BAT_PARTIALLY_PRESENT) {
			st = bitmap_run(cur, b, off, n, &here, &ext->len);
			if (st)
				return level_fail(img, cur, st);
			if (here)
				return VHDX_OK;
			n = ext->len;
		} else if (!(cur->has_parent && state == VHDX_BAT_NOT_PRESENT)) {
			/* ZERO, UNMAPPED, UNDEFINED, or absent in an image without a parent: zeros, as vhdx_read gives */
			ext->image = 0;
			ext->file_off = 0;
			return VHDX_OK;
		}
		if (!cur->parent)
			return vhdx_fail(img, VHDX_E_UNSUPPORTED,
					 "extent: payload block %llu of level %u comes from its parent (parent_linkage %s), "
					 "which is not attached", (unsigned long long)b, level,
					 VHDX_GUID_STR(&cur->locator->linkage));
		cur = cur->parent;
		len = n;
	}
}
