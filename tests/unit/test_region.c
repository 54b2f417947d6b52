/* SPDX-License-Identifier: BSD-2-Clause */
/* test_region.c - core/region.c: every rule of a region table copy, and the choice between the two copies. */
#include "imgbuild.h"
#include "t.h"

static struct vhdx_image img;

/* each mutator breaks table i (0/1) in one way and leaves it checksummed unless the rule is the checksum */
typedef void (*mutator)(struct ib *b, int i);

static void m_sig(struct ib *b, int i)
{
	vhdx_put32(ib_rgn(b, i), 0x69676571);
	ib_rgn_fix(b, i);
}
static void m_csum(struct ib *b, int i)
{
	ib_rgn(b, i)[VHDX_RGN_CHECKSUM + 1] ^= 0x10;
}
static void m_csum_body(struct ib *b, int i)
{
	ib_rgn(b, i)[60000] ^= 0x01; /* a byte far in the table: the checksum covers all 64 KiB */
}
static void m_count(struct ib *b, int i)
{
	vhdx_put32(ib_rgn(b, i) + VHDX_RGN_COUNT, 2048);
	ib_rgn_fix(b, i);
}
static void m_no_bat(struct ib *b, int i)
{
	memcpy(ib_rgn_entry(b, i, 0), ib_rgn_entry(b, i, 1), VHDX_RGN_ENTRY_SIZE);
	memset(ib_rgn_entry(b, i, 1), 0, VHDX_RGN_ENTRY_SIZE);
	vhdx_put32(ib_rgn(b, i) + VHDX_RGN_COUNT, 1);
	ib_rgn_fix(b, i);
}
static void m_no_meta(struct ib *b, int i)
{
	memset(ib_rgn_entry(b, i, 1), 0, VHDX_RGN_ENTRY_SIZE);
	vhdx_put32(ib_rgn(b, i) + VHDX_RGN_COUNT, 1);
	ib_rgn_fix(b, i);
}
static void m_dup_bat(struct ib *b, int i)
{
	memcpy(ib_rgn_entry(b, i, 2), ib_rgn_entry(b, i, 0), VHDX_RGN_ENTRY_SIZE);
	vhdx_put32(ib_rgn(b, i) + VHDX_RGN_COUNT, 3);
	ib_rgn_fix(b, i);
}
static void m_dup_meta(struct ib *b, int i)
{
	memcpy(ib_rgn_entry(b, i, 2), ib_rgn_entry(b, i, 1), VHDX_RGN_ENTRY_SIZE);
	vhdx_put32(ib_rgn(b, i) + VHDX_RGN_COUNT, 3);
	ib_rgn_fix(b, i);
}
static void m_misaligned(struct ib *b, int i)
{
	vhdx_put64(ib_rgn_entry(b, i, 0) + 16, b->bat_off + 4096);
	ib_rgn_fix(b, i);
}
static void m_header_area(struct ib *b, int i)
{
	vhdx_put64(ib_rgn_entry(b, i, 0) + 16, 0);
	ib_rgn_fix(b, i);
}
static void m_zero_len(struct ib *b, int i)
{
	vhdx_put32(ib_rgn_entry(b, i, 0) + 24, 0);
	ib_rgn_fix(b, i);
}
static void m_odd_len(struct ib *b, int i)
{
	vhdx_put32(ib_rgn_entry(b, i, 1) + 24, (uint32_t)VHDX_MiB + 4096);
	ib_rgn_fix(b, i);
}
static void m_beyond(struct ib *b, int i)
{
	vhdx_put64(ib_rgn_entry(b, i, 0) + 16, b->size);
	ib_rgn_fix(b, i);
}
static void m_overflow(struct ib *b, int i)
{
	vhdx_put64(ib_rgn_entry(b, i, 0) + 16, 0xFFFFFFFFFFF00000ULL);
	ib_rgn_fix(b, i);
}
static void m_log(struct ib *b, int i)
{
	vhdx_put64(ib_rgn_entry(b, i, 1) + 16, b->log_off);
	ib_rgn_fix(b, i);
}
static void m_overlap(struct ib *b, int i)
{
	vhdx_put64(ib_rgn_entry(b, i, 1) + 16, b->bat_off);
	ib_rgn_fix(b, i);
}
static void m_overlap_part(struct ib *b, int i)
{
	/* metadata 2 MiB long from its start: runs into the BAT region that follows it */
	vhdx_put32(ib_rgn_entry(b, i, 1) + 24, 2 * (uint32_t)VHDX_MiB);
	ib_rgn_fix(b, i);
}

static const struct rule {
	const char *name;
	mutator mut;
	const char *frag; /* after "region table N: " */
} rules[] = {
	{ "bad signature", m_sig, "signature 0x69676571" },
	{ "bad checksum field", m_csum, "checksum" },
	{ "a changed byte at 60000 (checksum)", m_csum_body, "checksum" },
	{ "entry count 2048", m_count, "entry count 2048" },
	{ "no BAT entry", m_no_bat, "no BAT region" },
	{ "no metadata entry", m_no_meta, "no metadata region" },
	{ "duplicate BAT entry", m_dup_bat, "entry 2 is a second BAT region" },
	{ "duplicate metadata entry", m_dup_meta, "entry 2 is a second metadata region" },
	{ "BAT offset not 1 MiB aligned", m_misaligned, "entry 0 file offset" },
	{ "BAT offset 0 (header area)", m_header_area, "entry 0 file offset 0" },
	{ "BAT length 0", m_zero_len, "entry 0 length 0" },
	{ "metadata length 1 MiB + 4 KiB", m_odd_len, "entry 1 length 1052672" },
	{ "BAT beyond the end of the file", m_beyond, "entry 0 (offset 4194304" },
	{ "BAT offset + length overflows", m_overflow, "entry 0" },
	{ "metadata overlaps the log", m_log, "entry 1 overlaps the log" },
	{ "metadata at the BAT's offset", m_overlap, "entry 1 overlaps entry 0" },
	{ "metadata runs into the BAT", m_overlap_part, "entry 1 overlaps entry 0" },
};

static void build(struct ib *b)
{
	if (ib_build(b, NULL)) {
		printf("Bail out! cannot build an image\n");
		exit(2);
	}
}

static void one_rule(const struct rule *r)
{
	struct ib b;
	struct membackend mb;
	char f1[160], f2[160];
	const char *why;

	snprintf(f1, sizeof f1, "region table 1: %s", r->frag);
	snprintf(f2, sizeof f2, "region table 2: %s", r->frag);

	/* copy 1 broken: warning, copy 2 used */
	build(&b);
	r->mut(&b, 0);
	why = ib_opened(&b, &img, &mb);
	t_report(!why, why, "region %s in copy 1: opens using copy 2", r->name);
	if (!why) {
		CHECK(img.region_used == 1 && !img.region_valid[0] && img.region_valid[1],
		      "region %s in copy 1: region_used 1, copy 1 invalid", r->name);
		unsigned w = ib_warned(&img, f1);
		CHECK(w && strstr(img.warning[w - 1], "using region table 2"), "region %s in copy 1: warning \"%s ...; using region table 2\"",
		      r->name, f1);
		CHECK(img.bat_offset == b.bat_off && img.meta_offset == b.meta_off,
		      "region %s in copy 1: BAT and metadata offsets from copy 2", r->name);
	}
	vhdx_close(&img);
	mb_free(&mb);
	ib_free(&b);

	/* copy 2 broken: warning, copy 1 used */
	build(&b);
	r->mut(&b, 1);
	why = ib_opened(&b, &img, &mb);
	t_report(!why, why, "region %s in copy 2: opens using copy 1", r->name);
	if (!why) {
		CHECK(img.region_used == 0 && img.region_valid[0] && !img.region_valid[1], "region %s in copy 2: region_used 0",
		      r->name);
		CHECK(ib_warned(&img, f2) && ib_warned(&img, "using region table 1"), "region %s in copy 2: warning names copy 2",
		      r->name);
	}
	vhdx_close(&img);
	mb_free(&mb);
	ib_free(&b);

	/* both broken: refused naming both */
	build(&b);
	r->mut(&b, 0);
	r->mut(&b, 1);
	why = ib_refused(&b, VHDX_E_CORRUPT, f1, f2);
	t_report(!why, why, "region %s in both copies: refused as corrupt naming both", r->name);
	why = ib_refused(&b, VHDX_E_CORRUPT, "both region tables", NULL);
	t_report(!why, why, "region %s in both copies: says both region tables are damaged", r->name);
	ib_free(&b);
}

/* adds an entry for a region of 1 MiB appended to the file to table i */
static void add_region(struct ib *b, int i, const struct vhdx_guid *g, uint32_t flags, uint64_t off)
{
	uint32_t n = vhdx_le32(ib_rgn(b, i) + VHDX_RGN_COUNT);
	uint8_t *e = ib_rgn_entry(b, i, n);

	vhdx_guid_store(e, g);
	vhdx_put64(e + 16, off);
	vhdx_put32(e + 24, (uint32_t)VHDX_MiB);
	vhdx_put32(e + 28, flags);
	vhdx_put32(ib_rgn(b, i) + VHDX_RGN_COUNT, n + 1);
	ib_rgn_fix(b, i);
}

static void unknown_regions(void)
{
	struct ib b;
	struct membackend mb;
	struct vhdx_guid u = ib_guid(50);
	const char *why;
	uint64_t off;

	for (int i = 0; i < 2; i++) {
		build(&b);
		off = b.size;
		ib_grow(&b, off + VHDX_MiB);
		add_region(&b, i, &u, VHDX_RGN_REQUIRED, off);
		why = ib_refused(&b, VHDX_E_UNSUPPORTED, i ? "region table 2: entry 2" : "region table 1: entry 2",
				 "unknown required region 11223332-4487-66A9-");
		t_report(!why, why, "region unknown required region in copy %d only: unsupported though copy %d is fine", i + 1,
			 2 - i);
		ib_free(&b);
	}

	build(&b);
	off = b.size;
	ib_grow(&b, off + VHDX_MiB);
	add_region(&b, 0, &u, 0, off);
	add_region(&b, 1, &u, 0, off);
	why = ib_opened(&b, &img, &mb);
	t_report(!why, why, "region unknown optional region in both copies: opens");
	CHECK(!why && img.region_count == 3 && img.region_valid[0] && img.region_valid[1] && img.warnings == 0,
	      "region unknown optional region: 3 entries, both copies valid, no warning");
	vhdx_close(&img);
	mb_free(&mb);
	ib_free(&b);

	/* an optional unknown region still obeys the placement rules */
	build(&b);
	add_region(&b, 0, &u, 0, b.meta_off);
	add_region(&b, 1, &u, 0, b.meta_off);
	why = ib_refused(&b, VHDX_E_CORRUPT, "entry 2 overlaps entry 1", NULL);
	t_report(!why, why, "region unknown optional region overlapping the metadata: refused");
	ib_free(&b);
}

static void differing(void)
{
	struct ib b;
	struct membackend mb;
	struct vhdx_guid u = ib_guid(51);
	const char *why;

	build(&b);
	uint64_t off = b.size;
	ib_grow(&b, off + VHDX_MiB);
	add_region(&b, 1, &u, 0, off); /* copy 2 valid with 3 entries, copy 1 valid with 2 */
	why = ib_opened(&b, &img, &mb);
	t_report(!why, why, "region both valid but different: opens");
	CHECK(!why && img.region_used == 0 && img.region_count == 2, "region both valid but different: copy 1 used");
	CHECK(ib_warned(&img, "region tables 1 and 2 differ") && ib_warned(&img, "using region table 1"),
	      "region both valid but different: warning says they differ");
	vhdx_close(&img);
	mb_free(&mb);

	/* entries in another order but the same meaning are still a difference worth a warning */
	ib_free(&b);
	build(&b);
	uint8_t tmp[VHDX_RGN_ENTRY_SIZE];
	memcpy(tmp, ib_rgn_entry(&b, 1, 0), sizeof tmp);
	memcpy(ib_rgn_entry(&b, 1, 0), ib_rgn_entry(&b, 1, 1), sizeof tmp);
	memcpy(ib_rgn_entry(&b, 1, 1), tmp, sizeof tmp);
	ib_rgn_fix(&b, 1);
	why = ib_opened(&b, &img, &mb);
	t_report(!why, why, "region copies with entries swapped: opens");
	CHECK(!why && img.region_used == 0 && img.bat_offset == b.bat_off && img.meta_offset == b.meta_off,
	      "region copies with entries swapped: offsets right");
	vhdx_close(&img);
	mb_free(&mb);
	ib_free(&b);

	/* identical copies: no warning, the values of the table */
	build(&b);
	why = ib_opened(&b, &img, &mb);
	t_report(!why, why, "region identical copies: opens");
	CHECK(!why && img.region_used == 0 && img.region_count == 2 && img.bat_offset == b.bat_off &&
		      img.bat_length == b.bat_len && img.meta_offset == b.meta_off && img.meta_length == b.meta_len &&
		      img.warnings == 0,
	      "region identical copies: copy 1, count 2, BAT and metadata offset/length, no warning");
	vhdx_close(&img);
	mb_free(&mb);
	ib_free(&b);
}

int main(void)
{
	for (size_t k = 0; k < sizeof rules / sizeof rules[0]; k++)
		one_rule(&rules[k]);
	unknown_regions();
	differing();
	return t_done();
}
