/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * parentpath.c - the parent's path from the child's folder and the locator's relative_path (see parentpath.h).
 *
 * The firmware's FAT driver is not asked to resolve "." or "..": the UEFI specification leaves that to each file
 * system driver, so the path is made canonical here, and one that climbs above the root is refused rather than
 * clamped (clamping would open some other file than the one the locator names).
 */
#include "parentpath.h"

#define SEP '\\'
#define UTF8_MAX_UNIT 0x10FFFF
#define SURROGATE_LO 0xD800
#define SURROGATE_HI 0xDFFF

static int is_sep(uint16_t c)
{
	return c == '\\' || c == '/';
}

/*
 * UTF-8 to UTF-16 at out (room for at least strlen(s) units: UTF-16 never takes more units than UTF-8 takes
 * bytes).  Returns the units written, or -1 for bytes that are not UTF-8.
 */
static long utf8_to_u16(const char *s, uint16_t *out)
{
	const unsigned char *p = (const unsigned char *)s;
	long o = 0;

	while (*p) {
		uint32_t c = *p, need = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 :
							   (c & 0xF8) == 0xF0 ? 3 : 4;
		if (need == 4 || (need && c < 0xC2))
			return -1;
		c &= need ? 0x3Fu >> need : 0x7Fu;
		for (uint32_t k = 1; k <= need; k++) {
			if ((p[k] & 0xC0) != 0x80)
				return -1;
			c = c << 6 | (p[k] & 0x3F);
		}
		if ((need == 2 && c < 0x800) || (need == 3 && c < 0x10000) || c > UTF8_MAX_UNIT ||
		    (c >= SURROGATE_LO && c <= SURROGATE_HI))
			return -1;
		p += need + 1;
		if (c >= 0x10000) {
			out[o++] = (uint16_t)(0xD800 + ((c - 0x10000) >> 10));
			out[o++] = (uint16_t)(0xDC00 + ((c - 0x10000) & 0x3FF));
		} else {
			out[o++] = (uint16_t)c;
		}
	}
	return o;
}

/* Appends the components of in[0..n) to out (o units so far, each component led by SEP); -1 above the root. */
static long canonical(const uint16_t *in, size_t n, uint16_t *out, long o)
{
	for (size_t i = 0; i < n;) {
		while (i < n && is_sep(in[i]))
			i++;
		size_t start = i;
		while (i < n && !is_sep(in[i]))
			i++;
		size_t len = i - start;
		if (len == 0 || (len == 1 && in[start] == '.'))
			continue;
		if (len == 2 && in[start] == '.' && in[start + 1] == '.') {
			if (o == 0)
				return -1;
			while (out[o - 1] != SEP) /* back to the separator that leads the last component */
				o--;
			o--;
			continue;
		}
		out[o++] = SEP;
		for (size_t k = 0; k < len; k++)
			out[o++] = in[start + k];
	}
	return o;
}

/* The last component of p[0..n) is empty, "." or "..": p names a folder. */
static int names_folder(const uint16_t *p, size_t n)
{
	size_t start = n;

	while (start && !is_sep(p[start - 1]))
		start--;
	return n == start || (n - start == 1 && p[start] == '.') ||
	       (n - start == 2 && p[start] == '.' && p[start + 1] == '.');
}

uint16_t *parent_relative_path(const uint16_t *child, const char *relative, const char **why)
{
	size_t clen = u16_len(child), dir = clen, rlen = 0;
	uint16_t *rel, *out;
	long r, o;

	while (dir && !is_sep(child[dir - 1])) /* the child's folder: up to its last separator */
		dir--;
	while (relative[rlen])
		rlen++;
	rel = mem_alloc((rlen + 1) * sizeof(uint16_t));
	/* each part grows by at most the one separator put before its first component; then the NUL */
	out = mem_alloc((dir + rlen + 3) * sizeof(uint16_t));
	if (!rel || !out) {
		*why = "out of memory";
		goto fail;
	}
	r = utf8_to_u16(relative, rel);
	if (r < 0) {
		*why = "is not valid UTF-8";
		goto fail;
	}
	o = canonical(child, dir, out, 0);
	if (o >= 0)
		o = canonical(rel, (size_t)r, out, o);
	if (o < 0) {
		*why = "climbs above the root of the volume";
		goto fail;
	}
	if (o == 0 || names_folder(rel, (size_t)r)) {
		*why = "names a folder, not a file";
		goto fail;
	}
	out[o] = 0;
	mem_free(rel);
	return out;
fail:
	mem_free(rel);
	mem_free(out);
	return NULL;
}
