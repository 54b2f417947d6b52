/*
 * console.c - short readable lines on the firmware console (which OVMF mirrors to the serial port).
 *
 * A small formatter of our own (ASCII format strings, CHAR16 arguments through %ls), and the names of EFI
 * statuses, so that messages read "EFI_SECURITY_VIOLATION" rather than a number.
 */
#include "boot.h"

struct out {
	char *buf;
	size_t size, n;
};

static void put(struct out *o, char c)
{
	if (o->n + 1 < o->size)
		o->buf[o->n] = c;
	o->n++;
}

static void put_num(struct out *o, uint64_t v, unsigned base, int neg, unsigned width, char pad)
{
	char tmp[24];
	unsigned n = 0;
	do {
		unsigned d = (unsigned)(v % base);
		tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	while (width > n) {
		put(o, pad);
		width--;
	}
	while (n)
		put(o, tmp[--n]);
}

size_t fmt_v(char *buf, size_t size, const char *f, va_list ap)
{
	struct out o = { buf, size, 0 };
	for (; *f; f++) {
		if (*f != '%') {
			put(&o, *f);
			continue;
		}
		f++;
		char pad = ' ';
		unsigned width = 0;
		if (*f == '0') {
			pad = '0';
			f++;
		}
		while (*f >= '0' && *f <= '9')
			width = width * 10 + (unsigned)(*f++ - '0');
		int lng = 0;
		while (*f == 'l') {
			lng++;
			f++;
		}
		switch (*f) {
		case 's':
			if (lng) {
				const CHAR16 *s = va_arg(ap, const CHAR16 *);
				if (!s)
					s = L"(null)";
				for (; *s; s++)
					put(&o, *s < 0x80 ? (char)*s : '?');
			} else {
				const char *s = va_arg(ap, const char *);
				if (!s)
					s = "(null)";
				while (*s)
					put(&o, *s++);
			}
			break;
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case 'd': {
			int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			put_num(&o, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, 10, v < 0, width, pad);
			break;
		}
		case 'u':
		case 'x': {
			uint64_t v = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
			put_num(&o, v, *f == 'u' ? 10 : 16, 0, width, pad);
			break;
		}
		case 'r': {
			const char *s = efi_status_name(va_arg(ap, EFI_STATUS));
			while (*s)
				put(&o, *s++);
			break;
		}
		case '%':
			put(&o, '%');
			break;
		case 0:
			f--;
			break;
		default:
			put(&o, '%');
			put(&o, *f);
			break;
		}
	}
	if (size)
		buf[o.n < size ? o.n : size - 1] = 0;
	return o.n;
}

size_t fmt(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	size_t n = fmt_v(buf, size, f, ap);
	va_end(ap);
	return n;
}

static void con_write(const char *s)
{
	CHAR16 w[130];
	UINTN n = 0;
	if (!g_st || !g_st->ConOut)
		return;
	for (; *s; s++) {
		if (n + 3 > sizeof w / sizeof w[0]) {
			w[n] = 0;
			g_st->ConOut->OutputString(g_st->ConOut, w);
			n = 0;
		}
		if (*s == '\n')
			w[n++] = L'\r';
		w[n++] = (unsigned char)*s < 0x80 ? (CHAR16)*s : L'?';
	}
	w[n] = 0;
	if (n)
		g_st->ConOut->OutputString(g_st->ConOut, w);
}

void con_print(const char *f, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, f);
	fmt_v(buf, sizeof buf, f, ap);
	va_end(ap);
	con_write(buf);
}

void con_say(const char *f, ...)
{
	char buf[512];
	size_t n = fmt(buf, sizeof buf, "%s: ", VHDXBOOT_NAME);
	va_list ap;
	va_start(ap, f);
	fmt_v(buf + n, sizeof buf - n - 1, f, ap);
	va_end(ap);
	con_write(buf);
	con_write("\n");
}

const char *efi_status_name(EFI_STATUS st)
{
	static const struct {
		EFI_STATUS st;
		const char *name;
	} names[] = {
		{ EFI_SUCCESS, "EFI_SUCCESS" },
		{ EFI_LOAD_ERROR, "EFI_LOAD_ERROR" },
		{ EFI_INVALID_PARAMETER, "EFI_INVALID_PARAMETER" },
		{ EFI_UNSUPPORTED, "EFI_UNSUPPORTED" },
		{ EFI_BAD_BUFFER_SIZE, "EFI_BAD_BUFFER_SIZE" },
		{ EFI_BUFFER_TOO_SMALL, "EFI_BUFFER_TOO_SMALL" },
		{ EFI_NOT_READY, "EFI_NOT_READY" },
		{ EFI_DEVICE_ERROR, "EFI_DEVICE_ERROR" },
		{ EFI_WRITE_PROTECTED, "EFI_WRITE_PROTECTED" },
		{ EFI_OUT_OF_RESOURCES, "EFI_OUT_OF_RESOURCES" },
		{ EFI_VOLUME_CORRUPTED, "EFI_VOLUME_CORRUPTED" },
		{ EFI_VOLUME_FULL, "EFI_VOLUME_FULL" },
		{ EFI_NO_MEDIA, "EFI_NO_MEDIA" },
		{ EFI_MEDIA_CHANGED, "EFI_MEDIA_CHANGED" },
		{ EFI_NOT_FOUND, "EFI_NOT_FOUND" },
		{ EFI_ACCESS_DENIED, "EFI_ACCESS_DENIED" },
		{ EFI_NO_RESPONSE, "EFI_NO_RESPONSE" },
		{ EFI_NO_MAPPING, "EFI_NO_MAPPING" },
		{ EFI_TIMEOUT, "EFI_TIMEOUT" },
		{ EFI_NOT_STARTED, "EFI_NOT_STARTED" },
		{ EFI_ALREADY_STARTED, "EFI_ALREADY_STARTED" },
		{ EFI_ABORTED, "EFI_ABORTED" },
		{ EFI_ICMP_ERROR, "EFI_ICMP_ERROR" },
		{ EFI_TFTP_ERROR, "EFI_TFTP_ERROR" },
		{ EFI_PROTOCOL_ERROR, "EFI_PROTOCOL_ERROR" },
		{ EFI_INCOMPATIBLE_VERSION, "EFI_INCOMPATIBLE_VERSION" },
		{ EFI_SECURITY_VIOLATION, "EFI_SECURITY_VIOLATION" },
		{ EFI_CRC_ERROR, "EFI_CRC_ERROR" },
		{ EFI_END_OF_MEDIA, "EFI_END_OF_MEDIA" },
		{ EFI_END_OF_FILE, "EFI_END_OF_FILE" },
		{ EFI_INVALID_LANGUAGE, "EFI_INVALID_LANGUAGE" },
		{ EFI_COMPROMISED_DATA, "EFI_COMPROMISED_DATA" },
	};
	static char other[40];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].st == st)
			return names[i].name;
	fmt(other, sizeof other, "%s 0x%llx", EFI_ERROR(st) ? "error" : "warning", (uint64_t)st);
	return other;
}
