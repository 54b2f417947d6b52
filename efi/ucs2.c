/* SPDX-License-Identifier: BSD-2-Clause */
/* ucs2.c - the handful of uint16_t string operations the module needs; no firmware calls (see ucs2.h). */
#include "ucs2.h"

size_t u16_len(const uint16_t *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

uint16_t *u16_dup(const uint16_t *s)
{
	size_t n = u16_len(s);
	uint16_t *d = mem_alloc((n + 1) * sizeof(uint16_t));
	if (d)
		for (size_t i = 0; i <= n; i++)
			d[i] = s[i];
	return d;
}

uint16_t *u16_from_ascii(const char *s, size_t n)
{
	uint16_t *d = mem_alloc((n + 1) * sizeof(uint16_t));
	if (!d)
		return NULL;
	for (size_t i = 0; i < n; i++)
		d[i] = (unsigned char)s[i];
	d[n] = 0;
	return d;
}

static uint16_t lower(uint16_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint16_t)(c + 32) : c;
}

int u16_cmp(const uint16_t *a, const uint16_t *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (int)*a - (int)*b;
}

int u16_icmp(const uint16_t *a, const uint16_t *b)
{
	while (*a && lower(*a) == lower(*b))
		a++, b++;
	return (int)lower(*a) - (int)lower(*b);
}

int u16_nicmp(const uint16_t *a, const uint16_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (lower(a[i]) != lower(b[i]))
			return (int)lower(a[i]) - (int)lower(b[i]);
		if (!a[i])
			return 0;
	}
	return 0;
}

int u16_ncmp_ascii(const uint16_t *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i] != (unsigned char)b[i])
			return (int)a[i] - (int)(unsigned char)b[i];
		if (!a[i])
			return 0;
	}
	return 0;
}

int u16_eq_ascii(const uint16_t *a, const char *b)
{
	while (*a && *a == (unsigned char)*b)
		a++, b++;
	return *a == 0 && *b == 0;
}

int u16_ieq_ascii(const uint16_t *a, const char *b)
{
	while (*a && lower(*a) == lower((unsigned char)*b))
		a++, b++;
	return *a == 0 && *b == 0;
}

/* Decimal, or hex with 0x; the whole string must be a number. */
int u16_to_u64(const uint16_t *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -1;
	for (; *s; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && lower(*s) >= 'a' && lower(*s) <= 'f')
			d = (unsigned)(lower(*s) - 'a' + 10);
		else
			return -1;
		if (v > (UINT64_MAX - d) / base)
			return -1;
		v = v * base + d;
	}
	*out = v;
	return 0;
}
