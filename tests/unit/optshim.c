/* SPDX-License-Identifier: BSD-2-Clause */
/* optshim.c - see optshim.h.  The formatter knows what optparse.c uses: %s, %ls (CHAR16), %llu, %lu, %u, %%. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optshim.h"

char opt_said[4096];
char opt_last[512];
long opt_live;
long opt_fail_alloc;
static long nallocs;

void opt_shim_reset(void)
{
	opt_said[0] = opt_last[0] = 0;
	opt_fail_alloc = 0;
	nallocs = 0;
}

void *mem_alloc(size_t len)
{
	if (opt_fail_alloc && ++nallocs == opt_fail_alloc)
		return NULL;
	void *p = malloc(len ? len : 1);
	if (p)
		opt_live++;
	return p;
}

void mem_free(void *p)
{
	if (p)
		opt_live--;
	free(p);
}

static size_t vfmt(char *buf, size_t size, const char *f, va_list ap)
{
	size_t n = 0;
#define PUT(c) (n + 1 < size ? (void)(buf[n] = (c)) : (void)0, n++)
	for (; *f; f++) {
		if (*f != '%') {
			PUT(*f);
			continue;
		}
		f++;
		int lng = 0;
		while (*f == 'l')
			lng++, f++;
		char num[32];
		const char *s = num;
		switch (*f) {
		case 's':
			if (lng) {
				const uint16_t *w = va_arg(ap, const uint16_t *);
				for (; w && *w; w++)
					PUT(*w < 0x80 ? (char)*w : '?');
				continue;
			}
			s = va_arg(ap, const char *);
			break;
		case 'u':
			if (lng == 2)
				snprintf(num, sizeof num, "%llu", va_arg(ap, unsigned long long));
			else if (lng == 1)
				snprintf(num, sizeof num, "%lu", va_arg(ap, unsigned long));
			else
				snprintf(num, sizeof num, "%u", va_arg(ap, unsigned));
			break;
		case '%':
			s = "%";
			break;
		default:
			s = "<bad conversion>";
			break;
		}
		for (; s && *s; s++)
			PUT(*s);
	}
	if (size)
		buf[n < size ? n : size - 1] = 0;
	return n;
#undef PUT
}

size_t fmt(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	size_t n = vfmt(buf, size, f, ap);
	va_end(ap);
	return n;
}

void con_say(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	vfmt(opt_last, sizeof opt_last, f, ap);
	va_end(ap);
	size_t l = strlen(opt_said);
	snprintf(opt_said + l, sizeof opt_said - l, "%s\n", opt_last);
}

uint16_t *opt_u16(const char *s)
{
	static uint16_t ring[16][512];
	static unsigned next;
	uint16_t *d = ring[next++ % 16];
	size_t i = 0;
	for (; s[i] && i < 511; i++)
		d[i] = (unsigned char)s[i];
	d[i] = 0;
	return d;
}
