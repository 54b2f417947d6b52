/* SPDX-License-Identifier: BSD-2-Clause */
/* fz_bases.c - the base images inputs are patched onto: embedded ones, and ones made by the core's create. */
#include "fuzzpriv.h"


static struct fz_base *bases;
static size_t nbases;



/* Anchors from the base's own bytes (best effort: a damaged base just gets defaults). */
static void compute_anchors(struct fz_base *b)
{
	struct fz_file f;
	uint8_t h[2][80], *rt = fz_xmalloc(64 * 1024), e[8];
	uint64_t seq[2], log = FZ_MiB, meta = 2 * FZ_MiB, bat = 3 * FZ_MiB, payload = 4 * FZ_MiB;
	int cur = -1;

	memset(&f, 0, sizeof(f));
	fz_file_init(&f, b, b->size);
	for (int i = 0; i < 2; i++) {
		fz_file_pread(&f, (uint64_t)(64 + 64 * i) * FZ_KiB, h[i], 80);
		seq[i] = le64(h[i] + 8);
		if (memcmp(h[i], "head", 4) == 0 && (cur < 0 || seq[i] > seq[cur]))
			cur = i;
	}
	if (cur >= 0) {
		log = le64(h[cur] + 72);
		b->log_length = le32(h[cur] + 68);
	}
	fz_file_pread(&f, 192 * FZ_KiB, rt, 64 * 1024);
	for (uint32_t i = 0; i < 64; i++) {
		const uint8_t *en = rt + 16 + 32 * i;
		if (memcmp(en, guid_bat, 16) == 0)
			bat = le64(en + 16);
		else if (memcmp(en, guid_meta, 16) == 0)
			meta = le64(en + 16);
	}
	for (uint64_t i = 0; i < 4096; i++) {
		if (bat + i * 8 + 8 > b->size)
			break;
		fz_file_pread(&f, bat + i * 8, e, 8);
		uint64_t v = le64(e);
		if ((v & 7) == 6) {
			payload = v & 0xFFFFFFFFFFF00000ull;
			break;
		}
	}
	b->anchor[FZ_A_FILE] = 0;
	b->anchor[FZ_A_HDR1] = 64 * FZ_KiB;
	b->anchor[FZ_A_HDR2] = 128 * FZ_KiB;
	b->anchor[FZ_A_RGN1] = 192 * FZ_KiB;
	b->anchor[FZ_A_RGN2] = 256 * FZ_KiB;
	b->anchor[FZ_A_LOG] = log;
	b->anchor[FZ_A_META] = meta;
	b->anchor[FZ_A_META_ITEMS] = meta + 64 * FZ_KiB;
	b->anchor[FZ_A_BAT] = bat;
	b->anchor[FZ_A_PAYLOAD] = payload;
	b->anchor[FZ_A_END] = b->size;
	b->anchor[FZ_A_RGN1_ENTRIES] = 192 * FZ_KiB + 16;
	b->anchor[FZ_A_LOG_SECTOR1] = log + FZ_PAGE;
	free(rt);
	fz_file_reset(&f);
	free(f.over.slot);
}

static int page_is_zero(const uint8_t *p)
{
	for (size_t i = 0; i < FZ_PAGE; i++)
		if (p[i])
			return 0;
	return 1;
}

static struct fz_base *new_base(const char *name, uint64_t size)
{
	bases = realloc(bases, (nbases + 1) * sizeof(*bases));
	if (!bases)
		fz_die("out of host memory");
	struct fz_base *b = &bases[nbases++];
	memset(b, 0, sizeof(*b));
	b->name = name;
	b->size = size;
	return b;
}

/* Moves the non-zero overlay pages of f into a new base. */
static void base_from_file(const char *name, struct fz_file *f)
{
	struct fz_base *b = new_base(name, f->io.size);

	for (size_t i = 0; i < f->over.cap; i++) {
		struct fz_page *pg = &f->over.slot[i];
		if (!pg->data)
			continue;
		if (page_is_zero(pg->data) || pg->index * FZ_PAGE >= f->io.size)
			free(pg->data);
		else
			pm_insert(&b->pages, pg->index, pg->data);
		pg->data = NULL;
	}
	f->over.count = 0;
	compute_anchors(b);
}

static void base_from_embedded(const struct fz_embedded *e)
{
	struct fz_file f;

	memset(&f, 0, sizeof(f));
	fz_file_init(&f, NULL, e->size);
	for (size_t i = 0; i < e->nruns; i++)
		if (e->runs[i].off + e->runs[i].len > e->size || fz_file_pwrite(&f, e->runs[i].off, e->runs[i].data, e->runs[i].len))
			fz_die("embedded base %s: run %zu does not fit", e->name, i);
	base_from_file(e->name, &f);
	free(f.over.slot);
}

/* content source for the created bases: block b holds a recognisable first sector when its bit is set, and a few
 * bytes at its very end; create reads a block in pieces, each filled from its place in the block */
struct src {
	uint64_t mask;
	uint32_t block_size;
	uint64_t vsize;
};

static int src_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct src *s = ctx;
	uint64_t b = off / s->block_size, start = b * s->block_size, in = off - start;
	uint64_t blen = s->vsize - start < s->block_size ? s->vsize - start : s->block_size;
	uint8_t *p = buf;

	memset(buf, 0, len);
	if (b < 64 && (s->mask >> b) & 1) {
		for (uint64_t i = in; i < in + len && i < 4096; i++)
			p[i - in] = (uint8_t)(b * 37 + i * 7 + 1);
		for (uint64_t i = blen > 4096 && blen - 16 > in ? blen - 16 : in + len; blen > 4096 && i < in + len; i++)
			p[i - in] = 0xEE;
	}
	return 0;
}

/*
 * A base made by vhdx_create.  extra_block (0: none): after creating, make that payload block present at the end
 * of the file by hand (cheaper than a source over gigabytes of virtual disk, which create would have to scan).
 */
static void created_base(const char *name, uint64_t vsize, uint32_t bs, uint32_t lss, uint32_t pss, uint32_t log,
			 int fixed, uint64_t mask, uint64_t extra_block)
{
	struct fz_file f;
	struct vhdx_create_params p;
	struct src s = { mask, bs, vsize };
	char msg[256];
	vhdx_status st;

	memset(&f, 0, sizeof(f));
	memset(&p, 0, sizeof(p));
	fz_file_init(&f, NULL, 0);
	f.allow_write = 1;
	f.allow_resize = 1;
	f.io.resize = fz_resize_cb;
	f.budget_extra = bs;
	p.virtual_size = vsize;
	p.block_size = bs;
	p.logical_sector_size = lss;
	p.physical_sector_size = pss;
	p.log_size = log;
	if (mask && vsize > 256 * FZ_MiB)
		fz_die("building base %s: a source over %llu bytes is too slow", name, (unsigned long long)vsize);
	p.fixed = fixed;
	p.source = mask ? src_read : NULL;
	p.source_ctx = &s;
	for (int i = 0; i < 64; i++)
		p.random[i] = (uint8_t)(i * 13 + vsize);
	st = vhdx_create(&f.io, &p, msg, sizeof(msg));
	if (st)
		fz_die("building base %s: vhdx_create failed: %s", name, msg);
	if (f.live)
		fz_die("building base %s: vhdx_create leaked %zu bytes", name, f.live);
	if (extra_block) {
		/* the BAT is the third region after the log: header area, log, metadata (see create.c's layout) */
		uint64_t bat = FZ_MiB + log + FZ_MiB, cr = (8 * FZ_MiB * lss) / bs, at = f.io.size;
		uint64_t e = at | 6;
		uint8_t eb[8], pat[4096];
		for (int i = 0; i < 8; i++)
			eb[i] = (uint8_t)(e >> (8 * i));
		for (int i = 0; i < 4096; i++)
			pat[i] = (uint8_t)(i * 5 + 3);
		fz_file_set_size(&f, at + bs);
		fz_file_pwrite(&f, bat + 8 * (extra_block + extra_block / cr), eb, 8);
		fz_file_pwrite(&f, at, pat, sizeof(pat));
	}
	base_from_file(name, &f);
	free(f.over.slot);
	if (getenv("FZ_VERBOSE"))
		fprintf(stderr, "built base %s\n", name);
}

void fz_bases_init(void)
{
	if (bases)
		return;
	/* our own images, made by the core's vhdx_create */
	created_base("create-dyn-8M-1M", 8 * FZ_MiB, (uint32_t)FZ_MiB, 512, 4096, (uint32_t)FZ_MiB, 0, 0x85, 0);
	created_base("create-dyn-4k-odd", 100 * FZ_MiB + 3 * 4096, 2 * (uint32_t)FZ_MiB, 4096, 4096,
		     (uint32_t)FZ_MiB, 0, (1ull << 5) | (1ull << 49), 0);
	created_base("create-fixed-3M", 3 * FZ_MiB + 512, (uint32_t)FZ_MiB, 512, 512, (uint32_t)FZ_MiB, 1, 0x2, 0);
	/* 4097 MiB with 1 MiB blocks: the BAT holds a sector-bitmap entry after block 4095; block 4096 present */
	created_base("create-dyn-chunk", 4097 * FZ_MiB, (uint32_t)FZ_MiB, 512, 4096, 2 * (uint32_t)FZ_MiB, 0, 0,
		     4096);
	created_base("create-dyn-32M", 64 * FZ_MiB, 32 * (uint32_t)FZ_MiB, 512, 4096, (uint32_t)FZ_MiB, 0, 0x2, 0);
	for (size_t i = 0; i < fz_embedded_count; i++)
		base_from_embedded(&fz_embedded[i]);
}

size_t fz_base_count(void)
{
	fz_bases_init();
	return nbases;
}

const struct fz_base *fz_base_get(size_t i)
{
	fz_bases_init();
	return i < nbases ? &bases[i] : NULL;
}

