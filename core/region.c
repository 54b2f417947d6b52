/* SPDX-License-Identifier: BSD-2-Clause */
/* region.c - the two region tables: validate each copy, use a good one, report a damaged one. */
#include "internal.h"

static const struct vhdx_guid guid_bat = VHDX_GUID_BAT;
static const struct vhdx_guid guid_meta = VHDX_GUID_METADATA;

struct region_copy {
	vhdx_status st;
	char why[VHDX_MSG_LEN];
	uint32_t count;
	uint64_t bat_offset, meta_offset;
	uint32_t bat_length, meta_length;
};

VHDX_PRINTF(3, 4) static vhdx_status bad(struct region_copy *c, vhdx_status st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vhdx_vfmt(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	c->st = st;
	return st;
}

/* Checks one copy completely; the result goes into c (status and the reason naming table, entry and field). */
static vhdx_status check_copy(struct vhdx_image *img, const uint8_t *t, unsigned n, struct region_copy *c)
{
	const struct vhdx_header *h = &img->header[img->current];
	uint32_t sig = vhdx_le32(t), sum = vhdx_le32(t + VHDX_RGN_CHECKSUM), crc;
	int seen_bat = 0, seen_meta = 0;

	c->st = VHDX_OK;
	c->count = vhdx_le32(t + VHDX_RGN_COUNT);
	if (sig != VHDX_RGN_SIGNATURE)
		return bad(c, VHDX_E_CORRUPT, "region table %u: signature 0x%x is not \"regi\"", n, sig);
	crc = vhdx_struct_crc(t, VHDX_REGION_SIZE, VHDX_RGN_CHECKSUM);
	if (crc != sum)
		return bad(c, VHDX_E_CORRUPT, "region table %u: checksum 0x%x does not match the computed 0x%x", n, sum,
			   crc);
	if (c->count > VHDX_RGN_MAX_ENTRIES)
		return bad(c, VHDX_E_CORRUPT, "region table %u: entry count %u exceeds 2047", n, c->count);

	for (uint32_t i = 0; i < c->count; i++) {
		const uint8_t *e = t + VHDX_RGN_ENTRIES + (size_t)i * VHDX_RGN_ENTRY_SIZE;
		struct vhdx_guid g;
		uint64_t off = vhdx_le64(e + VHDX_RGNE_FILE_OFFSET), end;
		uint32_t len = vhdx_le32(e + VHDX_RGNE_LENGTH), flags = vhdx_le32(e + VHDX_RGNE_FLAGS);

		vhdx_guid_load(&g, e);
		if (vhdx_guid_equal(&g, &guid_bat)) {
			if (seen_bat++)
				return bad(c, VHDX_E_CORRUPT, "region table %u: entry %u is a second BAT region", n, i);
			c->bat_offset = off;
			c->bat_length = len;
		} else if (vhdx_guid_equal(&g, &guid_meta)) {
			if (seen_meta++)
				return bad(c, VHDX_E_CORRUPT, "region table %u: entry %u is a second metadata region", n, i);
			c->meta_offset = off;
			c->meta_length = len;
		} else if (flags & VHDX_RGN_REQUIRED) {
			return bad(c, VHDX_E_UNSUPPORTED, "region table %u: entry %u has unknown required region %s", n,
				   i, VHDX_GUID_STR(&g));
		}
		if (off % VHDX_MiB || off < VHDX_HEADER_AREA)
			return bad(c, VHDX_E_CORRUPT,
				   "region table %u: entry %u file offset %llu is not a 1 MiB multiple of at least 1 MiB", n,
				   i, (unsigned long long)off);
		if (len == 0 || len % VHDX_MiB)
			return bad(c, VHDX_E_CORRUPT, "region table %u: entry %u length %u is not a non-zero multiple of 1 MiB",
				   n, i, len);
		if (vhdx_add_overflow(off, len, &end) || end > img->file_size)
			return bad(c, VHDX_E_CORRUPT,
				   "region table %u: entry %u (offset %llu, length %u) runs beyond the end of the file (%llu bytes)",
				   n, i, (unsigned long long)off, len, (unsigned long long)img->file_size);
		if (h->log_length && vhdx_overlaps(off, len, h->log_offset, h->log_length))
			return bad(c, VHDX_E_CORRUPT, "region table %u: entry %u overlaps the log", n, i);
		for (uint32_t j = 0; j < i; j++) {
			const uint8_t *o = t + VHDX_RGN_ENTRIES + (size_t)j * VHDX_RGN_ENTRY_SIZE;
			if (vhdx_overlaps(off, len, vhdx_le64(o + VHDX_RGNE_FILE_OFFSET),
					  vhdx_le32(o + VHDX_RGNE_LENGTH)))
				return bad(c, VHDX_E_CORRUPT, "region table %u: entry %u overlaps entry %u", n, i, j);
		}
	}
	if (!seen_bat)
		return bad(c, VHDX_E_CORRUPT, "region table %u: no BAT region", n);
	if (!seen_meta)
		return bad(c, VHDX_E_CORRUPT, "region table %u: no metadata region", n);
	return VHDX_OK;
}

vhdx_status vhdx_regions_load(struct vhdx_image *img, uint8_t *scratch)
{
	static const uint64_t where[2] = { VHDX_REGION1_OFFSET, VHDX_REGION2_OFFSET };
	struct region_copy c[2];
	uint32_t crc[2];
	const struct region_copy *use;
	vhdx_status st;
	int u;

	for (int i = 0; i < 2; i++) {
		st = vhdx_pread(img, where[i], scratch, VHDX_REGION_SIZE, i ? "region table 2" : "region table 1");
		if (st)
			return st;
		check_copy(img, scratch, (unsigned)i + 1, &c[i]);
		img->region_valid[i] = c[i].st == VHDX_OK;
		crc[i] = vhdx_le32(scratch + VHDX_RGN_CHECKSUM);
	}
	/* An unknown required region is a feature we lack, not damage: never fall back to the other copy. */
	for (int i = 0; i < 2; i++) {
		if (c[i].st == VHDX_E_UNSUPPORTED)
			return vhdx_fail(img, c[i].st, "%s", c[i].why);
	}
	if (c[0].st && c[1].st)
		return vhdx_fail(img, VHDX_E_CORRUPT, "both region tables are damaged: %s; %s", c[0].why, c[1].why);
	if (c[0].st || c[1].st) {
		u = c[0].st ? 1 : 0;
		vhdx_warn(img, "%s; using region table %u", c[!u].why, (unsigned)u + 1);
	} else {
		u = 0;
		if (crc[0] != crc[1])
			vhdx_warn(img, "region tables 1 and 2 differ (checksums 0x%x and 0x%x); using region table 1",
				  crc[0],
				  crc[1]);
	}
	use = &c[u];
	img->region_used = u;
	img->region_count = use->count;
	img->bat_offset = use->bat_offset;
	img->bat_length = use->bat_length;
	img->meta_offset = use->meta_offset;
	img->meta_length = use->meta_length;
	return VHDX_OK;
}
