/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * datawrite.c - writing virtual-disk bytes in place, into payload blocks the image already holds in full.
 *
 * Why no log: MS-VHDX puts metadata (headers, region table, BAT, metadata region) under the log so that a crash
 * never leaves them half-updated; payload data is the virtual disk's own content, and a disk's own writes are
 * not atomic either (a crash in the middle of a sector write leaves the sector old or new, as on real hardware).
 * A write into a FULLY_PRESENT block changes no BAT entry, no sector bitmap and no header, so nothing the format
 * protects is touched: the file stays valid at every instant, whatever a crash cuts off.  The only metadata
 * change a data write needs is the format's rule that DataWriteGuid changes before the first user-visible write;
 * the caller does that with vhdx_session_update_data (or vhdx_prepare_write_data), whose two header writes are
 * each flushed, so the new DataWriteGuid is on the medium before the first data byte.  This file refuses to write
 * until that happened (img->data_renewed).
 *
 * What is refused, before a single byte is written: a range that touches a block that is not FULLY_PRESENT
 * (NOT_PRESENT, ZERO, UNMAPPED, UNDEFINED: making it present is a BAT change, vhdx_allocate's job; a
 * PARTIALLY_PRESENT block of a differencing image: its sector bitmap would have to change too), a parent of a
 * differencing image, a pending or replayed-in-memory log (the bytes on the medium are not what reads see), a
 * read-only medium.  The refusal names the block and its state (vhdx_write_refusal for the caller's message).
 */
#include "internal.h"

static const char *const state_name[8] = {
	"NOT_PRESENT", "UNDEFINED", "ZERO", "UNMAPPED", "state 4", "state 5", "FULLY_PRESENT", "PARTIALLY_PRESENT"
};

const char *vhdx_bat_state_name(unsigned state)
{
	return state_name[state & 7];
}

/* Every block the range touches must be FULLY_PRESENT; the first one that is not is reported. */
static vhdx_status check_blocks(struct vhdx_image *img, uint64_t off, uint64_t end, struct vhdx_write_refusal *why)
{
	for (uint64_t b = off / img->block_size; b * img->block_size < end; b++) {
		unsigned state = VHDX_BAT_NOT_PRESENT;
		uint64_t file_off = 0;
		vhdx_status st = vhdx_block_lookup(img, b, &state, &file_off);
		if (st)
			return st;
		if (state != VHDX_BAT_FULLY_PRESENT) {
			why->block = b;
			why->state = state;
			why->refused = 1;
			return vhdx_fail(img, VHDX_E_READONLY,
					 "BAT: payload block %llu (virtual bytes %llu..%llu) is %s, not FULLY_PRESENT: "
					 "writing it would change the BAT%s; nothing was written",
					 (unsigned long long)b, (unsigned long long)(b * img->block_size),
					 (unsigned long long)((b + 1) * img->block_size - 1), vhdx_bat_state_name(state),
					 state == VHDX_BAT_PARTIALLY_PRESENT ? " and the sector bitmap" : "");
		}
	}
	return VHDX_OK;
}

vhdx_status vhdx_write(struct vhdx_image *img, uint64_t off, const void *buf, size_t len,
		       struct vhdx_write_refusal *why)
{
	const uint8_t *in = buf;
	uint64_t end;
	vhdx_status st;

	memset(why, 0, sizeof(*why));
	if ((st = vhdx_write_allowed(img, "data write", 0)))
		return st;
	if (img->log_pending || img->log.active)
		return vhdx_fail(img, VHDX_E_LOG_PENDING,
				 "data write: header %u: LogGuid %s is not zero: the log must be replayed first; nothing was written",
				 (unsigned)img->current + 1, VHDX_GUID_STR(&img->header[img->current].log_guid));
	if (vhdx_add_overflow(off, len, &end) || end > img->virtual_size)
		return vhdx_fail(img, VHDX_E_RANGE, "data write: bytes %llu..%llu lie beyond the virtual disk (%llu bytes)",
				 (unsigned long long)off, (unsigned long long)(off + (uint64_t)len),
				 (unsigned long long)img->virtual_size);
	if ((st = check_blocks(img, off, end, why)))
		return st;
	/* after the block check, so a caller that renews on VHDX_E_STATE renews only for a write that can happen */
	if (!img->data_renewed)
		return vhdx_fail(img, VHDX_E_STATE,
				 "data write: DataWriteGuid %s was not renewed this session (vhdx_session_update_data first); nothing was written",
				 VHDX_GUID_STR(&img->header[img->current].data_write_guid));
	while (len) {
		uint64_t b = off / img->block_size, at = off % img->block_size, file_off = 0;
		uint64_t n = img->block_size - at;
		unsigned state = VHDX_BAT_NOT_PRESENT;

		if ((st = vhdx_block_lookup(img, b, &state, &file_off)))
			return st;
		if (n > len)
			n = len;
		if ((st = vhdx_pwrite(img, file_off + at, in, (size_t)n, "payload block")))
			return st;
		in += n;
		off += n;
		len -= (size_t)n;
	}
	return VHDX_OK;
}

vhdx_status vhdx_write_flush(struct vhdx_image *img)
{
	if (img->io->read_only || !img->io->write)
		return VHDX_OK; /* nothing was written: nothing to flush */
	return vhdx_flush(img);
}
