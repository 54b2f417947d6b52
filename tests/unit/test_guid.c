/* SPDX-License-Identifier: BSD-2-Clause */
/* test_guid.c - core/guid.c: MS byte layout, equality, zero test, text form, v4 from random bytes. */
#include "imgbuild.h"
#include "t.h"

static const uint8_t bat_bytes[16] = { 0x66, 0x77, 0xC2, 0x2D, 0x23, 0xF6, 0x00, 0x42,
				       0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08 };

static void layout(void)
{
	struct vhdx_guid g, want = VHDX_GUID_BAT;
	uint8_t out[18];

	vhdx_guid_load(&g, bat_bytes);
	CHECK_EQ_HEX(g.data1, 0x2DC27766u, "guid load: data1 is the little-endian u32 at 0");
	CHECK_EQ_HEX(g.data2, 0xF623u, "guid load: data2 is the little-endian u16 at 4");
	CHECK_EQ_HEX(g.data3, 0x4200u, "guid load: data3 is the little-endian u16 at 6");
	CHECK_MEM_EQ(g.data4, bat_bytes + 8, 8, "guid load: data4 is the 8 raw bytes at 8");
	CHECK(vhdx_guid_equal(&g, &want), "guid load: the BAT region GUID bytes load as VHDX_GUID_BAT");

	memset(out, 0xEE, sizeof out);
	vhdx_guid_store(out + 1, &g);
	CHECK_MEM_EQ(out + 1, bat_bytes, 16, "guid store: writes the MS layout back byte for byte");
	CHECK(out[0] == 0xEE && out[17] == 0xEE, "guid store: writes exactly 16 bytes (at an odd address)");

	/* round trip of arbitrary bytes at odd alignment */
	uint8_t raw[17], back[17];
	int ok = 1;
	for (int r = 0; r < 64; r++) {
		for (int i = 0; i < 17; i++)
			raw[i] = (uint8_t)(r * 37 + i * 11 + 3);
		vhdx_guid_load(&g, raw + 1);
		vhdx_guid_store(back + 1, &g);
		if (memcmp(back + 1, raw + 1, 16))
			ok = 0;
	}
	CHECK(ok, "guid: load then store gives back the same 16 bytes (64 patterns, unaligned)");
}

static void compare(void)
{
	struct vhdx_guid a = VHDX_GUID_BAT, b = VHDX_GUID_BAT, z = { 0, 0, 0, { 0 } };

	CHECK(vhdx_guid_equal(&a, &b), "guid equal: identical GUIDs are equal");
	CHECK(vhdx_guid_is_zero(&z), "guid is_zero: the all-zero GUID");
	CHECK(!vhdx_guid_is_zero(&a), "guid is_zero: a non-zero GUID is not zero");
	b.data1 ^= 1;
	CHECK(!vhdx_guid_equal(&a, &b), "guid equal: data1 differs");
	b = a;
	b.data2 ^= 0x100;
	CHECK(!vhdx_guid_equal(&a, &b), "guid equal: data2 differs");
	b = a;
	b.data3 ^= 0x8000;
	CHECK(!vhdx_guid_equal(&a, &b), "guid equal: data3 differs");
	for (int i = 0; i < 8; i++) {
		b = a;
		b.data4[i] ^= 0x40;
		CHECK(!vhdx_guid_equal(&a, &b), "guid equal: data4[%d] differs", i);
	}
	for (int i = 0; i < 8; i++) {
		z = (struct vhdx_guid){ 0, 0, 0, { 0 } };
		z.data4[i] = 1;
		CHECK(!vhdx_guid_is_zero(&z), "guid is_zero: only data4[%d] set is not zero", i);
	}
	z = (struct vhdx_guid){ 0, 0, 1, { 0 } };
	CHECK(!vhdx_guid_is_zero(&z), "guid is_zero: only data3 set is not zero");
}

static void format(void)
{
	struct vhdx_guid g = VHDX_GUID_BAT, m = VHDX_GUID_METADATA, z = { 0, 0, 0, { 0 } }, f;
	char text[VHDX_GUID_TEXT + 4];

	memset(text, 'Z', sizeof text);
	vhdx_guid_format(&g, text);
	CHECK_STR_EQ(text, "2DC27766-F623-4200-9D64-115E9BFD4A08", "guid format: BAT GUID, upper case, MS order");
	CHECK(text[37] == 'Z', "guid format: writes exactly 37 bytes (36 characters and a NUL)");
	vhdx_guid_format(&m, text);
	CHECK_STR_EQ(text, "8B7CA206-4790-4B9A-B8FE-575F050F886E", "guid format: metadata GUID");
	vhdx_guid_format(&z, text);
	CHECK_STR_EQ(text, "00000000-0000-0000-0000-000000000000", "guid format: zero GUID keeps leading zeros");
	memset(&f, 0xFF, sizeof f);
	vhdx_guid_format(&f, text);
	CHECK_STR_EQ(text, "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "guid format: all ones");
	f = (struct vhdx_guid){ 0x0000000A, 0x000B, 0x00C0, { 0x0D, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0xE0 } };
	vhdx_guid_format(&f, text);
	CHECK_STR_EQ(text, "0000000A-000B-00C0-0D00-0102030405E0", "guid format: every field zero-padded");
	CHECK_EQ_INT(VHDX_GUID_TEXT, 37, "guid format: VHDX_GUID_TEXT is 37");
}

static void from_random(void)
{
	uint8_t r[16];
	struct vhdx_guid g;
	int ok_ver = 1, ok_rest = 1;
	char why[VHDX_MSG_LEN + 128] = "";

	for (int round = 0; round < 256; round++) {
		for (int i = 0; i < 16; i++)
			r[i] = (uint8_t)(round * 29 + i * 53 + (round >> 3));
		r[6] = (uint8_t)round; /* every value in the version and variant bytes */
		r[7] = (uint8_t)(255 - round);
		r[8] = (uint8_t)(round * 7);
		vhdx_guid_from_random(&g, r);
		if ((g.data3 >> 12) != 4 || (g.data4[0] & 0xC0) != 0x80)
			ok_ver = 0;
		/* every other bit comes from the random bytes, in the MS layout */
		uint32_t d1 = (uint32_t)r[0] | (uint32_t)r[1] << 8 | (uint32_t)r[2] << 16 | (uint32_t)r[3] << 24;
		uint16_t d2 = (uint16_t)(r[4] | r[5] << 8), d3 = (uint16_t)(r[6] | r[7] << 8);
		if (g.data1 != d1 || g.data2 != d2 || (g.data3 & 0x0FFF) != (d3 & 0x0FFF) ||
		    (g.data4[0] & 0x3F) != (r[8] & 0x3F) || memcmp(g.data4 + 1, r + 9, 7)) {
			if (ok_rest)
				snprintf(why, sizeof why, "round %d: data1 %08x data2 %04x data3 %04x", round, g.data1,
					 g.data2, g.data3);
			ok_rest = 0;
		}
	}
	CHECK(ok_ver, "guid from_random: data3>>12 == 4 and (data4[0]&0xC0) == 0x80 for 256 inputs");
	t_report(ok_rest, why, "guid from_random: the other 122 bits come from the random bytes in MS layout");

	memset(r, 0, sizeof r);
	vhdx_guid_from_random(&g, r);
	char text[VHDX_GUID_TEXT];
	vhdx_guid_format(&g, text);
	CHECK_STR_EQ(text, "00000000-0000-4000-8000-000000000000", "guid from_random: all-zero bytes give ...-4000-8000-...");
	memset(r, 0xFF, sizeof r);
	vhdx_guid_from_random(&g, r);
	vhdx_guid_format(&g, text);
	CHECK_STR_EQ(text, "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF", "guid from_random: all-ones bytes give ...-4FFF-BFFF-...");
	/* the text form shows the version and variant where RFC 4122 puts them */
	for (int i = 0; i < 16; i++)
		r[i] = (uint8_t)(i * 17);
	vhdx_guid_from_random(&g, r);
	vhdx_guid_format(&g, text);
	CHECK(text[14] == '4' && strchr("89AB", text[19]) != NULL, "guid from_random: text %s has version 4 and variant 10",
	      text);
	/* stored to disk and loaded back, still v4 */
	uint8_t disk[16];
	struct vhdx_guid back;
	vhdx_guid_store(disk, &g);
	vhdx_guid_load(&back, disk);
	CHECK(vhdx_guid_equal(&g, &back) && (disk[7] >> 4) == 4 && (disk[8] & 0xC0) == 0x80,
	      "guid from_random: on disk the version nibble is the top of byte 7, the variant the top of byte 8");
}

int main(void)
{
	layout();
	compare();
	format();
	from_random();
	return t_done();
}
