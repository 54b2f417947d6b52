/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_parent.c - libFuzzer harness for differencing chains: the Parent Locator parser, attaching a
 * parent, and reads through the chain (NOT_PRESENT blocks from the parent, PARTIALLY_PRESENT blocks sector by
 * sector through the fuzzed sector bitmap) and vhdx_extent, each compared with a reference written here.
 *
 * Two modes, by flags2 bit 1 (input byte 3):
 *   locator  the bytes after the 4-byte header are a Parent Locator item for vhdx_locator_parse.  Accepted: every
 *            path NUL-terminated, valid UTF-8, and the same fields again after vhdx_locator_build + parse.
 *   chain    the image part (fuzzlib.h format) is the child.  The harness makes its parent with vhdx_create:
 *            the child's virtual size and sector size, payload blocks by a mask, each holding a pattern in its
 *            first bytes (parent_byte below) - so the reference knows every parent byte without reading it.
 *
 * Chain input tail: [p0][p1][ops...][n]: n (mod 9) read operations of 12 bytes as in fuzz_read (u64 offset,
 * bits 62-63 the mode; u32 length), before them two parent bytes.  p0 bits 0-1: the parent's DataWriteGuid is
 * 0 the child's parent_linkage, 1 its parent_linkage2 (parent_linkage when it has none), 2 another GUID (the
 * attach must be refused, naming parent_linkage), 3 no parent at all; bit 2: the parent's backend is writable
 * (refused); bit 3: the parent has the other logical sector size (refused); bits 4-5: the parent's block size
 * 1, 2, 8 or 32 MiB.  p1: the mask of parent blocks holding data (block b: bit b % 8).  flags2 bits 2-7 (k): the
 * k-th read of the parent's backend during a chain read fails; that read must report VHDX_E_IO.
 */
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "fuzzlib.h"

#define OP_SIZE 12
#define PARENT_BYTES 2
#define PARENT_MAX (64 * FZ_MiB)   /* larger children get no parent: create's source would scan too long */
#define PATTERN_BYTES 8192u        /* bytes of pattern at the start of each parent block holding data */
#define SECTOR_BITS_PER_CHUNK (1ull << 23)
#define BAT_OFFSET_MASK 0xFFFFFFFFFFF00000ull
#define READ_MAX (4 * FZ_MiB + 4097)

enum { LINK_1, LINK_2, LINK_WRONG, LINK_NONE };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_bases_init();
	return 0;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* ---- locator mode */

static int valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : (*p & 0xF8) == 0xF0 ? 3 : -1;
		if (n < 0)
			return 0;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xC0) != 0x80)
				return 0;
	}
	return 1;
}

static void locator_mode(const uint8_t *item, size_t len)
{
	static struct vhdx_image scratch;
	static struct vhdx_parent_locator loc, again;
	static uint8_t built[VHDX_LOCATOR_BUILD_MAX];
	const char *paths[3] = { loc.relative_path, loc.volume_path, loc.absolute_win32_path };

	if (len > UINT32_MAX)
		len = UINT32_MAX;
	memset(&loc, 0xA5, sizeof(loc));
	vhdx_status st = vhdx_locator_parse(&scratch, item, (uint32_t)len, &loc);
	fz_check_msg(scratch.msg, sizeof(scratch.msg));
	if (st) {
		FZ_ASSERT(scratch.msg[0], "a refused locator without a message");
		return;
	}
	FZ_ASSERT(loc.keys & VHDX_LOC_LINKAGE, "a locator accepted without parent_linkage");
	for (int i = 0; i < 3; i++) {
		FZ_ASSERT(memchr(paths[i], 0, VHDX_LOCATOR_PATH_MAX) != NULL, "path %d not terminated", i);
		FZ_ASSERT(valid_utf8(paths[i]), "path %d is not valid UTF-8", i);
	}
	/* what was parsed builds back into an item that parses to the same fields */
	uint32_t n = vhdx_locator_build(built, sizeof(built), &loc.linkage,
					loc.keys & VHDX_LOC_RELATIVE ? loc.relative_path : NULL,
					loc.keys & VHDX_LOC_VOLUME ? loc.volume_path : NULL,
					loc.keys & VHDX_LOC_ABSOLUTE ? loc.absolute_win32_path : NULL);
	FZ_ASSERT(n > 0, "the parsed locator does not build again");
	st = vhdx_locator_parse(&scratch, built, n, &again);
	FZ_ASSERT(st == VHDX_OK, "the rebuilt locator is refused: %s", scratch.msg);
	FZ_ASSERT(vhdx_guid_equal(&again.linkage, &loc.linkage), "parent_linkage changed in the round trip");
	FZ_ASSERT((again.keys & ~(unsigned)VHDX_LOC_LINKAGE2) == (loc.keys & ~(unsigned)VHDX_LOC_LINKAGE2),
		  "keys %x became %x", loc.keys, again.keys);
	for (int i = 0; i < 3; i++) {
		const char *b = i == 0 ? again.relative_path : i == 1 ? again.volume_path : again.absolute_win32_path;
		unsigned bit = i == 0 ? VHDX_LOC_RELATIVE : i == 1 ? VHDX_LOC_VOLUME : VHDX_LOC_ABSOLUTE;
		if (loc.keys & bit)
			FZ_ASSERT(strcmp(paths[i], b) == 0, "path %d changed in the round trip", i);
	}
}

/* ---- the generated parent */

struct parent_spec {
	unsigned link, writable, other_lss;
	uint32_t block_size;
	uint8_t mask;
};

/* the parent's byte at virtual offset v: a pattern in the first bytes of each block holding data, else zero */
static uint8_t parent_byte(const struct parent_spec *p, uint64_t v)
{
	uint64_t b = v / p->block_size, in = v % p->block_size;
	if (!((p->mask >> (b % 8)) & 1) || in >= PATTERN_BYTES)
		return 0;
	return (uint8_t)((v >> 9) * 7 + in * 13 + b + 1) | 1; /* never zero: create keeps the block */
}

static int parent_src(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct parent_spec *p = ctx;
	uint8_t *o = buf;
	memset(buf, 0, len);
	for (size_t i = 0; i < len && i < PATTERN_BYTES; i++)
		o[i] = parent_byte(p, off + i);
	return 0;
}

/* Makes the parent in pf and opens it into pimg; 0, or -1 when the child gets none (too large, or asked so). */
static int make_parent(struct fz_file *pf, struct vhdx_image *pimg, const struct vhdx_image *child,
		       struct parent_spec *ps)
{
	struct vhdx_create_params p;
	char msg[256];
	struct vhdx_guid dw = child->locator->linkage;

	if (ps->link == LINK_NONE || child->virtual_size > PARENT_MAX)
		return -1;
	memset(&p, 0, sizeof(p));
	fz_file_init(pf, NULL, 0);
	pf->allow_write = 1;
	pf->allow_resize = 1;
	pf->io.resize = fz_resize_cb;
	pf->budget_extra = ps->block_size;
	p.virtual_size = child->virtual_size;
	p.block_size = ps->block_size;
	p.logical_sector_size = ps->other_lss ? (child->logical_sector_size == 512 ? 4096 : 512) :
						child->logical_sector_size;
	if (p.virtual_size % p.logical_sector_size)
		p.logical_sector_size = child->logical_sector_size; /* the other size does not divide the disk */
	p.source = parent_src;
	p.source_ctx = ps;
	for (int i = 0; i < 64; i++)
		p.random[i] = (uint8_t)(i * 11 + 5);
	vhdx_status st = vhdx_create(&pf->io, &p, msg, sizeof(msg));
	FZ_ASSERT(st == VHDX_OK, "creating the parent (%llu bytes, block %u, sector %u): %s",
		  (unsigned long long)p.virtual_size, p.block_size, p.logical_sector_size, msg);
	ps->other_lss = p.logical_sector_size != child->logical_sector_size;
	/* the parent's DataWriteGuid, in both headers: what the child names, or not */
	if (ps->link == LINK_2 && (child->locator->keys & VHDX_LOC_LINKAGE2))
		dw = child->locator->linkage2;
	if (ps->link == LINK_WRONG) {
		dw.data1 ^= 0x5A5A5A5Au;
		if (vhdx_guid_equal(&dw, &child->locator->linkage2))
			dw.data2 ^= 1;
	}
	for (uint64_t h = VHDX_HEADER1_OFFSET; h <= 2 * VHDX_HEADER1_OFFSET; h += VHDX_HEADER1_OFFSET) {
		static uint8_t blk[4096];
		fz_file_pread(pf, h, blk, sizeof(blk));
		vhdx_guid_store(blk + VHDX_HDR_DATA_WRITE, &dw);
		memset(blk + VHDX_HDR_CHECKSUM, 0, 4);
		uint32_t c = vhdx_crc32c(0, blk, sizeof(blk));
		for (int i = 0; i < 4; i++)
			blk[VHDX_HDR_CHECKSUM + i] = (uint8_t)(c >> (8 * i));
		fz_file_pwrite(pf, h, blk, sizeof(blk));
	}
	pf->allow_write = 0; /* from here on a write to the parent aborts */
	pf->writes = pf->flushes = pf->resizes = 0;
	pf->allow_resize = 0;
	pf->io.resize = NULL;
	pf->io.read_only = !ps->writable;
	memset(pimg, 0, sizeof(*pimg));
	st = vhdx_open(pimg, &pf->io);
	FZ_ASSERT(st == VHDX_OK, "the generated parent does not open: %s", pimg->msg);
	return 0;
}

/* ---- the reference reader of the chain */

static uint64_t bat_at(struct fz_file *f, const struct vhdx_image *img, uint64_t idx)
{
	uint8_t e[8];
	fz_file_pread(f, img->bat_offset + 8 * idx, e, 8);
	return rd64(e);
}

/* the parent's bytes (from parent_byte), or VHDX_E_UNSUPPORTED when none is attached */
static vhdx_status ref_parent(const struct parent_spec *ps, int attached, uint64_t off, uint8_t *out, uint64_t n)
{
	if (!attached)
		return VHDX_E_UNSUPPORTED;
	for (uint64_t i = 0; i < n; i++)
		out[i] = parent_byte(ps, off + i);
	return VHDX_OK;
}

static vhdx_status ref_read(struct fz_file *f, const struct vhdx_image *img, const struct parent_spec *ps,
			    int attached, uint64_t off, uint8_t *out, size_t len)
{
	if (off > img->virtual_size || len > img->virtual_size - off)
		return VHDX_E_RANGE;
	while (len) {
		uint64_t b = off / img->block_size, in = off % img->block_size, n = img->block_size - in;
		uint64_t e = bat_at(f, img, b + b / img->chunk_ratio), st = e & 7;
		vhdx_status rs = VHDX_OK;
		if (n > len)
			n = len;
		if (st == 6) {
			fz_file_pread(f, (e & BAT_OFFSET_MASK) + in, out, (size_t)n);
		} else if (img->has_parent && st == 0) {
			rs = ref_parent(ps, attached, off, out, n);
		} else if (img->has_parent && st == 7) {
			uint64_t ss = img->logical_sector_size, c = b / img->chunk_ratio;
			uint64_t sb = bat_at(f, img, c * (img->chunk_ratio + 1) + img->chunk_ratio) & BAT_OFFSET_MASK;
			for (uint64_t p = off; !rs && p < off + n;) {
				uint64_t s = p / ss, q = (s + 1) * ss < off + n ? (s + 1) * ss : off + n, bit = s - c * SECTOR_BITS_PER_CHUNK;
				uint8_t byte;
				fz_file_pread(f, sb + bit / 8, &byte, 1);
				if ((byte >> (bit % 8)) & 1)
					fz_file_pread(f, (e & BAT_OFFSET_MASK) + (p - b * img->block_size), out + (p - off), (size_t)(q - p));
				else
					rs = ref_parent(ps, attached, p, out + (p - off), q - p);
				p = q;
			}
		} else {
			memset(out, 0, (size_t)n);
		}
		if (rs)
			return rs;
		out += n;
		off += n;
		len -= (size_t)n;
	}
	return VHDX_OK;
}

/* The extents of [off, off + len): each points into the child or the parent as the reference says. */
static void check_extents(struct vhdx_image *img, struct fz_file *cf, struct vhdx_image *pimg, struct fz_file *pf,
			  uint64_t off, size_t len, const uint8_t *want, vhdx_status want_st, uint8_t *scratch)
{
	vhdx_status st = VHDX_OK;
	uint64_t pos = off;

	while (pos < off + len) {
		struct vhdx_extent e;
		st = vhdx_extent(img, pos, off + len - pos, &e);
		fz_check_msg(img->msg, sizeof(img->msg));
		if (st)
			break;
		FZ_ASSERT(e.len >= 1 && e.len <= off + len - pos, "extent at %llu: %llu bytes of %llu",
			  (unsigned long long)pos, (unsigned long long)e.len, (unsigned long long)(off + len - pos));
		if (!e.image) {
			for (uint64_t i = 0; i < e.len; i++)
				FZ_ASSERT(want[pos - off + i] == 0, "zero extent at %llu: reference byte %llu is not zero",
					  (unsigned long long)pos, (unsigned long long)(pos + i));
		} else {
			FZ_ASSERT((e.level == 0 && e.image == img) || (e.level == 1 && e.image == pimg && img->parent == pimg),
				  "extent at %llu: level %u", (unsigned long long)pos, e.level);
			struct fz_file *lf = e.level ? pf : cf;
			FZ_ASSERT(e.file_off + e.len <= lf->io.size, "extent at %llu: file bytes %llu+%llu beyond the file",
				  (unsigned long long)pos, (unsigned long long)e.file_off, (unsigned long long)e.len);
			fz_file_pread(lf, e.file_off, scratch, (size_t)e.len);
			FZ_ASSERT(memcmp(scratch, want + (pos - off), (size_t)e.len) == 0,
				  "extent at %llu (level %u, %llu bytes): bytes differ from the reference",
				  (unsigned long long)pos, e.level, (unsigned long long)e.len);
		}
		pos += e.len;
	}
	if (len == 0)
		return;
	/* the same outcome as the read: a range error, or the parent missing, or everything resolved */
	FZ_ASSERT(st == want_st, "extents of %zu bytes at %llu: status %d (%s), the read's %d", len,
		  (unsigned long long)off, (int)st, st ? img->msg : "", (int)want_st);
}

static uint64_t op_offset(uint64_t o, uint64_t vs)
{
	switch (o >> 62) {
	case 1: return o % (vs + 1);
	case 2: return vs - (o % (vs < 64 * FZ_MiB ? vs + 1 : 64 * FZ_MiB));
	case 3: return UINT64_MAX - (o & 0xFFFF);
	default: return o;
	}
}

static void chain_mode(const uint8_t *data, size_t size)
{
	static struct fz_file cf, pf;
	static struct vhdx_image img, pimg;
	static uint8_t *gbuf, *wbuf, *sbuf;
	size_t nops = 0, img_len = size;
	const uint8_t *pb = NULL;
	unsigned flags;
	int raw, attached = 0, have_parent = 0;
	struct parent_spec ps = { .link = LINK_NONE, .block_size = (uint32_t)FZ_MiB };

	if (!gbuf) {
		gbuf = malloc(READ_MAX);
		wbuf = malloc(READ_MAX);
		sbuf = malloc(READ_MAX);
		FZ_ASSERT(gbuf && wbuf && sbuf, "host memory");
	}
	if (size >= FZ_HDR_BYTES + PARENT_BYTES + 1) {
		nops = data[size - 1] % 9;
		while (nops && nops * OP_SIZE + 1 + PARENT_BYTES + FZ_HDR_BYTES > size)
			nops--;
		img_len = size - 1 - nops * OP_SIZE - PARENT_BYTES;
		pb = data + img_len;
		static const uint32_t sizes[4] = { 1, 2, 8, 32 };
		ps.link = pb[0] & 3;
		ps.writable = (pb[0] >> 2) & 1;
		ps.other_lss = (pb[0] >> 3) & 1;
		ps.block_size = sizes[(pb[0] >> 4) & 3] * (uint32_t)FZ_MiB;
		ps.mask = pb[1];
	}
	fz_load_input(&cf, data, img_len, &flags, &raw);
	cf.io.read_only = 1;
	vhdx_status st = vhdx_open(&img, &cf.io);
	fz_check_open(&cf, &img, st);
	if (st != VHDX_OK) {
		fz_file_reset(&cf);
		return;
	}
	if (img.has_parent) {
		FZ_ASSERT(img.locator && (img.locator->keys & VHDX_LOC_LINKAGE), "a differencing image opened without a locator");
		have_parent = make_parent(&pf, &pimg, &img, &ps) == 0;
	}
	if (have_parent) {
		vhdx_status as = vhdx_attach_parent(&img, &pimg);
		fz_check_msg(img.msg, sizeof(img.msg));
		if (ps.writable)
			FZ_ASSERT(as == VHDX_E_ARG, "a writable parent attached (%d)", (int)as);
		else if (ps.link == LINK_WRONG)
			FZ_ASSERT(as == VHDX_E_CORRUPT && strstr(img.msg, "parent_linkage"),
				  "a parent with another DataWriteGuid: %d (%s)", (int)as, img.msg);
		else if (ps.other_lss)
			FZ_ASSERT(as == VHDX_E_UNSUPPORTED && strstr(img.msg, "Logical Sector Size"),
				  "a parent with another sector size: %d (%s)", (int)as, img.msg);
		else
			FZ_ASSERT(as == VHDX_OK, "the right parent refused: %s", img.msg);
		attached = as == VHDX_OK;
	} else if (!img.has_parent) {
		/* a parent for an image without one is refused */
		static struct vhdx_image none;
		FZ_ASSERT(vhdx_attach_parent(&img, &none) != VHDX_OK, "attached a parent to an image without HasParent");
	}

	unsigned k = fz_flags2(data, size) >> 2; /* parent backend reads to go before one fails */
	for (size_t i = 0; i < nops; i++) {
		const uint8_t *op = data + img_len + PARENT_BYTES + i * OP_SIZE;
		uint64_t o = op_offset(rd64(op), img.virtual_size);
		size_t len = (size_t)((op[8] | (uint32_t)op[9] << 8 | (uint32_t)op[10] << 16 | (uint32_t)op[11] << 24) %
				      READ_MAX);
		uint8_t *got = gbuf + (READ_MAX - len), *want = wbuf + (READ_MAX - len);
		int was = pf.injected;
		memset(got, 0xCC, len);
		if (k && attached)
			pf.fail_read_at = pf.reads + k;
		vhdx_status cs = vhdx_read(&img, o, got, len);
		fz_check_msg(img.msg, sizeof(img.msg));
		if (attached) {
			pf.fail_read_at = 0;
			if (pf.injected && !was) {
				FZ_ASSERT(cs == VHDX_E_IO && strstr(img.msg, "parent"),
					  "a parent read error gave %d (%s)", (int)cs, img.msg);
				k = 0;
				continue;
			}
		}
		if (img.log.active) /* reads see the log's overlay: fuzz_replay compares those */
			continue;
		vhdx_status rs = ref_read(&cf, &img, &ps, attached, o, want, len);
		FZ_ASSERT(cs == rs, "read of %zu bytes at %llu: core %d (%s), reference %d", len, (unsigned long long)o,
			  (int)cs, cs ? img.msg : "", (int)rs);
		if (cs == VHDX_OK)
			FZ_ASSERT(memcmp(got, want, len) == 0, "read of %zu bytes at %llu: data differs from the reference",
				  len, (unsigned long long)o);
		if (rs != VHDX_E_RANGE)
			check_extents(&img, &cf, attached ? &pimg : NULL, &pf, o, len, want, rs, sbuf);
	}
	vhdx_close(&img);
	FZ_ASSERT(cf.writes == 0 && cf.flushes == 0, "reading the child wrote");
	fz_file_reset(&cf);
	if (have_parent) {
		vhdx_close(&pimg);
		FZ_ASSERT(pf.writes == 0 && pf.flushes == 0, "reading through the parent wrote to it");
		fz_file_reset(&pf);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FZ_HDR_BYTES && data[0] != FZ_RAW && (fz_flags2(data, size) & 2))
		locator_mode(data + FZ_HDR_BYTES, size - FZ_HDR_BYTES);
	else
		chain_mode(data, size);
	return 0;
}
