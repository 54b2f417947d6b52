/* SPDX-License-Identifier: BSD-2-Clause */
/* test_bat.c - core/bat.c: geometry, the scan's rules for every entry, the counts, data_end. */
#include "imgbuild.h"
#include "t.h"

#define MiB VHDX_MiB

static struct vhdx_image img;
static struct membackend mb;
static struct ib b;

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

static int open_ok(const char *name)
{
	const char *r = ib_opened(&b, &img, &mb);
	t_report(!r, r, "%s: opens", name);
	if (r)
		mb_free(&mb);
	return !r;
}

static void done(void)
{
	vhdx_close(&img);
	mb_free(&mb);
}

static void geometry(void)
{
	static const struct {
		uint64_t vsize;
		uint32_t bs, lss;
		int parent;
		uint64_t cr, pb, entries;
	} g[] = {
		{ 8 * MiB, MiB, 512, 0, 4096, 8, 8 },
		{ 8 * MiB, MiB, 4096, 0, 32768, 8, 8 },
		{ 8 * MiB + 512, MiB, 512, 0, 4096, 9, 9 },
		{ 4096 * MiB, MiB, 512, 0, 4096, 4096, 4096 },
		{ 4097 * MiB, MiB, 512, 0, 4096, 4097, 4098 },
		{ 10240 * MiB, MiB, 512, 0, 4096, 10240, 10242 },
		{ 17 * 256 * MiB, 256 * MiB, 512, 0, 16, 17, 18 },
		{ 33 * 256 * MiB, 256 * MiB, 512, 0, 16, 33, 35 },
		{ 100 * MiB, 32 * MiB, 512, 0, 128, 4, 4 },
		{ 100 * MiB, 32 * MiB, 4096, 0, 1024, 4, 4 },
		{ 129 * 256 * MiB, 256 * MiB, 4096, 0, 128, 129, 130 },
		{ 3 * MiB, 2 * MiB, 512, 0, 2048, 2, 2 },
		{ 8 * MiB, MiB, 512, 1, 4096, 8, 4097 },
		{ 8 * MiB, MiB, 4096, 1, 32768, 8, 32769 },
		{ 16 * 256 * MiB, 256 * MiB, 512, 1, 16, 16, 17 },
		{ 17 * 256 * MiB, 256 * MiB, 512, 1, 16, 17, 34 },
		{ 129 * 256 * MiB, 256 * MiB, 4096, 1, 128, 129, 258 },
	};
	for (size_t k = 0; k < sizeof g / sizeof g[0]; k++) {
		struct ib_params p = { .virtual_size = g[k].vsize, .block_size = g[k].bs, .lss = g[k].lss,
				       .has_parent = g[k].parent };
		char name[160];
		snprintf(name, sizeof name, "bat geometry: %llu MiB%s, %u MiB blocks, %u-byte sectors%s",
			 (unsigned long long)(g[k].vsize / MiB), g[k].vsize % MiB ? " + 512" : "", (unsigned)(g[k].bs / MiB),
			 (unsigned)g[k].lss, g[k].parent ? ", differencing" : "");
		fresh(&p);
		if (!open_ok(name))
			continue;
		CHECK(img.chunk_ratio == g[k].cr && img.payload_blocks == g[k].pb && img.bat_entries == g[k].entries,
		      "%s: chunk_ratio %llu, payload blocks %llu, entries %llu (got %llu, %llu, %llu)", name,
		      (unsigned long long)g[k].cr, (unsigned long long)g[k].pb, (unsigned long long)g[k].entries,
		      (unsigned long long)img.chunk_ratio, (unsigned long long)img.payload_blocks,
		      (unsigned long long)img.bat_entries);
		done();
	}

	/* the region must hold every entry */
	struct ib_params tight = { .virtual_size = 128 * 1024 * MiB, .bat_length = (uint32_t)MiB };
	fresh(&tight);
	REFUSED(VHDX_E_CORRUPT, "BAT region: length 1048576 holds 131072 entries", "needs 131103",
		"bat geometry: 128 GiB with 1 MiB blocks in a 1 MiB BAT region refused");
	struct ib_params fits = { .virtual_size = 131040 * MiB, .bat_length = (uint32_t)MiB };
	fresh(&fits);
	if (open_ok("bat geometry: 131040 MiB (131071 entries) in a 1 MiB BAT region")) {
		CHECK_EQ_U64(img.bat_entries, 131071, "bat geometry: 131071 entries");
		done();
	}
	struct ib_params dtight = { .lss = 4096, .has_parent = 1 };
	fresh(&dtight);
	ib_rgn_fix_both(&b);
	if (open_ok("bat geometry: differencing 4096-byte sectors needs 32769 entries, fits 1 MiB"))
		done();
}

static void states(void)
{
	fresh(NULL);
	ib_bat_set(&b, 2, 4);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 2 (payload block 2)", "state 4 is not a payload state", "bat state 4 refused");
	fresh(NULL);
	ib_bat_set(&b, 7, 5);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 7 (payload block 7)", "state 5", "bat state 5 refused");
	fresh(NULL);
	uint64_t off = ib_alloc_block(&b, 1);
	ib_bat_set(&b, 1, off | VHDX_BAT_PARTIALLY_PRESENT);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 1 (payload block 1)", "state 7 (partially present) on a disk without a parent",
		"bat state 7 without a parent refused");

	struct ib_params dp = { .has_parent = 1 };
	fresh(&dp);
	ib_place_block(&b, 1, b.data_next, VHDX_BAT_PARTIALLY_PRESENT);
	/* MS-VHDX 2.5.1.2: a chunk with a PARTIALLY_PRESENT block must have its sector bitmap block */
	REFUSED(VHDX_E_CORRUPT, "sector bitmap 0", "payload block 1 is partially present",
		"bat state 7 without its chunk's sector bitmap refused");
	{
		uint64_t bm = b.size, sb = ib_bat_index(&b, 0) + b.chunk_ratio;
		ib_grow(&b, bm + MiB);
		ib_bat_set(&b, sb, bm | VHDX_SB_PRESENT);
	}
	if (open_ok("bat state 7 on a differencing disk")) {
		CHECK_EQ_U64(img.state_count[VHDX_BAT_PARTIALLY_PRESENT], 1, "bat state 7 on a differencing disk: counted");
		done();
	}
	/* differencing: entries past the last payload block (padding of the last chunk) must stay empty */
	fresh(&dp);
	ib_bat_set(&b, 8, VHDX_BAT_ZERO);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 8", "beyond the last payload block 7", "bat differencing padding entry with state 2 refused");

	/* counts per state, data_end */
	fresh(NULL);
	ib_bat_set(&b, 0, VHDX_BAT_ZERO);
	ib_bat_set(&b, 1, VHDX_BAT_UNMAPPED);
	ib_bat_set(&b, 2, VHDX_BAT_UNDEFINED);
	ib_alloc_block(&b, 5);
	uint64_t last = ib_alloc_block(&b, 3);
	ib_bat_set(&b, 6, 0x0000000000700000ULL | VHDX_BAT_NOT_PRESENT); /* offset bits on an absent block */
	if (open_ok("bat counts: ZERO, UNMAPPED, UNDEFINED, 2 FULLY_PRESENT, 3 NOT_PRESENT")) {
		CHECK(img.state_count[0] == 3 && img.state_count[1] == 1 && img.state_count[2] == 1 &&
			      img.state_count[3] == 1 && img.state_count[6] == 2 && img.state_count[7] == 0,
		      "bat counts: 3 0 1 1 1 2 0 by state (got %llu %llu %llu %llu %llu %llu)",
		      (unsigned long long)img.state_count[0], (unsigned long long)img.state_count[1],
		      (unsigned long long)img.state_count[2], (unsigned long long)img.state_count[3],
		      (unsigned long long)img.state_count[6], (unsigned long long)img.state_count[7]);
		CHECK_EQ_U64(img.data_end, last + MiB, "bat counts: data_end is the end of the highest block");
		CHECK_EQ_U64(img.bitmaps_present, 0, "bat counts: no bitmaps");
		CHECK_EQ_U64(img.warnings, 0, "bat counts: no warnings");
		done();
	}
	fresh(NULL);
	if (open_ok("bat counts: nothing allocated")) {
		CHECK(img.state_count[0] == 8 && img.data_end == 0, "bat counts: 8 NOT_PRESENT, data_end 0");
		done();
	}
	/* a partial last block needs only its rounded size in the file */
	struct ib_params part = { .virtual_size = 9 * MiB, .block_size = 4 * (uint32_t)MiB };
	fresh(&part);
	off = ib_alloc_block(&b, 2);
	CHECK_EQ_U64(b.size, off + MiB, "bat partial block: the builder stored 1 MiB");
	if (open_ok("bat partial last block (1 MiB of a 4 MiB block) at the end of the file")) {
		CHECK_EQ_U64(img.data_end, off + MiB, "bat partial last block: data_end = offset + 1 MiB");
		done();
	}
}

static void placement(void)
{
	fresh(NULL);
	ib_bat_set(&b, 0, VHDX_BAT_FULLY_PRESENT);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 0 (payload block 0)", "file offset 0 lies in the header area", "bat block at offset 0 refused");
	fresh(NULL);
	ib_bat_set(&b, 3, b.size | VHDX_BAT_FULLY_PRESENT);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 3 (payload block 3)", "runs beyond the end of the file", "bat block at the end of the file refused");
	fresh(NULL);
	ib_bat_set(&b, 3, VHDX_BAT_OFFSET_MASK | VHDX_BAT_FULLY_PRESENT);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 3", "runs beyond the end of the file", "bat block at the largest offset (no overflow) refused");
	struct ib_params two = { .block_size = 2 * (uint32_t)MiB };
	fresh(&two);
	ib_grow(&b, b.size + MiB);
	ib_bat_set(&b, 1, (b.size - MiB) | VHDX_BAT_FULLY_PRESENT);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 1 (payload block 1)", "2097152 bytes, runs beyond", "bat 2 MiB block with 1 MiB left in the file refused");

	fresh(NULL);
	ib_bat_set(&b, 4, b.log_off | VHDX_BAT_FULLY_PRESENT);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 4 (payload block 4)", "overlaps the log", "bat block on the log refused");
	fresh(NULL);
	ib_bat_set(&b, 4, b.meta_off | VHDX_BAT_FULLY_PRESENT);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 4 (payload block 4)", "overlaps the metadata region", "bat block on the metadata region refused");
	fresh(NULL);
	ib_bat_set(&b, 4, b.bat_off | VHDX_BAT_FULLY_PRESENT);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 4 (payload block 4)", "overlaps the BAT region", "bat block on the BAT region refused");
	struct ib_params big = { .bat_length = 2 * (uint32_t)MiB };
	fresh(&big);
	ib_bat_set(&b, 4, (b.bat_off + MiB) | VHDX_BAT_FULLY_PRESENT);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 4", "overlaps the BAT region", "bat block in the second MiB of a 2 MiB BAT region refused");
	struct ib_params twob = { .block_size = 2 * (uint32_t)MiB, .no_log = 1 };
	fresh(&twob);
	ib_bat_set(&b, 0, b.meta_off | VHDX_BAT_FULLY_PRESENT);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 0", "overlaps the metadata region", "bat 2 MiB block covering metadata and BAT refused");

	/* two blocks in the same place, or half over each other */
	fresh(NULL);
	uint64_t off = ib_alloc_block(&b, 1);
	ib_bat_set(&b, 6, off | VHDX_BAT_FULLY_PRESENT);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 6 (payload block 6)", "overlaps another block", "bat two blocks at the same offset refused");
	fresh(&two);
	off = ib_alloc_block(&b, 0);
	ib_grow(&b, b.size + MiB);
	ib_bat_set(&b, 2, (off + MiB) | VHDX_BAT_FULLY_PRESENT);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 2 (payload block 2)", "overlaps another block at MiB", "bat 2 MiB blocks half over each other refused");
	fresh(NULL);
	ib_alloc_block(&b, 0);
	ib_alloc_block(&b, 1);
	ib_alloc_block(&b, 7);
	if (open_ok("bat adjacent blocks"))
		done();
}

static void bitmaps(void)
{
	/* 256 MiB blocks, 512-byte sectors: chunk ratio 16, so entry 16 is the first sector bitmap */
	struct ib_params p = { .virtual_size = 17 * 256 * MiB, .block_size = 256 * (uint32_t)MiB };

	fresh(&p);
	ib_bat_set(&b, 16, VHDX_BAT_ZERO);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 16 (sector bitmap 0)", "state 2 is not 0 or 6", "bat sector bitmap state 2 refused");
	fresh(&p);
	ib_bat_set(&b, 16, VHDX_BAT_PARTIALLY_PRESENT);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 16 (sector bitmap 0)", "state 7 is not 0 or 6", "bat sector bitmap state 7 refused");
	fresh(&p);
	ib_bat_set(&b, 16, VHDX_SB_PRESENT);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 16 (sector bitmap 0)", "header area", "bat sector bitmap at offset 0 refused");
	struct ib_params dp = p;
	dp.has_parent = 1; /* sector bitmaps belong to differencing disks */
	fresh(&dp);
	uint64_t off = b.size;
	ib_grow(&b, off + MiB);
	ib_bat_set(&b, 16, off | VHDX_SB_PRESENT);
	if (open_ok("bat sector bitmap present (differencing)")) {
		CHECK_EQ_U64(img.bitmaps_present, 1, "bat sector bitmap: counted");
		CHECK_EQ_U64(img.state_count[0], 17, "bat sector bitmap: not counted as a payload block");
		CHECK_EQ_U64(img.data_end, off + MiB, "bat sector bitmap: its MiB counts for data_end");
		done();
	}
	ib_bat_set(&b, 16, b.meta_off | VHDX_SB_PRESENT);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 16 (sector bitmap 0)", "overlaps the metadata region", "bat sector bitmap on the metadata refused");
	/* payload block 16 sits at entry 17, after the bitmap */
	fresh(&p);
	CHECK_EQ_U64(ib_bat_index(&b, 16), 17, "bat index: payload block 16 at entry 17 with chunk ratio 16");
	ib_bat_set(&b, 17, 4);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 17 (payload block 16)", "state 4", "bat payload block after a bitmap is numbered right");
}

static void reserved_bits(void)
{
	fresh(NULL);
	ib_bat_set(&b, 3, 0x8 | VHDX_BAT_ZERO);
	ib_bat_set(&b, 5, 0x80000 | VHDX_BAT_NOT_PRESENT);
	uint64_t off = ib_alloc_block(&b, 6);
	ib_bat_set(&b, 6, off | 0x10 | VHDX_BAT_FULLY_PRESENT);
	if (open_ok("bat reserved bits set in 3 entries")) {
		CHECK(ib_warned(&img, "BAT: 3 entries have reserved bits set (first: entry 3)"),
		      "bat reserved bits: warning with the count and the first entry");
		CHECK(img.state_count[2] == 1 && img.state_count[6] == 1 && img.state_count[0] == 6,
		      "bat reserved bits: the states still counted");
		done();
	}
}

/* a BAT longer than one scan window (1 MiB of entries): the entry numbers stay right */
static void long_bat(void)
{
	struct ib_params p = { .virtual_size = 128 * 1024 * MiB };

	fresh(&p);
	CHECK_EQ_U64(b.bat_len, 2 * MiB, "bat long: 131103 entries take a 2 MiB region");
	uint64_t idx = ib_bat_index(&b, 131060);
	CHECK_EQ_U64(idx, 131091, "bat long: block 131060 at entry 131091");
	uint64_t off = ib_alloc_block(&b, 131000);
	if (open_ok("bat long: 128 GiB with one block allocated near the end")) {
		CHECK(img.state_count[6] == 1 && img.state_count[0] == 131071 && img.data_end == off + MiB,
		      "bat long: counts and data_end across scan windows");
		done();
	}
	ib_bat_set(&b, idx, 5);
	REFUSED(VHDX_E_CORRUPT, "BAT entry 131091 (payload block 131060)", "state 5", "bat long: a bad entry in the second scan window is named right");
	ib_bat_set(&b, idx, 0);
	ib_bat_set(&b, 4096, 2); /* the first sector bitmap entry */
	REFUSED(VHDX_E_CORRUPT, "BAT entry 4096 (sector bitmap 0)", "state 2", "bat long: entry 4096 is the first sector bitmap");
}

int main(void)
{
	geometry();
	states();
	placement();
	bitmaps();
	reserved_bits();
	long_bat();
	ib_free(&b);
	return t_done();
}
