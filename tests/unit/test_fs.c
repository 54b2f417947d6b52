/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_fs.c - the file locators' shared helpers (core/fsutil.c) and, over the fuzz seeds (small volumes the real
 * mkfs tools made, tests/fuzz/seeds/fs_*), every failure path of the FAT32, exFAT and ext4 locators: a read or an
 * allocation failing at each call in turn gives VHDX_E_IO / VHDX_E_NOMEM with a message and leaves no scratch
 * memory allocated; the probe's answers on empty, tiny and unreadable partitions.
 */
#include "fsutil.h"
#include "membackend.h"
#include "t.h"

static void test_fold(void)
{
	static const uint16_t pairs[][2] = {
		{ 'a', 'A' },     { 'z', 'Z' },     { 'A', 'A' },     { '0', '0' },     { 0xE9, 0xC9 },   { 0xF7, 0xF7 },
		{ 0xFF, 0x178 },  { 0x101, 0x100 }, { 0x13A, 0x139 }, { 0x14B, 0x14A }, { 0x17E, 0x17D }, { 0x3C9, 0x3A9 },
		{ 0x3C2, 0x3C2 }, { 0x44F, 0x42F }, { 0x451, 0x401 }, { 0xDF, 0xDF },   { 0x4E00, 0x4E00 },
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		CHECK_EQ_HEX(vhdx_fsu_fold(pairs[i][0]), pairs[i][1], "fold U+%04X", pairs[i][0]);
}

static void test_utf16(void)
{
	uint16_t u[VHDX_FS_NAME_MAX];
	unsigned n = 0;
	char longname[300];

	CHECK(vhdx_fsu_utf16("Grüße", strlen("Grüße"), u, &n) == 0 && n == 5 && u[1] == 'R' && u[2] == 0xDC && u[3] == 0xDF,
	      "utf16: 'Grüße' is 5 units, folded (n %u)", n);
	CHECK(vhdx_fsu_utf16("\xF0\x9F\x98\x80", 4, u, &n) == 0 && n == 2 && u[0] == 0xD83D && u[1] == 0xDE00,
	      "utf16: U+1F600 is a surrogate pair");
	CHECK(vhdx_fsu_utf16("\xC3", 1, u, &n) == -1, "utf16: a cut sequence is refused");
	CHECK(vhdx_fsu_utf16("\xC0\xAF", 2, u, &n) == -1, "utf16: an overlong form is refused");
	CHECK(vhdx_fsu_utf16("\xED\xA0\x80", 3, u, &n) == -1, "utf16: an encoded surrogate is refused");
	memset(longname, 'a', sizeof(longname));
	CHECK(vhdx_fsu_utf16(longname, 255, u, &n) == 0 && n == 255, "utf16: 255 units fit");
	CHECK(vhdx_fsu_utf16(longname, 256, u, &n) == -1, "utf16: 256 units are refused");
}

static void test_components(void)
{
	const char *p = "//dir\\sub//file.vhdx/", *name;
	size_t len;
	char got[3][16] = { "", "", "" };
	int k = 0;

	while (k < 3 && vhdx_fsu_component(&p, &name, &len))
		snprintf(got[k++], sizeof(got[0]), "%.*s", (int)len, name);
	CHECK(k == 3 && !strcmp(got[0], "dir") && !strcmp(got[1], "sub") && !strcmp(got[2], "file.vhdx"),
	      "components of '//dir\\sub//file.vhdx/': %d: %s %s %s", k, got[0], got[1], got[2]);
}

static void test_extents(void)
{
	struct membackend mb;
	struct vhdx_fs_extent e[2];
	struct vhdx_fs_file f;

	mb_init(&mb, 1 << 20);
	memset(&f, 0, sizeof(f));
	f.extents = e;
	f.extent_max = 2;
	f.size = 10000;
	CHECK_STATUS(vhdx_fsu_extent(mb_io(&mb), &f, 0, 4096, 4096, "t"), VHDX_OK, "extent: first run");
	CHECK_STATUS(vhdx_fsu_extent(mb_io(&mb), &f, 4096, 8192, 4096, "t"), VHDX_OK, "extent: adjacent run");
	CHECK(f.extent_count == 1 && e[0].length == 8192, "extent: adjacent runs merge (%u extents)", f.extent_count);
	CHECK_STATUS(vhdx_fsu_extent(mb_io(&mb), &f, 12288, 0, 4096, "t"), VHDX_E_CORRUPT, "extent: a gap is refused");
	CHECK_STATUS(vhdx_fsu_extent(mb_io(&mb), &f, 8192, (1 << 20) - 100, 4096, "t"), VHDX_E_CORRUPT,
		     "extent: a run beyond the partition is refused");
	CHECK_STR_CONTAINS(f.msg, "beyond the partition", "extent: the refusal says why");
	CHECK_STATUS(vhdx_fsu_extent(mb_io(&mb), &f, 8192, 65536, 4096, "t"), VHDX_OK, "extent: second extent");
	CHECK(f.extent_count == 2 && e[1].length == 10000 - 8192, "extent: the last run is cut at the size (%llu)",
	      (unsigned long long)e[1].length);
	f.size = 1 << 20;
	CHECK_STATUS(vhdx_fsu_extent(mb_io(&mb), &f, 10000, 0, 512, "t"), VHDX_E_UNSUPPORTED,
		     "extent: more than extent_max is refused");
	mb_free(&mb);
}

/* A seed (tests/fuzz/fuzz_fs.h format) as a partition in mb; *path gets its path.  0 on success. */
static int load_seed(const char *file, struct membackend *mb, char *path)
{
	FILE *fp = fopen(file, "rb");
	static uint8_t d[1 << 16];
	size_t n, pos;
	if (!fp)
		return -1;
	n = fread(d, 1, sizeof(d), fp);
	fclose(fp);
	memcpy(path, d + 1, d[0]);
	path[d[0]] = 0;
	pos = 1 + d[0] + 2;
	if (mb_init(mb, vhdx_le32(d + pos)))
		return -1;
	for (pos += 4; pos + 6 <= n;) {
		uint32_t off = vhdx_le32(d + pos), len = vhdx_le16(d + pos + 4);
		memcpy(mb->buf + off, d + pos + 6, len);
		pos += 6 + len;
	}
	return 0;
}

static void test_faults(const char *seed, enum vhdx_fs_kind kind)
{
	struct membackend mb;
	struct vhdx_fs_extent e[64];
	struct vhdx_fs_file f;
	char path[256];
	unsigned reads, allocs, bad = 0;

	if (!CHECK(load_seed(seed, &mb, path) == 0, "seed %s loads (run from the source tree)", seed))
		return;
	memset(&f, 0, sizeof(f));
	f.extents = e;
	f.extent_max = 64;
	mb_reset_counters(&mb);
	vhdx_status st = vhdx_fs_locate(mb_io(&mb), path, &f);
	if (!CHECK(st == VHDX_OK && f.kind == kind && f.size > 0, "%s: found (%s)", seed, f.msg))
		goto out;
	CHECK(f.reads == mb.reads && f.bytes_read > 4096, "%s: %u reads counted, the backend saw %u", seed, f.reads,
	      mb.reads);
	reads = mb.reads;
	allocs = mb.allocs; /* mb_reset_counters keeps counting allocations: failures are armed relative to it */
	for (unsigned k = 1; k <= reads; k++) {
		mb_reset_counters(&mb);
		mb.fail_read_at = k;
		st = vhdx_fs_locate(mb_io(&mb), path, &f);
		bad += st != VHDX_E_IO || !f.msg[0] || mb.alloc_bytes_live;
	}
	mb.fail_read_at = 0;
	CHECK(!bad, "%s: each of %u reads failing gives VHDX_E_IO, a message, no memory left (%u wrong)", seed, reads, bad);
	bad = 0;
	mb_reset_counters(&mb);
	mb.allocs = 0;
	for (unsigned k = 1; k <= allocs; k++) {
		mb.fail_alloc_at = mb.allocs + k;
		st = vhdx_fs_locate(mb_io(&mb), path, &f);
		bad += st != VHDX_E_NOMEM || !f.msg[0] || mb.alloc_bytes_live;
	}
	CHECK(!bad && allocs > 0, "%s: each of %u allocations failing gives VHDX_E_NOMEM, no memory left (%u wrong)", seed,
	      allocs, bad);
	CHECK(mb.writes == 0 && mb.flushes == 0, "%s: nothing written", seed);
out:
	mb_free(&mb);
}

static void test_probe(void)
{
	struct membackend mb;
	enum vhdx_fs_kind kind;
	char msg[256];

	mb_init(&mb, 1 << 20);
	CHECK(vhdx_fs_probe(mb_io(&mb), &kind, msg) == VHDX_OK && kind == VHDX_FS_UNKNOWN && msg[0],
	      "probe: zeros are no file system (%s)", msg);
	mb_reset_counters(&mb);
	mb.fail_read_at = 1;
	CHECK_STATUS(vhdx_fs_probe(mb_io(&mb), &kind, msg), VHDX_E_IO, "probe: a read failure is VHDX_E_IO");
	mb_free(&mb);
	mb_init(&mb, 100);
	CHECK(vhdx_fs_probe(mb_io(&mb), &kind, msg) == VHDX_OK && kind == VHDX_FS_UNKNOWN,
	      "probe: a 100-byte partition is no file system");
	mb_free(&mb);
	CHECK_STR_EQ(vhdx_fs_kind_name(VHDX_FS_EXT4), "ext4", "kind name ext4");
	CHECK_STR_EQ(vhdx_fs_kind_name((enum vhdx_fs_kind)99), "unknown", "kind name of a bad kind");
}

int main(void)
{
	test_fold();
	test_utf16();
	test_components();
	test_extents();
	test_probe();
	test_faults("tests/fuzz/seeds/fs_fat/deep", VHDX_FS_FAT);
	test_faults("tests/fuzz/seeds/fs_exfat/frag", VHDX_FS_EXFAT);
	test_faults("tests/fuzz/seeds/fs_ext4/deep", VHDX_FS_EXT4);
	test_faults("tests/fuzz/seeds/fs_ext4/blockmap", VHDX_FS_EXT4);
	return t_done();
}
