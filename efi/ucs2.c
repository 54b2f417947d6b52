/* ucs2.c - the handful of CHAR16 string operations the module needs. */
#include "boot.h"

UINTN u16_len(const CHAR16 *s)
{
	UINTN n = 0;
	while (s[n])
		n++;
	return n;
}

CHAR16 *u16_dup(const CHAR16 *s)
{
	UINTN n = u16_len(s);
	CHAR16 *d = mem_alloc((n + 1) * sizeof(CHAR16));
	if (d)
		memcpy(d, s, (n + 1) * sizeof(CHAR16));
	return d;
}

CHAR16 *u16_from_ascii(const char *s, UINTN n)
{
	CHAR16 *d = mem_alloc((n + 1) * sizeof(CHAR16));
	if (!d)
		return NULL;
	for (UINTN i = 0; i < n; i++)
		d[i] = (unsigned char)s[i];
	d[n] = 0;
	return d;
}

static CHAR16 lower(CHAR16 c)
{
	return c >= L'A' && c <= L'Z' ? (CHAR16)(c + 32) : c;
}

int u16_cmp(const CHAR16 *a, const CHAR16 *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (int)*a - (int)*b;
}

int u16_icmp(const CHAR16 *a, const CHAR16 *b)
{
	while (*a && lower(*a) == lower(*b))
		a++, b++;
	return (int)lower(*a) - (int)lower(*b);
}

int u16_ncmp_ascii(const CHAR16 *a, const char *b, UINTN n)
{
	for (UINTN i = 0; i < n; i++) {
		if (a[i] != (unsigned char)b[i])
			return (int)a[i] - (int)(unsigned char)b[i];
		if (!a[i])
			return 0;
	}
	return 0;
}

int u16_eq_ascii(const CHAR16 *a, const char *b)
{
	while (*a && *a == (unsigned char)*b)
		a++, b++;
	return *a == 0 && *b == 0;
}

int u16_ieq_ascii(const CHAR16 *a, const char *b)
{
	while (*a && lower(*a) == lower((unsigned char)*b))
		a++, b++;
	return *a == 0 && *b == 0;
}

/* Decimal, or hex with 0x; the whole string must be a number. */
int u16_to_u64(const CHAR16 *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;
	if (s[0] == L'0' && (s[1] == L'x' || s[1] == L'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -1;
	for (; *s; s++) {
		unsigned d;
		if (*s >= L'0' && *s <= L'9')
			d = (unsigned)(*s - L'0');
		else if (base == 16 && lower(*s) >= L'a' && lower(*s) <= L'f')
			d = (unsigned)(lower(*s) - L'a' + 10);
		else
			return -1;
		if (v > (UINT64_MAX - d) / base)
			return -1;
		v = v * base + d;
	}
	*out = v;
	return 0;
}
