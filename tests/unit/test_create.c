/* SPDX-License-Identifier: BSD-2-Clause */
/* test_create.c - core/create.c: fixed and dynamic images that open and read back, parameter refusals, faults. */
#include "imgbuild.h"
#include "t.h"

#define MiB VHDX_MiB

static struct vhdx_image img;

/* source: ib_pattern bytes in blocks 0..63 (of `block` bytes) whose bit in zero_mask is clear; zeros elsewhere */
struct src {
	uint64_t zero_mask, block;
	int fail_at_call; /* 1-based; 0 never */
	int calls;
};

static int source(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct src *s = ctx;
	uint8_t *o = buf;

	if (++s->calls == s->fail_at_call)
		return -1;
	while (len) {
		uint64_t blk = off / s->block, n = s->block - off % s->block;
		if (n > len)
			n = len;
		if (blk >= 64 || (s->zero_mask >> blk) & 1)
			memset(o, 0, (size_t)n);
		else
			for (size_t i = 0; i < n; i++)
				o[i] = ib_pattern(off + i);
		o += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

static void expect_src(const struct src *s, uint64_t off, uint8_t *buf, size_t len)
{
	struct src c = *s;
	c.fail_at_call = 0;
	source(&c, off, buf, len);
}

static void params(struct vhdx_create_params *p, uint64_t vsize, uint32_t bs, uint32_t lss, int fixed)
{
	memset(p, 0, sizeof *p);
	p->virtual_size = vsize;
	p->block_size = bs;
	p->logical_sector_size = lss;
	p->fixed = fixed;
	for (int i = 0; i < 64; i++)
		p->random[i] = (uint8_t)(i * 29 + 7);
}

static void grow_mb(struct membackend *mb)
{
	mb_init(mb, 0);
	mb->grow = 1;
	mb_io(mb);
}

/* creates, then opens and checks the content and the structure */
static void round_trip(const char *name, uint64_t vsize, uint32_t bs, uint32_t lss, int fixed, int with_source,
		       uint64_t zero_mask)
{
	struct vhdx_create_params p;
	struct membackend mb;
	struct src s = { zero_mask, bs ? bs : 32 * MiB, 0, 0 };
	char msg[VHDX_MSG_LEN] = "unset";

	params(&p, vsize, bs, lss, fixed);
	if (with_source) {
		p.source = source;
		p.source_ctx = &s;
	}
	grow_mb(&mb);
	vhdx_status st = vhdx_create(mb_io(&mb), &p, msg, sizeof msg);
	CHECK_STATUS(st, VHDX_OK, "%s: created (%s)", name, msg);
	CHECK_EQ_U64(mb.alloc_bytes_live, 0, "%s: create frees its memory", name);
	CHECK_EQ_U64(mb.writes_after_flush, 0, "%s: the last write is flushed", name);
	if (st) {
		mb_free(&mb);
		return;
	}
	uint32_t ebs = bs ? bs : 32 * (uint32_t)MiB, elss = lss ? lss : 512;
	uint64_t pb = (vsize + ebs - 1) / ebs, cr = (VHDX_CHUNK_SECTORS * elss) / ebs, entries = pb + (pb - 1) / cr;
	uint64_t bat_len = (entries * 8 + MiB - 1) / MiB * MiB, payload_off = 3 * MiB + bat_len, present = 0;
	for (uint64_t k = 0; k < pb; k++)
		present += fixed || (with_source && k < 64 && !((zero_mask >> k) & 1));
	uint64_t want_size = fixed ? payload_off + pb * ebs : payload_off + present * ebs;
	CHECK_EQ_U64(mb.size, want_size, "%s: file size (log 1 MiB, metadata 1 MiB, BAT %llu MiB, %llu blocks)", name,
		     (unsigned long long)(bat_len / MiB), (unsigned long long)(fixed ? pb : present));

	struct membackend m2;
	mb_init_copy(&m2, mb.buf, mb.size);
	memset(&img, 0, sizeof img);
	st = vhdx_open(&img, mb_io(&m2));
	CHECK_STATUS(st, VHDX_OK, "%s: opens (%s)", name, img.msg);
	if (st) {
		mb_free(&m2);
		mb_free(&mb);
		return;
	}
	struct vhdx_guid fw, dw, id;
	vhdx_guid_from_random(&fw, p.random);
	vhdx_guid_from_random(&dw, p.random + 16);
	vhdx_guid_from_random(&id, p.random + 32);
	const struct vhdx_header *h = &img.header[img.current];
	CHECK(img.warnings == 0 && img.header_valid[0] && img.header_valid[1] && img.region_valid[0] && img.region_valid[1],
	      "%s: both headers and both region tables valid, no warnings", name);
	CHECK(vhdx_guid_equal(&h->file_write_guid, &fw) && vhdx_guid_equal(&h->data_write_guid, &dw) &&
		      vhdx_guid_is_zero(&h->log_guid) && vhdx_guid_equal(&img.disk_id, &id),
	      "%s: FileWriteGuid, DataWriteGuid and disk ID from the random bytes, LogGuid zero", name);
	CHECK(h->log_offset == MiB && h->log_length == MiB && img.meta_offset == 2 * MiB && img.bat_offset == 3 * MiB,
	      "%s: log at 1 MiB (1 MiB), metadata at 2 MiB, BAT at 3 MiB", name);
	CHECK(img.block_size == ebs && img.logical_sector_size == elss && img.physical_sector_size == 4096 &&
		      img.virtual_size == vsize && img.leave_blocks_allocated == fixed && !img.has_parent,
	      "%s: metadata values", name);
	CHECK(img.state_count[VHDX_BAT_FULLY_PRESENT] == (fixed ? pb : present) &&
		      img.state_count[VHDX_BAT_NOT_PRESENT] == pb - (fixed ? pb : present),
	      "%s: %llu blocks present", name, (unsigned long long)(fixed ? pb : present));
	CHECK_STR_EQ(img.creator, "vhdxboot " VHDX_VERSION_STRING, "%s: creator", name);

	/* read back everything (the first 64 MiB and the last 8 MiB of a big disk), in pieces */
	size_t chunk = 3 * MiB + 4096 + 1;
	uint8_t *got = malloc(chunk), *want = malloc(chunk);
	int ok = 1;
	for (uint64_t off = 0; off < vsize && ok; off += chunk) {
		if (off > 64 * MiB && off + 8 * MiB < vsize)
			off = vsize - 8 * MiB;
		size_t n = vsize - off < chunk ? (size_t)(vsize - off) : chunk;
		if (vhdx_read(&img, off, got, n))
			ok = 0;
		if (with_source)
			expect_src(&s, off, want, n);
		else
			memset(want, 0, n);
		if (memcmp(got, want, n))
			ok = 0;
	}
	CHECK(ok, "%s: reads back the %s", name, with_source ? "source content" : "zeros");
	free(got);
	free(want);

	/* the new image takes a session */
	uint8_t r[32] = { 1, 2, 3 };
	CHECK_STATUS(vhdx_session_update(&img, r), VHDX_OK, "%s: takes a session update", name);
	vhdx_close(&img);
	mb_free(&m2);
	mb_free(&mb);
}

static void refuse(const char *name, struct vhdx_create_params *p, struct membackend *mb, vhdx_status want, const char *frag)
{
	char msg[VHDX_MSG_LEN] = "";
	mb_reset_counters(mb);
	vhdx_status st = vhdx_create(mb_io(mb), p, msg, sizeof msg);
	CHECK_STATUS(st, want, "%s: refused", name);
	CHECK_STR_CONTAINS(msg, frag, "%s: message", name);
	CHECK(mb->writes == 0 && mb->flushes == 0 && mb->resizes == 0 && mb->alloc_bytes_live == 0,
	      "%s: nothing written, resized or kept (%u writes, %u resizes)", name, mb->writes, mb->resizes);
}

static void refusals(void)
{
	struct vhdx_create_params p;
	struct membackend mb;

	grow_mb(&mb);
	params(&p, 8 * MiB, MiB, 1024, 0);
	refuse("create logical sector size 1024", &p, &mb, VHDX_E_ARG, "logical sector size 1024");
	params(&p, 8 * MiB, MiB, 512, 0);
	p.physical_sector_size = 2048;
	refuse("create physical sector size 2048", &p, &mb, VHDX_E_ARG, "physical sector size 2048");
	params(&p, 8 * MiB, 3 * MiB, 512, 0);
	refuse("create block size 3 MiB", &p, &mb, VHDX_E_ARG, "block size 3145728");
	params(&p, 8 * MiB, 512 * 1024, 512, 0);
	refuse("create block size 512 KiB", &p, &mb, VHDX_E_ARG, "block size 524288");
	params(&p, 8 * MiB, 512 * MiB, 512, 0);
	refuse("create block size 512 MiB", &p, &mb, VHDX_E_ARG, "block size 536870912");
	params(&p, 8 * MiB, MiB, 512, 0);
	p.log_size = (uint32_t)(MiB + MiB / 2);
	refuse("create log size 1.5 MiB", &p, &mb, VHDX_E_ARG, "log size 1572864");
	params(&p, 0, MiB, 512, 0);
	refuse("create virtual size 0", &p, &mb, VHDX_E_ARG, "virtual size 0");
	params(&p, 64 * VHDX_TiB + 512, MiB, 512, 0);
	refuse("create virtual size 64 TiB + 512", &p, &mb, VHDX_E_ARG, "larger than 64 TiB");
	params(&p, 8 * MiB + 512, MiB, 4096, 0);
	refuse("create virtual size not a multiple of 4096", &p, &mb, VHDX_E_ARG, "not a multiple of the logical sector size 4096");
	params(&p, 8 * MiB + 100, MiB, 512, 0);
	refuse("create virtual size not a multiple of 512", &p, &mb, VHDX_E_ARG, "8388708");
	params(&p, 8 * MiB, MiB, 512, 0);
	mb.read_only = 1;
	refuse("create on a read-only medium", &p, &mb, VHDX_E_READONLY, "read-only");
	mb.read_only = 0;
	refuse("create with no parameters", NULL, &mb, VHDX_E_ARG, "create");
	CHECK_STATUS(vhdx_create(NULL, &p, NULL, 0), VHDX_E_ARG, "create with no backend refused (and no message buffer)");
	mb_free(&mb);

	/* a device too small that cannot grow: refused before anything is touched */
	mb_init(&mb, 3 * MiB);
	memset(mb.buf, 0x5C, 3 * MiB);
	params(&p, 8 * MiB, MiB, 512, 1);
	refuse("create fixed on a 3 MiB device without resize", &p, &mb, VHDX_E_ARG, "holds only 3145728");
	CHECK(mb.buf[0] == 0x5C && mb.buf[3 * MiB - 1] == 0x5C, "create too-small device: its bytes untouched");
	mb_free(&mb);
}

/* a device of fixed size that is big enough: works without resize, the size stays */
static void device(void)
{
	struct vhdx_create_params p;
	struct membackend mb;
	struct src s = { 0x5, MiB, 0, 0 };
	char msg[VHDX_MSG_LEN];

	mb_init(&mb, 32 * MiB);
	memset(mb.buf, 0xEE, 32 * MiB); /* old contents everywhere */
	params(&p, 8 * MiB, MiB, 512, 0);
	p.source = source;
	p.source_ctx = &s;
	vhdx_status st = vhdx_create(mb_io(&mb), &p, msg, sizeof msg);
	CHECK_STATUS(st, VHDX_OK, "create dynamic on a 32 MiB device full of old bytes (%s)", st ? msg : "");
	CHECK_EQ_U64(mb.size, 32 * MiB, "create on a device: the size stays");
	memset(&img, 0, sizeof img);
	st = vhdx_open(&img, mb_io(&mb));
	CHECK_STATUS(st, VHDX_OK, "create on a device: opens (%s)", img.msg);
	if (!st) {
		static uint8_t got[8 * MiB], want[8 * MiB];
		vhdx_read(&img, 0, got, sizeof got);
		expect_src(&s, 0, want, sizeof want);
		CHECK_MEM_EQ(got, want, sizeof got, "create on a device: reads back the source, zero blocks as zeros");
		vhdx_close(&img);
	}
	mb_free(&mb);

	/* create over an existing bigger image with resize: the old one is gone, the file shrinks */
	grow_mb(&mb);
	params(&p, 64 * MiB, 2 * MiB, 512, 1);
	vhdx_create(mb_io(&mb), &p, msg, sizeof msg);
	uint64_t old = mb.size;
	params(&p, 8 * MiB, MiB, 512, 0);
	s = (struct src){ ~0ULL ^ 0x2, MiB, 0, 0 };
	p.source = source;
	p.source_ctx = &s;
	st = vhdx_create(mb_io(&mb), &p, msg, sizeof msg);
	CHECK_STATUS(st, VHDX_OK, "create over an existing fixed image (%s)", st ? msg : "");
	CHECK(mb.size < old && mb.size == 4 * MiB + MiB, "create over an existing image: truncated to 5 MiB (%llu)",
	      (unsigned long long)mb.size);
	memset(&img, 0, sizeof img);
	st = vhdx_open(&img, mb_io(&mb));
	CHECK_STATUS(st, VHDX_OK, "create over an existing image: opens");
	if (!st) {
		CHECK(img.block_size == MiB && img.virtual_size == 8 * MiB && img.state_count[6] == 1,
		      "create over an existing image: the new geometry, one block");
		static uint8_t got[8 * MiB], want[8 * MiB];
		vhdx_read(&img, 0, got, sizeof got);
		expect_src(&s, 0, want, sizeof want);
		CHECK_MEM_EQ(got, want, sizeof got, "create over an existing image: reads back the new content");
		vhdx_close(&img);
	}
	mb_free(&mb);
}

/*
 * A block is read and written a piece (1 MiB) at a time: a block of 4 MiB whose data starts in its third piece
 * (the zero pieces before it must read zero, also over old bytes), an all-zero block (not allocated), and a block
 * with data in its last piece only.  The source records that every read is at most 1 MiB, in order, inside one
 * block.
 */
struct piecesrc {
	uint64_t next;
	int bad;
};

static int piece_source(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct piecesrc *s = ctx;
	uint8_t *o = buf;

	if (off != s->next || len > MiB || off / (4 * MiB) != (off + len - 1) / (4 * MiB))
		s->bad = 1;
	s->next = off + len;
	for (size_t i = 0; i < len; i++) {
		uint64_t v = off + i, in = v % (4 * MiB), b = v / (4 * MiB);
		o[i] = (b == 0 && in >= 2 * MiB + 512 * 1024 && in < 3 * MiB) || (b == 2 && in >= 3 * MiB) ? ib_pattern(v) : 0;
	}
	return 0;
}

static void pieces(const char *name, int on_device)
{
	struct vhdx_create_params p;
	struct membackend mb;
	struct piecesrc s = { 0, 0 };
	char msg[VHDX_MSG_LEN] = "";

	params(&p, 12 * MiB, 4 * MiB, 512, 0);
	p.source = piece_source;
	p.source_ctx = &s;
	if (on_device) {
		mb_init(&mb, 32 * MiB);
		memset(mb.buf, 0xEE, 32 * MiB);
	} else {
		grow_mb(&mb);
	}
	vhdx_status st = vhdx_create(mb_io(&mb), &p, msg, sizeof msg);
	CHECK_STATUS(st, VHDX_OK, "%s: created (%s)", name, msg);
	CHECK(!s.bad && s.next == 12 * MiB, "%s: the source was read in order, 1 MiB at most, never across a block", name);
	memset(&img, 0, sizeof img);
	if (st || (st = vhdx_open(&img, mb_io(&mb)))) {
		CHECK_STATUS(st, VHDX_OK, "%s: opens (%s)", name, img.msg);
		mb_free(&mb);
		return;
	}
	CHECK(img.state_count[VHDX_BAT_FULLY_PRESENT] == 2 && img.state_count[VHDX_BAT_NOT_PRESENT] == 1,
	      "%s: blocks 0 and 2 present, the all-zero block 1 not (%llu present)", name,
	      (unsigned long long)img.state_count[VHDX_BAT_FULLY_PRESENT]);
	static uint8_t got[12 * MiB], want[12 * MiB];
	struct piecesrc c = { 0, 0 };
	for (uint64_t off = 0; off < sizeof want; off += MiB)
		piece_source(&c, off, want + off, MiB);
	CHECK_STATUS(vhdx_read(&img, 0, got, sizeof got), VHDX_OK, "%s: reads", name);
	CHECK_MEM_EQ(got, want, sizeof got, "%s: reads back the data and zeros before it%s", name,
		     on_device ? " (the old bytes there overwritten)" : "");
	vhdx_close(&img);
	mb_free(&mb);
}

/* a failure at every write, flush and source call: VHDX_E_IO, and what is left never opens as an image */
static void faults(void)
{
	struct vhdx_create_params p;
	struct membackend mb;
	struct src s = { 0x6, MiB, 0, 0 };
	char msg[VHDX_MSG_LEN];

	params(&p, 6 * MiB, MiB, 512, 0);
	p.source = source;
	p.source_ctx = &s;
	grow_mb(&mb);
	vhdx_create(mb_io(&mb), &p, msg, sizeof msg);
	unsigned writes = mb.writes, flushes = mb.flushes;
	mb_free(&mb);
	T_NOTE("a dynamic 6 MiB create makes %u writes and %u flushes", writes, flushes);

	int ok_st = 1, ok_open = 1;
	char why[VHDX_MSG_LEN + 64] = "";
	for (unsigned kind = 0; kind < 3; kind++) {
		unsigned n = kind == 0 ? writes : kind == 1 ? flushes : 6;
		for (unsigned k = 1; k <= n; k++) {
			grow_mb(&mb);
			s.calls = 0;
			s.fail_at_call = 0;
			if (kind == 0)
				mb.fail_write_at = k;
			else if (kind == 1)
				mb.fail_flush_at = k;
			else
				s.fail_at_call = (int)k;
			vhdx_status st = vhdx_create(mb_io(&mb), &p, msg, sizeof msg);
			if (st != VHDX_E_IO || (kind == 2 && !strstr(msg, "source"))) {
				ok_st = 0;
				snprintf(why, sizeof why, "%s %u: status %d: %s", kind == 0 ? "write" : kind == 1 ? "flush" : "source",
					 k, (int)st, msg);
			}
			struct membackend m2;
			mb_init_copy(&m2, mb.buf, mb.size);
			memset(&img, 0, sizeof img);
			int opened = vhdx_open(&img, mb_io(&m2)) == VHDX_OK;
			/* the last flush fails after everything is written: that file may open */
			if (opened && !(kind == 1 && k == n))
				ok_open = 0;
			if (opened)
				vhdx_close(&img);
			mb_free(&m2);
			if (mb.alloc_bytes_live)
				ok_st = 0;
			mb_free(&mb);
		}
	}
	t_report(ok_st, why, "create fault at every write, flush and source call: VHDX_E_IO naming it, memory freed");
	CHECK(ok_open, "create fault at every write, flush and source call: the partial file never opens as a VHDX");
	s.fail_at_call = 0;

	/* over an existing image: a failed first write leaves the old image whole; any later fault leaves no image */
	struct vhdx_create_params old;
	params(&old, 4 * MiB, MiB, 512, 1);
	grow_mb(&mb);
	vhdx_create(mb_io(&mb), &old, msg, sizeof msg);
	uint8_t *oldbytes = malloc(mb.size);
	uint64_t oldsize = mb.size;
	memcpy(oldbytes, mb.buf, oldsize);
	mb_free(&mb);
	mb_init_copy(&mb, oldbytes, oldsize);
	mb.grow = 1;
	vhdx_create(mb_io(&mb), &p, msg, sizeof msg);
	writes = mb.writes;
	flushes = mb.flushes;
	mb_free(&mb);
	int first_ok = 1, later_ok = 1;
	for (unsigned kind = 0; kind < 2; kind++) {
		unsigned n = kind == 0 ? writes : flushes;
		for (unsigned k = 1; k <= n; k++) {
			mb_init_copy(&mb, oldbytes, oldsize);
			mb.grow = 1;
			if (kind == 0)
				mb.fail_write_at = k;
			else
				mb.fail_flush_at = k;
			s.calls = 0;
			vhdx_status st = vhdx_create(mb_io(&mb), &p, msg, sizeof msg);
			memset(&img, 0, sizeof img);
			mb.fail_write_at = mb.fail_flush_at = 0;
			int opened = vhdx_open(&img, mb_io(&mb)) == VHDX_OK;
			if (kind == 0 && k == 1) {
				/* nothing was written: the old image, unchanged */
				first_ok = st == VHDX_E_IO && opened && img.virtual_size == 4 * MiB && mb.size == oldsize &&
					   memcmp(mb.buf, oldbytes, oldsize) == 0;
			} else if (opened && !(kind == 1 && k == n)) {
				later_ok = 0;
			}
			if (opened)
				vhdx_close(&img);
			mb_free(&mb);
		}
	}
	CHECK(first_ok, "create over an existing image: a failed first write leaves the old image byte for byte");
	CHECK(later_ok, "create over an existing image: a fault at any later write or flush leaves neither image");
	free(oldbytes);
}

/* the bytes of a created image: identifier, headers, region tables and metadata flags as the format wants them */
static void layout(void)
{
	static const struct vhdx_guid g_bat = VHDX_GUID_BAT, g_meta = VHDX_GUID_METADATA;
	struct vhdx_create_params p;
	struct membackend mb;
	char msg[VHDX_MSG_LEN];

	params(&p, 8 * MiB, MiB, 512, 0);
	p.log_size = 2 * (uint32_t)MiB;
	p.physical_sector_size = 512;
	grow_mb(&mb);
	CHECK_STATUS(vhdx_create(mb_io(&mb), &p, msg, sizeof msg), VHDX_OK, "create layout: 2 MiB log, 512/512 sectors");
	const uint8_t *f = mb.buf;
	CHECK(memcmp(f, "vhdxfile", 8) == 0, "create layout: \"vhdxfile\" at 0");
	struct vhdx_header h[2];
	int hv = 1;
	for (int i = 0; i < 2; i++) {
		const uint8_t *blk = f + (i ? VHDX_HEADER2_OFFSET : VHDX_HEADER1_OFFSET);
		vhdx_header_parse(&h[i], blk);
		if (h[i].signature != VHDX_HDR_SIGNATURE || h[i].checksum != vhdx_struct_crc(blk, VHDX_HEADER_SIZE, 4) ||
		    h[i].version != 1 || h[i].log_version != 0 || h[i].log_length != 2 * MiB || h[i].log_offset != MiB)
			hv = 0;
	}
	CHECK(hv, "create layout: both headers valid, Version 1, LogVersion 0, log 2 MiB at 1 MiB");
	CHECK(h[0].sequence != h[1].sequence, "create layout: the headers have different sequence numbers (%llu, %llu)",
	      (unsigned long long)h[0].sequence, (unsigned long long)h[1].sequence);
	int rv = 1;
	for (int i = 0; i < 2; i++) {
		const uint8_t *t = f + (i ? VHDX_REGION2_OFFSET : VHDX_REGION1_OFFSET), *e = t + VHDX_RGN_ENTRIES;
		struct vhdx_guid g0, g1;
		vhdx_guid_load(&g0, e);
		vhdx_guid_load(&g1, e + 32);
		if (vhdx_le32(t) != VHDX_RGN_SIGNATURE || vhdx_le32(t + 4) != vhdx_struct_crc(t, VHDX_REGION_SIZE, 4) ||
		    vhdx_le32(t + 8) != 2 || !vhdx_guid_equal(&g0, &g_bat) || !vhdx_guid_equal(&g1, &g_meta) ||
		    vhdx_le64(e + 16) != 4 * MiB || vhdx_le32(e + 28) != 1 || vhdx_le64(e + 48) != 3 * MiB ||
		    vhdx_le32(e + 56) != MiB || vhdx_le32(e + 60) != 1)
			rv = 0;
	}
	CHECK(rv, "create layout: both region tables: BAT at 4 MiB, metadata at 3 MiB (1 MiB), both required");
	const uint8_t *m = f + 3 * MiB;
	static const uint32_t flags[5] = { 4, 6, 6, 6, 6 };
	int mv = vhdx_le64(m) == VHDX_META_SIGNATURE && vhdx_le16(m + 10) == 5;
	for (int k = 0; k < 5; k++)
		if (vhdx_le32(m + 32 + 32 * k + 24) != flags[k] || vhdx_le32(m + 32 + 32 * k + 16) < VHDX_META_TABLE_SIZE)
			mv = 0;
	CHECK(mv, "create layout: metadata table with 5 items after 64 KiB; File Parameters IsRequired, the others IsVirtualDisk|IsRequired");
	memset(&img, 0, sizeof img);
	CHECK_STATUS(vhdx_open(&img, mb_io(&mb)), VHDX_OK, "create layout: opens");
	CHECK(img.physical_sector_size == 512 && img.header[img.current].log_length == 2 * MiB, "create layout: values read back");
	vhdx_close(&img);
	mb_free(&mb);
}

/*
 * A differencing image gets a zeroed, present sector bitmap block for every chunk (libvhdi reads a NOT_PRESENT
 * one at file offset 0): 9 GiB with 512-byte sectors is three chunks (the last one partial), on a growing file and
 * on a device full of old bytes.
 */
static void differencing(const char *name, int on_device)
{
	struct vhdx_create_params p;
	struct membackend mb;
	struct vhdx_guid g;
	uint8_t loc[4096];
	char msg[VHDX_MSG_LEN];
	const uint64_t vsize = 9ull * 1024 * MiB, chunks = 3;

	memset(&g, 0x5A, sizeof g);
	params(&p, vsize, MiB, 512, 0);
	p.parent_locator = loc;
	p.parent_locator_len = vhdx_locator_build(loc, sizeof loc, &g, ".\\p.vhdx", NULL, NULL);
	if (on_device) {
		mb_init(&mb, 16 * MiB);
		memset(mb.buf, 0xEE, 16 * MiB);
	} else {
		grow_mb(&mb);
	}
	vhdx_status st = vhdx_create(mb_io(&mb), &p, msg, sizeof msg);
	if (!CHECK_STATUS(st, VHDX_OK, "%s: created (%s)", name, st ? msg : ""))
		return mb_free(&mb);
	memset(&img, 0, sizeof img);
	st = vhdx_open(&img, mb_io(&mb));
	if (!CHECK_STATUS(st, VHDX_OK, "%s: opens (%s)", name, img.msg))
		return mb_free(&mb);
	CHECK(img.has_parent && img.bitmaps_present == chunks && img.state_count[VHDX_BAT_NOT_PRESENT] == img.payload_blocks,
	      "%s: every payload block NOT_PRESENT, %llu sector bitmaps present (%llu)", name,
	      (unsigned long long)chunks, (unsigned long long)img.bitmaps_present);
	int good = 1;
	uint64_t prev = 0;
	for (uint64_t c = 0; c < chunks; c++) {
		uint64_t e = 0, off;
		vhdx_bat_entry(&img, (c + 1) * (img.chunk_ratio + 1) - 1, &e);
		off = e & ~(MiB - 1);
		good &= (e & 7) == VHDX_SB_PRESENT && off % MiB == 0 && off > prev && off + MiB <= mb.size;
		for (uint64_t k = 0; good && k < MiB; k++)
			good &= mb.buf[off + k] == 0;
		prev = off;
	}
	CHECK(good, "%s: each bitmap entry SB_BLOCK_PRESENT, 1 MiB aligned, distinct, inside the file, all zero", name);
	if (!on_device)
		CHECK_EQ_U64(mb.size, prev + MiB, "%s: the file ends with the last bitmap block", name);
	vhdx_close(&img);
	mb_free(&mb);
}

int main(void)
{
	layout();
	differencing("create differencing 9 GiB", 0);
	differencing("create differencing 9 GiB on a device of old bytes", 1);
	round_trip("create dynamic 512, 1 MiB blocks, data with holes", 8 * MiB, MiB, 512, 0, 1, 0x25);
	round_trip("create dynamic 4096, 2 MiB blocks, partial last block", 9 * MiB + 4096, 2 * MiB, 4096, 0, 1, 0x2);
	round_trip("create dynamic, no source", 16 * MiB, MiB, 512, 0, 0, 0);
	round_trip("create fixed 512, 1 MiB blocks", 6 * MiB, MiB, 512, 1, 1, 0x4);
	round_trip("create fixed 4096, 2 MiB blocks, partial last block", 6 * MiB + 4096, 2 * MiB, 4096, 1, 1, 0);
	round_trip("create fixed, no source", 4 * MiB, MiB, 4096, 1, 0, 0);
	round_trip("create defaults (32 MiB blocks, 512 sectors)", 40 * MiB, 0, 0, 0, 1, 0);
	round_trip("create dynamic 4097 MiB (a sector bitmap entry in the BAT)", 4097 * MiB, MiB, 512, 0, 1, ~0ULL ^ 0x8000000000000001ULL);
	refusals();
	device();
	pieces("create in pieces, a growing file", 0);
	pieces("create in pieces, a device full of old bytes", 1);
	faults();
	return t_done();
}
