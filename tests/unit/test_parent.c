/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_parent.c - core/parent.c and the differencing reads of core/read.c: the Parent Locator parser, vhdx_locator_build, attaching
 * parents (linkage, geometry, read-only, loops, depth) and reads through a chain (NOT_PRESENT from the parent,
 * PARTIALLY_PRESENT sector by sector through the bitmap), checked against a byte model built here.
 */
#include "imgbuild.h"
#include "t.h"

#define MiB VHDX_MiB
#define SS 512

static struct vhdx_image scratch_img;

/* ---- locator items built by hand: entries of (key, value) in UTF-16LE */
struct kv {
	const char *k, *v;
};

static uint32_t put_item(uint8_t *out, const struct kv *e, unsigned n)
{
	static const struct vhdx_guid type = VHDX_GUID_PARENT_TYPE;
	uint32_t pos = 20 + 12 * n;

	memset(out, 0, 4096);
	vhdx_guid_store(out, &type);
	vhdx_put16(out + 18, (uint16_t)n);
	for (unsigned i = 0; i < n; i++) {
		const char *s[2] = { e[i].k, e[i].v };
		for (int j = 0; j < 2; j++) {
			size_t l = strlen(s[j]);
			vhdx_put32(out + 20 + 12 * i + 4 * j, pos);
			vhdx_put16(out + 20 + 12 * i + 8 + 2 * j, (uint16_t)(2 * l));
			for (size_t c = 0; c < l; c++)
				vhdx_put16(out + pos + 2 * c, (uint8_t)s[j][c]);
			pos += (uint32_t)(2 * l);
		}
	}
	return pos;
}

#define LINK "{11223344-5566-7788-99aa-bbccddeeff00}"

static void locator_parse(void)
{
	static uint8_t item[4096];
	static struct vhdx_parent_locator loc;
	struct vhdx_guid want = { 0x11223344, 0x5566, 0x7788, { 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x00 } };
	struct kv all[] = { { "parent_linkage", LINK },
			    { "parent_linkage2", "{AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE}" },
			    { "relative_path", "..\\base.vhdx" },
			    { "volume_path", "\\\\?\\Volume{26A21BDA-A627-11D7-9931-806E6F6E6963}\\x\\base.vhdx" },
			    { "absolute_win32_path", "\\\\?\\C:\\x\\base.vhdx" },
			    { "vendor_key", "ignored" } };
	uint32_t len = put_item(item, all, 6);

	CHECK_STATUS(vhdx_locator_parse(&scratch_img, item, len, &loc), VHDX_OK, "locator: all five keys and an extra");
	CHECK(vhdx_guid_equal(&loc.linkage, &want), "locator: parent_linkage parsed (lowercase hex)");
	CHECK(loc.linkage2.data1 == 0xAAAAAAAA && loc.linkage2.data4[7] == 0xEE, "locator: parent_linkage2 parsed (uppercase)");
	CHECK_STR_EQ(loc.relative_path, "..\\base.vhdx", "locator: relative_path");
	CHECK_STR_EQ(loc.absolute_win32_path, "\\\\?\\C:\\x\\base.vhdx", "locator: absolute_win32_path");
	CHECK(loc.keys == 31 && loc.unknown_keys == 1, "locator: key bits 31, one unknown key");

	static const struct {
		const char *name;
		struct kv e[2];
		unsigned n;
		const char *msg;
		vhdx_status st;
	} bad[] = {
		{ "no parent_linkage", { { "relative_path", "a.vhdx" } }, 1, "no parent_linkage", VHDX_E_CORRUPT },
		{ "duplicate key", { { "parent_linkage", LINK }, { "parent_linkage", LINK } }, 2, "a second parent_linkage",
		  VHDX_E_CORRUPT },
		{ "linkage without braces", { { "parent_linkage", "11223344-5566-7788-99aa-bbccddeeff00" } }, 1,
		  "\"11223344-5566-7788-99aa-bbccddeeff00\" is not a GUID in braces", VHDX_E_CORRUPT },
		{ "linkage with a bad digit", { { "parent_linkage", "{1122334g-5566-7788-99aa-bbccddeeff00}" } }, 1,
		  "parent_linkage: value", VHDX_E_CORRUPT },
		{ "linkage too long", { { "parent_linkage", "{11223344-5566-7788-99aa-bbccddeeff001}" } }, 1,
		  "not a GUID in braces", VHDX_E_CORRUPT },
	};
	for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		len = put_item(item, bad[k].e, bad[k].n);
		CHECK_STATUS(vhdx_locator_parse(&scratch_img, item, len, &loc), bad[k].st, "locator: %s refused", bad[k].name);
		CHECK_STR_CONTAINS(scratch_img.msg, bad[k].msg, "locator: %s named", bad[k].name);
	}

	/* bounds: offsets and lengths against the item */
	struct kv one[] = { { "parent_linkage", LINK } };
	len = put_item(item, one, 1);
	vhdx_put32(item + 24, len - 10); /* value runs past the end */
	CHECK_STATUS(vhdx_locator_parse(&scratch_img, item, len, &loc), VHDX_E_CORRUPT, "locator: value beyond the item");
	CHECK_STR_CONTAINS(scratch_img.msg, "lies outside its", "locator: value beyond the item named");
	len = put_item(item, one, 1);
	vhdx_put32(item + 20, 4); /* key inside the header/entry table */
	CHECK_STATUS(vhdx_locator_parse(&scratch_img, item, len, &loc), VHDX_E_CORRUPT, "locator: key in the entry table");
	len = put_item(item, one, 1);
	vhdx_put16(item + 28, 27); /* odd key length */
	CHECK_STATUS(vhdx_locator_parse(&scratch_img, item, len, &loc), VHDX_E_CORRUPT, "locator: odd key length");
	CHECK_STR_CONTAINS(scratch_img.msg, "odd", "locator: odd length named");
	len = put_item(item, one, 1);
	vhdx_put16(item + 18, 400); /* more entries than the item holds */
	CHECK_STATUS(vhdx_locator_parse(&scratch_img, item, len, &loc), VHDX_E_CORRUPT, "locator: entry count too high");
	CHECK_STATUS(vhdx_locator_parse(&scratch_img, item, 12, &loc), VHDX_E_CORRUPT, "locator: shorter than its header");
	len = put_item(item, one, 1);
	vhdx_put16(item + 32 + 4, 0xDC00); /* a lone low surrogate inside the value */
	CHECK_STATUS(vhdx_locator_parse(&scratch_img, item, len, &loc), VHDX_E_CORRUPT, "locator: broken UTF-16 refused");
	item[0] ^= 1;
	CHECK_STATUS(vhdx_locator_parse(&scratch_img, item, len, &loc), VHDX_E_UNSUPPORTED, "locator: other type unsupported");
}

static void locator_build(void)
{
	static uint8_t item[8192];
	static struct vhdx_parent_locator loc;
	struct vhdx_guid g = ib_guid(5);
	const char *uni = "..\\d\xC3\xA9j\xC3\xA0\\\xF0\x9F\x98\x80.vhdx"; /* é, à and a non-BMP character */
	uint32_t len = vhdx_locator_build(item, sizeof(item), &g, uni, NULL, "\\tmp\\p.vhdx");

	CHECK(len > 20, "build: a locator");
	CHECK_STATUS(vhdx_locator_parse(&scratch_img, item, len, &loc), VHDX_OK, "build: parses back");
	CHECK(vhdx_guid_equal(&loc.linkage, &g), "build: parent_linkage round trip");
	CHECK_STR_EQ(loc.relative_path, uni, "build: UTF-8 path round trip through UTF-16 (surrogate pair)");
	CHECK(!(loc.keys & VHDX_LOC_VOLUME) && (loc.keys & VHDX_LOC_ABSOLUTE), "build: volume_path left out");
	CHECK(vhdx_locator_build(item, 40, &g, "x", NULL, NULL) == 0, "build: too small a buffer gives 0");
	CHECK(vhdx_locator_build(item, sizeof(item), &g, "\xC3(", NULL, NULL) == 0, "build: invalid UTF-8 gives 0");
}

/* ---- chains: images built with imgbuild, the child's partial blocks and bitmap set by hand */
struct level {
	struct ib b;
	struct membackend mb;
	struct vhdx_image img;
};

/* block b of the child: PARTIALLY_PRESENT, with the sectors in [first, first + count) of it present */
static void partial(struct ib *b, uint64_t blk, uint64_t *bitmap_off, const uint64_t *runs, unsigned nruns)
{
	ib_place_block(b, blk, b->data_next, VHDX_BAT_PARTIALLY_PRESENT);
	if (!*bitmap_off) {
		*bitmap_off = b->size;
		ib_grow(b, b->size + MiB);
		ib_bat_set(b, b->chunk_ratio, *bitmap_off | VHDX_SB_PRESENT);
	}
	for (unsigned r = 0; r < nruns; r++)
		for (uint64_t s = runs[2 * r]; s < runs[2 * r] + runs[2 * r + 1]; s++) {
			uint64_t bit = blk * (b->p.block_size / SS) + s;
			b->buf[*bitmap_off + bit / 8] |= (uint8_t)(1u << (bit % 8));
		}
}

static int in_runs(const uint64_t *runs, unsigned n, uint64_t s)
{
	for (unsigned r = 0; r < n; r++)
		if (s >= runs[2 * r] && s < runs[2 * r] + runs[2 * r + 1])
			return 1;
	return 0;
}

static void chain_reads(void)
{
	static struct level L[2];
	struct ib_params pp = { .block_size = (uint32_t)MiB }, cp = { .block_size = (uint32_t)MiB, .has_parent = 1 };
	struct vhdx_guid dw = ib_guid(77);
	uint64_t bm = 0;
	/* child: block 1 fully its own; block 2 partly (sector runs, across bitmap bytes); block 3 ZERO; rest parent */
	static const uint64_t runs2[] = { 0, 1, 7, 3, 100, 900, 2047, 1 };
	const char *r;

	/* parent: every block present, ib_pattern of the offset */
	ib_build(&L[0].b, &pp);
	for (uint64_t k = 0; k < L[0].b.payload_blocks; k++)
		ib_alloc_block(&L[0].b, k);
	ib_set_data_write_guid(&L[0].b, &dw);
	ib_build(&L[1].b, &cp);
	/* the child's own data differs from the parent's: its blocks hold the pattern shifted by the child's layout */
	ib_alloc_block(&L[1].b, 1);
	partial(&L[1].b, 2, &bm, runs2, 4);
	ib_bat_set(&L[1].b, ib_bat_index(&L[1].b, 3), VHDX_BAT_ZERO);
	ib_set_parent_linkage(&L[1].b, &dw);
	/* the child's own bytes must differ from the parent's, or a read from the wrong level would pass */
	uint64_t o1 = ib_bat_get(&L[1].b, ib_bat_index(&L[1].b, 1)) & VHDX_BAT_OFFSET_MASK;
	uint64_t o2 = ib_bat_get(&L[1].b, ib_bat_index(&L[1].b, 2)) & VHDX_BAT_OFFSET_MASK;
	for (uint64_t k = 0; k < MiB; k++) {
		L[1].b.buf[o1 + k] ^= 0x5A;
		L[1].b.buf[o2 + k] ^= 0xA5;
	}

	for (int i = 0; i < 2; i++) {
		r = ib_opened(&L[i].b, &L[i].img, &L[i].mb);
		if (!t_report(!r, r, "chain: level %d opens", i))
			return;
	}
	CHECK_STATUS(vhdx_read(&L[1].img, 0, (uint8_t[16]){ 0 }, 16), VHDX_E_UNSUPPORTED, "chain: no parent attached: refused");
	CHECK_STR_CONTAINS(L[1].img.msg, "not attached", "chain: no parent attached: named");
	CHECK_STATUS(vhdx_attach_parent(&L[1].img, &L[0].img), VHDX_E_ARG, "chain: a writable parent refused");
	L[0].mb.read_only = 1;
	L[0].mb.io.read_only = 1;
	CHECK_STATUS(vhdx_attach_parent(&L[1].img, &L[0].img), VHDX_OK, "chain: parent attached");

	/* every byte against the model: block 0, 4.. parent; 1 child; 2 by bitmap; 3 zeros */
	uint64_t vs = L[1].img.virtual_size;
	uint8_t *got = malloc(vs), *want = malloc(vs), *p = malloc(vs);
	ib_expect(&L[0].b, 0, p, vs);
	for (uint64_t v = 0; v < vs; v++) {
		uint64_t blk = v / MiB;
		if (blk == 1)
			want[v] = L[1].b.buf[o1 + v % MiB];
		else if (blk == 2)
			want[v] = in_runs(runs2, 4, (v % MiB) / SS) ? L[1].b.buf[o2 + v % MiB] : p[v];
		else if (blk == 3)
			want[v] = 0;
		else
			want[v] = p[v];
	}
	CHECK_STATUS(vhdx_read(&L[1].img, 0, got, vs), VHDX_OK, "chain: the whole disk reads");
	CHECK_MEM_EQ(got, want, vs, "chain: the whole disk = the model");
	/* unaligned pieces, many sizes, crossing sector runs and block edges */
	int ok = 1;
	uint64_t rng = 12345;
	for (int i = 0; i < 3000 && ok; i++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		uint64_t off = (rng >> 20) % vs, len = (rng >> 3) % 70000;
		if (len > vs - off)
			len = vs - off;
		ok = vhdx_read(&L[1].img, off, got, len) == VHDX_OK && !memcmp(got, want + off, len);
		if (!ok)
			t_report(0, "data differs", "chain: random read %d at %llu, %llu bytes", i, (unsigned long long)off,
				 (unsigned long long)len);
	}
	CHECK(ok, "chain: 3000 random unaligned reads = the model");

	/* a parent is never written */
	uint8_t rnd[32] = { 1 };
	CHECK_STATUS(vhdx_session_update(&L[0].img, rnd), VHDX_E_READONLY, "chain: session update of a parent refused");
	CHECK_EQ_U64(L[0].mb.writes, 0, "chain: the parent saw no write");

	/* a parent read error surfaces on the child, naming the parent */
	L[0].mb.fail_read_at = L[0].mb.reads + 1;
	CHECK_STATUS(vhdx_read(&L[1].img, 5 * MiB, got, 100), VHDX_E_IO, "chain: a parent read error is an I/O error");
	CHECK_STR_CONTAINS(L[1].img.msg, "parent", "chain: the error names the parent");
	L[0].mb.fail_read_at = 0;
	free(got);
	free(want);
	free(p);
	for (int i = 1; i >= 0; i--) {
		vhdx_close(&L[i].img);
		mb_free(&L[i].mb);
		ib_free(&L[i].b);
	}
}

static void attach_rules(void)
{
	enum { N = VHDX_CHAIN_MAX_DEPTH + 2 };
	static struct level L[N];
	struct ib_params pp = { 0 }, cp = { .has_parent = 1 }, big = { .virtual_size = 16 * MiB, .has_parent = 1 };
	const char *r;

	/* L[i] is the child of L[i + 1]; L[N - 1] a plain image */
	for (int i = 0; i < N; i++) {
		ib_build(&L[i].b, i == N - 1 ? &pp : &cp);
		struct vhdx_guid g = ib_guid(100 + (unsigned)i), link = ib_guid(101 + (unsigned)i);
		ib_set_data_write_guid(&L[i].b, &g);
		if (i < N - 1)
			ib_set_parent_linkage(&L[i].b, &link);
		r = ib_opened(&L[i].b, &L[i].img, &L[i].mb);
		if (!t_report(!r, r, "attach: level %d opens", i))
			return;
		L[i].mb.read_only = 1;
		L[i].mb.io.read_only = 1;
	}
	CHECK_STATUS(vhdx_attach_parent(&L[0].img, &L[2].img), VHDX_E_CORRUPT, "attach: linkage mismatch refused");
	{
		char a[VHDX_GUID_TEXT], b[VHDX_GUID_TEXT];
		struct vhdx_guid g2 = ib_guid(102), g1 = ib_guid(101);
		vhdx_guid_format(&g2, a);
		vhdx_guid_format(&g1, b);
		CHECK_STR_CONTAINS(L[0].img.msg, a, "attach: the refusal names the parent's DataWriteGuid");
		CHECK_STR_CONTAINS(L[0].img.msg, b, "attach: and the child's parent_linkage");
	}
	CHECK_STATUS(vhdx_attach_parent(&L[N - 1].img, &L[0].img), VHDX_E_ARG, "attach: a child without HasParent refused");
	/* attach top-down: each level to the next; the last attach makes the chain one too deep */
	vhdx_status st = VHDX_OK;
	int i;
	for (i = 0; i < N - 1 && st == VHDX_OK; i++)
		st = vhdx_attach_parent(&L[i].img, &L[i + 1].img);
	CHECK_STATUS(st, VHDX_E_UNSUPPORTED, "attach: a chain of %d parents refused", N - 1);
	CHECK_EQ_INT(i, N - 1, "attach: the refusal comes at the deepest level");
	CHECK_STR_CONTAINS(L[N - 2].img.msg, "more than 16 parents", "attach: depth named");
	CHECK_STATUS(vhdx_attach_parent(&L[0].img, &L[1].img), VHDX_E_ARG, "attach: a second parent refused");

	/* a loop: the same image (by VirtualDiskId and DataWriteGuid) twice, here a child given itself */
	static struct level S;
	struct ib_params sp = { .has_parent = 1 };
	ib_build(&S.b, &sp);
	struct vhdx_guid self = ib_guid(300);
	ib_set_data_write_guid(&S.b, &self);
	ib_set_parent_linkage(&S.b, &self);
	static struct level S2;
	r = ib_opened(&S.b, &S.img, &S.mb);
	const char *r2 = ib_opened(&S.b, &S2.img, &S2.mb); /* the same file opened twice */
	if (t_report(!r && !r2, r ? r : r2, "attach: self-parent image opens")) {
		S2.mb.read_only = S2.mb.io.read_only = 1;
		CHECK_STATUS(vhdx_attach_parent(&S.img, &S2.img), VHDX_E_CORRUPT, "attach: the image as its own parent refused");
		CHECK_STR_CONTAINS(S.img.msg, "loop", "attach: loop named");
		S.mb.read_only = S.mb.io.read_only = 1;
		CHECK_STATUS(vhdx_attach_parent(&S.img, &S.img), VHDX_E_CORRUPT, "attach: the same handle as parent refused");
	}
	/* virtual size must match */
	static struct level B;
	ib_build(&B.b, &big);
	struct vhdx_guid l = ib_guid(100 + N - 1);
	ib_set_parent_linkage(&B.b, &l);
	r = ib_opened(&B.b, &B.img, &B.mb);
	if (t_report(!r, r, "attach: bigger child opens")) {
		static struct level P;
		ib_build(&P.b, &pp);
		ib_set_data_write_guid(&P.b, &l);
		if (!ib_opened(&P.b, &P.img, &P.mb)) {
			P.mb.read_only = P.mb.io.read_only = 1;
			CHECK_STATUS(vhdx_attach_parent(&B.img, &P.img), VHDX_E_UNSUPPORTED, "attach: a different virtual size refused");
			CHECK_STR_CONTAINS(B.img.msg, "Virtual Disk Size", "attach: size named");
			vhdx_close(&P.img);
			mb_free(&P.mb);
		}
		ib_free(&P.b);
	}
	vhdx_close(&B.img);
	mb_free(&B.mb);
	ib_free(&B.b);
	vhdx_close(&S.img);
	vhdx_close(&S2.img);
	mb_free(&S.mb);
	mb_free(&S2.mb);
	ib_free(&S.b);
	for (i = 0; i < N; i++) {
		vhdx_close(&L[i].img);
		mb_free(&L[i].mb);
		ib_free(&L[i].b);
	}
}

static void grow_mb(struct membackend *mb)
{
	mb_init(mb, 0);
	mb->grow = 1;
	mb_io(mb);
}

/* vhdx_create of a differencing child: what it writes opens as one, and a fault at any write or flush leaves a
 * file that does not open as a VHDX (except after the last flush, when everything is written) */
static void create_child(void)
{
	static uint8_t loc[4096];
	struct vhdx_guid link = ib_guid(9);
	struct vhdx_create_params p;
	struct membackend mb;
	static struct vhdx_image img;
	char msg[VHDX_MSG_LEN];

	memset(&p, 0, sizeof p);
	p.virtual_size = 40 * MiB;
	p.block_size = (uint32_t)MiB;
	p.parent_locator = loc;
	p.parent_locator_len = vhdx_locator_build(loc, sizeof loc, &link, ".\\base.vhdx", NULL, "\\x\\base.vhdx");
	for (int i = 0; i < 64; i++)
		p.random[i] = (uint8_t)(i * 7 + 1);
	grow_mb(&mb);
	CHECK_STATUS(vhdx_create(mb_io(&mb), &p, msg, sizeof msg), VHDX_OK, "create child: done");
	unsigned writes = mb.writes, flushes = mb.flushes;
	struct membackend m2;
	mb_init_copy(&m2, mb.buf, mb.size);
	memset(&img, 0, sizeof img);
	if (CHECK_STATUS(vhdx_open(&img, mb_io(&m2)), VHDX_OK, "create child: opens")) {
		CHECK(img.has_parent && img.locator && vhdx_guid_equal(&img.locator->linkage, &link),
		      "create child: HasParent and parent_linkage");
		CHECK_STR_EQ(img.locator->relative_path, ".\\base.vhdx", "create child: relative_path");
		CHECK_EQ_U64(img.state_count[VHDX_BAT_NOT_PRESENT], 40, "create child: every block NOT_PRESENT");
		CHECK_EQ_U64(img.bat_entries, 4097, "create child: the differencing BAT size (one whole chunk + bitmap)");
		vhdx_close(&img);
	}
	mb_free(&m2);
	mb_free(&mb);
	p.fixed = 1;
	grow_mb(&mb);
	CHECK_STATUS(vhdx_create(mb_io(&mb), &p, msg, sizeof msg), VHDX_E_ARG, "create child: fixed refused");
	mb_free(&mb);
	p.fixed = 0;

	int ok_st = 1, ok_open = 1;
	for (unsigned kind = 0; kind < 2; kind++) {
		unsigned n = kind == 0 ? writes : flushes;
		for (unsigned k = 1; k <= n; k++) {
			grow_mb(&mb);
			if (kind == 0)
				mb.fail_write_at = k;
			else
				mb.fail_flush_at = k;
			if (vhdx_create(mb_io(&mb), &p, msg, sizeof msg) != VHDX_E_IO)
				ok_st = 0;
			mb_init_copy(&m2, mb.buf, mb.size);
			memset(&img, 0, sizeof img);
			int opened = vhdx_open(&img, mb_io(&m2)) == VHDX_OK;
			if (opened && !(kind == 1 && k == n))
				ok_open = 0;
			if (opened)
				vhdx_close(&img);
			mb_free(&m2);
			mb_free(&mb);
		}
	}
	CHECK(ok_st, "create child: a fault at each of %u writes and %u flushes gives VHDX_E_IO", writes, flushes);
	CHECK(ok_open, "create child: the partial file never opens as a VHDX");
}

int main(void)
{
	create_child();
	locator_parse();
	locator_build();
	chain_reads();
	attach_rules();
	return t_done();
}
