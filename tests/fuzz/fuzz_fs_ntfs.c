/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_fs_ntfs.c - libFuzzer harness: vhdx_ntfs_locate over a fuzzed NTFS partition.
 *
 * Input (compact, so that a real mkntfs volume fits in a few KiB; seeds: tests/fuzz/seeds/fs_ntfs/, made by
 * tests/fuzz/mkseeds_ntfs.sh):
 *   byte 0      path: index (mod the table below) of the path looked up
 *   byte 1      k: 1..63 makes allocation k fail, 64..127 makes read k - 63 fail (then the status must be
 *               VHDX_E_NOMEM / VHDX_E_IO with nothing left allocated); 0 or above: none
 *   bytes 2-5   partition size in 4 KiB pages (u32 LE, 1 .. 2^20)
 *   then        pages: [u32 LE page index][u16 LE length, at most 4096][length bytes: the page's start]; every
 *               other byte of the partition reads as zero
 *
 * Whatever the input: no crash or sanitizer report, no write, no read outside the partition, at most 4 MiB of
 * scratch live at once, every byte freed on return with the length it was allocated with, a NUL-terminated
 * message, the same outcome twice; on success the extents lie inside the partition, in file order, cover
 * [0, size) exactly, adjacent ones merged, and none overlaps another.
 *
 * FZ_NTFS_READLOG=1: prints the page index of every read to stderr (mkseeds_ntfs.sh keeps only those pages).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "fuzzlib.h"

#define PAGE 4096u
#define MAX_PAGES 4096u
#define MAX_EXTENTS 4096u
#define BUDGET (4u << 20)

static const char *const paths[] = {
	"/d/e/File.bin", "/top.bin", "/many/x.bin", "/D/E/FILE.BIN", "/tiny", "/hiberfil.sys", "/d", "\\many\\X.BIN",
	"/frag.bin",
};

struct part {
	struct vhdx_io io;
	const uint8_t *page[MAX_PAGES];
	uint32_t index[MAX_PAGES], len[MAX_PAGES], n;
	size_t live;
	unsigned allocs, reads, fail_alloc_at, fail_read_at;
	int readlog;
};

static int part_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct part *p = ctx;
	uint8_t *b = buf;

	FZ_ASSERT(off <= p->io.size && len <= p->io.size - off, "read of %zu bytes at %llu beyond %llu", len,
		  (unsigned long long)off, (unsigned long long)p->io.size);
	if (++p->reads == p->fail_read_at)
		return 1;
	memset(b, 0, len);
	for (uint64_t pg = off / PAGE; len && pg * PAGE < off + len; pg++) {
		if (p->readlog)
			fprintf(stderr, "read page %llu\n", (unsigned long long)pg);
		/* the last chunk for a page wins, like a later write */
		for (uint32_t i = p->n; i-- > 0;) {
			if (p->index[i] != pg)
				continue;
			uint64_t s = pg * PAGE > off ? pg * PAGE : off, e = pg * PAGE + p->len[i];
			if (e > off + len)
				e = off + len;
			if (e > s)
				memcpy(b + (s - off), p->page[i] + (s - pg * PAGE), e - s);
			break;
		}
	}
	return 0;
}

static int part_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	fz_die("the locator wrote %zu bytes at %llu", len, (unsigned long long)off);
}

static int part_flush(void *ctx)
{
	(void)ctx;
	fz_die("the locator flushed");
}

static void *part_alloc(void *ctx, size_t len)
{
	struct part *p = ctx;
	size_t *h;

	if (++p->allocs == p->fail_alloc_at)
		return NULL;
	FZ_ASSERT(len <= BUDGET && p->live + len <= BUDGET, "scratch over budget: %zu live + %zu", p->live, len);
	h = malloc(len + 16);
	if (!h)
		return NULL;
	h[0] = len;
	p->live += len;
	return (uint8_t *)h + 16;
}

static void part_free(void *ctx, void *ptr, size_t len)
{
	struct part *p = ctx;
	size_t *h = (size_t *)((uint8_t *)ptr - 16);

	FZ_ASSERT(h[0] == len, "free with length %zu of a block of %zu", len, h[0]);
	p->live -= len;
	free(h);
}

static void part_load(struct part *p, const uint8_t *data, size_t size)
{
	uint32_t pages = size >= 6 ? (uint32_t)data[2] | (uint32_t)data[3] << 8 | (uint32_t)data[4] << 16 |
					     (uint32_t)data[5] << 24
				   : 1;
	size_t at = 6;

	memset(p, 0, sizeof *p);
	if (pages == 0 || pages > (1u << 20))
		pages = 1 + pages % (1u << 20);
	p->io = (struct vhdx_io){ .ctx = p, .size = (uint64_t)pages * PAGE, .read_only = 1, .read = part_read,
				  .write = part_write, .flush = part_flush, .alloc = part_alloc, .free = part_free };
	while (at + 6 <= size && p->n < MAX_PAGES) {
		uint32_t idx = (uint32_t)data[at] | (uint32_t)data[at + 1] << 8 | (uint32_t)data[at + 2] << 16 |
			       (uint32_t)data[at + 3] << 24;
		size_t len = (size_t)data[at + 4] | (size_t)data[at + 5] << 8, left = size - at - 6;

		if (len > PAGE)
			len = PAGE;
		if (len > left)
			len = left;
		p->index[p->n] = idx;
		p->page[p->n] = data + at + 6;
		p->len[p->n] = (uint32_t)len;
		p->n++;
		at += 6 + len;
	}
	p->readlog = getenv("FZ_NTFS_READLOG") != NULL;
}

static void check_extents(const struct part *p, const struct vhdx_fs_file *f)
{
	uint64_t pos = 0;

	FZ_ASSERT(f->kind == VHDX_FS_NTFS, "kind %d", (int)f->kind);
	FZ_ASSERT(f->extent_count <= MAX_EXTENTS, "%u extents", f->extent_count);
	for (uint32_t i = 0; i < f->extent_count; i++) {
		const struct vhdx_fs_extent *e = &f->extents[i];

		FZ_ASSERT(e->file_offset == pos, "extent %u at file offset %llu, expected %llu", i,
			  (unsigned long long)e->file_offset, (unsigned long long)pos);
		FZ_ASSERT(e->length > 0, "extent %u is empty", i);
		FZ_ASSERT(e->part_offset <= p->io.size && e->length <= p->io.size - e->part_offset,
			  "extent %u (%llu + %llu) outside the partition", i, (unsigned long long)e->part_offset,
			  (unsigned long long)e->length);
		if (i)
			FZ_ASSERT(f->extents[i - 1].part_offset + f->extents[i - 1].length != e->part_offset,
				  "extents %u and %u are adjacent and not merged", i - 1, i);
		for (uint32_t j = 0; j < i; j++) {
			const struct vhdx_fs_extent *o = &f->extents[j];
			FZ_ASSERT(o->part_offset + o->length <= e->part_offset ||
					  e->part_offset + e->length <= o->part_offset,
				  "extents %u and %u overlap", j, i);
		}
		pos += e->length;
	}
	FZ_ASSERT(pos == f->size, "extents cover %llu bytes, size %llu", (unsigned long long)pos,
		  (unsigned long long)f->size);
}

/* Nothing to set up (the partition comes whole from the input); the replay harnesses' main calls this. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct part p;
	static struct vhdx_fs_extent ext[2][MAX_EXTENTS];
	struct vhdx_fs_file f = { .extents = ext[0], .extent_max = MAX_EXTENTS };
	struct vhdx_fs_file g = { .extents = ext[1], .extent_max = MAX_EXTENTS };
	const char *path = paths[(size ? data[0] : 0) % (sizeof paths / sizeof paths[0])];
	unsigned k = size > 1 ? data[1] & 0x7f : 0;
	vhdx_status st, st2;

	part_load(&p, data, size);
	if (k >= 64)
		p.fail_read_at = k - 63;
	else
		p.fail_alloc_at = k;
	st = vhdx_ntfs_locate(&p.io, path, &f);
	FZ_ASSERT(p.live == 0, "%zu bytes left allocated (status %d: %s)", p.live, (int)st, f.msg);
	FZ_ASSERT(memchr(f.msg, 0, sizeof f.msg) != NULL, "message not terminated");
	FZ_ASSERT(f.reads == 0 || f.bytes_read > 0, "reads %u, bytes %llu", f.reads, (unsigned long long)f.bytes_read);
	if (p.readlog)
		fprintf(stderr, "status %d: %s\n", (int)st, f.msg);
	if ((p.fail_read_at && p.reads >= p.fail_read_at) || (p.fail_alloc_at && p.allocs >= p.fail_alloc_at)) {
		FZ_ASSERT(st == (k >= 64 ? VHDX_E_IO : VHDX_E_NOMEM), "injected %s failure gave status %d (%s)",
			  k >= 64 ? "read" : "allocation", (int)st, f.msg);
		return 0;
	}
	if (st == VHDX_OK)
		check_extents(&p, &f);
	else
		FZ_ASSERT(f.msg[0] != '\0' && f.extent_count == 0, "refusal %d without a message or with extents", (int)st);
	p.fail_alloc_at = p.fail_read_at = 0;
	st2 = vhdx_ntfs_locate(&p.io, path, &g);
	FZ_ASSERT(st2 == st && strcmp(f.msg, g.msg) == 0 && f.size == g.size && f.extent_count == g.extent_count &&
			  f.fs_flags == g.fs_flags && f.bytes_read == g.bytes_read,
		  "second lookup differs: %d '%s' vs %d '%s'", (int)st, f.msg, (int)st2, g.msg);
	FZ_ASSERT(memcmp(ext[0], ext[1], f.extent_count * sizeof ext[0][0]) == 0, "second lookup's extents differ");
	FZ_ASSERT(p.live == 0, "%zu bytes left allocated after the second lookup", p.live);
	return 0;
}
