/* SPDX-License-Identifier: BSD-2-Clause */
/* metadata.c - the metadata table and its six known items; the table has no checksum, so every bound is checked. */
#include "internal.h"

enum { FILE_PARAMS, VDISK_SIZE, PAGE83, LOGICAL, PHYSICAL, LOCATOR, KNOWN };

static const struct {
	struct vhdx_guid guid;
	const char *name;
	uint32_t length; /* exact length; 0 = variable (parent locator) */
} known[KNOWN] = {
	[FILE_PARAMS] = { VHDX_GUID_FILE_PARAMS, "File Parameters", 8 },
	[VDISK_SIZE] = { VHDX_GUID_VDISK_SIZE, "Virtual Disk Size", 8 },
	[PAGE83] = { VHDX_GUID_PAGE83, "Virtual Disk ID", 16 },
	[LOGICAL] = { VHDX_GUID_LOGICAL_SECTOR, "Logical Sector Size", 4 },
	[PHYSICAL] = { VHDX_GUID_PHYSICAL_SECTOR, "Physical Sector Size", 4 },
	[LOCATOR] = { VHDX_GUID_PARENT_LOCATOR, "Parent Locator", 0 },
};

struct item {
	uint32_t offset, length;
	int present;
};

static vhdx_status read_item(struct vhdx_image *img, const struct item *it, void *buf, size_t len)
{
	return vhdx_pread(img, img->meta_offset + it->offset, buf, len, "metadata item");
}

/*
 * The whole locator is read (it may be up to 1 MiB) and parsed into img->locator, which vhdx_close frees; the
 * parent's identity is the core's concern, its paths the platform's.
 */
static vhdx_status load_locator(struct vhdx_image *img, const struct item *it)
{
	struct vhdx_io *io = img->io;
	uint8_t *buf;
	vhdx_status st;

	if (it->length < 20)
		return vhdx_fail(img, VHDX_E_CORRUPT, "metadata: Parent Locator length %u is below 20", it->length);
	img->locator = io->alloc(io->ctx, sizeof(*img->locator));
	buf = io->alloc(io->ctx, it->length);
	if (!img->locator || !buf) {
		st = vhdx_fail(img, VHDX_E_NOMEM, "metadata: no memory for the Parent Locator (%u bytes)", it->length);
	} else {
		st = read_item(img, it, buf, it->length);
		if (!st)
			st = vhdx_locator_parse(img, buf, it->length, img->locator);
	}
	if (buf)
		io->free(io->ctx, buf, it->length);
	return st;
}

static vhdx_status check_table(struct vhdx_image *img, const uint8_t *t, struct item items[KNOWN])
{
	uint64_t sig = vhdx_le64(t);
	uint32_t count = vhdx_le16(t + VHDX_META_COUNT);

	if (sig != VHDX_META_SIGNATURE)
		return vhdx_fail(img, VHDX_E_CORRUPT, "metadata table: signature 0x%llx is not \"metadata\"",
				 (unsigned long long)sig);
	if (count > VHDX_META_MAX_ENTRIES)
		return vhdx_fail(img, VHDX_E_CORRUPT, "metadata table: entry count %u exceeds 2047", count);
	img->metadata_count = count;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *e = t + VHDX_META_ENTRIES + i * VHDX_META_ENTRY_SIZE;
		uint32_t off = vhdx_le32(e + VHDX_METAE_OFFSET), len = vhdx_le32(e + VHDX_METAE_LENGTH);
		uint32_t flags = vhdx_le32(e + VHDX_METAE_FLAGS);
		struct vhdx_guid g;
		int k;

		vhdx_guid_load(&g, e);
		if (len == 0) {
			if (off != 0)
				return vhdx_fail(img, VHDX_E_CORRUPT, "metadata table: entry %u has length 0 but offset %u", i,
						 off);
		} else {
			if (off < VHDX_META_TABLE_SIZE)
				return vhdx_fail(img, VHDX_E_CORRUPT, "metadata table: entry %u offset %u is below 64 KiB", i,
						 off);
			if (len > VHDX_META_MAX_ITEM)
				return vhdx_fail(img, VHDX_E_CORRUPT, "metadata table: entry %u length %u exceeds 1 MiB", i, len);
			if ((uint64_t)off + len > img->meta_length)
				return vhdx_fail(img, VHDX_E_CORRUPT,
						 "metadata table: entry %u (offset %u, length %u) runs beyond the metadata region (%u bytes)",
						 i, off, len, img->meta_length);
			for (uint32_t j = 0; j < i; j++) {
				const uint8_t *o = t + VHDX_META_ENTRIES + j * VHDX_META_ENTRY_SIZE;
				uint32_t jo = vhdx_le32(o + VHDX_METAE_OFFSET), jl = vhdx_le32(o + VHDX_METAE_LENGTH);
				if (jl && vhdx_overlaps(off, len, jo, jl))
					return vhdx_fail(img, VHDX_E_CORRUPT, "metadata table: entry %u overlaps entry %u", i, j);
			}
		}
		for (k = 0; k < KNOWN && !vhdx_guid_equal(&g, &known[k].guid); k++)
			;
		if (k == KNOWN) {
			if (flags & VHDX_META_IS_REQUIRED)
				return vhdx_fail(img, VHDX_E_UNSUPPORTED,
						 "metadata table: entry %u is unknown required item %s",
						 i, VHDX_GUID_STR(&g));
			continue;
		}
		if (items[k].present)
			return vhdx_fail(img, VHDX_E_CORRUPT, "metadata table: entry %u is a second %s item", i, known[k].name);
		if (known[k].length && len != known[k].length)
			return vhdx_fail(img, VHDX_E_CORRUPT, "metadata table: %s length %u is not %u", known[k].name, len,
					 known[k].length);
		items[k].present = 1;
		items[k].offset = off;
		items[k].length = len;
	}
	for (int k = 0; k < LOCATOR; k++) {
		if (!items[k].present)
			return vhdx_fail(img, VHDX_E_CORRUPT, "metadata table: the %s item is missing", known[k].name);
	}
	return VHDX_OK;
}

vhdx_status vhdx_metadata_load(struct vhdx_image *img, uint8_t *scratch)
{
	struct item items[KNOWN] = { { 0, 0, 0 } };
	uint8_t v[16];
	uint32_t bs, flags;
	vhdx_status st;

	st = vhdx_pread(img, img->meta_offset, scratch, VHDX_META_TABLE_SIZE, "metadata table");
	if (!st)
		st = check_table(img, scratch, items);
	if (!st)
		st = read_item(img, &items[FILE_PARAMS], v, 8);
	if (st)
		return st;
	bs = vhdx_le32(v);
	flags = vhdx_le32(v + 4);
	if (bs < VHDX_MIN_BLOCK || bs > VHDX_MAX_BLOCK || (bs & (bs - 1)))
		return vhdx_fail(img, VHDX_E_CORRUPT,
				 "metadata: File Parameters BlockSize %u is not a power of two from 1 MiB to 256 MiB", bs);
	img->block_size = bs;
	img->leave_blocks_allocated = (flags & VHDX_FP_LEAVE_ALLOCATED) != 0;
	img->has_parent = (flags & VHDX_FP_HAS_PARENT) != 0;

	if ((st = read_item(img, &items[LOGICAL], v, 4)))
		return st;
	img->logical_sector_size = vhdx_le32(v);
	if (img->logical_sector_size != 512 && img->logical_sector_size != 4096)
		return vhdx_fail(img, VHDX_E_CORRUPT, "metadata: Logical Sector Size %u is not 512 or 4096",
				 img->logical_sector_size);
	if ((st = read_item(img, &items[PHYSICAL], v, 4)))
		return st;
	img->physical_sector_size = vhdx_le32(v);
	if (img->physical_sector_size != 512 && img->physical_sector_size != 4096)
		return vhdx_fail(img, VHDX_E_CORRUPT, "metadata: Physical Sector Size %u is not 512 or 4096",
				 img->physical_sector_size);
	if ((st = read_item(img, &items[VDISK_SIZE], v, 8)))
		return st;
	img->virtual_size = vhdx_le64(v);
	if (img->virtual_size == 0 || img->virtual_size > VHDX_MAX_VIRTUAL_SIZE ||
	    img->virtual_size % img->logical_sector_size)
		return vhdx_fail(img, VHDX_E_CORRUPT,
				 "metadata: Virtual Disk Size %llu is not a non-zero multiple of %u up to 64 TiB",
				 (unsigned long long)img->virtual_size, img->logical_sector_size);
	if ((st = read_item(img, &items[PAGE83], v, 16)))
		return st;
	vhdx_guid_load(&img->disk_id, v);

	if (img->has_parent) {
		if (!items[LOCATOR].present)
			return vhdx_fail(img, VHDX_E_CORRUPT,
					 "metadata: File Parameters HasParent is set but the Parent Locator item is missing");
		return load_locator(img, &items[LOCATOR]);
	}
	return VHDX_OK;
}
