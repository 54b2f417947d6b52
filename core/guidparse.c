/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * guidparse.c - GUID text back into a struct vhdx_guid: the inverse of vhdx_guid_format, for pinned values that an
 * owner copies from `vhdx seal` or `vhdx info` into a policy.  Strict: the 8-4-4-4-12 shape, optional braces, hex
 * in either case, nothing else, so a typo is a refusal rather than a different pin.
 */
#include "internal.h"

#define GUID_TEXT_CHARS 36

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* n hex digits from text into *v; -1 if any is not a hex digit */
static int take_hex(const char *text, int n, uint64_t *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		int d = hex_value(text[i]);
		if (d < 0)
			return -1;
		*v = (*v << 4) | (uint64_t)d;
	}
	return 0;
}

int vhdx_guid_parse(const char *text, size_t len, struct vhdx_guid *g)
{
	if (len == GUID_TEXT_CHARS + 2 && text[0] == '{' && text[len - 1] == '}') {
		text++;
		len -= 2;
	}
	if (len != GUID_TEXT_CHARS || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-')
		return -1;
	uint64_t v;
	if (take_hex(text, 8, &v))
		return -1;
	g->data1 = (uint32_t)v;
	if (take_hex(text + 9, 4, &v))
		return -1;
	g->data2 = (uint16_t)v;
	if (take_hex(text + 14, 4, &v))
		return -1;
	g->data3 = (uint16_t)v;
	for (int i = 0; i < 8; i++) {
		const char *p = i < 2 ? text + 19 + 2 * i : text + 24 + 2 * (i - 2);
		if (take_hex(p, 2, &v))
			return -1;
		g->data4[i] = (uint8_t)v;
	}
	return 0;
}
