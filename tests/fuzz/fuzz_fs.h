/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_fs.h - the body of the file-locator harnesses (fuzz_fs_fat.c, fuzz_fs_exfat.c, fuzz_fs_ext4.c): each
 * includes this after defining FS_KIND and FS_LOCATE.
 *
 * Input (a sparse partition image, so that a 33 MiB FAT32 volume fits a few KiB):
 *   byte 0        n: path length; bytes 1..n the path
 *   next byte     extent_max: 0 means 4096, else the value (small values reach the extent limit)
 *   next byte     faults: bits 0-3 k: the k-th backend read fails; bits 4-7 k: the k-th allocation fails
 *   next 4 bytes  partition size, LE (at most 1 GiB; the bytes not given read as zero)
 *   then chunks   [u32 offset LE][u16 length LE][length bytes], written into the image (clipped to it)
 * Seeds: tests/fuzz/seeds/fs_*, made by tests/fuzz/mkfsseeds.sh from images the real mkfs tools made.
 *
 * Checks: the backend aborts on any write, read beyond the partition or memory left allocated (fz_file); a
 * refusal has a terminated message; an injected read or allocation failure comes back as VHDX_E_IO or
 * VHDX_E_NOMEM; a success's extents are in file order, without gap or overlap in the file, merged, inside the
 * partition, no more than extent_max, covering exactly the file's size; the probe's dispatch and the direct call
 * agree; a second lookup gives the same answer.
 */
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "fuzzlib.h"

#define FS_MAX_SIZE (1ull << 30)
#define FS_EXTENTS 4096u

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void check_extents(const struct fz_file *f, const struct vhdx_fs_file *r)
{
	uint64_t at = 0;

	FZ_ASSERT(r->extent_count <= r->extent_max, "%u extents, extent_max %u", r->extent_count, r->extent_max);
	for (uint32_t i = 0; i < r->extent_count; i++) {
		const struct vhdx_fs_extent *e = &r->extents[i];
		FZ_ASSERT(e->file_offset == at && e->length > 0, "extent %u at file byte %llu (expected %llu), length %llu", i,
			  (unsigned long long)e->file_offset, (unsigned long long)at, (unsigned long long)e->length);
		FZ_ASSERT(e->part_offset <= f->io.size && e->length <= f->io.size - e->part_offset,
			  "extent %u at partition offset %llu +%llu beyond %llu", i, (unsigned long long)e->part_offset,
			  (unsigned long long)e->length, (unsigned long long)f->io.size);
		FZ_ASSERT(!i || r->extents[i - 1].part_offset + r->extents[i - 1].length != e->part_offset,
			  "extent %u continues extent %u: not merged", i, i - 1);
		at += e->length;
	}
	FZ_ASSERT(at == r->size, "extents cover %llu bytes of %llu", (unsigned long long)at, (unsigned long long)r->size);
}

static vhdx_status run_once(struct fz_file *f, vhdx_status (*fn)(const struct vhdx_io *, const char *, struct vhdx_fs_file *),
			    const char *path, struct vhdx_fs_file *r, unsigned fail_read, unsigned fail_alloc)
{
	vhdx_status st;

	f->injected = 0;
	f->fail_read_at = fail_read ? f->reads + fail_read : 0;
	f->fail_alloc_at = fail_alloc ? f->allocs + fail_alloc : 0;
	st = fn(&f->io, path, r);
	f->fail_read_at = f->fail_alloc_at = 0;
	fz_check_msg(r->msg, sizeof(r->msg));
	FZ_ASSERT(f->live == 0, "%zu bytes of scratch still allocated after the lookup", f->live);
	if (f->injected)
		FZ_ASSERT(st == VHDX_E_IO || st == VHDX_E_NOMEM,
			  "an injected failure came back as status %d (%s)", (int)st, r->msg);
	if (st == VHDX_OK)
		check_extents(f, r);
	else
		FZ_ASSERT(r->msg[0], "refusal %d without a message", (int)st);
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_file f;
	static struct vhdx_fs_extent ext1[FS_EXTENTS], ext2[FS_EXTENTS];
	struct vhdx_fs_file r1, r2;
	char path[256];
	size_t pos;
	uint64_t psize;
	unsigned faults, n;

	if (size < 1 || size < (size_t)data[0] + 7)
		return 0;
	n = data[0];
	memcpy(path, data + 1, n);
	path[n] = 0;
	pos = 1 + n;
	memset(&r1, 0, sizeof(r1));
	r1.extents = ext1;
	r1.extent_max = data[pos] ? data[pos] : FS_EXTENTS;
	faults = data[pos + 1];
	psize = (data[pos + 2] | (uint32_t)data[pos + 3] << 8 | (uint32_t)data[pos + 4] << 16 |
		 (uint32_t)data[pos + 5] << 24) % (FS_MAX_SIZE + 1);
	pos += 6;
	fz_file_init(&f, NULL, psize);
	while (pos + 6 <= size) {
		uint64_t off = data[pos] | (uint32_t)data[pos + 1] << 8 | (uint32_t)data[pos + 2] << 16 |
			       (uint32_t)data[pos + 3] << 24;
		size_t len = data[pos + 4] | (size_t)data[pos + 5] << 8;
		pos += 6;
		if (len > size - pos)
			len = size - pos;
		if (off < psize)
			fz_file_pwrite(&f, off, data + pos, off + len > psize ? (size_t)(psize - off) : len);
		pos += len;
	}
	r2 = r1;
	r2.extents = ext2;

	/* through the probe, with the faults asked for; then the kind's own locator without faults */
	vhdx_status s1 = run_once(&f, vhdx_fs_locate, path, &r1, faults & 15, faults >> 4);
	int injected = f.injected;
	vhdx_status s2 = run_once(&f, FS_LOCATE, path, &r2, 0, 0);
	if (!injected && r1.kind == FS_KIND) {
		FZ_ASSERT(s1 == s2, "probe+dispatch gave %d (%s), the %s locator %d (%s)", (int)s1, r1.msg,
			  vhdx_fs_kind_name(FS_KIND), (int)s2, r2.msg);
		if (s1 == VHDX_OK)
			FZ_ASSERT(r1.size == r2.size && r1.extent_count == r2.extent_count &&
					  !memcmp(ext1, ext2, r1.extent_count * sizeof(ext1[0])) && r1.fs_flags == r2.fs_flags,
				  "the two lookups differ");
	}
	FZ_ASSERT(f.writes == 0 && f.flushes == 0, "a locator wrote");
	fz_file_reset(&f);
	return 0;
}
