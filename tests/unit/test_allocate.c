/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_allocate.c - vhdx_allocate (core/allocate.c): what it writes and in which order, ranges, devices that
 * cannot grow, refusals (nothing written), and crash consistency at every write point (crashio.h).
 *
 * Images (imgbuild):
 *   small: 8 MiB virtual, 1 MiB blocks, blocks 0 and 1 present at 4 and 5 MiB (pattern), block 3 ZERO, block 5
 *          UNMAPPED, block 6 UNDEFINED, the rest NOT_PRESENT; the file ends at 6 MiB.
 *   big:   1 GiB virtual, 1 MiB blocks (two BAT sectors: blocks 0..511 and 512..1023), blocks 0, 511 and 1023
 *          present; the range 509..515 MiB touches both BAT sectors.  With 2-sector log entries starting at the
 *          ring's last sector, the allocation writes two entries and the first wraps around the ring's end.
 *
 * Crash scenarios, each run once without a crash to list its operations, then crashed at each operation in each
 * mode (cut, tear, drop, drop-some; see crashio.h):
 *   "file":   big, range 509..515 MiB, entries of 2 sectors from ring sector 255, the file grows (19 operations:
 *             header (FileWriteGuid)+flush, resize+flush, header (LogGuid)+flush, entry 1 (2 writes: it wraps)+flush,
 *             BAT sector 0+flush, entry 2+flush, BAT sector 1+flush, header+flush, header+flush);
 *   "device": the same on a backend that cannot grow, with 8 MiB of 0xAA after the image: the new blocks are
 *             zeroed in place (5 writes) instead of growing (23 operations);
 *   "small":  small, the whole disk, default options (14 operations).
 * After each crash: the surviving file opens without writing; every checked block is in its old state or present,
 * and reads as before (allocated blocks read zero); a second run (replay if a log is pending, then allocate)
 * completes: every block of the range present, content unchanged, no log pending, both headers valid with a zero
 * LogGuid, DataWriteGuid unchanged.  With ALLOC_CRASH_DIR set, the survivors of "file" in cut mode that have a
 * pending log are saved there (file-cut-N.vhdx, plus file-orig.vhdx) for tests/interop/allocate.sh to hand to
 * qemu-img.
 */
#include <malloc.h>

#include "crashio.h"
#include "imgbuild.h"
#include "t.h"

#define M VHDX_MiB

static const uint8_t RND1[32] = { 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18, 0x29, 0x3A, 0x4B, 0x5C, 0x6D, 0x7E, 0x8F, 0x90,
				  0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x01 };
static const uint8_t RND2[32] = { 0x5E, 0x4D, 0x3C, 0x2B, 0x1A, 0x09, 0xF8, 0xE7, 0xD6, 0xC5, 0xB4, 0xA3, 0x92, 0x81, 0x70, 0x6F,
				  0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xA0, 0xB0, 0xC0, 0xD0, 0xE0, 0xF0, 0x0F };

static struct ib small, big, bigdev;

struct scenario {
	const char *name;
	const struct ib *img;
	uint64_t off, len;               /* the range */
	struct vhdx_allocate_opts opts;
	int device;                      /* the backend cannot grow */
	const uint64_t *check;           /* blocks whose state and content are checked */
	unsigned ncheck;
	unsigned ops;                    /* operations of an uninterrupted run */
};

static const uint64_t small_blocks[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
static const uint64_t big_blocks[] = { 0, 505, 506, 507, 508, 509, 510, 511, 512, 513, 514, 515, 516, 1022, 1023 };

/* small with LogGuid set in both headers (no entries): a log that must be replayed first */
static void lb_clone_dirty(struct ib *d)
{
	struct vhdx_guid g = ib_guid(9);

	*d = small;
	d->buf = malloc((size_t)small.cap);
	if (d->buf) {
		memcpy(d->buf, small.buf, (size_t)small.cap);
		ib_set_log_guid(d, &g);
	}
}

static int build(void)
{
	struct ib_params p = { .virtual_size = 1024 * M };

	if (ib_build(&small, NULL) || !ib_alloc_block(&small, 0) || !ib_alloc_block(&small, 1))
		return -1;
	ib_bat_set(&small, ib_bat_index(&small, 3), VHDX_BAT_ZERO);
	ib_bat_set(&small, ib_bat_index(&small, 5), VHDX_BAT_UNMAPPED);
	ib_bat_set(&small, ib_bat_index(&small, 6), VHDX_BAT_UNDEFINED);
	if (ib_build(&big, &p) || !ib_alloc_block(&big, 0) || !ib_alloc_block(&big, 511) || !ib_alloc_block(&big, 1023))
		return -1;
	bigdev = big;
	bigdev.buf = malloc((size_t)big.size + 8 * M);
	if (!bigdev.buf)
		return -1;
	memcpy(bigdev.buf, big.buf, (size_t)big.size);
	memset(bigdev.buf + big.size, 0xAA, 8 * M);
	bigdev.size = bigdev.cap = big.size + 8 * M;
	return 0;
}

static unsigned state_of(const struct ib *b, uint64_t blk)
{
	return (unsigned)(ib_bat_get(b, ib_bat_index(b, blk)) & 7);
}

/*
 * The open image against the original: each checked block is in its old state or present (`all_present`: must be
 * present when inside the range), and reads as the original reads.  NULL or a reason.
 */
static const char *blocks_ok(struct vhdx_image *img, const struct scenario *s, int all_present)
{
	static char why[VHDX_MSG_LEN + 128];
	static uint8_t got[2 * M], want[2 * M]; /* the largest block size used here */

	for (unsigned i = 0; i < s->ncheck; i++) {
		uint64_t b = s->check[i], foff;
		unsigned st, old = state_of(s->img, b);
		int in_range = b >= s->off / img->block_size && b <= (s->off + s->len - 1) / img->block_size;
		vhdx_status r = vhdx_block_lookup(img, b, &st, &foff);
		if (r) {
			snprintf(why, sizeof why, "lookup of block %llu: %s", (unsigned long long)b, img->msg);
			return why;
		}
		if (st != old && st != VHDX_BAT_FULLY_PRESENT) {
			snprintf(why, sizeof why, "block %llu: state %u, was %u", (unsigned long long)b, st, old);
			return why;
		}
		if (all_present && in_range && st != VHDX_BAT_FULLY_PRESENT) {
			snprintf(why, sizeof why, "block %llu of the range: state %u, not present", (unsigned long long)b, st);
			return why;
		}
		if (!in_range && st != old) {
			snprintf(why, sizeof why, "block %llu outside the range changed state %u -> %u", (unsigned long long)b,
				 old, st);
			return why;
		}
		uint64_t left = img->virtual_size - b * img->block_size;
		size_t n = left < img->block_size ? (size_t)left : img->block_size;
		if ((r = vhdx_read(img, b * img->block_size, got, n))) {
			snprintf(why, sizeof why, "read of block %llu: %s", (unsigned long long)b, img->msg);
			return why;
		}
		ib_expect(s->img, b * img->block_size, want, n);
		if (memcmp(got, want, n)) {
			snprintf(why, sizeof why, "block %llu (state %u) does not read as before", (unsigned long long)b, st);
			return why;
		}
	}
	return NULL;
}

/* One run: open, replay a pending log, allocate. */
static vhdx_status run(struct vhdx_io *io, const struct scenario *s, const uint8_t *rnd, char *msg, size_t n,
		       struct vhdx_allocate_result *res)
{
	struct vhdx_image img;
	vhdx_status st = vhdx_open(&img, io);

	if (!st && img.log_pending)
		st = vhdx_replay(&img, rnd);
	if (!st)
		st = vhdx_allocate(&img, s->off, s->len, rnd, &s->opts, res);
	snprintf(msg, n, "%s", img.msg);
	vhdx_close(&img);
	return st;
}

/* A file after a crash: opens without writing, blocks as before or present.  NULL or a reason. */
static const char *survivor_ok(struct membackend *mb, const struct scenario *s, int *pending)
{
	static char why[VHDX_MSG_LEN + 64];
	struct vhdx_image img;
	const char *r;
	vhdx_status st;

	mb_reset_counters(mb);
	st = vhdx_open(&img, mb_io(mb));
	if (st) {
		snprintf(why, sizeof why, "open: status %d: %s", (int)st, img.msg);
		return why;
	}
	*pending = img.log_pending;
	r = blocks_ok(&img, s, 0);
	vhdx_close(&img);
	if (!r && (mb->writes || mb->flushes || mb->resizes))
		r = "opening and reading wrote to the file";
	return r;
}

/*
 * A second run without a crash, then the finished file.  NULL or a reason.  `replays`: the survivor had a pending
 * log, whose replay gives the file a new DataWriteGuid (vhdx_replay cannot tell what a log changed); otherwise
 * DataWriteGuid must be the original.  A crash while LogGuid was being cleared can leave the non-current header
 * with the old LogGuid (or torn): the current one is what readers use, and a second run that finds every block
 * present writes nothing.
 */
static const char *complete(struct membackend *mb, const struct scenario *s, const uint8_t *rnd, uint64_t size,
			    int replays)
{
	static char why[VHDX_MSG_LEN + 64];
	struct vhdx_allocate_result res;
	struct vhdx_image img;
	struct vhdx_guid dw;
	char msg[VHDX_MSG_LEN];
	const char *r;
	vhdx_status st;

	mb->grow = !s->device;
	st = run(mb_io(mb), s, rnd, msg, sizeof msg, &res);
	if (st) {
		snprintf(why, sizeof why, "second run: status %d: %s", (int)st, msg);
		return why;
	}
	if ((st = vhdx_open(&img, mb_io(mb)))) {
		snprintf(why, sizeof why, "reopen: %s", img.msg);
		return why;
	}
	vhdx_guid_load(&dw, s->img->buf + VHDX_HEADER2_OFFSET + VHDX_HDR_DATA_WRITE);
	r = blocks_ok(&img, s, 1);
	if (!r && img.log_pending)
		r = "a log is still pending";
	if (!r && !vhdx_guid_is_zero(&img.header[img.current].log_guid))
		r = "the current header has a LogGuid";
	if (!r && !replays && !vhdx_guid_equal(&img.header[img.current].data_write_guid, &dw))
		r = "DataWriteGuid changed without a replay";
	if (!r && s->device && mb->size != size)
		r = "the device changed size";
	vhdx_close(&img);
	return r;
}

/* opens a copy of b's bytes (growable unless `device`); NULL or a reason */
static const char *open_copy(const struct ib *b, int device, struct vhdx_image *img, struct membackend *mb)
{
	static char why[VHDX_MSG_LEN + 32];
	vhdx_status st;

	if (mb_init_copy(mb, b->buf, b->size))
		return "no memory";
	mb->grow = !device;
	st = vhdx_open(img, mb_io(mb));
	if (st) {
		snprintf(why, sizeof why, "open: status %d: %s", (int)st, img->msg);
		mb_free(mb);
		return why;
	}
	return NULL;
}

static void test_whole(void)
{
	struct scenario s = { "whole", &small, 0, 8 * M, { 0, 0 }, 0, small_blocks, 8, 0 };
	struct vhdx_allocate_result res;
	struct vhdx_image img, r;
	struct membackend mb, rm;
	struct vhdx_header before;
	struct vhdx_guid fw;
	unsigned state;
	uint64_t off;
	const char *why = open_copy(&small, 0, &img, &mb);

	if (!t_report(!why, why, "whole: opens"))
		return;
	before = img.header[img.current];
	vhdx_block_lookup(&img, 3, &state, &off); /* fills the BAT window, which allocate must drop */
	CHECK_STATUS(vhdx_allocate(&img, 0, 8 * M, RND1, NULL, &res), VHDX_OK, "whole: allocate");
	CHECK(res.blocks == 6 && res.present == 2 && res.entries == 1, "whole: 6 blocks, 2 present already, 1 entry (%llu, %llu, %llu)",
	      (unsigned long long)res.blocks, (unsigned long long)res.present, (unsigned long long)res.entries);
	CHECK_EQ_U64(res.first_offset, 6 * M, "whole: new blocks start at the end of the used space");
	CHECK_EQ_U64(res.grown, 6 * M, "whole: the file grew by 6 blocks");
	CHECK_EQ_U64(res.zeroed, 0, "whole: growth needs no zero writes");
	CHECK_EQ_U64(mb.size, 12 * M, "whole: file size");
	CHECK_STATUS(vhdx_block_lookup(&img, 3, &state, &off), VHDX_OK, "whole: lookup after");
	CHECK(state == VHDX_BAT_FULLY_PRESENT && off == 7 * M, "whole: the open image sees block 3 at 7 MiB (state %u at %llu)", state,
	      (unsigned long long)off);
	CHECK_EQ_U64(img.state_count[VHDX_BAT_FULLY_PRESENT], 8, "whole: the summary counts 8 present");
	CHECK_EQ_U64(img.data_end, 12 * M, "whole: data_end");
	vhdx_guid_from_random(&fw, RND1);
	CHECK(vhdx_guid_equal(&img.header[img.current].file_write_guid, &fw), "whole: new FileWriteGuid");
	CHECK(vhdx_guid_equal(&img.header[img.current].data_write_guid, &before.data_write_guid), "whole: DataWriteGuid kept");
	CHECK_EQ_U64(img.header[img.current].sequence, before.sequence + 4, "whole: sequence raised four times");
	mb_reset_counters(&mb);
	CHECK_STATUS(vhdx_allocate(&img, 0, 8 * M, RND2, NULL, &res), VHDX_OK, "whole: again");
	CHECK(res.blocks == 0 && res.present == 8 && mb.writes == 0 && mb.flushes == 0 && mb.resizes == 0,
	      "whole: again: nothing to do, nothing written");
	vhdx_close(&img);
	why = open_copy(&(struct ib){ .buf = mb.buf, .size = mb.size }, 0, &r, &rm);
	if (t_report(!why, why, "whole: the result opens")) {
		why = blocks_ok(&r, &s, 1);
		t_report(!why, why, "whole: every block present, content unchanged");
		{
			uint64_t b = 2;
			while (b < 8 && !vhdx_block_lookup(&r, b, &state, &off) && off == (4 + b) * M)
				b++;
			CHECK_EQ_U64(b, 8, "whole: new blocks in block order, one after another from 6 MiB");
		}
		CHECK(r.header_valid[0] && r.header_valid[1] && vhdx_guid_is_zero(&r.header[0].log_guid) &&
		      vhdx_guid_is_zero(&r.header[1].log_guid), "whole: both headers valid, LogGuid zero");
		vhdx_close(&r);
		mb_free(&rm);
	}
	CHECK(mb.alloc_bytes_live == 0, "whole: no memory held");
	mb_free(&mb);
}

static void test_ranges(void)
{
	struct vhdx_allocate_result res;
	struct vhdx_image img;
	struct membackend mb;
	unsigned st2, st4;
	uint64_t off;
	const char *why = open_copy(&small, 0, &img, &mb);

	if (!t_report(!why, why, "range: opens"))
		return;
	CHECK_STATUS(vhdx_allocate(&img, 2 * M + M / 2, M, RND1, NULL, &res), VHDX_OK, "range: 2.5 MiB + 1 MiB");
	vhdx_block_lookup(&img, 2, &st2, &off);
	vhdx_block_lookup(&img, 4, &st4, &off);
	CHECK(res.blocks == 2 && st2 == VHDX_BAT_FULLY_PRESENT && st4 == VHDX_BAT_NOT_PRESENT,
	      "range: the two blocks it touches (2 and 3), not block 4 (%llu blocks)", (unsigned long long)res.blocks);
	mb_reset_counters(&mb);
	CHECK_STATUS(vhdx_allocate(&img, 5 * M, 0, RND1, NULL, &res), VHDX_OK, "range: empty");
	CHECK(res.blocks == 0 && mb.writes == 0, "range: empty: nothing written");
	CHECK_STATUS(vhdx_allocate(&img, 7 * M, 2 * M, RND1, NULL, &res), VHDX_E_RANGE, "range: beyond the disk");
	CHECK_STATUS(vhdx_allocate(&img, UINT64_MAX - 5, 10, RND1, NULL, &res), VHDX_E_RANGE, "range: wrapping");
	CHECK(mb.writes == 0 && mb.resizes == 0, "range: refusals wrote nothing");
	vhdx_close(&img);
	mb_free(&mb);
}

/* a refusal: status, message fragment, nothing written */
static void refused(const char *name, const struct ib *b, int device, int read_only, vhdx_status want, const char *frag)
{
	struct vhdx_allocate_result res;
	struct vhdx_image img;
	struct membackend mb;
	const char *why = open_copy(b, device, &img, &mb);

	if (!t_report(!why, why, "refuse %s: opens", name))
		return;
	mb.read_only = read_only;
	mb_io(&mb);
	mb_reset_counters(&mb);
	CHECK_STATUS(vhdx_allocate(&img, 0, img.virtual_size, RND1, NULL, &res), want, "refuse %s: status", name);
	CHECK_STR_CONTAINS(img.msg, frag, "refuse %s: the message", name);
	CHECK(mb.writes == 0 && mb.flushes == 0 && mb.resizes == 0, "refuse %s: nothing written", name);
	CHECK(img.validated, "refuse %s: the image stays usable", name);
	vhdx_close(&img);
	mb_free(&mb);
}

static void test_refusals(void)
{
	struct ib_params pp = { .has_parent = 1 };
	struct ib parent, dirty, tight;

	ib_build(&parent, &pp);
	refused("differencing", &parent, 0, 0, VHDX_E_UNSUPPORTED, "differencing disk (HasParent)");
	ib_free(&parent);
	lb_clone_dirty(&dirty);
	refused("pending log", &dirty, 0, 0, VHDX_E_LOG_PENDING, "replay the log first");
	ib_free(&dirty);
	refused("read-only", &small, 0, 1, VHDX_E_READONLY, "read-only");
	{
		struct ib_params np = { .no_log = 1 };
		struct ib nolog;
		ib_build(&nolog, &np);
		refused("no log", &nolog, 0, 0, VHDX_E_UNSUPPORTED, "LogLength 0 leaves no room for a log entry");
		ib_free(&nolog);
	}
	/* a device that ends at the last used byte, and one with 3 of the 6 MiB it needs */
	refused("device without room", &small, 1, 0, VHDX_E_UNSUPPORTED,
		"6 blocks need 6291456 bytes from file offset 6291456 (the end of the used space) to 12582912, but the device has 6291456 bytes and cannot grow: 6291456 bytes short");
	tight = small;
	tight.buf = malloc((size_t)small.size + 3 * M);
	if (tight.buf) {
		memcpy(tight.buf, small.buf, (size_t)small.size);
		memset(tight.buf + small.size, 0xAA, 3 * M);
		tight.size += 3 * M;
		refused("device 3 MiB short", &tight, 1, 0, VHDX_E_UNSUPPORTED, "has 9437184 bytes and cannot grow: 3145728 bytes short");
		free(tight.buf);
	}
}

/* A device with room: the new blocks are zeroed in place, the bytes after them are left alone. */
static void test_device(void)
{
	struct scenario s = { "device", &bigdev, 509 * M, 6 * M, { 0, 0 }, 1, big_blocks, 15, 0 };
	struct vhdx_allocate_result res;
	struct vhdx_image img;
	struct membackend mb;
	const char *why = open_copy(&bigdev, 1, &img, &mb);

	if (!t_report(!why, why, "device: opens"))
		return;
	CHECK_STATUS(vhdx_allocate(&img, s.off, s.len, RND1, NULL, &res), VHDX_OK, "device: allocate");
	CHECK(res.blocks == 5 && res.grown == 0 && res.zeroed == 5 * M && res.first_offset == big.size,
	      "device: 5 blocks zeroed in place at the end of the used space (%llu, grown %llu, zeroed %llu, at %llu)",
	      (unsigned long long)res.blocks, (unsigned long long)res.grown, (unsigned long long)res.zeroed,
	      (unsigned long long)res.first_offset);
	CHECK_EQ_U64(mb.size, bigdev.size, "device: size unchanged");
	CHECK(mb.buf[big.size + 5 * M] == 0xAA && mb.buf[bigdev.size - 1] == 0xAA, "device: the bytes past the new blocks untouched");
	why = blocks_ok(&img, &s, 1);
	t_report(!why, why, "device: the range present, reads as before (zeros, not 0xAA)");
	vhdx_close(&img);
	mb_free(&mb);
}

/* Entry sizes: the default puts both BAT sectors in one entry; 2-sector entries need two, the first wrapping. */
static void test_entries(void)
{
	struct vhdx_allocate_opts o = { 2, 255 };
	struct vhdx_allocate_result res;
	struct vhdx_image img;
	struct membackend mb;
	const char *why = open_copy(&big, 0, &img, &mb);

	if (t_report(!why, why, "entries: opens")) {
		CHECK_STATUS(vhdx_allocate(&img, 509 * M, 6 * M, RND1, NULL, &res), VHDX_OK, "entries: default");
		CHECK_EQ_U64(res.entries, 1, "entries: two BAT sectors in one entry by default");
		vhdx_close(&img);
		mb_free(&mb);
	}
	why = open_copy(&big, 0, &img, &mb);
	if (t_report(!why, why, "entries: opens")) {
		/* (a range, not the whole disk: 1 GiB of growth is too much for a 32-bit test process) */
		CHECK_STATUS(vhdx_allocate(&img, 500 * M, 20 * M, RND1, &o, &res), VHDX_OK, "entries: 2-sector entries, 500..520 MiB");
		CHECK(res.entries == 2 && res.blocks == 19, "entries: 19 blocks, two entries (%llu, %llu)",
		      (unsigned long long)res.entries, (unsigned long long)res.blocks);
		CHECK_EQ_U64(vhdx_le32(mb.buf + big.log_off + 255 * 4096), 0x65676F6C, "entries: the first at the ring's last sector");
		vhdx_close(&img);
		mb_free(&mb);
	}
}

/* Geometry: 2 MiB blocks with a half-used last block, and 4096-byte logical sectors. */
static void test_geometry(void)
{
	static const struct ib_params ps[] = { { .virtual_size = 9 * M, .block_size = 2 * M }, { .lss = 4096 } };
	static const uint64_t blocks[] = { 0, 1, 2, 3, 4 };

	for (unsigned i = 0; i < 2; i++) {
		struct ib b;
		struct vhdx_image img, r;
		struct membackend mb, rm;
		struct vhdx_allocate_result res;
		const char *why;

		if (ib_build(&b, &ps[i]) || !ib_alloc_block(&b, 1))
			continue;
		struct scenario s = { "geometry", &b, 0, ps[i].virtual_size ? ps[i].virtual_size : 8 * M, { 0, 0 }, 0, blocks, 5, 0 };
		why = open_copy(&b, 0, &img, &mb);
		if (t_report(!why, why, "geometry %u: opens", i)) {
			CHECK_STATUS(vhdx_allocate(&img, 0, s.len, RND1, NULL, &res), VHDX_OK, "geometry %u: allocate", i);
			vhdx_close(&img);
			why = open_copy(&(struct ib){ .buf = mb.buf, .size = mb.size }, 0, &r, &rm);
			if (t_report(!why, why, "geometry %u: the result opens", i)) {
				why = blocks_ok(&r, &s, 1);
				t_report(!why, why, "geometry %u: all present, content unchanged", i);
				vhdx_close(&r);
				mb_free(&rm);
			}
			mb_free(&mb);
		}
		ib_free(&b);
	}
}

static void save(const char *dir, const char *name, const uint8_t *bytes, uint64_t size)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(bytes, 1, (size_t)size, f) != size || fclose(f))
		t_report(0, path, "save a crash image for the interop test");
}

static void crash_scenario(const struct scenario *s)
{
	const char *dir = getenv("ALLOC_CRASH_DIR");
	struct crashio dry;
	struct vhdx_allocate_result res;
	char msg[VHDX_MSG_LEN], what[96], name[64];
	const char *why;
	vhdx_status st;

	if (!CHECK(cio_init(&dry, s->img->buf, s->img->size, CIO_CUT, 0) == 0, "%s: dry run set-up", s->name))
		return;
	if (s->device)
		dry.io.resize = NULL;
	st = run(&dry.io, s, RND1, msg, sizeof msg, &res);
	CHECK(st == VHDX_OK && !dry.overflow, "%s: dry run completes (status %d: %s)", s->name, (int)st, msg);
	CHECK_EQ_U64(dry.nop, s->ops, "%s: the operations listed at the top of test_allocate.c", s->name);
	T_NOTE("%s: %u crash points (%llu blocks, %llu log entries)", s->name, dry.nop, (unsigned long long)res.blocks,
	       (unsigned long long)res.entries);
	for (unsigned n = 1; n <= dry.nop; n++)
		T_NOTE("  %s", cio_describe(&dry, n, what, sizeof what));
	if (dir && !s->device && !strcmp(s->name, "file"))
		save(dir, "file-orig.vhdx", s->img->buf, s->img->size);

	for (int m = 0; m < CIO_MODES; m++) {
		for (unsigned n = 1; n <= dry.nop; n++) {
			struct crashio c;
			struct membackend mb;
			int pending = 0;

			cio_describe(&dry, n, what, sizeof what);
			if (!CHECK(cio_init(&c, s->img->buf, s->img->size, (enum cio_mode)m, n) == 0, "%s: set-up", s->name))
				continue;
			if (s->device)
				c.io.resize = NULL;
			st = run(&c.io, s, RND1, msg, sizeof msg, &res);
			why = st == VHDX_OK     ? "the run did not fail at the crash" :
			      !c.crashed        ? "the crash was not reached" :
			      c.alloc_live      ? "the failed run left scratch memory allocated" :
			      cio_disk(&c, &mb) ? "no memory" :
						  NULL;
			if (why) {
				t_report(0, why, "%s, crash at %s, %s", s->name, what, cio_mode_name[m]);
				cio_free(&c);
				continue;
			}
			why = survivor_ok(&mb, s, &pending);
			t_report(!why, why, "%s, crash at %s, %s: opens, every block as before or present and zero%s", s->name,
				 what, cio_mode_name[m], pending ? " (log pending)" : "");
			if (dir && !why && pending && m == CIO_CUT && !strcmp(s->name, "file")) {
				snprintf(name, sizeof name, "file-cut-%02u.vhdx", n);
				save(dir, name, mb.buf, mb.size);
			}
			why = complete(&mb, s, RND2, s->img->size, pending);
			t_report(!why, why, "%s, crash at %s, %s: a second run completes", s->name, what, cio_mode_name[m]);
			mb_free(&mb);
			cio_free(&c);
		}
	}
	cio_free(&dry);
}

int main(void)
{
	struct scenario file = { "file", &big, 509 * M, 6 * M, { 2, 255 }, 0, big_blocks, 15, 19 };
	struct scenario dev = { "device", &bigdev, 509 * M, 6 * M, { 2, 255 }, 1, big_blocks, 15, 23 };
	struct scenario whole = { "small", &small, 0, 8 * M, { 0, 0 }, 0, small_blocks, 8, 14 };

	/* hundreds of runs each allocate buffers of a few MiB: keep them in the heap */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	if (!CHECK(build() == 0, "build the images"))
		return t_done();
	test_whole();
	test_ranges();
	test_refusals();
	test_device();
	test_entries();
	test_geometry();
	crash_scenario(&file);
	crash_scenario(&dev);
	crash_scenario(&whole);
	ib_free(&small);
	ib_free(&big);
	free(bigdev.buf);
	return t_done();
}
