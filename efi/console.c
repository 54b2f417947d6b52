/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * console.c - short readable lines on the firmware console (which OVMF mirrors to the serial port).
 *
 * Formatting is the core's (vhdx_vfmt: ASCII format strings, CHAR16 arguments through %ls); the names of EFI
 * statuses (efi_status_name, for a %s) make messages read "EFI_SECURITY_VIOLATION" rather than a number.
 */
#include "boot.h"

/* The core's formatter (core/fmt.c) is the only one: the console adds the "vhdxboot: " prefix and CHAR16 output. */
size_t fmt_v(char *buf, size_t size, const char *f, va_list ap)
{
	return vhdx_vfmt(buf, size, f, ap);
}

size_t fmt(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	size_t n = vhdx_vfmt(buf, size, f, ap);
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
	fmt(other, sizeof other, "%s 0x%llx", EFI_ERROR(st) ? "error" : "warning", (unsigned long long)st);
	return other;
}
