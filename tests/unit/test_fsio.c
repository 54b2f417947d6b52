/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_fsio.c - core/fsio.c: a VHDX stored as a fragmented file on a partition, reached through its extents.
 *
 * An image built with imgbuild is cut into pieces of random (unaligned) lengths and laid on an in-memory
 * partition in shuffled order, with a fill pattern everywhere else.  Through vhdx_fs_io the core must open it,
 * read every virtual byte as it reads the contiguous copy, and do a session update that changes the same file
 * bytes as the same update of the contiguous copy, while every partition byte outside the extents keeps the fill.
 * Refusals: extents with a gap, an overlap of the file range, a run beyond the partition, a wrong total; a read or
 * write past the end of the file reaches nothing; a read-only view never writes.
 */
#include "fsio.h"
#include "imgbuild.h"
#include "t.h"

#define MiB VHDX_MiB
#define PIECES 37
#define FILL 0xA5
#define RANDOM_READS 2000

static const uint8_t rnd[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

static uint64_t seed = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

static struct vhdx_fs_extent ext[PIECES];
static struct vhdx_fs_file file;
static struct membackend part;
static uint8_t *inside; /* one byte per partition byte: 1 where an extent lies */

/* Cuts [0, size) into PIECES runs and places them on the partition in shuffled order with gaps between. */
static int lay_out(const struct ib *b)
{
	uint64_t cuts[PIECES + 1], order[PIECES], pos = 4096;

	cuts[0] = 0;
	cuts[PIECES] = b->size;
	for (int i = 1; i < PIECES; i++)
		cuts[i] = (b->size / PIECES) * (uint64_t)i + next_rand() % 7777; /* unaligned on purpose */
	for (int i = 0; i < PIECES; i++)
		order[i] = (uint64_t)i;
	for (int i = PIECES - 1; i > 0; i--) {
		uint64_t j = next_rand() % (uint64_t)(i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	uint64_t part_size = b->size + (PIECES + 2) * 8192ull;
	if (mb_init(&part, part_size))
		return -1;
	memset(part.buf, FILL, part_size);
	inside = calloc(1, part_size);
	for (int k = 0; k < PIECES; k++) {
		uint64_t i = order[k];
		ext[i].file_offset = cuts[i];
		ext[i].length = cuts[i + 1] - cuts[i];
		ext[i].part_offset = pos;
		memcpy(part.buf + pos, b->buf + cuts[i], ext[i].length);
		memset(inside + pos, 1, ext[i].length);
		pos += ext[i].length + 512 + next_rand() % 4096;
	}
	file.kind = VHDX_FS_EXT4;
	file.size = b->size;
	file.extents = ext;
	file.extent_max = PIECES;
	file.extent_count = PIECES;
	return 0;
}

/* The file as the partition holds it now. */
static void gather(uint8_t *out)
{
	for (int i = 0; i < PIECES; i++)
		memcpy(out + ext[i].file_offset, part.buf + ext[i].part_offset, ext[i].length);
}

static int outside_untouched(void)
{
	for (uint64_t i = 0; i < part.size; i++)
		if (!inside[i] && part.buf[i] != FILL)
			return 0;
	return 1;
}

struct count {
	uint64_t bytes, pieces, last_end;
	int in_order;
};

static int count_piece(void *arg, uint64_t part_off, uint64_t file_off, uint64_t len)
{
	struct count *c = arg;
	(void)part_off;
	c->in_order &= file_off == c->last_end;
	c->last_end = file_off + len;
	c->bytes += len;
	c->pieces++;
	return 0;
}

static void test_runs(void)
{
	struct count c = { .in_order = 1 };
	CHECK_EQ_INT(vhdx_fs_runs(&file, 0, file.size, count_piece, &c), 0, "runs: the whole file");
	CHECK_EQ_U64(c.bytes, file.size, "runs: the pieces add up to the file");
	CHECK_EQ_U64(c.pieces, PIECES, "runs: one piece per extent over the whole file");
	CHECK(c.in_order, "runs: pieces come in file order");
	c = (struct count){ .in_order = 1, .last_end = ext[3].file_offset + 5 };
	vhdx_fs_runs(&file, ext[3].file_offset + 5, ext[3].length + ext[4].length, count_piece, &c);
	CHECK_EQ_U64(c.pieces, 3, "runs: a range from inside one extent to inside the second next is 3 pieces");
	c = (struct count){ .in_order = 1 };
	CHECK_EQ_INT(vhdx_fs_runs(&file, file.size - 10, 11, count_piece, &c), -1, "runs: past the end refused");
	CHECK_EQ_U64(c.pieces, 0, "runs: a refused range calls nothing");
}

static void test_reads(const struct ib *b, struct vhdx_fs_io *fio)
{
	static uint8_t got[70000];
	int ok = 1;
	for (int i = 0; i < RANDOM_READS && ok; i++) {
		uint64_t len = next_rand() % sizeof got, off = next_rand() % (b->size - len);
		ok = fio->io.read(fio->io.ctx, off, got, (size_t)len) == 0 && memcmp(got, b->buf + off, len) == 0;
		if (!ok)
			T_NOTE("read %llu bytes at %llu differs", (unsigned long long)len, (unsigned long long)off);
	}
	CHECK(ok, "read: %d random unaligned ranges equal the contiguous file", RANDOM_READS);
	unsigned reads = part.reads;
	CHECK(fio->io.read(fio->io.ctx, b->size - 100, got, 101) != 0, "read: one byte past the end fails");
	CHECK_EQ_U64(part.reads, reads, "read: a refused read does not reach the partition");
}

static void test_image(struct ib *b)
{
	struct vhdx_fs_io fio;
	char msg[256];
	struct vhdx_image img, ref;
	struct membackend refmb;
	static uint8_t a[MiB], r[MiB];

	if (!CHECK_STATUS(vhdx_fs_io_init(&fio, mb_io(&part), &file, 0, msg), VHDX_OK, "init: %s", msg))
		return;
	CHECK_EQ_U64(fio.io.size, b->size, "init: the view is the file's size");
	CHECK(fio.io.resize == NULL, "init: the view cannot grow the file");
	test_reads(b, &fio);
	CHECK_STATUS(vhdx_open(&img, &fio.io), VHDX_OK, "open: the VHDX through its extents (%s)", img.msg);
	if (ib_mb(b, &refmb) || !CHECK_STATUS(vhdx_open(&ref, mb_io(&refmb)), VHDX_OK, "open: the contiguous copy"))
		return;
	int same = 1;
	for (uint64_t off = 0; off < img.virtual_size && same; off += MiB)
		same = vhdx_read(&img, off, a, MiB) == VHDX_OK && vhdx_read(&ref, off, r, MiB) == VHDX_OK &&
		       memcmp(a, r, MiB) == 0;
	CHECK(same, "read: every virtual byte equals the contiguous copy's");
	CHECK_STATUS(vhdx_session_update(&img, rnd), VHDX_OK, "session: the update through the extents (%s)", img.msg);
	CHECK_STATUS(vhdx_session_update(&ref, rnd), VHDX_OK, "session: the same update of the contiguous copy");
	uint8_t *now = malloc(b->size);
	gather(now);
	CHECK_MEM_EQ(now, refmb.buf, b->size, "session: the file bytes equal the contiguous copy's after the update");
	CHECK(outside_untouched(), "session: no partition byte outside the extents changed");
	free(now);
	vhdx_close(&img);
	vhdx_close(&ref);
	mb_free(&refmb);
}

static void test_read_only(void)
{
	struct vhdx_fs_io fio;
	char msg[256];
	uint8_t buf[4096] = { 0 };

	vhdx_fs_io_init(&fio, mb_io(&part), &file, 1, msg);
	CHECK(fio.io.read_only, "read-only: the view says so");
	unsigned w = part.writes;
	CHECK(fio.io.write(fio.io.ctx, 0, buf, sizeof buf) != 0, "read-only: a write fails");
	CHECK_EQ_U64(part.writes, w, "read-only: nothing reaches the partition");
	part.read_only = 1;
	vhdx_fs_io_init(&fio, mb_io(&part), &file, 0, msg);
	CHECK(fio.io.read_only, "read-only: a read-only partition makes a read-only view");
	part.read_only = 0;
	mb_io(&part);
}

/* One broken copy of the extents per case; the refusal names the extent and the value. */
static void refusal(const char *name, void (*breakit)(struct vhdx_fs_extent *, struct vhdx_fs_file *),
		    const char *frag)
{
	struct vhdx_fs_extent copy[PIECES];
	struct vhdx_fs_file f = file;
	struct vhdx_fs_io fio;
	char msg[256];

	memcpy(copy, ext, sizeof copy);
	f.extents = copy;
	breakit(copy, &f);
	CHECK_STATUS(vhdx_fs_io_init(&fio, mb_io(&part), &f, 0, msg), VHDX_E_ARG, "refuse %s", name);
	CHECK_STR_CONTAINS(msg, frag, "refuse %s: the message names it", name);
}

static void gap(struct vhdx_fs_extent *e, struct vhdx_fs_file *f)
{
	(void)f;
	e[5].file_offset += 512;
}
static void beyond(struct vhdx_fs_extent *e, struct vhdx_fs_file *f)
{
	(void)f;
	e[7].part_offset = part.size - e[7].length + 1;
}
static void wrapping(struct vhdx_fs_extent *e, struct vhdx_fs_file *f)
{
	(void)f;
	e[2].part_offset = UINT64_MAX - 10;
}
static void short_total(struct vhdx_fs_extent *e, struct vhdx_fs_file *f)
{
	(void)e;
	f->size += 4096;
}
static void empty_run(struct vhdx_fs_extent *e, struct vhdx_fs_file *f)
{
	(void)f;
	e[0].length = 0;
}
static void none(struct vhdx_fs_extent *e, struct vhdx_fs_file *f)
{
	(void)e;
	f->extent_count = 0;
}

int main(void)
{
	struct ib b;
	struct ib_params p = { .virtual_size = 16 * MiB };

	if (!CHECK(ib_build(&b, &p) == 0, "setup: build a 16 MiB image"))
		return t_done();
	for (uint64_t blk = 0; blk < 16; blk += 3)
		ib_alloc_block(&b, blk);
	if (!CHECK(lay_out(&b) == 0, "setup: the partition"))
		return t_done();
	test_runs();
	test_image(&b);
	test_read_only();
	refusal("a gap between extents", gap, "extent 5: file offset");
	refusal("a run beyond the partition", beyond, "extent 7: partition bytes");
	refusal("a run whose end wraps", wrapping, "extent 2");
	refusal("extents shorter than the file", short_total, "extents cover");
	refusal("an empty run", empty_run, "extent 0");
	refusal("no extents for a non-empty file", none, "no extents");
	free(inside);
	mb_free(&part);
	ib_free(&b);
	return t_done();
}
