/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fmt.c - the one message formatter of the project (the core's refusals, and the boot module's console, which
 * has no snprintf either).  A subset of C's printf with C's meanings, so that format(printf) lets the compiler
 * check every call: flags '0' and '-', a width, length modifiers l, ll, z; conversions s (with l: a CHAR16 string,
 * UTF-16 units above 0x7f shown as '?'), c, d, i, u, o, x, X, p, %%.  Any other conversion is copied as text and
 * takes no argument (the compiler refuses it in the project's own calls).  A GUID is text first (vhdx_guid_format).
 * Always NUL-terminates; returns the length the full text would have.
 */
#include "internal.h"

struct out {
	char *buf;
	size_t size, len;
};

struct spec {
	unsigned width;
	char pad;  /* ' ' or '0' */
	int left;  /* '-': pad on the right */
	int len;   /* 0, 1 (l), 2 (ll), 3 (z) */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_padded(struct out *o, const char *s, size_t n, const struct spec *sp)
{
	size_t fill = sp->width > n ? sp->width - n : 0;

	for (size_t i = 0; !sp->left && i < fill; i++)
		put(o, sp->pad);
	for (size_t i = 0; i < n; i++)
		put(o, s[i]);
	for (size_t i = 0; sp->left && i < fill; i++)
		put(o, ' ');
}

static void put_num(struct out *o, uint64_t v, unsigned base, int neg, int upper, const struct spec *sp)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = sizeof tmp;

	do {
		tmp[--n] = digits[v % base];
		v /= base;
	} while (v);
	if (neg && sp->pad == '0' && sp->width) {
		/* the sign goes before the zeros */
		struct spec rest = *sp;
		put(o, '-');
		rest.width = sp->width ? sp->width - 1 : 0;
		put_padded(o, tmp + n, sizeof tmp - (size_t)n, &rest);
		return;
	}
	if (neg)
		tmp[--n] = '-';
	put_padded(o, tmp + n, sizeof tmp - (size_t)n, sp);
}

static void put_str16(struct out *o, const uint16_t *s, const struct spec *sp)
{
	static const uint16_t null16[] = { '(', 'n', 'u', 'l', 'l', ')', 0 };
	size_t n = 0;

	if (!s)
		s = null16;
	while (s[n])
		n++;
	for (size_t i = 0; !sp->left && n < sp->width && i < sp->width - n; i++)
		put(o, ' ');
	for (size_t i = 0; i < n; i++)
		put(o, s[i] < 0x80 ? (char)s[i] : '?');
	for (size_t i = 0; sp->left && n < sp->width && i < sp->width - n; i++)
		put(o, ' ');
}

static uint64_t arg_unsigned(va_list *ap, int len)
{
	switch (len) {
	case 1:
		return va_arg(*ap, unsigned long);
	case 2:
		return va_arg(*ap, unsigned long long);
	case 3:
		return va_arg(*ap, size_t);
	default:
		return va_arg(*ap, unsigned int);
	}
}

static int64_t arg_signed(va_list *ap, int len)
{
	switch (len) {
	case 1:
		return va_arg(*ap, long);
	case 2:
		return va_arg(*ap, long long);
	case 3:
		return (int64_t)va_arg(*ap, size_t);
	default:
		return va_arg(*ap, int);
	}
}

/* Reads flags, width and length after '%'; returns the conversion character's position. */
static const char *parse_spec(const char *f, struct spec *sp)
{
	sp->width = 0;
	sp->pad = ' ';
	sp->left = 0;
	sp->len = 0;
	for (;; f++) {
		if (*f == '0')
			sp->pad = '0';
		else if (*f == '-')
			sp->left = 1;
		else
			break;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (unsigned)(*f++ - '0');
	if (*f == 'z') {
		sp->len = 3;
		f++;
	}
	while (*f == 'l' && sp->len < 2) {
		sp->len++;
		f++;
	}
	if (sp->left)
		sp->pad = ' ';
	return f;
}

/* One conversion; ap is passed by address so that it advances in the caller (va_list may be an array type). */
static void convert(struct out *o, char c, const struct spec *sp, va_list *ap)
{
	switch (c) {
	case 's':
		if (sp->len == 1) {
			put_str16(o, va_arg(*ap, const uint16_t *), sp);
		} else {
			const char *s = va_arg(*ap, const char *);
			size_t n = 0;
			if (!s)
				s = "(null)";
			while (s[n])
				n++;
			put_padded(o, s, n, sp);
		}
		break;
	case 'c': {
		char ch = (char)va_arg(*ap, int);
		put_padded(o, &ch, 1, sp);
		break;
	}
	case 'd':
	case 'i': {
		int64_t v = arg_signed(ap, sp->len);
		put_num(o, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, 10, v < 0, 0, sp);
		break;
	}
	case 'u':
	case 'o':
	case 'x':
	case 'X':
		put_num(o, arg_unsigned(ap, sp->len), c == 'u' ? 10 : c == 'o' ? 8 : 16, 0, c == 'X', sp);
		break;
	case 'p':
		put(o, '0');
		put(o, 'x');
		put_num(o, (uint64_t)(uintptr_t)va_arg(*ap, void *), 16, 0, 0, sp);
		break;
	case '%':
		put(o, '%');
		break;
	default:
		put(o, '%');
		put(o, c);
		break;
	}
}

size_t vhdx_vfmt(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	va_list aq;

	va_copy(aq, ap);
	for (; *fmt; fmt++) {
		struct spec sp;
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt = parse_spec(fmt + 1, &sp);
		if (!*fmt) {
			fmt--;
			continue;
		}
		convert(&o, *fmt, &sp, &aq);
	}
	va_end(aq);
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return o.len;
}

size_t vhdx_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = vhdx_vfmt(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
