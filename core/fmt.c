/* fmt.c - the message formatter.  Firmware has no snprintf, and every refusal carries numbers and GUIDs. */
#include "internal.h"

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_str(struct out *o, const char *s)
{
	if (!s)
		s = "(null)";
	while (*s)
		put(o, *s++);
}

static void put_num(struct out *o, uint64_t v, unsigned base, int neg)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		put(o, '-');
	if (base == 16)
		put_str(o, "0x");
	while (n)
		put(o, tmp[--n]);
}

size_t vhdx_vfmt(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		if (fmt[0] == 'l' && fmt[1] == 'l' && (fmt[2] == 'u' || fmt[2] == 'x')) {
			fmt += 2;
			put_num(&o, va_arg(ap, uint64_t), *fmt == 'x' ? 16 : 10, 0);
			continue;
		}
		switch (*fmt) {
		case 's':
			put_str(&o, va_arg(ap, const char *));
			break;
		case 'u':
			put_num(&o, va_arg(ap, unsigned int), 10, 0);
			break;
		case 'x':
			put_num(&o, va_arg(ap, unsigned int), 16, 0);
			break;
		case 'd': {
			int v = va_arg(ap, int);
			put_num(&o, v < 0 ? 0 - (uint64_t)(int64_t)v : (uint64_t)v, 10, v < 0);
			break;
		}
		case 'G': {
			char text[VHDX_GUID_TEXT];
			vhdx_guid_format(va_arg(ap, const struct vhdx_guid *), text);
			put_str(&o, text);
			break;
		}
		case '%':
			put(&o, '%');
			break;
		case 0:
			fmt--;
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
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
