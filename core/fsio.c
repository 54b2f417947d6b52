/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fsio.c - the I/O seam over a located file: file offsets in, partition offsets out (see fsio.h).
 */
#include "fsio.h"
#include "internal.h"

/* The index of the extent holding file offset off (off < file size), starting the search at hint. */
static uint32_t extent_at(const struct vhdx_fs_file *f, uint64_t off, uint32_t hint)
{
	const struct vhdx_fs_extent *e = f->extents;
	uint32_t lo = 0, hi = f->extent_count;

	if (hint < f->extent_count && off >= e[hint].file_offset && off - e[hint].file_offset < e[hint].length)
		return hint;
	if (hint + 1 < f->extent_count && off >= e[hint + 1].file_offset &&
	    off - e[hint + 1].file_offset < e[hint + 1].length)
		return hint + 1;
	while (hi - lo > 1) { /* e[lo].file_offset <= off < e[hi].file_offset, with e[count] taken as the end */
		uint32_t mid = lo + (hi - lo) / 2;
		if (e[mid].file_offset <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static int runs_from(const struct vhdx_fs_file *f, uint32_t *hint, uint64_t off, uint64_t len,
		     int (*fn)(void *arg, uint64_t part_off, uint64_t file_off, uint64_t len), void *arg)
{
	uint64_t end;

	if (vhdx_add_overflow(off, len, &end) || end > f->size)
		return -1;
	while (len > 0) {
		uint32_t i = extent_at(f, off, *hint);
		const struct vhdx_fs_extent *e = &f->extents[i];
		uint64_t into = off - e->file_offset;
		uint64_t n = e->length - into < len ? e->length - into : len;
		int rc = fn(arg, e->part_offset + into, off, n);

		*hint = i;
		if (rc)
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}

int vhdx_fs_runs(const struct vhdx_fs_file *file, uint64_t off, uint64_t len,
		 int (*fn)(void *arg, uint64_t part_off, uint64_t file_off, uint64_t len), void *arg)
{
	uint32_t hint = 0;

	return runs_from(file, &hint, off, len, fn, arg);
}

struct xfer {
	const struct vhdx_fs_io *fio;
	uint8_t *rbuf;       /* reads */
	const uint8_t *wbuf; /* writes */
	uint64_t start;      /* file offset of byte 0 of the buffer */
};

static int read_piece(void *arg, uint64_t part_off, uint64_t file_off, uint64_t len)
{
	struct xfer *x = arg;
	const struct vhdx_io *p = x->fio->part;

	return p->read(p->ctx, part_off, x->rbuf + (file_off - x->start), (size_t)len);
}

static int write_piece(void *arg, uint64_t part_off, uint64_t file_off, uint64_t len)
{
	struct xfer *x = arg;
	const struct vhdx_io *p = x->fio->part;

	return p->write(p->ctx, part_off, x->wbuf + (file_off - x->start), (size_t)len);
}

static int fsio_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct vhdx_fs_io *fio = ctx;
	struct xfer x = { .fio = fio, .rbuf = buf, .start = off };

	return runs_from(fio->file, &fio->hint, off, len, read_piece, &x);
}

static int fsio_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct vhdx_fs_io *fio = ctx;
	struct xfer x = { .fio = fio, .wbuf = buf, .start = off };

	if (fio->io.read_only)
		return -1;
	return runs_from(fio->file, &fio->hint, off, len, write_piece, &x);
}

static int fsio_flush(void *ctx)
{
	struct vhdx_fs_io *fio = ctx;

	return fio->part->flush ? fio->part->flush(fio->part->ctx) : 0;
}

static void *fsio_alloc(void *ctx, size_t len)
{
	struct vhdx_fs_io *fio = ctx;

	return fio->part->alloc ? fio->part->alloc(fio->part->ctx, len) : NULL;
}

static void fsio_free(void *ctx, void *p, size_t len)
{
	struct vhdx_fs_io *fio = ctx;

	if (fio->part->free)
		fio->part->free(fio->part->ctx, p, len);
}

static vhdx_status bad_extents(char msg[256], const char *fmt, ...) VHDX_PRINTF(2, 3);
static vhdx_status bad_extents(char msg[256], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vhdx_vfmt(msg, 256, fmt, ap);
	va_end(ap);
	return VHDX_E_ARG;
}

/* The extents are what a locator promises: in file order with no gap or overlap, each inside the partition. */
static vhdx_status check_extents(const struct vhdx_io *part, const struct vhdx_fs_file *f, char msg[256])
{
	uint64_t next = 0, end;

	if (f->extent_count == 0 && f->size != 0)
		return bad_extents(msg, "file: size %llu bytes but no extents", (unsigned long long)f->size);
	for (uint32_t i = 0; i < f->extent_count; i++) {
		const struct vhdx_fs_extent *e = &f->extents[i];
		if (e->file_offset != next || e->length == 0)
			return bad_extents(msg, "extent %u: file offset %llu length %llu, expected offset %llu", i,
					(unsigned long long)e->file_offset, (unsigned long long)e->length,
					(unsigned long long)next);
		if (vhdx_add_overflow(e->part_offset, e->length, &end) || end > part->size)
			return bad_extents(msg, "extent %u: partition bytes %llu + %llu beyond the partition (%llu bytes)",
					i, (unsigned long long)e->part_offset, (unsigned long long)e->length,
					(unsigned long long)part->size);
		if (vhdx_add_overflow(next, e->length, &next))
			return bad_extents(msg, "extent %u: file offsets overflow", i);
	}
	if (next != f->size)
		return bad_extents(msg, "file: extents cover %llu bytes, the file has %llu", (unsigned long long)next,
				(unsigned long long)f->size);
	return VHDX_OK;
}

vhdx_status vhdx_fs_io_init(struct vhdx_fs_io *fio, const struct vhdx_io *part, const struct vhdx_fs_file *file,
			    int read_only, char msg[256])
{
	vhdx_status st;

	msg[0] = 0;
	memset(fio, 0, sizeof(*fio));
	st = check_extents(part, file, msg);
	if (st != VHDX_OK)
		return st;
	fio->part = part;
	fio->file = file;
	fio->io.ctx = fio;
	fio->io.size = file->size;
	fio->io.read_only = read_only || part->read_only || !part->write;
	fio->io.read = fsio_read;
	fio->io.write = fsio_write;
	fio->io.flush = fsio_flush;
	fio->io.resize = NULL; /* growing the file needs the file system's allocator */
	fio->io.alloc = fsio_alloc;
	fio->io.free = fsio_free;
	return VHDX_OK;
}
