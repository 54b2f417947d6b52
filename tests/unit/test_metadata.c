/* SPDX-License-Identifier: BSD-2-Clause */
/* test_metadata.c - core/metadata.c: the table, the five required items, their values, the parent locator. */
#include "imgbuild.h"
#include "t.h"

static struct vhdx_image img;
static struct ib b;

#define BASE VHDX_META_TABLE_SIZE

#define REFUSED(st, f1, f2, ...)                                                                                 \
	do {                                                                                                     \
		const char *r_ = ib_refused(&b, (st), (f1), (f2));                                                \
		t_report(r_ == NULL, r_, __VA_ARGS__);                                                            \
	} while (0)

static void fresh(const struct ib_params *p)
{
	ib_free(&b);
	if (ib_build(&b, p)) {
		printf("Bail out! cannot build an image\n");
		exit(2);
	}
}

/* opens b; reports failure under name; returns 1 when open (caller closes with done()) */
static struct membackend mb;
static int open_ok(const char *name)
{
	const char *r = ib_opened(&b, &img, &mb);
	t_report(!r, r, "%s: opens", name);
	return !r;
}
static void done(void)
{
	vhdx_close(&img);
	mb_free(&mb);
}

static void values(void)
{
	struct ib_params p = { .virtual_size = 12 * VHDX_MiB + 4096, .block_size = 4 * (uint32_t)VHDX_MiB, .lss = 4096,
			       .pss = 512, .leave_allocated = 1 };
	fresh(&p);
	if (open_ok("metadata values (12 MiB + 4 KiB, 4 MiB blocks, 4096/512)")) {
		struct vhdx_guid id = ib_guid(3);
		CHECK_EQ_U64(img.block_size, 4 * VHDX_MiB, "metadata values: BlockSize");
		CHECK_EQ_U64(img.virtual_size, 12 * VHDX_MiB + 4096, "metadata values: Virtual Disk Size");
		CHECK_EQ_U64(img.logical_sector_size, 4096, "metadata values: Logical Sector Size");
		CHECK_EQ_U64(img.physical_sector_size, 512, "metadata values: Physical Sector Size");
		CHECK(vhdx_guid_equal(&img.disk_id, &id), "metadata values: Virtual Disk ID");
		CHECK_EQ_INT(img.leave_blocks_allocated, 1, "metadata values: LeaveBlocksAllocated");
		CHECK_EQ_INT(img.has_parent, 0, "metadata values: HasParent clear");
		CHECK_EQ_U64(img.metadata_count, 5, "metadata values: 5 entries");
		done();
	}
	fresh(NULL);
	if (open_ok("metadata values (defaults)")) {
		CHECK(img.block_size == VHDX_MiB && img.virtual_size == 8 * VHDX_MiB && img.logical_sector_size == 512 &&
			      img.physical_sector_size == 4096 && !img.leave_blocks_allocated,
		      "metadata values: 1 MiB blocks, 8 MiB, 512/4096, LeaveBlocksAllocated clear");
		done();
	}
}

static void table(void)
{
	static const char *const names[] = { "File Parameters", "Virtual Disk Size", "Virtual Disk ID",
					      "Logical Sector Size", "Physical Sector Size" };
	char frag[96];

	fresh(NULL);
	vhdx_put64(ib_meta(&b), 0x617461646174656EULL);
	REFUSED(VHDX_E_CORRUPT, "metadata table", "signature", "metadata table: bad signature refused");

	fresh(NULL);
	vhdx_put16(ib_meta(&b) + VHDX_META_COUNT, 2048);
	REFUSED(VHDX_E_CORRUPT, "metadata table", "entry count 2048", "metadata table: entry count 2048 refused");

	for (unsigned k = 0; k < 5; k++) {
		fresh(NULL);
		ib_meta_remove(&b, k);
		snprintf(frag, sizeof frag, "the %s item is missing", names[k]);
		REFUSED(VHDX_E_CORRUPT, "metadata table", frag, "metadata table: %s missing refused", names[k]);
	}

	/* a second copy of each item, at a free offset with the same value */
	for (unsigned k = 0; k < 5; k++) {
		fresh(NULL);
		uint32_t len = vhdx_le32(ib_meta_entry(&b, k) + 20);
		struct vhdx_guid g;
		vhdx_guid_load(&g, ib_meta_entry(&b, k));
		memcpy(ib_meta(&b) + BASE + 256, ib_meta_item(&b, k), len);
		ib_meta_add(&b, &g, BASE + 256, len, VHDX_META_IS_REQUIRED);
		snprintf(frag, sizeof frag, "entry 5 is a second %s item", names[k]);
		REFUSED(VHDX_E_CORRUPT, "metadata table", frag, "metadata table: duplicate %s refused", names[k]);
	}

	static const uint32_t badlen[5] = { 4, 16, 8, 8, 2 };
	for (unsigned k = 0; k < 5; k++) {
		fresh(NULL);
		vhdx_put32(ib_meta_entry(&b, k) + 16, BASE + 512); /* room for any length */
		vhdx_put32(ib_meta_entry(&b, k) + 20, badlen[k]);
		snprintf(frag, sizeof frag, "%s length %u is not", names[k], badlen[k]);
		REFUSED(VHDX_E_CORRUPT, "metadata table", frag, "metadata table: %s length %u refused", names[k], badlen[k]);
	}

	fresh(NULL);
	vhdx_put32(ib_meta_entry(&b, 0) + 16, 32768);
	REFUSED(VHDX_E_CORRUPT, "entry 0 offset 32768", "below 64 KiB", "metadata table: item offset 32 KiB (inside the table) refused");
	fresh(NULL);
	vhdx_put32(ib_meta_entry(&b, 1) + 16, (uint32_t)VHDX_MiB - 4);
	REFUSED(VHDX_E_CORRUPT, "entry 1", "runs beyond the metadata region", "metadata table: item crossing the region end refused");
	fresh(NULL);
	vhdx_put32(ib_meta_entry(&b, 1) + 16, 0xFFFFFFF8u);
	REFUSED(VHDX_E_CORRUPT, "entry 1", "runs beyond the metadata region", "metadata table: item offset near 4 GiB (no 32-bit wrap) refused");
	fresh(NULL);
	vhdx_put32(ib_meta_entry(&b, 4) + 16, BASE + 34);
	REFUSED(VHDX_E_CORRUPT, "entry 4 overlaps entry 3", NULL, "metadata table: overlapping items refused");
	fresh(NULL);
	vhdx_put32(ib_meta_entry(&b, 1) + 16, BASE + 4);
	REFUSED(VHDX_E_CORRUPT, "entry 1 overlaps entry 0", NULL, "metadata table: item starting inside an earlier one refused");

	/* the limits themselves are fine */
	fresh(NULL);
	memcpy(ib_meta(&b) + VHDX_MiB - 8, ib_meta_item(&b, IB_VDS), 8);
	vhdx_put32(ib_meta_entry(&b, IB_VDS) + 16, (uint32_t)VHDX_MiB - 8);
	if (open_ok("metadata table: an item ending exactly at the end of the region")) {
		CHECK_EQ_U64(img.virtual_size, 8 * VHDX_MiB, "metadata table: item at the region end read");
		done();
	}
	fresh(NULL);
	for (unsigned k = 5; k < 2047; k++) {
		struct vhdx_guid g = ib_guid(1000 + k);
		ib_meta_add(&b, &g, 0, 0, VHDX_META_IS_USER);
	}
	if (open_ok("metadata table: 2047 entries (the maximum, 2042 of them empty optional items)")) {
		CHECK_EQ_U64(img.metadata_count, 2047, "metadata table: 2047 entries counted");
		done();
	}

	struct vhdx_guid u = ib_guid(60);
	fresh(NULL);
	ib_meta_add(&b, &u, BASE + 1024, (uint32_t)VHDX_MiB + 1, 0);
	REFUSED(VHDX_E_CORRUPT, "entry 5 length 1048577", "exceeds 1 MiB", "metadata table: item longer than 1 MiB refused");
	fresh(NULL);
	ib_meta_add(&b, &u, 5, 0, 0);
	REFUSED(VHDX_E_CORRUPT, "entry 5 has length 0 but offset 5", NULL, "metadata table: length 0 with offset 5 refused");

	fresh(NULL);
	ib_meta_add(&b, &u, BASE + 1024, 16, VHDX_META_IS_REQUIRED);
	REFUSED(VHDX_E_UNSUPPORTED, "entry 5 is unknown required item", "1122333C-", "metadata table: unknown required item refused as unsupported");
	fresh(NULL);
	ib_meta_add(&b, &u, BASE + 1024, 16, VHDX_META_IS_USER);
	ib_meta_add(&b, &u, 0, 0, VHDX_META_IS_VDISK);
	if (open_ok("metadata table: unknown optional items (one with data, one empty)")) {
		CHECK_EQ_U64(img.metadata_count, 7, "metadata table: unknown optional items counted");
		done();
	}
}

static void item_values(void)
{
	static const struct {
		unsigned item, off, size;
		uint64_t v;
		const char *frag, *name;
	} bad[] = {
		{ IB_FP, 0, 4, 3 * VHDX_MiB, "BlockSize 3145728", "BlockSize 3 MiB (not a power of two)" },
		{ IB_FP, 0, 4, 512 * 1024, "BlockSize 524288", "BlockSize 512 KiB (too small)" },
		{ IB_FP, 0, 4, 512 * VHDX_MiB, "BlockSize 536870912", "BlockSize 512 MiB (too big)" },
		{ IB_FP, 0, 4, 0, "BlockSize 0", "BlockSize 0" },
		{ IB_FP, 0, 4, VHDX_MiB + 1, "BlockSize 1048577", "BlockSize 1 MiB + 1" },
		{ IB_LSS, 0, 4, 1024, "Logical Sector Size 1024", "Logical Sector Size 1024" },
		{ IB_LSS, 0, 4, 0, "Logical Sector Size 0", "Logical Sector Size 0" },
		{ IB_PSS, 0, 4, 8192, "Physical Sector Size 8192", "Physical Sector Size 8192" },
		{ IB_PSS, 0, 4, 1024, "Physical Sector Size 1024", "Physical Sector Size 1024" },
		{ IB_VDS, 0, 8, 0, "Virtual Disk Size 0", "Virtual Disk Size 0" },
		{ IB_VDS, 0, 8, 8 * VHDX_MiB + 1, "Virtual Disk Size 8388609", "Virtual Disk Size not a sector multiple" },
		{ IB_VDS, 0, 8, 8 * VHDX_MiB + 256, "Virtual Disk Size 8388864", "Virtual Disk Size 8 MiB + 256" },
		{ IB_VDS, 0, 8, 64 * VHDX_TiB + 512, "Virtual Disk Size 70368744178176", "Virtual Disk Size 64 TiB + 512" },
		{ IB_VDS, 0, 8, UINT64_MAX - 511, "Virtual Disk Size", "Virtual Disk Size near 2^64" },
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		fresh(NULL);
		uint8_t *it = ib_meta_item(&b, bad[k].item) + bad[k].off;
		if (bad[k].size == 4)
			vhdx_put32(it, (uint32_t)bad[k].v);
		else
			vhdx_put64(it, bad[k].v);
		REFUSED(VHDX_E_CORRUPT, "metadata", bad[k].frag, "metadata value: %s refused", bad[k].name);
	}
	/* 4096-byte sectors: a 512-byte multiple is not enough */
	struct ib_params p4 = { .lss = 4096 };
	fresh(&p4);
	vhdx_put64(ib_meta_item(&b, IB_VDS), 8 * VHDX_MiB + 512);
	REFUSED(VHDX_E_CORRUPT, "Virtual Disk Size 8389120", "4096", "metadata value: 8 MiB + 512 with 4096-byte sectors refused");

	/* the limits themselves are fine */
	struct ib_params big = { .virtual_size = 64 * VHDX_TiB, .block_size = 256 * (uint32_t)VHDX_MiB };
	fresh(&big);
	if (open_ok("metadata value: Virtual Disk Size exactly 64 TiB with 256 MiB blocks")) {
		CHECK_EQ_U64(img.virtual_size, 64 * VHDX_TiB, "metadata value: 64 TiB kept");
		done();
	}
	struct ib_params one = { .virtual_size = 512 };
	fresh(&one);
	if (open_ok("metadata value: Virtual Disk Size 512 (one sector)"))
		done();
	struct ib_params p44 = { .lss = 4096, .pss = 4096, .virtual_size = 4096 };
	fresh(&p44);
	if (open_ok("metadata value: 4096/4096 sectors, one sector"))
		done();
	struct ib_params bs = { .block_size = 256 * (uint32_t)VHDX_MiB };
	fresh(&bs);
	if (open_ok("metadata value: BlockSize 256 MiB"))
		done();
}

static void parent(void)
{
	struct ib_params dp = { .has_parent = 1 };

	fresh(&dp);
	if (open_ok("metadata parent: differencing disk with a valid locator")) {
		CHECK_EQ_INT(img.has_parent, 1, "metadata parent: HasParent parsed");
		CHECK_EQ_U64(img.metadata_count, 6, "metadata parent: 6 entries");
		done();
	}

	fresh(NULL);
	vhdx_put32(ib_meta_item(&b, IB_FP) + 4, VHDX_FP_HAS_PARENT);
	REFUSED(VHDX_E_CORRUPT, "HasParent", "Parent Locator item is missing", "metadata parent: HasParent without a locator refused");

	fresh(&dp);
	struct vhdx_guid wrong = ib_guid(61);
	vhdx_guid_store(ib_meta_item(&b, IB_LOC), &wrong);
	REFUSED(VHDX_E_UNSUPPORTED, "Parent Locator type 1122333D-", NULL, "metadata parent: locator of another type refused as unsupported");

	fresh(&dp);
	vhdx_put32(ib_meta_entry(&b, IB_LOC) + 20, 12);
	REFUSED(VHDX_E_CORRUPT, "Parent Locator length 12", NULL, "metadata parent: locator shorter than its header refused");

	fresh(&dp);
	vhdx_put16(ib_meta_item(&b, IB_LOC) + 18, 100);
	REFUSED(VHDX_E_CORRUPT, "Parent Locator entry count 100", "does not fit", "metadata parent: entry count beyond the item refused");

	uint32_t len = vhdx_le32(ib_meta_entry(&b, IB_LOC) + 20);
	static const struct {
		unsigned field, size;
		uint32_t v;
		const char *name;
	} bad[] = {
		{ 0, 4, 0, "key offset past the item" }, /* v 0: len - 1 */
		{ 4, 4, 0, "value offset past the item" },
		{ 8, 2, 0, "key length 0" },
		{ 10, 2, 0, "value length 0" },
		{ 0, 4, 0xFFFFFFF0u, "key offset near 4 GiB" },
		{ 10, 2, 0xFFFF, "value length 65535" },
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		fresh(&dp);
		uint8_t *e = ib_meta_item(&b, IB_LOC) + 20 + bad[k].field;
		uint32_t v = bad[k].v;
		if (k < 2)
			v = len - 1;
		if (bad[k].size == 4)
			vhdx_put32(e, v);
		else
			vhdx_put16(e, (uint16_t)v);
		REFUSED(VHDX_E_CORRUPT, "Parent Locator entry 0", "lies outside", "metadata parent: locator entry %s refused", bad[k].name);
	}

	/* a locator on a disk without HasParent is not looked at */
	fresh(&dp);
	vhdx_put32(ib_meta_item(&b, IB_FP) + 4, 0);
	vhdx_put16(ib_meta_item(&b, IB_LOC) + 18, 100);
	if (open_ok("metadata parent: a broken locator without HasParent is ignored")) {
		CHECK_EQ_INT(img.has_parent, 0, "metadata parent: HasParent clear");
		done();
	}
}

int main(void)
{
	values();
	table();
	item_values();
	parent();
	ib_free(&b);
	return t_done();
}
