/* SPDX-License-Identifier: BSD-2-Clause */
/* view.c - the file as the structure parsers see it: raw reads (io.c) with the pending log laid over them (log.c). */
#include "internal.h"

/*
 * Reads the file as validated: while a log is pending, that is the file as it will be after replay, which may be
 * longer than the backing file (the tail reads as zeros) and carries the log's sectors on top.
 */
vhdx_status vhdx_pread(struct vhdx_image *img, uint64_t off, void *buf, size_t len, const char *what)
{
	uint64_t end, real = img->io->size;
	size_t have = 0;
	vhdx_status st;

	if (vhdx_add_overflow(off, len, &end) || end > img->file_size)
		return vhdx_fail(img, VHDX_E_CORRUPT, "%s: bytes %llu..%llu lie beyond the end of the file (%llu bytes)",
				 what, (unsigned long long)off, (unsigned long long)(off + (uint64_t)len),
				 (unsigned long long)img->file_size);
	if (off < real)
		have = (size_t)(end <= real ? len : real - off);
	if (have) {
		st = vhdx_raw_read(img, off, buf, have, what);
		if (st)
			return st;
	}
	if (have < len)
		memset((uint8_t *)buf + have, 0, len - have);
	if (img->log.active && off < img->log.dirty_hi && end > img->log.dirty_lo)
		return vhdx_log_overlay(img, off, buf, len);
	return VHDX_OK;
}
