/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_fmt.c - core/fmt.c, the project's one formatter: every conversion with C's meanings, widths and flags, CHAR16
 * strings, truncation, the returned length.  The cases go through fmt_any, which has no format attribute, so that
 * malformed formats ("end%", "%q") can be tested too; the callers of the project are checked by the compiler.
 */
#include <limits.h>

#include "imgbuild.h"
#include "t.h"

static char out[256];

static size_t fmt_any(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	size_t n = vhdx_vfmt(buf, size, f, ap);
	va_end(ap);
	return n;
}

#define F(want, ...)                                                                                             \
	do {                                                                                                     \
		memset(out, 'Z', sizeof out);                                                                     \
		size_t n_ = fmt_any(out, sizeof out, __VA_ARGS__);                                               \
		CHECK_STR_EQ(out, want, "fmt: %s", #__VA_ARGS__);                                                 \
		CHECK_EQ_U64(n_, strlen(want), "fmt: %s returns the length", #__VA_ARGS__);                        \
	} while (0)

static void conversions(void)
{
	struct vhdx_guid g = VHDX_GUID_METADATA;
	char gt[VHDX_GUID_TEXT];
	static const uint16_t w[] = { 'E', 'F', 'I', 0x00e9, '\\', 0 };
	typedef unsigned long long ull;

	vhdx_guid_format(&g, gt);
	F("plain text", "plain text");
	F("", "%s", "");
	F("a string b", "a %s b", "string");
	F("(null)", "%s", (const char *)NULL);
	F("0 7 4294967295", "%u %u %u", 0u, 7u, 4294967295u);
	F("0 -1 42 -2147483648 2147483647", "%d %d %d %d %d", 0, -1, 42, INT_MIN, INT_MAX);
	F("0 ff deadbeef DEADBEEF", "%x %x %x %X", 0u, 255u, 0xDEADBEEFu, 0xDEADBEEFu);
	/* octal takes its argument: a following %s reads the string, not the number */
	F("0 10 644 x", "%o %o %o %s", 0u, 8u, 0644u, "x");
	F("1777777777777777777777 0755", "%llo %04o", (ull)UINT64_MAX, 0755u);
	F("18446744073709551615 0", "%llu %llu", (ull)UINT64_MAX, (ull)0);
	F("ffffffffffffffff 100000000", "%llx %llx", (ull)UINT64_MAX, (ull)1 << 32);
	F("id 8B7CA206-4790-4B9A-B8FE-575F050F886E.", "id %s.", gt);
	F("100% sure %", "100%% sure %%");
	F("mixed x 5 -3 10 12345678901 abc 8B7CA206-4790-4B9A-B8FE-575F050F886E %",
	  "mixed %s %u %d %x %llu %llx %s %%", "x", 5u, -3, 16u, (ull)12345678901ULL, (ull)0xABC, gt);
	/* a conversion at the very end, unknown conversions */
	F("end", "end%");
	F("%q", "%q");
	/* 64-bit values are not truncated to 32 bits, and the argument list stays in step after them */
	F("4294967296 7", "%llu %u", (ull)4294967296ULL, 7u);
	F("123456789abcdef0 x", "%llx %s", (ull)0x123456789ABCDEF0ULL, "x");
	/* what the boot module's console needs: widths, zero padding, left alignment, %c, l and z, CHAR16 strings */
	F("[   42][00042][42   ]", "[%5u][%05u][%-5u]", 42u, 42u, 42u);
	F("[-0042][  -42][-42  ]", "[%05d][%5d][%-5d]", -42, -42, -42);
	F("[0000beef][ab  ][c]", "[%08x][%-4s][%c]", 0xBEEFu, "ab", 'c');
	F("12 34 ff -5 7", "%lu %zu %lx %ld %i", 12UL, (size_t)34, 255UL, -5L, 7);
	F("EFI?\\ (null)", "%ls %ls", w, (const uint16_t *)NULL);
	F("[  EFI?\\][EFI?\\  ]", "[%7ls][%-7ls]", w, w);
	F("0x10", "%p", (void *)(uintptr_t)16);
	F("-9223372036854775808", "%lld", (long long)INT64_MIN);
}

static void truncation(void)
{
	char b[16];
	size_t n;

	memset(b, 'Z', sizeof b);
	n = vhdx_fmt(b, 5, "abcdefgh");
	CHECK_STR_EQ(b, "abcd", "fmt truncation: size 5 keeps 4 characters and a NUL");
	CHECK_EQ_U64(n, 8, "fmt truncation: returns the untruncated length");
	CHECK(b[5] == 'Z', "fmt truncation: writes nothing past size");

	memset(b, 'Z', sizeof b);
	n = vhdx_fmt(b, 1, "abc");
	CHECK(b[0] == 0 && b[1] == 'Z', "fmt truncation: size 1 gives an empty string");
	CHECK_EQ_U64(n, 3, "fmt truncation: size 1 returns the full length");

	memset(b, 'Z', sizeof b);
	n = vhdx_fmt(b, 0, "abc");
	CHECK(b[0] == 'Z', "fmt truncation: size 0 writes nothing");
	CHECK_EQ_U64(n, 3, "fmt truncation: size 0 returns the full length");
	n = vhdx_fmt(NULL, 0, "%s %llu", "abc", 12ULL);
	CHECK_EQ_U64(n, 6, "fmt truncation: NULL buffer of size 0 measures only");

	/* truncation in the middle of each kind of conversion */
	struct vhdx_guid g = VHDX_GUID_BAT;
	int ok = 1;
	char why[VHDX_MSG_LEN + 128] = "";
	static const char *const fmts[] = { "%s", "%u", "%d", "%x", "%llu", "%llx", "%ls" };
	static const uint16_t w16[] = { 'c', 'h', 'a', 'r', '1', '6', 0 };
	(void)g;
	for (size_t k = 0; k < sizeof fmts / sizeof fmts[0]; k++) {
		char full[64], part[64];
		size_t len;
		switch (k) {
		case 0: len = fmt_any(full, sizeof full, fmts[k], "abcdefghij"); break;
		case 1: len = fmt_any(full, sizeof full, fmts[k], 3000000000u); break;
		case 2: len = fmt_any(full, sizeof full, fmts[k], -123456789); break;
		case 3: len = fmt_any(full, sizeof full, fmts[k], 0xFEDCBA98u); break;
		case 4: len = fmt_any(full, sizeof full, fmts[k], 98765432101234ULL); break;
		case 5: len = fmt_any(full, sizeof full, fmts[k], 0xFEDCBA9876543210ULL); break;
		default: len = fmt_any(full, sizeof full, fmts[k], w16); break;
		}
		for (size_t size = 1; size <= len + 1; size++) {
			memset(part, 'Z', sizeof part);
			size_t n2;
			switch (k) {
			case 0: n2 = fmt_any(part, size, fmts[k], "abcdefghij"); break;
			case 1: n2 = fmt_any(part, size, fmts[k], 3000000000u); break;
			case 2: n2 = fmt_any(part, size, fmts[k], -123456789); break;
			case 3: n2 = fmt_any(part, size, fmts[k], 0xFEDCBA98u); break;
			case 4: n2 = fmt_any(part, size, fmts[k], 98765432101234ULL); break;
			case 5: n2 = fmt_any(part, size, fmts[k], 0xFEDCBA9876543210ULL); break;
			default: n2 = fmt_any(part, size, fmts[k], w16); break;
			}
			if (n2 != len || strlen(part) != size - 1 || strncmp(part, full, size - 1) || part[size] != 'Z') {
				if (ok)
					snprintf(why, sizeof why, "%s at size %zu: \"%.40s\"", fmts[k], size, part);
				ok = 0;
			}
		}
	}
	t_report(ok, why,
		 "fmt truncation: every size inside %%s %%u %%d %%x %%llu %%llx %%ls gives a NUL-terminated prefix");
}

/* vhdx_fail / vhdx_warn use the formatter into img->msg and img->warning */
static void fail_and_warn(void)
{
	static struct vhdx_image img;
	char longs[400];

	memset(&img, 0, sizeof img);
	CHECK_STATUS(vhdx_fail(&img, VHDX_E_CORRUPT, "thing %u: field 0x%llx", 3u, 0x20ULL), VHDX_E_CORRUPT,
		     "vhdx_fail: returns the status it was given");
	CHECK_STR_EQ(img.msg, "thing 3: field 0x20", "vhdx_fail: formats into img->msg");
	memset(longs, 'x', sizeof longs - 1);
	longs[sizeof longs - 1] = 0;
	vhdx_fail(&img, VHDX_E_IO, "%s", longs);
	CHECK_EQ_U64(strlen(img.msg), VHDX_MSG_LEN - 1, "vhdx_fail: a long message is cut to VHDX_MSG_LEN - 1 and terminated");

	for (unsigned i = 0; i < VHDX_MAX_WARNINGS + 3; i++)
		vhdx_warn(&img, "warning number %u", i);
	CHECK_EQ_U64(img.warnings, VHDX_MAX_WARNINGS, "vhdx_warn: keeps at most VHDX_MAX_WARNINGS");
	CHECK_STR_EQ(img.warning[0], "warning number 0", "vhdx_warn: the first warning is kept");
	CHECK_STR_EQ(img.warning[VHDX_MAX_WARNINGS - 1], "warning number 7", "vhdx_warn: later ones are dropped, not overwritten");
	vhdx_warn(&img, "%s", longs);
	CHECK_EQ_U64(img.warnings, VHDX_MAX_WARNINGS, "vhdx_warn: a full list stays full");
}

int main(void)
{
	conversions();
	truncation();
	fail_and_warn();
	return t_done();
}
