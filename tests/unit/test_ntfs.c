/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_ntfs.c - the NTFS locator's pieces in memory: runlist decoding (negative deltas, holes, truncated and
 * overlong runs, pieces), reads through runs, cross-link detection, update sequence fixups, the $UpCase name
 * collation, the attribute walk's bounds; then whole lookups on the fuzz seeds (real mkntfs/ntfs-3g volumes cut to
 * the pages a lookup reads): case-insensitive paths, an $ATTRIBUTE_LIST file, extent_max, every allocation and
 * read failure in turn (refused, nothing left allocated), no writes.
 */
#include "membackend.h"
#include "ntfs.h"
#include "t.h"

static struct membackend mb;
static struct vhdx_fs_file out;
static struct ntfs_vol v;

/* a volume of 1000 clusters of 4 KiB over an in-memory partition; cluster c holds the byte c & 0xff */
static void vol_reset(void)
{
	vhdx_ntfs_free_all(&v);
	memset(&v, 0, sizeof v);
	memset(&out, 0, sizeof out);
	v.io = mb_io(&mb);
	v.out = &out;
	v.cluster_size = 4096;
	v.cluster_bits = 12;
	v.clusters = 1000;
	v.record_size = 1024;
}

static vhdx_status decode(const uint8_t *p, size_t len, uint64_t lowest, uint64_t highest, struct ntfs_runs *r)
{
	out.msg[0] = '\0';
	return vhdx_ntfs_runs_decode(&v, r, p, len, lowest, highest, "test runlist");
}

#define RUN_EQ(r, i, VCN, LCN, LEN)                                                                              \
	CHECK((r).n > (i) && (r).r[i].vcn == (VCN) && (r).r[i].lcn == (LCN) && (r).r[i].len == (LEN),            \
	      "run %d is VCN %llu LCN %lld len %llu", i, (unsigned long long)(VCN), (long long)(LCN),           \
	      (unsigned long long)(LEN))

static void test_runlists(void)
{
	struct ntfs_runs r = { 0 };

	vol_reset();
	/* 4 clusters at 0x258 (600), then 1 cluster 256 clusters back (344, a negative 2-byte delta), a hole of 8,
	   then 2 clusters 16 after the last real LCN (360) */
	static const uint8_t neg[] = { 0x21, 0x04, 0x58, 0x02, 0x21, 0x01, 0x00, 0xff, 0x01, 0x08, 0x11, 0x02, 0x10, 0x00 };
	CHECK_STATUS(decode(neg, sizeof neg, 0, 14, &r), VHDX_OK, "runlist: negative delta and a hole decode");
	RUN_EQ(r, 0, 0, 600, 4);
	RUN_EQ(r, 1, 4, 344, 1);
	RUN_EQ(r, 2, 5, NTFS_LCN_HOLE, 8);
	RUN_EQ(r, 3, 13, 360, 2);
	CHECK_EQ_U64(r.next_vcn, 15, "runlist: the next piece starts at VCN 15");

	/* a second piece continues at VCN 15 and starts again from LCN 0 */
	static const uint8_t piece[] = { 0x11, 0x03, 0x20, 0x00 };
	CHECK_STATUS(decode(piece, sizeof piece, 15, 17, &r), VHDX_OK, "runlist: a second piece at the right VCN");
	RUN_EQ(r, 4, 15, 32, 3);
	CHECK_STATUS(decode(piece, sizeof piece, 19, 21, &r), VHDX_E_CORRUPT, "runlist: a piece leaving a gap");
	CHECK_STR_CONTAINS(out.msg, "lowest_vcn 19", "runlist: the gap is named");

	struct {
		const char *name, *word;
		uint8_t b[12];
		size_t len;
		uint64_t highest;
	} bad[] = {
		{ "a run cut short", "needs 5 bytes, 3 are left", { 0x31, 0x04, 0x10 }, 3, 3 },
		{ "no terminating zero", "no terminating zero", { 0x11, 0x04, 0x10 }, 3, 3 },
		{ "a length field of 9 bytes", "header byte 0x19", { 0x19, 0x04, 0x10, 0x00 }, 4, 3 },
		{ "an empty length field", "header byte 0x10", { 0x10, 0x04, 0x00 }, 3, 3 },
		{ "a zero length", "has length 0", { 0x11, 0x00, 0x10, 0x00 }, 4, 3 },
		{ "a negative length", "has length -", { 0x18, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x01, 0x00 }, 11, 3 },
		{ "a negative LCN", "LCN -16", { 0x11, 0x04, 0xf0, 0x00 }, 4, 3 },
		{ "a run past the volume", "outside the volume", { 0x21, 0x04, 0xe6, 0x03, 0x00 }, 5, 3 },
		{ "runs short of highest_vcn", "highest_vcn is 9", { 0x11, 0x04, 0x10, 0x00 }, 4, 9 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ntfs_runs b = { 0 };
		vhdx_status st = decode(bad[i].b, bad[i].len, 0, bad[i].highest, &b);
		CHECK_STATUS(st, VHDX_E_CORRUPT, "runlist refused: %s", bad[i].name);
		CHECK_STR_CONTAINS(out.msg, bad[i].word, "runlist refusal names it: %s", bad[i].name);
		vhdx_ntfs_free(&v, b.r);
	}

	/* more runs than NTFS_MAX_RUNS: bounded, refused by name */
	size_t n = (size_t)NTFS_MAX_RUNS + 1, len = 3 * n + 1;
	uint8_t *many = calloc(len, 1);
	struct ntfs_runs m = { 0 };
	for (size_t i = 0; i < n; i++) {
		many[3 * i] = 0x11;
		many[3 * i + 1] = 1;
		many[3 * i + 2] = 2; /* every other cluster: no merging involved */
	}
	v.clusters = 4 * n;
	CHECK_STATUS(decode(many, len, 0, n - 1, &m), VHDX_E_UNSUPPORTED, "runlist: %zu runs refused", n);
	CHECK_STR_CONTAINS(out.msg, "more than 65536 runs", "runlist: the run limit is named");
	free(many);
	vhdx_ntfs_free_all(&v);
	CHECK_EQ_U64(mb.alloc_bytes_live, 0, "runlist: nothing left allocated after free_all");
}

static void test_runs_read_and_overlap(void)
{
	struct ntfs_runs r = { 0 };
	uint8_t buf[8192];

	vol_reset();
	for (uint32_t c = 0; c < 32; c++)
		memset(mb.buf + (uint64_t)c * 4096, (int)c, 4096);
	static const uint8_t hole_then_5[] = { 0x01, 0x01, 0x11, 0x02, 0x05, 0x00 };
	CHECK_STATUS(decode(hole_then_5, sizeof hole_then_5, 0, 2, &r), VHDX_OK, "read: runlist decodes");
	CHECK_STATUS(vhdx_ntfs_runs_read(&v, &r, 2048, buf, sizeof buf, "test"), VHDX_OK, "read across a hole and runs");
	CHECK(buf[0] == 0 && buf[2047] == 0 && buf[2048] == 5 && buf[6143] == 5 && buf[6144] == 6 && buf[8191] == 6,
	      "read: zeros for the hole, then clusters 5 and 6");
	CHECK(out.reads == 1 && out.bytes_read == 6144, "read: the hole costs no read, the run one (reads %u, bytes %llu)", out.reads,
	      (unsigned long long)out.bytes_read);
	CHECK_STATUS(vhdx_ntfs_runs_read(&v, &r, 3 * 4096, buf, 1, "test"), VHDX_E_CORRUPT, "read past the runs");

	/* a hole of 2^60 clusters: its length in bytes does not fit 64 bits, the read must still end */
	struct ntfs_runs huge = { 0 };
	static const uint8_t vast[] = { 0x08, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x00 };
	CHECK_STATUS(decode(vast, sizeof vast, 0, (1ull << 60) - 1, &huge), VHDX_OK, "read: a hole of 2^60 clusters decodes");
	memset(buf, 0xee, 16);
	CHECK_STATUS(vhdx_ntfs_runs_read(&v, &huge, 0, buf, 16, "test"), VHDX_OK, "read: the start of a vast hole ends");
	CHECK(buf[0] == 0 && buf[15] == 0, "read: a vast hole reads as zeros");

	struct ntfs_runs ok = { 0 }, cross = { 0 };
	static const uint8_t adjacent[] = { 0x11, 0x05, 0x0a, 0x11, 0x02, 0x05, 0x01, 0x01, 0x00 }; /* 10+5, 15+2, hole */
	static const uint8_t crossed[] = { 0x11, 0x05, 0x0a, 0x11, 0x02, 0x04, 0x00 };             /* 10+5, 14+2 */
	CHECK_STATUS(decode(adjacent, sizeof adjacent, 0, 7, &ok), VHDX_OK, "overlap: adjacent runs decode");
	CHECK_STATUS(vhdx_ntfs_runs_disjoint(&v, &ok, "test"), VHDX_OK, "overlap: adjacent runs are disjoint");
	CHECK_STATUS(decode(crossed, sizeof crossed, 0, 6, &cross), VHDX_OK, "overlap: crossed runs decode");
	CHECK_STATUS(vhdx_ntfs_runs_disjoint(&v, &cross, "test"), VHDX_E_CORRUPT, "overlap: cluster 14 twice refused");
	CHECK_STR_CONTAINS(out.msg, "cross-linked", "overlap: named");
	/* the overlap is found whatever the order of the runs (they are sorted by LCN first) */
	struct ntfs_runs rev = { 0 };
	static const uint8_t reversed[] = { 0x11, 0x02, 0x0e, 0x11, 0x05, 0x7c, 0x11, 0x05, 0x80, 0x00 }; /* 14, 138, 10 */
	CHECK_STATUS(decode(reversed, sizeof reversed, 0, 11, &rev), VHDX_OK, "overlap: out-of-order runs decode");
	out.msg[0] = '\0';
	CHECK_STATUS(vhdx_ntfs_runs_disjoint(&v, &rev, "test"), VHDX_E_CORRUPT, "overlap: found out of LCN order");
	vhdx_ntfs_free_all(&v);
	CHECK_EQ_U64(mb.alloc_bytes_live, 0, "overlap: nothing left allocated");
}

/* a 1024-byte FILE record with a valid update sequence (number 7, saved words 0xaabb and 0xccdd) */
static void make_record(uint8_t *b)
{
	memset(b, 0, 1024);
	memcpy(b, "FILE", 4);
	vhdx_put16(b + 4, 0x30);
	vhdx_put16(b + 6, 3);
	vhdx_put16(b + 0x30, 7);
	vhdx_put16(b + 0x32, 0xaabb);
	vhdx_put16(b + 0x34, 0xccdd);
	vhdx_put16(b + 510, 7);
	vhdx_put16(b + 1022, 7);
}

static void test_fixups(void)
{
	uint8_t b[1024];

	vol_reset();
	make_record(b);
	CHECK_STATUS(vhdx_ntfs_fixup(&v, b, 1024, "FILE", "MFT record", 9), VHDX_OK, "fixup: a valid record");
	CHECK(vhdx_le16(b + 510) == 0xaabb && vhdx_le16(b + 1022) == 0xccdd, "fixup: the saved words are put back");

	make_record(b);
	vhdx_put16(b + 1022, 8);
	CHECK_STATUS(vhdx_ntfs_fixup(&v, b, 1024, "FILE", "MFT record", 9), VHDX_E_CORRUPT, "fixup: a torn block");
	CHECK_STR_CONTAINS(out.msg, "MFT record 9: update sequence: 512-byte block 1 ends with 0x0008", "fixup: named");

	make_record(b);
	vhdx_put16(b + 6, 2);
	out.msg[0] = '\0';
	CHECK_STATUS(vhdx_ntfs_fixup(&v, b, 1024, "FILE", "MFT record", 9), VHDX_E_CORRUPT, "fixup: count 2 for 1024 bytes");
	CHECK_STR_CONTAINS(out.msg, "count 2", "fixup: the count is named");

	make_record(b);
	vhdx_put16(b + 4, 0x1f8); /* the array would cover the first protected word */
	out.msg[0] = '\0';
	CHECK_STATUS(vhdx_ntfs_fixup(&v, b, 1024, "FILE", "MFT record", 9), VHDX_E_CORRUPT, "fixup: array over the end");

	make_record(b);
	out.msg[0] = '\0';
	CHECK_STATUS(vhdx_ntfs_fixup(&v, b, 1024, "INDX", "index block at VCN", 3), VHDX_E_CORRUPT, "fixup: wrong magic");
	CHECK_STR_CONTAINS(out.msg, "expected \"INDX\"", "fixup: the magic is named");
}

static void test_collation(void)
{
	static uint8_t page0[4096];
	int cmp = 9;

	vol_reset();
	for (uint32_t c = 0; c < 2048; c++)
		vhdx_put16(page0 + 2 * c, (uint16_t)c);
	for (uint32_t c = 'a'; c <= 'z'; c++)
		vhdx_put16(page0 + 2 * c, (uint16_t)(c - 32));
	vhdx_put16(page0 + 2 * 0xe9, 0xc9);   /* é -> É */
	vhdx_put16(page0 + 2 * 0x3c3, 0x3a3); /* σ -> Σ */
	v.upcase[0] = page0;

	struct {
		const char *name;
		uint16_t a[4];
		uint32_t alen;
		uint16_t b[4];
		uint32_t blen;
		int want;
	} cases[] = {
		{ "abc = ABC", { 'a', 'b', 'c' }, 3, { 'A', 'B', 'C' }, 3, 0 },
		{ "abd > ABC", { 'a', 'b', 'd' }, 3, { 'A', 'B', 'C' }, 3, 1 },
		{ "AB < abc (shorter first)", { 'A', 'B' }, 2, { 'a', 'b', 'c' }, 3, -1 },
		{ "e-acute = E-acute", { 0xe9 }, 1, { 0xc9 }, 1, 0 },
		{ "sigma = SIGMA (Greek, through the table)", { 0x3c3 }, 1, { 0x3a3 }, 1, 0 },
		{ "'_' > 'a' (upcased 'A' sorts before '_')", { '_' }, 1, { 'a' }, 1, 1 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t le[8];
		for (uint32_t j = 0; j < cases[i].blen; j++)
			vhdx_put16(le + 2 * j, cases[i].b[j]);
		CHECK_STATUS(vhdx_ntfs_name_cmp(&v, cases[i].a, cases[i].alen, le, cases[i].blen, &cmp), VHDX_OK,
			     "collation: %s compares", cases[i].name);
		CHECK_EQ_INT(cmp, cases[i].want, "collation: %s", cases[i].name);
	}
	/* a character of a page not yet loaded goes to the volume's $UpCase (here: no $MFT, so refused) */
	uint16_t cjk = 0x4e00;
	uint8_t le[2] = { 0x00, 0x4e };
	CHECK_STATUS(vhdx_ntfs_name_cmp(&v, &cjk, 1, le, 1, &cmp), VHDX_E_CORRUPT,
		     "collation: page 9 of $UpCase is read from the volume when first needed");
	CHECK_STR_CONTAINS(out.msg, "MFT record 10", "collation: the $UpCase record is named");
	v.upcase[0] = NULL;
	vhdx_ntfs_free_all(&v);
}

static void test_attr_bounds(void)
{
	uint8_t b[1024];
	struct ntfs_attr at;
	uint32_t pos = 0;

	vol_reset();
	memset(b, 0, sizeof b);
	memcpy(b, "FILE", 4);
	vhdx_put16(b + 0x14, 0x38);
	vhdx_put32(b + 0x18, 0x38 + 0x18 + 0x48 + 8);
	vhdx_put32(b + 0x38, 0x10); /* resident, 0x18 long, value 0 bytes at 0x18 */
	vhdx_put32(b + 0x3c, 0x18);
	vhdx_put16(b + 0x38 + 0x14, 0x18);
	vhdx_put32(b + 0x50, 0x80); /* non-resident, 0x48 long */
	vhdx_put32(b + 0x54, 0x48);
	b[0x58] = 1;
	vhdx_put16(b + 0x50 + 0x20, 0x40);
	vhdx_put32(b + 0x98, NTFS_AT_END);
	CHECK_EQ_INT(vhdx_ntfs_attr_next(&v, b, &pos, &at, 1), 1, "attributes: the first");
	CHECK(at.type == 0x10 && !at.non_resident && at.value_len == 0, "attributes: resident 0x10");
	CHECK_EQ_INT(vhdx_ntfs_attr_next(&v, b, &pos, &at, 1), 1, "attributes: the second");
	CHECK(at.type == 0x80 && at.non_resident && vhdx_ntfs_attr_named(&at, ""), "attributes: unnamed $DATA");
	CHECK_EQ_INT(vhdx_ntfs_attr_next(&v, b, &pos, &at, 1), 0, "attributes: then the end marker");

	struct {
		const char *name;
		uint32_t off, val;
	} bad[] = {
		{ "length 0 (no endless loop)", 0x3c, 0 },
		{ "length past bytes_in_use", 0x54, 0x100 },
		{ "bytes_in_use past the record", 0x18, 2048 },
		{ "value past the attribute", 0x38 + 0x10, 0x20 },
		{ "mapping pairs past the attribute", 0x50 + 0x20, 0x50 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint8_t c[1024];
		int r = 1;
		unsigned steps = 0;

		memcpy(c, b, sizeof c);
		if (bad[i].off == 0x50 + 0x20)
			vhdx_put16(c + bad[i].off, (uint16_t)bad[i].val);
		else
			vhdx_put32(c + bad[i].off, bad[i].val);
		pos = 0;
		out.msg[0] = '\0';
		while (r > 0 && steps++ < 10)
			r = vhdx_ntfs_attr_next(&v, c, &pos, &at, 1);
		CHECK(r < 0 && out.msg[0], "attributes refused: %s (%s)", bad[i].name, out.msg);
	}
}

/* Loads a fuzz seed (compact: path byte, k byte, u32 pages, then [u32 page][u16 len][bytes]) into mb. */
static int load_seed(const char *name)
{
	char path[512];
	const char *root = getenv("ROOT");
	FILE *f;
	static uint8_t data[1 << 20];
	size_t n, at = 6;

	snprintf(path, sizeof path, "%s/tests/fuzz/seeds/fs_ntfs/%s", root ? root : ".", name);
	f = fopen(path, "rb");
	if (!f)
		return -1;
	n = fread(data, 1, sizeof data, f);
	fclose(f);
	mb_free(&mb);
	if (n < 6 || mb_init(&mb, (uint64_t)vhdx_le32(data + 2) * 4096))
		return -1;
	while (at + 6 <= n) {
		uint32_t pg = vhdx_le32(data + at), len = vhdx_le16(data + at + 4);
		memcpy(mb.buf + (uint64_t)pg * 4096, data + at + 6, len);
		at += 6 + len;
	}
	mb.read_only = 1;
	mb_io(&mb);
	return 0;
}

static struct vhdx_fs_extent ext[1024];

static vhdx_status locate(const char *path, uint32_t max)
{
	memset(&out, 0, sizeof out);
	out.extents = ext;
	out.extent_max = max;
	return vhdx_ntfs_locate(mb_io(&mb), path, &out);
}

static int covers(uint64_t size)
{
	uint64_t pos = 0;
	for (uint32_t i = 0; i < out.extent_count; i++) {
		if (ext[i].file_offset != pos || ext[i].part_offset + ext[i].length > mb.size)
			return 0;
		pos += ext[i].length;
	}
	return pos == size;
}

static void test_volumes(void)
{
	vhdx_status st;

	if (load_seed("small-path0") != 0) {
		T_SKIP("ntfs volumes", "tests/fuzz/seeds/fs_ntfs/small-path0 not readable (run from the tree's root)");
		return;
	}
	st = locate("/d/e/File.bin", 1024);
	CHECK_STATUS(st, VHDX_OK, "volume: /d/e/File.bin found: %s", out.msg);
	CHECK(out.size == 40000 && out.extent_count == 1 && covers(40000) && out.cluster_size == 4096,
	      "volume: 40000 bytes in one extent (%u)", out.extent_count);
	CHECK(out.fs_flags == VHDX_FS_HIBERNATED, "volume: its hiberfil.sys starts \"HIBR\": flags 0x%x", out.fs_flags);
	CHECK(out.bytes_read <= 64 * 1024, "volume: the lookup read %llu bytes in %u reads", (unsigned long long)out.bytes_read,
	      out.reads);
	CHECK_EQ_U64(mb.alloc_bytes_live, 0, "volume: nothing left allocated");
	CHECK_EQ_U64(mb.writes, 0, "volume: nothing written");
	struct vhdx_fs_extent first = ext[0];
	CHECK_STATUS(locate("\\D\\E\\FILE.BIN", 1024), VHDX_OK, "volume: the same file in other case, with '\\'");
	CHECK(ext[0].part_offset == first.part_offset, "volume: case-insensitive lookup finds the same bytes");
	CHECK_STATUS(locate("/d/e/File.bin", 0), VHDX_E_UNSUPPORTED, "volume: extent_max 0 refused");
	CHECK_STR_CONTAINS(out.msg, "extent_max", "volume: extent_max is named");
	CHECK_STATUS(locate("/d/e/nothere", 1024), VHDX_E_NOTFOUND, "volume: a missing name");
	CHECK_STR_CONTAINS(out.msg, "component 3 not found", "volume: the missing component is named");
	CHECK_STATUS(locate("/d/e/File.bin/x", 1024), VHDX_E_NOTFOUND, "volume: a file used as a directory");
	CHECK_STATUS(locate("/d/\xff", 1024), VHDX_E_ARG, "volume: invalid UTF-8 refused");
	CHECK_STATUS(locate("///", 1024), VHDX_E_ARG, "volume: a path naming no file");

	/* every allocation, then every read, failing in turn: refused with the right status, nothing left behind */
	unsigned allocs, reads, k, a0;
	mb_reset_counters(&mb); /* reads count from here; allocations count from mb_init */
	a0 = mb.allocs;
	locate("/d/e/File.bin", 1024);
	allocs = mb.allocs - a0;
	reads = mb.reads;
	int all = 1;
	for (k = 1; k <= allocs; k++) {
		mb.fail_alloc_at = mb.allocs + k;
		st = locate("/d/e/File.bin", 1024);
		all &= st == VHDX_E_NOMEM && mb.alloc_bytes_live == 0 && out.extent_count == 0 && out.msg[0];
	}
	mb.fail_alloc_at = 0;
	CHECK(all, "volume: each of the %u allocations failing gives VHDX_E_NOMEM, nothing leaked", allocs);
	all = 1;
	for (k = 1; k <= reads; k++) {
		mb.fail_read_at = k;
		mb_reset_counters(&mb);
		st = locate("/d/e/File.bin", 1024);
		all &= st == VHDX_E_IO && mb.alloc_bytes_live == 0 && out.msg[0];
	}
	mb.fail_read_at = 0;
	CHECK(all, "volume: each of the %u reads failing gives VHDX_E_IO, nothing leaked", reads);

	if (load_seed("frag-path8") == 0) {
		st = locate("/frag.bin", 1024);
		CHECK_STATUS(st, VHDX_OK, "fragmented: /frag.bin (runs in an $ATTRIBUTE_LIST's extension records): %s", out.msg);
		CHECK(out.size == 2 << 20 && out.extent_count > 200 && covers(2 << 20),
		      "fragmented: 2 MiB in %u extents, in file order", out.extent_count);
		CHECK_STATUS(locate("/frag.bin", 100), VHDX_E_UNSUPPORTED, "fragmented: more extents than extent_max");
		CHECK_EQ_U64(mb.alloc_bytes_live, 0, "fragmented: nothing left allocated");
	}
}

int main(void)
{
	mb_init(&mb, 1u << 20);
	test_runlists();
	test_runs_read_and_overlap();
	test_fixups();
	test_collation();
	test_attr_bounds();
	test_volumes();
	mb_free(&mb);
	return t_done();
}
