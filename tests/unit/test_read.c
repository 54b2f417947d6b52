/* SPDX-License-Identifier: BSD-2-Clause */
/* test_read.c - core/read.c and the BAT window of core/bat.c: virtual reads and block lookups. */
#include "imgbuild.h"
#include "t.h"

#define MiB VHDX_MiB

static struct vhdx_image img;
static struct membackend mb;
static struct ib b;

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int open_b(const char *name)
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
	ib_free(&b);
}

/* compares vhdx_read with ib_expect over n random ranges of at most maxlen bytes */
static int random_reads(unsigned n, size_t maxlen, char *why, size_t whylen)
{
	uint8_t *got = malloc(maxlen), *want = malloc(maxlen);
	int ok = 1;

	for (unsigned i = 0; i < n && ok; i++) {
		uint64_t off = rnd() % img.virtual_size;
		size_t len = (size_t)(rnd() % (maxlen + 1));
		if (len > img.virtual_size - off)
			len = (size_t)(img.virtual_size - off);
		if (i % 4 == 0) /* some sector-aligned */
			off -= off % 512, len -= len % 512;
		vhdx_status st = vhdx_read(&img, off, got, len);
		ib_expect(&b, off, want, len);
		if (st != VHDX_OK || memcmp(got, want, len)) {
			snprintf(why, whylen, "read %zu bytes at %llu: status %d, %s", len, (unsigned long long)off, (int)st,
				 st ? img.msg : "data differs");
			ok = 0;
		}
	}
	free(got);
	free(want);
	return ok;
}

/* an 8 MiB disk with every state: 0 ZERO, 1 FULL, 2 UNMAPPED, 3+4 FULL and contiguous, 5 UNDEFINED, 6 absent, 7 FULL */
static uint64_t offs[8];
static void build_mixed(const struct ib_params *p)
{
	ib_build(&b, p);
	offs[1] = ib_alloc_block(&b, 1);
	offs[3] = ib_alloc_block(&b, 3);
	offs[4] = ib_alloc_block(&b, 4);
	offs[7] = ib_alloc_block(&b, 7);
	/* the non-present states point at data that must not be returned */
	uint64_t junk = b.size;
	ib_grow(&b, junk + MiB);
	memset(b.buf + junk, 0xA5, MiB);
	ib_bat_set(&b, ib_bat_index(&b, 0), junk | VHDX_BAT_ZERO);
	ib_bat_set(&b, ib_bat_index(&b, 2), junk | VHDX_BAT_UNMAPPED);
	ib_bat_set(&b, ib_bat_index(&b, 5), junk | VHDX_BAT_UNDEFINED);
	ib_bat_set(&b, ib_bat_index(&b, 6), junk | VHDX_BAT_NOT_PRESENT);
}

static void mixed(void)
{
	static uint8_t got[8 * MiB], want[8 * MiB];
	char why[VHDX_MSG_LEN + 128] = "";

	build_mixed(NULL);
	if (!open_b("read mixed states"))
		return;
	CHECK_STATUS(vhdx_read(&img, 0, got, sizeof got), VHDX_OK, "read: the whole 8 MiB disk");
	ib_expect(&b, 0, want, sizeof want);
	CHECK_MEM_EQ(got, want, sizeof got, "read: the whole disk matches the stored blocks");
	int zeros = 1;
	for (unsigned blk = 0; blk < 8; blk++) {
		if (blk == 0 || blk == 2 || blk == 5 || blk == 6)
			for (size_t i = 0; i < MiB; i++)
				zeros &= got[blk * MiB + i] == 0;
	}
	CHECK(zeros, "read: ZERO, UNMAPPED, UNDEFINED and NOT_PRESENT blocks read as zeros though their entries carry offsets");
	CHECK(got[MiB] == ib_pattern(MiB) && got[8 * MiB - 1] == ib_pattern(8 * MiB - 1),
	      "read: FULLY_PRESENT blocks return their data");
	t_report(random_reads(3000, 3 * MiB, why, sizeof why), why, "read: 3000 random ranges (unaligned offsets and lengths)");

	/* every small length at odd offsets around block boundaries */
	int ok = 1;
	for (uint64_t base = MiB - 40; base < 5 * MiB && ok; base += MiB)
		for (size_t len = 0; len <= 80 && ok; len++) {
			uint8_t g[80], w[80];
			if (vhdx_read(&img, base + len % 7, g, len) || (ib_expect(&b, base + len % 7, w, len), memcmp(g, w, len)))
				ok = 0;
		}
	CHECK(ok, "read: lengths 0..80 across each block boundary");

	/* blocks 3 and 4 are contiguous in the file: one backend read; 1 and 3 are not: two */
	vhdx_read(&img, 0, got, 1); /* the BAT window is loaded */
	unsigned r0 = mb.reads;
	CHECK_STATUS(vhdx_read(&img, 3 * MiB + 100, got, 2 * MiB - 200), VHDX_OK, "read: across contiguous blocks 3 and 4");
	CHECK_EQ_U64(mb.reads - r0, 1, "read: contiguous blocks 3 and 4 in one backend read");
	ib_expect(&b, 3 * MiB + 100, want, 2 * MiB - 200);
	CHECK_MEM_EQ(got, want, 2 * MiB - 200, "read: contiguous blocks' data");
	r0 = mb.reads;
	vhdx_read(&img, MiB, got, 3 * MiB);
	CHECK_EQ_U64(mb.reads - r0, 2, "read: blocks 1..3 (1 and 3 not contiguous, 2 unmapped) in two backend reads");
	r0 = mb.reads;
	vhdx_read(&img, 0, got, MiB);
	CHECK_EQ_U64(mb.reads - r0, 0, "read: a ZERO block needs no backend read");

	/* range */
	memset(got, 0x77, 16);
	r0 = mb.reads;
	CHECK_STATUS(vhdx_read(&img, 8 * MiB, got, 1), VHDX_E_RANGE, "read: one byte at the end refused with VHDX_E_RANGE");
	CHECK_STR_CONTAINS(img.msg, "beyond the virtual disk", "read: range refusal message");
	CHECK_STATUS(vhdx_read(&img, 8 * MiB - 1, got, 2), VHDX_E_RANGE, "read: two bytes straddling the end refused");
	CHECK_STATUS(vhdx_read(&img, UINT64_MAX - 1, got, 4), VHDX_E_RANGE, "read: offset + length overflowing refused");
	CHECK_STATUS(vhdx_read(&img, 100 * MiB, got, 0), VHDX_E_RANGE, "read: length 0 beyond the end refused");
	CHECK(mb.reads == r0 && got[0] == 0x77, "read: refusals read nothing and leave the buffer alone");
	CHECK_STATUS(vhdx_read(&img, 8 * MiB, got, 0), VHDX_OK, "read: length 0 at the end is fine");
	CHECK_STATUS(vhdx_read(&img, 8 * MiB - 1, got, 1), VHDX_OK, "read: the last byte");
	CHECK_EQ_HEX(got[0], ib_pattern(8 * MiB - 1), "read: the last byte's value");

	/* lookups */
	static const unsigned st[8] = { 2, 6, 3, 6, 6, 1, 0, 6 };
	ok = 1;
	for (unsigned k = 0; k < 8; k++) {
		unsigned s = 99;
		uint64_t fo = 99;
		if (vhdx_block_lookup(&img, k, &s, &fo) || s != st[k] || fo != (st[k] == 6 ? offs[k] : 0))
			ok = 0;
	}
	CHECK(ok, "lookup: state and file offset of each block (offset 0 unless present)");
	unsigned s;
	uint64_t fo;
	CHECK_STATUS(vhdx_block_lookup(&img, 8, &s, &fo), VHDX_E_RANGE, "lookup: block 8 of 8 refused with VHDX_E_RANGE");
	CHECK_STR_CONTAINS(img.msg, "block 8", "lookup: range refusal names the block");

	/* a failing backend */
	mb.fail_read_at = mb.reads + 1;
	CHECK_STATUS(vhdx_read(&img, MiB, got, 10), VHDX_E_IO, "read: a failing backend read gives VHDX_E_IO");
	mb.fail_read_at = 0;
	CHECK_STATUS(vhdx_read(&img, MiB, got, 10), VHDX_OK, "read: works again after the failure");
	CHECK_EQ_U64(mb.writes + mb.flushes, 0, "read: nothing was ever written");

	vhdx_close(&img);
	CHECK_STATUS(vhdx_read(&img, 0, got, 10), VHDX_E_STATE, "read: after close refused with VHDX_E_STATE");
	CHECK_STATUS(vhdx_block_lookup(&img, 0, &s, &fo), VHDX_E_STATE, "lookup: after close refused with VHDX_E_STATE");
	CHECK_EQ_U64(mb.alloc_bytes_live, 0, "read: close frees everything open allocated");
	mb_free(&mb);
	ib_free(&b);

	static struct vhdx_image never;
	memset(&never, 0, sizeof never);
	never.io = mb_io(&mb);
	CHECK_STATUS(vhdx_read(&never, 0, got, 1), VHDX_E_STATE, "read: an image never opened refused with VHDX_E_STATE");
}

static void other_geometries(void)
{
	char why[VHDX_MSG_LEN + 128] = "";

	struct ib_params p4 = { .lss = 4096, .virtual_size = 8 * MiB };
	build_mixed(&p4);
	if (open_b("read 4096-byte sectors")) {
		t_report(random_reads(500, 3 * MiB, why, sizeof why), why, "read 4096-byte sectors: 500 random ranges");
		done();
	}
	/* 4 MiB blocks, a partial last block of 1.5 MiB */
	struct ib_params part = { .virtual_size = 9 * MiB + MiB / 2, .block_size = 4 * (uint32_t)MiB };
	ib_build(&b, &part);
	ib_alloc_block(&b, 2);
	ib_alloc_block(&b, 0);
	if (open_b("read partial last block")) {
		t_report(random_reads(500, 5 * MiB, why, sizeof why), why, "read partial last block: 500 random ranges");
		uint8_t t[16], w[16];
		vhdx_read(&img, img.virtual_size - 16, t, 16);
		ib_expect(&b, img.virtual_size - 16, w, 16);
		CHECK_MEM_EQ(t, w, 16, "read partial last block: the last 16 bytes");
		done();
	}
	/* consecutive blocks stored out of order and with gaps: runs must stop where the file is not contiguous */
	ib_build(&b, NULL);
	uint64_t d = b.data_next;
	ib_place_block(&b, 0, d + 2 * MiB, VHDX_BAT_FULLY_PRESENT);
	ib_place_block(&b, 1, d, VHDX_BAT_FULLY_PRESENT);
	ib_place_block(&b, 2, d + MiB, VHDX_BAT_FULLY_PRESENT);
	ib_place_block(&b, 3, d + 4 * MiB, VHDX_BAT_FULLY_PRESENT);
	ib_place_block(&b, 4, d + 6 * MiB, VHDX_BAT_FULLY_PRESENT);
	ib_place_block(&b, 5, d + 5 * MiB, VHDX_BAT_FULLY_PRESENT);
	ib_grow(&b, d + 8 * MiB);
	memset(b.buf + d + 3 * MiB, 0xC3, MiB); /* the gap holds bytes no block owns */
	memset(b.buf + d + 7 * MiB, 0xC7, MiB);
	if (open_b("read scattered blocks")) {
		static uint8_t got[8 * MiB], want[8 * MiB];
		CHECK_STATUS(vhdx_read(&img, 0, got, sizeof got), VHDX_OK, "read scattered blocks: the whole disk");
		ib_expect(&b, 0, want, sizeof want);
		CHECK_MEM_EQ(got, want, sizeof got, "read scattered blocks: every block from its own place, gaps never read");
		t_report(random_reads(300, 3 * MiB, why, sizeof why), why, "read scattered blocks: 300 random ranges");
		done();
	}

	/* more entries than the BAT window: blocks around 8192 and far away; window reloads */
	struct ib_params big = { .virtual_size = 10240 * MiB };
	ib_build(&b, &big);
	for (uint64_t k = 8189; k <= 8194; k++)
		ib_alloc_block(&b, k);
	ib_alloc_block(&b, 9000);
	ib_alloc_block(&b, 2);
	if (open_b("read 10 GiB, blocks around the BAT window edge")) {
		static uint8_t got[7 * MiB], want[7 * MiB];
		int ok = 1;
		uint64_t places[] = { 8188 * MiB + 5, 9000 * MiB + 7, 2 * MiB - 3, 8191 * MiB - 11, 10239 * MiB, 4095 * MiB + 1 };
		for (int round = 0; round < 3; round++)
			for (size_t k = 0; k < sizeof places / sizeof places[0]; k++) {
				size_t len = places[k] + sizeof got > img.virtual_size ? (size_t)(img.virtual_size - places[k]) : sizeof got;
				if (vhdx_read(&img, places[k], got, len))
					ok = 0;
				ib_expect(&b, places[k], want, len);
				if (memcmp(got, want, len))
					ok = 0;
			}
		CHECK(ok, "read 10 GiB: ranges over blocks 8188..8195, 9000, 2, the end, the first bitmap position, three rounds");
		unsigned r0 = mb.reads;
		vhdx_read(&img, 8189 * MiB, got, 6 * MiB);
		CHECK(mb.reads - r0 <= 3, "read 10 GiB: six contiguous blocks across the window edge in at most 3 backend reads (%u)",
		      mb.reads - r0);
		unsigned s;
		uint64_t fo;
		CHECK(!vhdx_block_lookup(&img, 9000, &s, &fo) && s == 6 && fo == ib_bat_get(&b, ib_bat_index(&b, 9000)) - 6,
		      "lookup 10 GiB: block 9000 (entry 9002, second window)");
		CHECK(!vhdx_block_lookup(&img, 8192, &s, &fo) && s == 6, "lookup 10 GiB: block 8192 after the first bitmap");
		CHECK(!vhdx_block_lookup(&img, 8195, &s, &fo) && s == 0 && fo == 0, "lookup 10 GiB: block 8195 absent");
		done();
	}
}

static void differencing(void)
{
	struct ib_params dp = { .has_parent = 1 };
	uint8_t got[4096], want[4096];

	ib_build(&b, &dp);
	ib_alloc_block(&b, 1);
	ib_place_block(&b, 3, b.data_next, VHDX_BAT_PARTIALLY_PRESENT);
	ib_bat_set(&b, ib_bat_index(&b, 4), VHDX_BAT_ZERO);
	ib_grow(&b, b.size + MiB); /* the chunk's sector bitmap, all clear: every sector of block 3 is the parent's */
	ib_bat_set(&b, b.chunk_ratio, (b.size - MiB) | VHDX_SB_PRESENT);
	if (!open_b("read differencing disk"))
		return;
	CHECK_STATUS(vhdx_read(&img, MiB + 10, got, 100), VHDX_OK, "read differencing: a FULLY_PRESENT block reads");
	ib_expect(&b, MiB + 10, want, 100);
	CHECK_MEM_EQ(got, want, 100, "read differencing: its data");
	CHECK_STATUS(vhdx_read(&img, 4 * MiB, got, 4096), VHDX_OK, "read differencing: a ZERO block reads");
	CHECK(got[0] == 0 && got[4095] == 0, "read differencing: as zeros");
	CHECK_STATUS(vhdx_read(&img, 0, got, 512), VHDX_E_UNSUPPORTED, "read differencing: a NOT_PRESENT block (from the parent) is unsupported");
	CHECK_STR_CONTAINS(img.msg, "parent", "read differencing: the refusal mentions the parent");
	CHECK_STATUS(vhdx_read(&img, 3 * MiB, got, 512), VHDX_E_UNSUPPORTED, "read differencing: a PARTIALLY_PRESENT block is unsupported");
	CHECK_STATUS(vhdx_read(&img, MiB + MiB - 10, got, 20), VHDX_E_UNSUPPORTED, "read differencing: a read running from present into absent");
	done();
}

int main(void)
{
	mixed();
	other_geometries();
	differencing();
	return t_done();
}
