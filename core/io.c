/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * io.c - every file access of the core goes through here: bounds, read-only rule, statistics, one message.  Raw:
 * what the backend holds now; view.c adds the pending log on top for the parsers.
 */
#include "internal.h"

/* Reads what the backend holds now, without the log overlay: the log's own sectors and replay use this. */
vhdx_status vhdx_raw_read(struct vhdx_image *img, uint64_t off, void *buf, size_t len, const char *what)
{
	struct vhdx_io *io = img->io;
	uint64_t end;

	if (vhdx_add_overflow(off, len, &end) || end > io->size)
		return vhdx_fail(img, VHDX_E_CORRUPT, "%s: bytes %llu..%llu lie beyond the end of the file (%llu bytes)",
				 what, (unsigned long long)off, (unsigned long long)(off + (uint64_t)len),
				 (unsigned long long)io->size);
	if (io->read(io->ctx, off, buf, len))
		return vhdx_fail(img, VHDX_E_IO, "%s: read of %llu bytes at offset %llu failed", what,
				 (unsigned long long)len,
				 (unsigned long long)off);
	img->stats.reads++;
	img->stats.read_bytes += len;
	return VHDX_OK;
}

vhdx_status vhdx_pwrite(struct vhdx_image *img, uint64_t off, const void *buf, size_t len, const char *what)
{
	struct vhdx_io *io = img->io;
	uint64_t end;

	if (io->read_only || !io->write)
		return vhdx_fail(img, VHDX_E_READONLY, "%s: the medium is read-only", what);
	if (img->child) /* a differencing child reads through this image: never write a parent */
		return vhdx_fail(img, VHDX_E_READONLY, "%s: the image is a parent of a differencing image", what);
	if (vhdx_add_overflow(off, len, &end) || end > io->size)
		return vhdx_fail(img, VHDX_E_ARG, "%s: write at %llu beyond the end of the file", what,
				 (unsigned long long)off);
	if (io->write(io->ctx, off, buf, len))
		return vhdx_fail(img, VHDX_E_IO, "%s: write of %llu bytes at offset %llu failed", what,
				 (unsigned long long)len,
				 (unsigned long long)off);
	img->stats.writes++;
	img->stats.write_bytes += len;
	return VHDX_OK;
}

vhdx_status vhdx_flush(struct vhdx_image *img)
{
	struct vhdx_io *io = img->io;

	if (io->flush && io->flush(io->ctx))
		return vhdx_fail(img, VHDX_E_IO, "flush of the image failed");
	img->stats.flushes++;
	return VHDX_OK;
}
