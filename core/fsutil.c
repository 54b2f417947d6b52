/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fsutil.c - the locators' shared helpers: counted reads, refusals, the extent list, path components, folding.
 */
#include "fsutil.h"

void vhdx_fsu_reset(struct vhdx_fs_file *out, enum vhdx_fs_kind kind)
{
	out->kind = kind;
	out->size = 0;
	out->extent_count = 0;
	out->fs_flags = 0;
	out->cluster_size = 0;
	out->bytes_read = 0;
	out->reads = 0;
	out->msg[0] = 0;
}

vhdx_status vhdx_fsu_fail(struct vhdx_fs_file *out, vhdx_status st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vhdx_vfmt(out->msg, sizeof(out->msg), fmt, ap);
	va_end(ap);
	return st;
}

vhdx_status vhdx_fsu_read(const struct vhdx_io *io, struct vhdx_fs_file *out, uint64_t off, void *buf, size_t len,
			  const char *what)
{
	uint64_t end;

	if (vhdx_add_overflow(off, len, &end) || end > io->size)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT,
				     "%s: bytes %llu..%llu lie beyond the end of the partition (%llu bytes)", what,
				     (unsigned long long)off, (unsigned long long)off + len, (unsigned long long)io->size);
	out->reads++;
	out->bytes_read += len;
	if (io->read(io->ctx, off, buf, len))
		return vhdx_fsu_fail(out, VHDX_E_IO, "%s: reading %zu bytes at partition offset %llu failed", what, len,
				     (unsigned long long)off);
	return VHDX_OK;
}

void *vhdx_fsu_alloc(const struct vhdx_io *io, size_t len)
{
	return io->alloc ? io->alloc(io->ctx, len) : 0;
}

void vhdx_fsu_free(const struct vhdx_io *io, void *p, size_t len)
{
	if (p)
		io->free(io->ctx, p, len);
}

vhdx_status vhdx_fsu_nomem(struct vhdx_fs_file *out, size_t len, const char *what)
{
	return vhdx_fsu_fail(out, VHDX_E_NOMEM, "%s: no memory for %zu bytes of scratch", what, len);
}

uint64_t vhdx_fsu_covered(const struct vhdx_fs_file *out)
{
	const struct vhdx_fs_extent *e;

	if (!out->extent_count)
		return 0;
	e = &out->extents[out->extent_count - 1];
	return e->file_offset + e->length;
}

vhdx_status vhdx_fsu_extent(const struct vhdx_io *io, struct vhdx_fs_file *out, uint64_t file_off, uint64_t part_off,
			    uint64_t len, const char *what)
{
	uint64_t at = vhdx_fsu_covered(out), pend;
	struct vhdx_fs_extent *last = out->extent_count ? &out->extents[out->extent_count - 1] : 0;

	if (file_off != at)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT,
				     "%s: a run starts at file byte %llu where %llu was expected (a hole or a run out of order)",
				     what, (unsigned long long)file_off, (unsigned long long)at);
	if (file_off >= out->size || !len)
		return VHDX_OK;
	if (len > out->size - file_off)
		len = out->size - file_off;
	if (vhdx_add_overflow(part_off, len, &pend) || pend > io->size)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT,
				     "%s: file bytes %llu.. lie at partition offset %llu (+%llu), beyond the partition's %llu bytes",
				     what, (unsigned long long)file_off, (unsigned long long)part_off, (unsigned long long)len,
				     (unsigned long long)io->size);
	if (last && last->part_offset + last->length == part_off) {
		last->length += len;
		return VHDX_OK;
	}
	if (out->extent_count >= out->extent_max)
		return vhdx_fsu_fail(out, VHDX_E_UNSUPPORTED,
				     "%s: the file has more than extent_max %u extents (at file byte %llu)", what,
				     out->extent_max, (unsigned long long)file_off);
	out->extents[out->extent_count].file_offset = file_off;
	out->extents[out->extent_count].part_offset = part_off;
	out->extents[out->extent_count].length = len;
	out->extent_count++;
	return VHDX_OK;
}

static int is_sep(char c)
{
	return c == '/' || c == '\\';
}

int vhdx_fsu_component(const char **p, const char **name, size_t *len)
{
	const char *s = *p;

	while (*s && is_sep(*s))
		s++;
	if (!*s) {
		*p = s;
		return 0;
	}
	*name = s;
	while (*s && !is_sep(*s))
		s++;
	*len = (size_t)(s - *name);
	*p = s;
	return 1;
}

const char *vhdx_fsu_name(const char *name, size_t len, char *text)
{
	size_t n = len < VHDX_FSU_NAME_TEXT - 4 ? len : VHDX_FSU_NAME_TEXT - 4;

	memcpy(text, name, n);
	if (n < len)
		memcpy(text + n, "...", 3), n += 3;
	text[n] = 0;
	return text;
}

uint16_t vhdx_fsu_fold(uint16_t c)
{
	if (c >= 'a' && c <= 'z')
		return (uint16_t)(c - 0x20);
	if (c < 0xE0)
		return c == 0xB5 ? 0x39C : c;
	if (c <= 0xFE)
		return c == 0xF7 ? c : (uint16_t)(c - 0x20); /* Latin-1 à..þ, not the division sign */
	if (c == 0xFF)
		return 0x178;
	/* Latin Extended-A: upper/lower pairs, the upper one even in 0100..0137 and 014A..0177, odd in 0139..0148
	 * and 0179..017E */
	if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
		return (uint16_t)(c & ~1u);
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
		return (c & 1) ? c : (uint16_t)(c - 1);
	if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2)
		return (uint16_t)(c - 0x20); /* Greek */
	if (c >= 0x430 && c <= 0x44F)
		return (uint16_t)(c - 0x20); /* Cyrillic а..я */
	if (c >= 0x450 && c <= 0x45F)
		return (uint16_t)(c - 0x50); /* Cyrillic ѐ..џ */
	return c;
}

int vhdx_fsu_utf16(const char *name, size_t len, uint16_t out[VHDX_FS_NAME_MAX], unsigned *n)
{
	const uint8_t *s = (const uint8_t *)name, *end = s + len;
	unsigned k = 0;

	while (s < end) {
		uint32_t cp;
		unsigned more;
		if (*s < 0x80) {
			cp = *s;
			more = 0;
		} else if ((*s & 0xE0) == 0xC0) {
			cp = *s & 0x1F;
			more = 1;
		} else if ((*s & 0xF0) == 0xE0) {
			cp = *s & 0x0F;
			more = 2;
		} else if ((*s & 0xF8) == 0xF0) {
			cp = *s & 0x07;
			more = 3;
		} else {
			return -1;
		}
		s++;
		if ((size_t)(end - s) < more)
			return -1;
		for (unsigned i = 0; i < more; i++, s++) {
			if ((*s & 0xC0) != 0x80)
				return -1;
			cp = cp << 6 | (*s & 0x3F);
		}
		/* overlong forms, surrogates and values beyond U+10FFFF are not UTF-8 */
		if ((more == 1 && cp < 0x80) || (more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) ||
		    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return -1;
		if (cp >= 0x10000) {
			if (k + 2 > VHDX_FS_NAME_MAX)
				return -1;
			cp -= 0x10000;
			out[k++] = (uint16_t)(0xD800 | (cp >> 10));
			out[k++] = (uint16_t)(0xDC00 | (cp & 0x3FF));
		} else {
			if (k + 1 > VHDX_FS_NAME_MAX)
				return -1;
			out[k++] = vhdx_fsu_fold((uint16_t)cp);
		}
	}
	*n = k;
	return 0;
}
