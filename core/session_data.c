/*
 * session_data.c - the session update before the first write a reader of the virtual disk could see (issue 10).
 *
 * The format's rule: DataWriteGuid changes before the first user-visible change of the virtual disk, and not
 * otherwise.  The plain session update (header.c) changes FileWriteGuid only, which is right for vhdxboot's own
 * metadata-only session; an operating system that is about to write its root file system through a read-write
 * device-mapper table needs DataWriteGuid changed first.  Same two-step procedure: the non-current slot, flush,
 * then the other slot, flush; a crash after the first write leaves the new header current and the old one valid.
 */
#include "internal.h"

vhdx_status vhdx_session_update_data(struct vhdx_image *img, const uint8_t random[32])
{
	struct vhdx_header h;
	uint8_t *block;
	vhdx_status st;

	st = vhdx_write_allowed(img, "session update (data)", 2);
	if (st)
		return st;
	if (img->log_pending)
		return vhdx_fail(img, VHDX_E_LOG_PENDING,
				 "header %u: LogGuid %G is not zero: the log must be replayed first; nothing was written",
				 (unsigned)img->current + 1, &img->header[img->current].log_guid);
	st = vhdx_header_block(img, &block);
	if (st)
		return st;
	h = img->header[img->current];
	vhdx_guid_from_random(&h.file_write_guid, random);
	vhdx_guid_from_random(&h.data_write_guid, random + 16);
	h.sequence++;
	st = vhdx_header_write(img, block, &h);
	if (!st) {
		h.sequence++;
		st = vhdx_header_write(img, block, &h);
	}
	img->io->free(img->io->ctx, block, VHDX_HEADER_SIZE);
	return st;
}
