/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntfsio.c - the NTFS lookup's state: every partition read (bounded, counted), scratch memory from io->alloc
 * (tracked, so every exit path frees all of it), and the one refusal helper.
 */
#include "ntfs.h"

vhdx_status vhdx_ntfs_fail(struct ntfs_vol *v, vhdx_status st, const char *fmt, ...)
{
	va_list ap;

	/* the first refusal is the one the caller sees: a later cleanup must not overwrite the reason */
	if (v->out->msg[0] == '\0') {
		va_start(ap, fmt);
		vhdx_vfmt(v->out->msg, sizeof v->out->msg, fmt, ap);
		va_end(ap);
	}
	return st;
}

vhdx_status vhdx_ntfs_alloc(struct ntfs_vol *v, size_t len, const char *what, void *out)
{
	const struct vhdx_io *io = v->io;
	void *p;

	*(void **)out = NULL;
	for (unsigned i = 0; i < NTFS_MAX_ALLOCS; i++) {
		if (v->allocs[i].p)
			continue;
		p = io->alloc ? io->alloc(io->ctx, len) : NULL;
		if (!p)
			return vhdx_ntfs_fail(v, VHDX_E_NOMEM, "NTFS %s: allocation of %llu bytes failed", what,
					      (unsigned long long)len);
		memset(p, 0, len);
		v->allocs[i].p = p;
		v->allocs[i].len = len;
		*(void **)out = p;
		return VHDX_OK;
	}
	return vhdx_ntfs_fail(v, VHDX_E_UNSUPPORTED, "NTFS %s: more than %u scratch blocks at once", what,
			      NTFS_MAX_ALLOCS);
}

void vhdx_ntfs_free(struct ntfs_vol *v, void *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < NTFS_MAX_ALLOCS; i++) {
		if (v->allocs[i].p == p) {
			if (v->io->free)
				v->io->free(v->io->ctx, p, v->allocs[i].len);
			v->allocs[i].p = NULL;
			v->allocs[i].len = 0;
			return;
		}
	}
}

void vhdx_ntfs_free_all(struct ntfs_vol *v)
{
	for (unsigned i = 0; i < NTFS_MAX_ALLOCS; i++)
		vhdx_ntfs_free(v, v->allocs[i].p);
}

vhdx_status vhdx_ntfs_read(struct ntfs_vol *v, uint64_t off, void *buf, size_t len, const char *what)
{
	const struct vhdx_io *io = v->io;
	uint64_t end;

	if (vhdx_add_overflow(off, len, &end) || end > io->size)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
				      "NTFS %s: bytes %llu..%llu lie beyond the end of the partition (%llu bytes)",
				      what, (unsigned long long)off, (unsigned long long)off + len,
				      (unsigned long long)io->size);
	if (io->read(io->ctx, off, buf, len))
		return vhdx_ntfs_fail(v, VHDX_E_IO, "NTFS %s: read of %llu bytes at partition offset %llu failed",
				      what, (unsigned long long)len, (unsigned long long)off);
	v->out->reads++;
	v->out->bytes_read += len;
	return VHDX_OK;
}
