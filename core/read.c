/* read.c - virtual-disk reads through the BAT. */
#include "internal.h"

vhdx_status vhdx_block_lookup(struct vhdx_image *img, uint64_t block, unsigned *state, uint64_t *file_off)
{
	uint64_t e;
	vhdx_status st;

	if (!img->validated)
		return vhdx_fail(img, VHDX_E_STATE, "lookup: the image was not opened and validated");
	if (block >= img->payload_blocks)
		return vhdx_fail(img, VHDX_E_RANGE, "lookup: block %llu is beyond the last block %llu", block,
				 img->payload_blocks - 1);
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
		return vhdx_fail(img, VHDX_E_RANGE, "read: bytes %llu..%llu lie beyond the virtual disk (%llu bytes)", off,
				 off + (uint64_t)len, img->virtual_size);
	if (img->has_parent) /* differencing chains (issue 11) */
		return vhdx_diff_read(img, off, out, len);

	while (len) {
		uint64_t b = off / img->block_size, in = off % img->block_size, file_off;
		uint64_t n = img->block_size - in;
		unsigned state;

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
