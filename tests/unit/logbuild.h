/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * logbuild.h - dirty images for the log tests (test_log, test_crash), on top of imgbuild.h.
 *
 * Header-only: tests/unit/unit.mk links the tests that use it with membackend.o and imgbuild.o, and a change to
 * a tests/unit header rebuilds them.
 *
 * The idea: every scenario keeps two images side by side.
 *   lb.b  the image under test: a clean imgbuild image, then log entries written into its ring and LogGuid set;
 *   lb.m  the model: the same clean image with the descriptors of the entries that must win applied directly,
 *         in tail-to-head order, by this file (no core code), and LogGuid left zero.
 * After a correct replay, lb.b's bytes equal lb.m's outside the headers and the log; before it, the virtual disk
 * read through the core's overlay equals ib_expect(&lb.m).  Entries that must lose (stale, torn) are written to the
 * ring with lb_entry(..., apply = 0) so the model never sees them.
 */
#ifndef LOGBUILD_H
#define LOGBUILD_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgbuild.h"
#include "membackend.h"


#define LB_S VHDX_LOG_SECTOR
#define LB_UNUSED __attribute__((unused))

struct lb {
	struct ib b, m;
	struct vhdx_guid guid; /* the LogGuid of the live sequence */
	uint8_t sec[64][LB_S]; /* storage for data descriptor contents (ib_log_entry copies them at once) */
	unsigned nsec;
};

/* a copy of an imgbuild image with its own buffer */
LB_UNUSED static int lb_clone(struct ib *dst, const struct ib *src)
{
	*dst = *src;
	dst->buf = malloc((size_t)src->cap);
	if (!dst->buf)
		return -1;
	memcpy(dst->buf, src->buf, (size_t)src->cap);
	return 0;
}

/*
 * A clean base: 8 MiB virtual, 1 MiB blocks, log at 1 MiB (1 MiB), metadata 2 MiB, BAT 3 MiB; blocks 0 and 1
 * present at 4 and 5 MiB (ib_pattern content), `spare` zero bytes appended after them for blocks the log
 * allocates inside the file.  lb.m starts as a copy.
 */
LB_UNUSED static int lb_init(struct lb *l, uint64_t spare, unsigned guid_n)
{
	memset(l, 0, sizeof(*l));
	if (ib_build(&l->b, NULL) || !ib_alloc_block(&l->b, 0) || !ib_alloc_block(&l->b, 1))
		return -1;
	if (spare && ib_grow(&l->b, l->b.size + spare))
		return -1;
	l->guid = ib_guid(guid_n);
	return lb_clone(&l->m, &l->b);
}

LB_UNUSED static void lb_free(struct lb *l)
{
	ib_free(&l->b);
	ib_free(&l->m);
}

/* 4 KiB of recognisable content: every byte depends on the seed and the position, none is constant */
LB_UNUSED static const uint8_t *lb_data(struct lb *l, unsigned seed)
{
	uint8_t *p = l->sec[l->nsec++ % 64];
	uint32_t x = 0x9E3779B9u * (seed + 1);

	for (unsigned i = 0; i < LB_S; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)(x ^ i);
	}
	return p;
}

LB_UNUSED static struct ib_desc lb_d(uint64_t off, const uint8_t *data)
{
	struct ib_desc d = { 0, off, 0, data };
	return d;
}

LB_UNUSED static struct ib_desc lb_z(uint64_t off, uint64_t len)
{
	struct ib_desc d = { 1, off, len, NULL };
	return d;
}

/* file offset of payload block `blk` in the model (0 if not present) */
LB_UNUSED static uint64_t lb_block_off(const struct ib *m, uint64_t blk)
{
	uint64_t e = ib_bat_get(m, ib_bat_index(m, blk));
	return (e & 7) == VHDX_BAT_FULLY_PRESENT ? e & VHDX_BAT_OFFSET_MASK : 0;
}

/*
 * A data descriptor that rewrites the BAT sector holding block `blk`'s entry so that the block is FULLY_PRESENT at
 * file offset `at`.  Built from the model's current BAT sector (call it after applying earlier entries).
 */
LB_UNUSED static struct ib_desc lb_bat(struct lb *l, uint64_t blk, uint64_t at)
{
	uint64_t off = l->m.bat_off + ib_bat_index(&l->m, blk) * 8, sector = off & ~(uint64_t)(LB_S - 1);
	uint8_t *p = l->sec[l->nsec++ % 64];

	memcpy(p, l->m.buf + sector, LB_S);
	vhdx_put64(p + (off - sector), at | VHDX_BAT_FULLY_PRESENT);
	return lb_d(sector, p);
}

/* applies descriptors to the model, growing it as needed */
LB_UNUSED static int lb_model_apply(struct ib *m, const struct ib_desc *d, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t len = d[i].zero ? d[i].length : LB_S;
		if (ib_grow(m, d[i].offset + len))
			return -1;
		if (d[i].zero)
			memset(m->buf + d[i].offset, 0, (size_t)len);
		else
			memcpy(m->buf + d[i].offset, d[i].data, LB_S);
	}
	return 0;
}

/*
 * Writes an entry into lb.b's ring at sector `pos` (Tail = ring sector `tail`) with LogGuid `g` (NULL: the live
 * one); apply: also apply the descriptors to the model.  flushed/last: 0 means the file size.  Returns the entry's
 * length in sectors (0 on failure).
 */
LB_UNUSED static uint32_t lb_entry(struct lb *l, uint32_t pos, uint64_t seq, uint32_t tail, const struct vhdx_guid *g,
				   const struct ib_desc *d, unsigned n, uint64_t flushed, uint64_t last, int apply)
{
	uint32_t len = ib_log_entry(&l->b, pos, seq, tail * LB_S, g ? g : &l->guid, d, n, flushed, last);

	if (len && apply && lb_model_apply(&l->m, d, n))
		return 0;
	return len;
}

/* sets the live LogGuid in both headers of lb.b: the image becomes dirty */
LB_UNUSED static void lb_dirty(struct lb *l)
{
	ib_set_log_guid(&l->b, &l->guid);
}

/* the whole expected virtual disk (caller frees) */
LB_UNUSED static uint8_t *lb_expect(const struct lb *l)
{
	uint8_t *p = malloc((size_t)l->m.p.virtual_size);
	if (p)
		ib_expect(&l->m, 0, p, (size_t)l->m.p.virtual_size);
	return p;
}

/*
 * NULL when the file `buf` (size bytes) equals the model outside the headers ([64 KiB, 192 KiB)) and the log;
 * otherwise a reason (static buffer).
 */
LB_UNUSED static const char *lb_file_matches(const struct lb *l, const uint8_t *buf, uint64_t size)
{
	static char why[200];
	const uint64_t lo = l->m.log_off, hi = l->m.log_off + l->m.log_len;
	const struct ib *m = &l->m;

	if (size != m->size) {
		snprintf(why, sizeof why, "file size %llu, the model has %llu", (unsigned long long)size,
			 (unsigned long long)m->size);
		return why;
	}
	for (uint64_t i = 0; i < size; i++) {
		if ((i >= VHDX_HEADER1_OFFSET && i < VHDX_REGION1_OFFSET) || (i >= lo && i < hi))
			continue;
		if (buf[i] != m->buf[i]) {
			snprintf(why, sizeof why, "byte %llu (0x%llx) is 0x%02x, the model has 0x%02x", (unsigned long long)i,
				 (unsigned long long)i, buf[i], m->buf[i]);
			return why;
		}
	}
	return NULL;
}

/* both headers of a file image, parsed, with their checksum state */
struct lb_hdrs {
	struct vhdx_header h[2];
	int valid[2];
	int cur;
};

LB_UNUSED static void lb_headers(const uint8_t *buf, struct lb_hdrs *o)
{
	for (int i = 0; i < 2; i++) {
		const uint8_t *p = buf + (i ? VHDX_HEADER2_OFFSET : VHDX_HEADER1_OFFSET);
		vhdx_header_parse(&o->h[i], p);
		o->valid[i] = o->h[i].signature == VHDX_HDR_SIGNATURE &&
			      o->h[i].checksum == vhdx_struct_crc(p, VHDX_HEADER_SIZE, VHDX_HDR_CHECKSUM);
	}
	o->cur = o->valid[1] && (!o->valid[0] || o->h[1].sequence > o->h[0].sequence);
}

/* a GUID made by vhdx_guid_from_random: RFC 4122 version 4, variant 10 */
LB_UNUSED static int lb_guid_v4(const struct vhdx_guid *g)
{
	return (g->data3 >> 12) == 4 && (g->data4[0] & 0xC0) == 0x80;
}

/* reads the whole virtual disk through the core and compares it with `want`; NULL or a reason */
LB_UNUSED static const char *lb_content(struct vhdx_image *img, const uint8_t *want)
{
	static char why[VHDX_MSG_LEN + 96];
	uint64_t n = img->virtual_size;
	uint8_t *got = malloc((size_t)n);
	vhdx_status st;

	if (!got)
		return "out of memory";
	st = vhdx_read(img, 0, got, (size_t)n);
	why[0] = 0;
	if (st)
		snprintf(why, sizeof why, "vhdx_read: status %d: %s", (int)st, img->msg);
	else if (memcmp(got, want, (size_t)n) != 0)
		for (uint64_t i = 0; i < n; i++)
			if (got[i] != want[i]) {
				snprintf(why, sizeof why, "virtual byte %llu (block %llu) is 0x%02x, expected 0x%02x",
					 (unsigned long long)i, (unsigned long long)(i / img->block_size), got[i], want[i]);
				break;
			}
	free(got);
	return why[0] ? why : NULL;
}

/*
 * The "several entries" scenario shared by test_log and test_crash.  Base: lb_init with 1 MiB spare (file 7 MiB).
 *   seq 10 at ring sector 0:  data into block 0 (+4 KiB); BAT: block 4 -> 6 MiB; data at 6 MiB +0 and +8 KiB
 *   seq 11 next:              data over block 1's first sector; zero 128 KiB of block 1 from +64 KiB; zero the
 *                             6 MiB +8 KiB sector written by seq 10 (a later zero wins over an earlier data)
 *   seq 12 next (the head):   data into block 0 (+4 KiB) again (overrides seq 10); with grow: BAT block 6 -> 7 MiB,
 *                             data at 7 MiB + 12 KiB, LastFileOffset 8 MiB (one block past the end of the file)
 * All Tails point at ring sector 0.  Returns the number of descriptors written (0 on failure).
 */
LB_UNUSED static unsigned lb_several(struct lb *l, int grow)
{
	const uint64_t M = VHDX_MiB;
	uint64_t b0, b1;
	struct ib_desc d[4];
	uint32_t pos = 0, n;
	unsigned total = 0;

	if (lb_init(l, M, 1))
		return 0;
	b0 = lb_block_off(&l->m, 0);
	b1 = lb_block_off(&l->m, 1);
	d[0] = lb_d(b0 + LB_S, lb_data(l, 1));
	d[1] = lb_bat(l, 4, 6 * M);
	d[2] = lb_d(6 * M, lb_data(l, 2));
	d[3] = lb_d(6 * M + 2 * LB_S, lb_data(l, 3));
	if (!(n = lb_entry(l, pos, 10, 0, NULL, d, 4, 0, 0, 1)))
		return 0;
	pos += n;
	total += 4;
	d[0] = lb_d(b1, lb_data(l, 4));
	d[1] = lb_z(b1 + 64 * 1024, 128 * 1024);
	d[2] = lb_z(6 * M + 2 * LB_S, LB_S);
	if (!(n = lb_entry(l, pos, 11, 0, NULL, d, 3, 0, 0, 1)))
		return 0;
	pos += n;
	total += 3;
	d[0] = lb_d(b0 + LB_S, lb_data(l, 5));
	if (grow) {
		if (ib_grow(&l->m, 8 * M))
			return 0;
		d[1] = lb_bat(l, 6, 7 * M);
		d[2] = lb_d(7 * M + 3 * LB_S, lb_data(l, 6));
	}
	if (!lb_entry(l, pos, 12, 0, NULL, d, grow ? 3 : 1, 0, grow ? 8 * M : 0, 1))
		return 0;
	total += grow ? 3 : 1;
	lb_dirty(l);
	return total;
}

#endif
