/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_extent.c - core/extent.c: vhdx_extent over a three-level chain (base, child, grandchild) built with
 * imgbuild.  Every byte the extents point at (a level's file bytes, or zeros) must equal what vhdx_read gives,
 * over the whole disk and over random unaligned ranges; the runs end where the sector bitmap's bit changes; and
 * the refusals (range, a parent not attached) name what was asked.
 */
#include "imgbuild.h"
#include "t.h"

#define MiB VHDX_MiB
#define SS 512
#define LEVELS 3
#define RANDOM_RANGES 3000
#define RANGE_MAX 70000

struct level {
	struct ib b;
	struct membackend mb;
	struct vhdx_image img;
	uint64_t bitmap_off;
};

static struct level L[LEVELS]; /* L[0] the base, L[2] the grandchild that is mapped */

/* block blk of a child: PARTIALLY_PRESENT with the sector runs (first, count) present */
static void partial(struct level *l, uint64_t blk, const uint64_t *runs, unsigned nruns)
{
	struct ib *b = &l->b;

	ib_place_block(b, blk, b->data_next, VHDX_BAT_PARTIALLY_PRESENT);
	if (!l->bitmap_off) {
		l->bitmap_off = b->size;
		ib_grow(b, b->size + MiB);
		ib_bat_set(b, b->chunk_ratio, l->bitmap_off | VHDX_SB_PRESENT);
		b->data_next = b->size; /* the next block goes after the bitmap */
	}
	for (unsigned r = 0; r < nruns; r++)
		for (uint64_t s = runs[2 * r]; s < runs[2 * r] + runs[2 * r + 1]; s++) {
			uint64_t bit = blk * (b->p.block_size / SS) + s;
			b->buf[l->bitmap_off + bit / 8] |= (uint8_t)(1u << (bit % 8));
		}
}

/* each level's own payload bytes differ from every other level's, so an extent naming the wrong level shows */
static void mark(struct level *l, uint64_t blk, uint8_t x)
{
	uint64_t o = ib_bat_get(&l->b, ib_bat_index(&l->b, blk)) & VHDX_BAT_OFFSET_MASK;
	for (uint64_t k = 0; k < MiB; k++)
		l->b.buf[o + k] ^= x;
}

static int build(void)
{
	struct ib_params pp = { .block_size = (uint32_t)MiB }, cp = { .block_size = (uint32_t)MiB, .has_parent = 1 };
	/* child: block 1 whole; block 2 by runs (one sector, a 3-sector run inside a byte, runs across bitmap bytes
	 * and a long one); block 3 ZERO; block 5 by runs.  Grandchild: block 2 by other runs, overlapping; block 4
	 * whole; block 5 by runs, the rest falling through to the child's runs, then the base. */
	static const uint64_t c2[] = { 0, 1, 7, 3, 100, 900, 2047, 1 }, c5[] = { 10, 20, 1000, 48 };
	static const uint64_t g2[] = { 5, 4, 500, 600, 1500, 9 }, g5[] = { 0, 15, 1020, 1028 };
	struct vhdx_guid dw[LEVELS] = { ib_guid(31), ib_guid(32), ib_guid(33) };

	ib_build(&L[0].b, &pp);
	for (uint64_t k = 0; k < L[0].b.payload_blocks; k++)
		if (k != 6) /* block 6 absent everywhere: zeros at the bottom of the chain */
			ib_alloc_block(&L[0].b, k);
	ib_build(&L[1].b, &cp);
	ib_alloc_block(&L[1].b, 1);
	partial(&L[1], 2, c2, 4);
	partial(&L[1], 5, c5, 2);
	ib_bat_set(&L[1].b, ib_bat_index(&L[1].b, 3), VHDX_BAT_ZERO);
	mark(&L[1], 1, 0x5A);
	mark(&L[1], 2, 0xA5);
	mark(&L[1], 5, 0x3C);
	ib_build(&L[2].b, &cp);
	partial(&L[2], 2, g2, 3);
	ib_alloc_block(&L[2].b, 4);
	partial(&L[2], 5, g5, 2);
	mark(&L[2], 2, 0x96);
	mark(&L[2], 4, 0x69);
	mark(&L[2], 5, 0xC3);
	for (int i = 0; i < LEVELS; i++) {
		ib_set_data_write_guid(&L[i].b, &dw[i]);
		if (i)
			ib_set_parent_linkage(&L[i].b, &dw[i - 1]);
		const char *r = ib_opened(&L[i].b, &L[i].img, &L[i].mb);
		if (!t_report(!r, r, "level %d opens", i))
			return -1;
		L[i].mb.read_only = 1;
		L[i].mb.io.read_only = 1;
	}
	return 0;
}

/* the bytes [off, off + len) as the extents describe them; 0, or -1 after reporting why */
static int resolve(struct vhdx_image *img, uint64_t off, uint64_t len, uint8_t *out, unsigned *nextents)
{
	*nextents = 0;
	while (len) {
		struct vhdx_extent e;
		vhdx_status st = vhdx_extent(img, off, len, &e);
		if (st)
			return t_report(0, img->msg, "extent at %llu", (unsigned long long)off), -1;
		if (!e.len || e.len > len || (e.image && (e.level >= LEVELS || e.image != &L[LEVELS - 1 - e.level].img)))
			return t_report(0, "bad extent", "extent at %llu: level %u, %llu bytes of %llu", (unsigned long long)off,
					e.level, (unsigned long long)e.len, (unsigned long long)len), -1;
		if (e.image)
			memcpy(out, L[LEVELS - 1 - e.level].b.buf + e.file_off, e.len);
		else
			memset(out, 0, e.len);
		out += e.len;
		off += e.len;
		len -= e.len;
		++*nextents;
	}
	return 0;
}

static void chain_extents(void)
{
	struct vhdx_image *top = &L[LEVELS - 1].img;
	uint64_t vs = top->virtual_size;
	uint8_t *got = malloc(vs), *want = malloc(vs);
	unsigned n = 0;
	struct vhdx_extent e;
	vhdx_status st;

	CHECK_STATUS(vhdx_extent(top, 0, 4096, &e), VHDX_E_UNSUPPORTED, "extent: no parent attached: refused");
	CHECK_STR_CONTAINS(top->msg, "not attached", "extent: no parent attached: named");
	for (int i = LEVELS - 1; i > 0; i--)
		CHECK_STATUS(vhdx_attach_parent(&L[i].img, &L[i - 1].img), VHDX_OK, "extent: level %d attached", i - 1);
	CHECK_STATUS(vhdx_extent(top, vs - 512, 1024, &e), VHDX_E_RANGE, "extent: past the end refused");
	CHECK_STATUS(vhdx_extent(top, 0, 0, &e), VHDX_E_RANGE, "extent: zero length refused");

	CHECK_STATUS(vhdx_read(top, 0, want, vs), VHDX_OK, "extent: the whole disk reads");
	if (!resolve(top, 0, vs, got, &n))
		CHECK_MEM_EQ(got, want, vs, "extent: the whole disk through %u extents = vhdx_read", n);

	/* the runs: grandchild block 2 sector 5..8 is its own; sector 9 is the child's (its run 7..9 ends there) */
	st = vhdx_extent(top, 2 * MiB + 5 * SS, MiB, &e);
	CHECK(!st && e.level == 0 && e.len == 4 * SS,
	      "extent: a 4-sector run of the grandchild's bitmap (level %u, %llu bytes)", e.level, (unsigned long long)e.len);
	st = vhdx_extent(top, 2 * MiB + 9 * SS, MiB, &e);
	CHECK(!st && e.level == 1 && e.len == SS,
	      "extent: the child's run under it ends where the child's bitmap does (level %u, %llu bytes)", e.level,
	      (unsigned long long)e.len);
	st = vhdx_extent(top, 2 * MiB + 10 * SS + 7, MiB, &e);
	CHECK(!st && e.level == 2 && e.len == 90 * SS - 7,
	      "extent: an unaligned start in the base's part, up to the child's next run (level %u, %llu bytes)", e.level,
	      (unsigned long long)e.len);
	st = vhdx_extent(top, 3 * MiB + 100, 2 * MiB, &e);
	CHECK(!st && !e.image && e.len == MiB - 100,
	      "extent: the child's ZERO block hides the base (%llu bytes of zeros)", (unsigned long long)e.len);
	st = vhdx_extent(top, 6 * MiB, MiB, &e);
	CHECK(!st && !e.image && e.level == 2 && e.len == MiB,
	      "extent: a block no level holds: zeros, after the base (level %u)", e.level);
	st = vhdx_extent(top, 4 * MiB, 3 * MiB, &e);
	CHECK(!st && e.level == 0 && e.len == MiB,
	      "extent: a whole block stops at the block's end (%llu bytes)", (unsigned long long)e.len);

	int ok = 1;
	uint64_t rng = 777;
	for (int i = 0; i < RANDOM_RANGES && ok; i++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		uint64_t off = (rng >> 20) % vs, len = 1 + (rng >> 3) % RANGE_MAX;
		if (len > vs - off)
			len = vs - off;
		ok = !resolve(top, off, len, got, &n) && !memcmp(got, want + off, len);
		if (!ok)
			t_report(0, "data differs", "extent: random range %d at %llu, %llu bytes", i, (unsigned long long)off,
				 (unsigned long long)len);
	}
	CHECK(ok, "extent: %d random unaligned ranges resolve to vhdx_read's bytes", RANDOM_RANGES);

	/* a parent's bitmap read fails: the error is the child's, naming the parent */
	L[1].mb.fail_read_at = L[1].mb.reads + 1;
	st = vhdx_extent(top, 5 * MiB + 16 * SS, SS, &e);
	L[1].mb.fail_read_at = 0;
	CHECK_STATUS(st, VHDX_E_IO, "extent: a parent's sector bitmap read error is an I/O error");
	CHECK_STR_CONTAINS(top->msg, "parent", "extent: the error names the parent");
	for (int i = 0; i < LEVELS; i++)
		CHECK_EQ_U64(L[i].mb.writes, 0, "extent: level %d saw no write", i);
	free(got);
	free(want);
}

int main(void)
{
	if (!build())
		chain_extents();
	for (int i = LEVELS - 1; i >= 0; i--) {
		vhdx_close(&L[i].img);
		mb_free(&L[i].mb);
		ib_free(&L[i].b);
	}
	return t_done();
}
