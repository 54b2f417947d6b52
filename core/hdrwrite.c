/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hdrwrite.c - writing headers: the checks every writer makes first, the current copy as a template, and the
 * write of one copy.  The writers (replay.c, session.c) build on these.
 */
#include "internal.h"

static const uint64_t slot_offset[2] = { VHDX_HEADER1_OFFSET, VHDX_HEADER2_OFFSET };

/*
 * Writes `h` into the non-current slot, built on `block` (the current copy's bytes, so reserved fields survive),
 * flushes, and makes that slot current.  Called twice in a row, both copies end up current.
 */
vhdx_status vhdx_header_write(struct vhdx_image *img, uint8_t *block, const struct vhdx_header *h)
{
	int slot = !img->current;
	vhdx_status st;

	vhdx_header_serialize(block, h);
	st = vhdx_pwrite(img, slot_offset[slot], block, VHDX_HEADER_SIZE, slot ? "header 2" : "header 1");
	if (!st)
		st = vhdx_flush(img);
	if (!st) {
		vhdx_header_parse(&img->header[slot], block);
		img->header_valid[slot] = 1;
		img->current = slot;
	}
	return st;
}

/* The checks every writer makes first; nothing has been written when one fails. */
vhdx_status vhdx_write_allowed(struct vhdx_image *img, const char *what, uint64_t raises)
{
	const struct vhdx_header *h = &img->header[img->current];

	if (!img->validated)
		return vhdx_fail(img, VHDX_E_STATE, "%s: the image was not opened and validated", what);
	if (img->io->read_only || !img->io->write)
		return vhdx_fail(img, VHDX_E_READONLY, "%s: the medium is read-only; nothing was written", what);
	if (img->child) /* a parent's data is its differencing children's too */
		return vhdx_fail(img, VHDX_E_READONLY, "%s: the image is the parent of a differencing image; nothing was written",
				 what);
	if (h->sequence > UINT64_MAX - raises)
		return vhdx_fail(img, VHDX_E_SEQUENCE,
				 "header %u: SequenceNumber %llu cannot be raised %llu times; nothing was written",
				 (unsigned)img->current + 1, (unsigned long long)h->sequence,
				 (unsigned long long)raises);
	return VHDX_OK;
}

/* Allocates a header block holding the current copy as it is on disk now, which must still be what open checked. */
vhdx_status vhdx_header_block(struct vhdx_image *img, uint8_t **out)
{
	int cur = img->current;
	uint8_t *block = img->io->alloc(img->io->ctx, VHDX_HEADER_SIZE);
	vhdx_status st;

	if (!block)
		return vhdx_fail(img, VHDX_E_NOMEM, "header %u: no memory for a header block", (unsigned)cur + 1);
	st = vhdx_raw_read(img, slot_offset[cur], block, VHDX_HEADER_SIZE, cur ? "header 2" : "header 1");
	if (!st && vhdx_struct_crc(block, VHDX_HEADER_SIZE, VHDX_HDR_CHECKSUM) != img->header[cur].checksum)
		st = vhdx_fail(img, VHDX_E_CORRUPT, "header %u: changed on disk since it was validated; nothing was written",
			       (unsigned)cur + 1);
	if (st) {
		img->io->free(img->io->ctx, block, VHDX_HEADER_SIZE);
		return st;
	}
	*out = block;
	return VHDX_OK;
}
