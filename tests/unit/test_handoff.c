/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_handoff.c - core/handoff.c: the handoff variable's version-1 bytes.  Every field and flag survives
 * encode -> decode, every field lands at the offset the boot tests and older readers expect, and each kind of bad
 * input is refused with a message naming the field and its value.
 */
#include "handoff.h"
#include "t.h"

static const uint16_t sample_path[] = { '\\', 'i', 'm', 'g', '\\', 'r', 'o', 'o', 't', '.', 'v', 'h', 'd', 'x', 0 };

static void fill(struct vhdx_handoff *h, uint32_t flags)
{
	static const uint8_t a[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	memset(h, 0, sizeof *h);
	h->flags = flags;
	vhdx_guid_load(&h->disk_id, a);
	h->data_write_guid = h->disk_id;
	h->data_write_guid.data1 ^= 0x11111111u;
	h->file_write_guid = h->disk_id;
	h->file_write_guid.data2 ^= 0x2222u;
	h->partition_guid = h->disk_id;
	h->partition_guid.data4[7] ^= 0x33u;
	h->offset = 0x0102030405060708ull;
	h->virtual_size = 0x1122334455667788ull;
	h->sequence = 0x8877665544332211ull;
	h->partition_number = 0xA1B2C3D4u;
	h->logical_sector_size = 4096;
	h->device_size = 0xF0E0D0C0B0A09080ull;
	memcpy(h->path, sample_path, sizeof sample_path);
}

static int same(const struct vhdx_handoff *a, const struct vhdx_handoff *b)
{
	int ok = a->flags == b->flags && vhdx_guid_equal(&a->disk_id, &b->disk_id) &&
		 vhdx_guid_equal(&a->data_write_guid, &b->data_write_guid) &&
		 vhdx_guid_equal(&a->file_write_guid, &b->file_write_guid) &&
		 vhdx_guid_equal(&a->partition_guid, &b->partition_guid) && a->offset == b->offset &&
		 a->virtual_size == b->virtual_size && a->sequence == b->sequence &&
		 a->partition_number == b->partition_number && a->logical_sector_size == b->logical_sector_size &&
		 a->device_size == b->device_size;
	if (ok && (a->flags & VHDX_HANDOFF_FILE))
		ok = !memcmp(a->path, b->path, sizeof sample_path);
	return ok;
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void round_trips(void)
{
	static const struct { uint32_t flag; const char *name; } flags[] = {
		{ 0, "no flag" },
		{ VHDX_HANDOFF_OS_WRITE, "OS_WRITE" },
		{ VHDX_HANDOFF_PARTITION, "PARTITION" },
		{ VHDX_HANDOFF_FILE, "FILE" },
		{ VHDX_HANDOFF_UPDATED, "UPDATED" },
		{ VHDX_HANDOFF_OS_WRITE | VHDX_HANDOFF_PARTITION | VHDX_HANDOFF_FILE | VHDX_HANDOFF_UPDATED, "all flags" },
		{ 1u << 31, "a bit this reader does not know (kept, not refused)" },
	};
	struct vhdx_handoff in, out;
	uint8_t buf[VHDX_HANDOFF_MAX];
	char msg[VHDX_MSG_LEN];

	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		size_t len = 0;
		fill(&in, flags[i].flag);
		CHECK_STATUS(vhdx_handoff_encode(&in, buf, sizeof buf, &len), VHDX_OK, "encode: %s", flags[i].name);
		size_t want = VHDX_HANDOFF_FIXED_SIZE + ((flags[i].flag & VHDX_HANDOFF_FILE) ? sizeof sample_path : 0);
		CHECK_EQ_U64(len, want, "encode: %s: length (path and its NUL only with FILE)", flags[i].name);
		CHECK_STATUS(vhdx_handoff_decode(buf, len, &out, msg), VHDX_OK, "decode: %s", flags[i].name);
		CHECK(same(&in, &out), "round trip: %s: every field comes back", flags[i].name);
		if (!(flags[i].flag & VHDX_HANDOFF_FILE))
			CHECK(out.path[0] == 0, "decode: %s: no path without FILE", flags[i].name);
	}
}

/* The byte layout the boot tests and the version-1 readers depend on, field by field. */
static void layout(void)
{
	struct vhdx_handoff in;
	uint8_t buf[VHDX_HANDOFF_MAX], g[16];
	size_t len = 0;

	fill(&in, VHDX_HANDOFF_FILE | VHDX_HANDOFF_UPDATED);
	vhdx_handoff_encode(&in, buf, sizeof buf, &len);
	CHECK_EQ_U64(le(buf + 0, 2), 1, "layout: version 1 at 0");
	CHECK_EQ_U64(le(buf + 2, 2), 112, "layout: fixed-part size 112 at 2");
	CHECK_EQ_HEX(le(buf + 4, 4), VHDX_HANDOFF_FILE | VHDX_HANDOFF_UPDATED, "layout: flags at 4");
	CHECK_EQ_HEX(VHDX_HANDOFF_OS_WRITE | VHDX_HANDOFF_PARTITION << 4 | VHDX_HANDOFF_FILE << 8 |
		     VHDX_HANDOFF_UPDATED << 12, 0x8421, "layout: flag bits 0 (OS_WRITE), 1 (PARTITION), 2 (FILE), 3");
	vhdx_guid_store(g, &in.disk_id);
	CHECK_MEM_EQ(buf + 8, g, 16, "layout: VirtualDiskId at 8, MS layout");
	vhdx_guid_store(g, &in.data_write_guid);
	CHECK_MEM_EQ(buf + 24, g, 16, "layout: DataWriteGuid at 24");
	vhdx_guid_store(g, &in.file_write_guid);
	CHECK_MEM_EQ(buf + 40, g, 16, "layout: FileWriteGuid at 40");
	vhdx_guid_store(g, &in.partition_guid);
	CHECK_MEM_EQ(buf + 56, g, 16, "layout: partition GUID at 56");
	CHECK_EQ_HEX(le(buf + 72, 8), in.offset, "layout: offset at 72");
	CHECK_EQ_HEX(le(buf + 80, 8), in.virtual_size, "layout: virtual size at 80");
	CHECK_EQ_HEX(le(buf + 88, 8), in.sequence, "layout: sequence at 88");
	CHECK_EQ_HEX(le(buf + 96, 4), in.partition_number, "layout: partition number at 96");
	CHECK_EQ_HEX(le(buf + 100, 4), 4096, "layout: logical sector size at 100");
	CHECK_EQ_HEX(le(buf + 104, 8), in.device_size, "layout: device size at 104");
	CHECK(le(buf + 112, 2) == '\\' && le(buf + 114, 2) == 'i' && le(buf + len - 2, 2) == 0,
	      "layout: the path follows at 112, UTF-16LE, NUL last");
}

static void encode_refusals(void)
{
	struct vhdx_handoff in;
	uint8_t buf[VHDX_HANDOFF_MAX];
	size_t len = 0;

	fill(&in, VHDX_HANDOFF_FILE);
	CHECK_STATUS(vhdx_handoff_encode(&in, buf, VHDX_HANDOFF_FIXED_SIZE + 4, &len), VHDX_E_RANGE,
		     "encode: a buffer too small for the path is refused");
	CHECK_EQ_U64(len, VHDX_HANDOFF_FIXED_SIZE + sizeof sample_path, "encode: ... and says how much is needed");
	for (size_t i = 0; i < VHDX_HANDOFF_PATH_MAX; i++)
		in.path[i] = 'a';
	CHECK_STATUS(vhdx_handoff_encode(&in, buf, sizeof buf, &len), VHDX_E_ARG,
		     "encode: a path with no NUL in VHDX_HANDOFF_PATH_MAX units is refused");
	in.path[VHDX_HANDOFF_PATH_MAX - 1] = 0;
	CHECK_STATUS(vhdx_handoff_encode(&in, buf, sizeof buf, &len), VHDX_OK,
		     "encode: the longest path (PATH_MAX - 1 units and its NUL) fits VHDX_HANDOFF_MAX");
	CHECK_EQ_U64(len, VHDX_HANDOFF_MAX, "encode: ... exactly");
}

static void refuse(const uint8_t *buf, size_t len, const char *want, const char *name)
{
	struct vhdx_handoff out;
	char msg[VHDX_MSG_LEN];

	CHECK_STATUS(vhdx_handoff_decode(buf, len, &out, msg), VHDX_E_CORRUPT, "decode refuses %s", name);
	CHECK_STR_CONTAINS(msg, want, "decode: %s: the message names the field and value", name);
}

static void decode_refusals(void)
{
	struct vhdx_handoff in;
	uint8_t buf[VHDX_HANDOFF_MAX + 8], bad[VHDX_HANDOFF_MAX + 8];
	size_t len = 0;

	fill(&in, VHDX_HANDOFF_FILE);
	vhdx_handoff_encode(&in, buf, sizeof buf, &len);

	refuse(buf, VHDX_HANDOFF_FIXED_SIZE - 1, "111 bytes: shorter than the version-1 fixed part (112",
	       "input one byte short of the fixed part");
	refuse(buf, 0, "0 bytes", "empty input");

	memcpy(bad, buf, len);
	bad[0] = 2;
	refuse(bad, len, "version 2", "an unknown version");

	memcpy(bad, buf, len);
	bad[2] = 100;
	refuse(bad, len, "fixed-part size 100", "a fixed part smaller than version 1's");
	memcpy(bad, buf, len);
	bad[2] = (uint8_t)(len + 2);
	bad[3] = (uint8_t)((len + 2) >> 8);
	char want[64];
	snprintf(want, sizeof want, "fixed-part size %zu", len + 2);
	refuse(bad, len, want, "a fixed part beyond the input");

	refuse(buf, len - 2, "file path at byte 112: no NUL terminator", "a path cut before its NUL");
	refuse(buf, VHDX_HANDOFF_FIXED_SIZE, "no NUL terminator in its 0 bytes", "FILE set with no path bytes");

	/* a path longer than a reader can hold */
	memcpy(bad, buf, VHDX_HANDOFF_FIXED_SIZE);
	for (size_t i = 0; i < VHDX_HANDOFF_PATH_MAX + 2; i++) {
		bad[VHDX_HANDOFF_FIXED_SIZE + 2 * i] = i <= VHDX_HANDOFF_PATH_MAX ? 'a' : 0;
		bad[VHDX_HANDOFF_FIXED_SIZE + 2 * i + 1] = 0;
	}
	refuse(bad, VHDX_HANDOFF_FIXED_SIZE + 2 * (VHDX_HANDOFF_PATH_MAX + 2), "longer than 1023 UTF-16 units",
	       "a path longer than VHDX_HANDOFF_PATH_MAX");

	/* what a reader still takes: trailing bytes without FILE, a longer fixed part (fields appended later) */
	struct vhdx_handoff out;
	char msg[VHDX_MSG_LEN];
	fill(&in, VHDX_HANDOFF_UPDATED);
	vhdx_handoff_encode(&in, buf, sizeof buf, &len);
	CHECK_STATUS(vhdx_handoff_decode(buf, len + 6, &out, msg), VHDX_OK, "decode: bytes after the fixed part "
		     "without FILE are ignored");
	fill(&in, VHDX_HANDOFF_FILE);
	vhdx_handoff_encode(&in, buf, sizeof buf, &len);
	memmove(buf + VHDX_HANDOFF_FIXED_SIZE + 8, buf + VHDX_HANDOFF_FIXED_SIZE, len - VHDX_HANDOFF_FIXED_SIZE);
	memset(buf + VHDX_HANDOFF_FIXED_SIZE, 0xEE, 8);
	buf[2] = VHDX_HANDOFF_FIXED_SIZE + 8;
	CHECK_STATUS(vhdx_handoff_decode(buf, len + 8, &out, msg), VHDX_OK, "decode: a 120-byte fixed part is taken");
	CHECK(same(&in, &out), "decode: ... and the path is read after it");
}

int main(void)
{
	round_trips();
	layout();
	encode_refusals();
	decode_refusals();
	return t_done();
}
