/* io.c - every file access of the core goes through here: bounds, read-only rule, statistics, one message. */
#include "internal.h"

/* Reads what the backend holds now, without the log overlay: the log's own sectors and replay use this. */
vhdx_status vhdx_raw_read(struct vhdx_image *img, uint64_t off, void *buf, size_t len, const char *what)
{
	struct vhdx_io *io = img->io;
	uint64_t end;

	if (vhdx_add_overflow(off, len, &end) || end > io->size)
		return vhdx_fail(img, VHDX_E_CORRUPT, "%s: bytes %llu..%llu lie beyond the end of the file (%llu bytes)",
				 what, off, off + (uint64_t)len, io->size);
	if (io->read(io->ctx, off, buf, len))
		return vhdx_fail(img, VHDX_E_IO, "%s: read of %llu bytes at offset %llu failed", what, (uint64_t)len,
				 off);
	img->stats.reads++;
	img->stats.read_bytes += len;
	return VHDX_OK;
}

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
				 what, off, off + (uint64_t)len, img->file_size);
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

vhdx_status vhdx_pwrite(struct vhdx_image *img, uint64_t off, const void *buf, size_t len, const char *what)
{
	struct vhdx_io *io = img->io;
	uint64_t end;

	if (io->read_only || !io->write)
		return vhdx_fail(img, VHDX_E_READONLY, "%s: the medium is read-only", what);
	if (img->child) /* differencing chains (issue 11): never write a parent */
		return vhdx_fail(img, VHDX_E_READONLY, "%s: the image is a parent of a differencing image", what);
	if (vhdx_add_overflow(off, len, &end) || end > io->size)
		return vhdx_fail(img, VHDX_E_ARG, "%s: write at %llu beyond the end of the file", what, off);
	if (io->write(io->ctx, off, buf, len))
		return vhdx_fail(img, VHDX_E_IO, "%s: write of %llu bytes at offset %llu failed", what, (uint64_t)len,
				 off);
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
