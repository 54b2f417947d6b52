/* SPDX-License-Identifier: BSD-2-Clause */
/* guid.c - GUIDs in the Microsoft on-disk layout (three little-endian integers, then eight raw bytes). */
#include "internal.h"

void vhdx_guid_load(struct vhdx_guid *g, const void *p)
{
	const uint8_t *b = p;

	g->data1 = vhdx_le32(b);
	g->data2 = vhdx_le16(b + 4);
	g->data3 = vhdx_le16(b + 6);
	memcpy(g->data4, b + 8, 8);
}

void vhdx_guid_store(void *p, const struct vhdx_guid *g)
{
	uint8_t *b = p;

	vhdx_put32(b, g->data1);
	vhdx_put16(b + 4, g->data2);
	vhdx_put16(b + 6, g->data3);
	memcpy(b + 8, g->data4, 8);
}

int vhdx_guid_equal(const struct vhdx_guid *a, const struct vhdx_guid *b)
{
	return a->data1 == b->data1 && a->data2 == b->data2 && a->data3 == b->data3 &&
	       memcmp(a->data4, b->data4, 8) == 0;
}

int vhdx_guid_is_zero(const struct vhdx_guid *g)
{
	static const struct vhdx_guid zero;
	return vhdx_guid_equal(g, &zero);
}

/*
 * The version nibble is the top of data3 and the variant the top bits of data4[0] *as the integers read*, so a
 * GUID that prints as xxxxxxxx-xxxx-4xxx-[89ab]xxx-... is v4 whatever the byte order of its first fields.
 */
void vhdx_guid_from_random(struct vhdx_guid *g, const uint8_t random[16])
{
	vhdx_guid_load(g, random);
	g->data3 = (uint16_t)((g->data3 & 0x0FFF) | 0x4000);
	g->data4[0] = (uint8_t)((g->data4[0] & 0x3F) | 0x80);
}

static char hexdigit(unsigned v)
{
	return "0123456789ABCDEF"[v & 15];
}

static char *put_hex(char *o, uint64_t v, int digits)
{
	for (int i = digits - 1; i >= 0; i--)
		*o++ = hexdigit((unsigned)(v >> (4 * i)));
	return o;
}

void vhdx_guid_format(const struct vhdx_guid *g, char out[VHDX_GUID_TEXT])
{
	char *o = out;

	o = put_hex(o, g->data1, 8);
	*o++ = '-';
	o = put_hex(o, g->data2, 4);
	*o++ = '-';
	o = put_hex(o, g->data3, 4);
	*o++ = '-';
	o = put_hex(o, g->data4[0], 2);
	o = put_hex(o, g->data4[1], 2);
	*o++ = '-';
	for (int i = 2; i < 8; i++)
		o = put_hex(o, g->data4[i], 2);
	*o = 0;
}

const char *vhdx_guid_str(const struct vhdx_guid *g, char *text)
{
	vhdx_guid_format(g, text);
	return text;
}
