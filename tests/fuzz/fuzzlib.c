/* fuzzlib.c - the sparse in-memory file, the budgeted allocator, the base images and the input decoder. */
#include "fuzzlib.h"
#include "internal.h" /* vhdx_pread: the oracle reads a pending-log image through the core's overlay */

#include <sanitizer/asan_interface.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fz_die(const char *fmt, ...)
{
	va_list ap;

	fputs("FUZZ CHECK FAILED: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		fz_die("out of host memory (%zu bytes)", n);
	return p;
}

/* ------------------------------------------------------------------------------------------------ page maps */

static size_t pm_hash(uint64_t index, size_t cap)
{
	return (size_t)((index * 0x9E3779B97F4A7C15ull) >> 20) & (cap - 1);
}

static uint8_t *pm_find(const struct fz_pagemap *m, uint64_t index)
{
	if (!m || !m->cap)
		return NULL;
	for (size_t i = pm_hash(index, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (!m->slot[i].data)
			return NULL;
		if (m->slot[i].index == index)
			return m->slot[i].data;
	}
}

static void pm_insert(struct fz_pagemap *m, uint64_t index, uint8_t *data)
{
	if ((m->count + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		struct fz_page *ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			fz_die("out of host memory");
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->slot[i].data)
				continue;
			size_t j = pm_hash(m->slot[i].index, ncap);
			while (ns[j].data)
				j = (j + 1) & (ncap - 1);
			ns[j] = m->slot[i];
		}
		free(m->slot);
		m->slot = ns;
		m->cap = ncap;
	}
	size_t i = pm_hash(index, m->cap);
	while (m->slot[i].data)
		i = (i + 1) & (m->cap - 1);
	m->slot[i].index = index;
	m->slot[i].data = data;
	m->count++;
}

static void pm_clear(struct fz_pagemap *m)
{
	for (size_t i = 0; i < m->cap && m->count; i++) {
		if (m->slot[i].data) {
			free(m->slot[i].data);
			m->slot[i].data = NULL;
			m->count--;
		}
	}
	m->count = 0;
	if (m->cap > 4096) { /* do not keep clearing a huge table every execution */
		free(m->slot);
		m->slot = NULL;
		m->cap = 0;
	}
}

/* ------------------------------------------------------------------------------------------------ the file */

/* Copies page `pi` as the file holds it now (overlay, else base below the cut, else zeros). */
static void page_contents(const struct fz_file *f, uint64_t pi, uint8_t *out)
{
	const uint8_t *p = pm_find(&f->over, pi);
	uint64_t start = pi * FZ_PAGE;

	if (p) {
		memcpy(out, p, FZ_PAGE);
		return;
	}
	p = pm_find(f->base, pi);
	if (p && start < f->base_cut) {
		uint64_t n = f->base_cut - start < FZ_PAGE ? f->base_cut - start : FZ_PAGE;
		memcpy(out, p, (size_t)n);
		memset(out + n, 0, (size_t)(FZ_PAGE - n));
		return;
	}
	memset(out, 0, FZ_PAGE);
}

void fz_file_pread(struct fz_file *f, uint64_t off, void *buf, size_t len)
{
	uint8_t *o = buf;

	while (len) {
		uint64_t pi = off / FZ_PAGE, in = off % FZ_PAGE;
		size_t n = FZ_PAGE - in < len ? (size_t)(FZ_PAGE - in) : len;
		const uint8_t *p = pm_find(&f->over, pi);
		if (p) {
			memcpy(o, p + in, n);
		} else if ((p = pm_find(f->base, pi)) != NULL && off < f->base_cut) {
			size_t m = f->base_cut - off < n ? (size_t)(f->base_cut - off) : n;
			memcpy(o, p + in, m);
			memset(o + m, 0, n - m);
		} else {
			memset(o, 0, n);
		}
		o += n;
		off += n;
		len -= n;
	}
}

/* 0 on success, -1 when the overlay is full */
int fz_file_pwrite(struct fz_file *f, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *s = buf;

	while (len) {
		uint64_t pi = off / FZ_PAGE, in = off % FZ_PAGE;
		size_t n = FZ_PAGE - in < len ? (size_t)(FZ_PAGE - in) : len;
		uint8_t *p = pm_find(&f->over, pi);
		if (!p && !(pm_find(f->base, pi) && pi * FZ_PAGE < f->base_cut)) {
			/* a page that reads as zero stays absent when only zeros are written to it */
			size_t z = 0;
			while (z < n && s[z] == 0)
				z++;
			if (z == n) {
				s += n;
				off += n;
				len -= n;
				continue;
			}
		}
		if (!p) {
			if (f->over.count >= FZ_OVERLAY_MAX_PAGES) {
				f->overlay_full = 1;
				return -1;
			}
			p = xmalloc(FZ_PAGE);
			page_contents(f, pi, p);
			pm_insert(&f->over, pi, p);
		}
		memcpy(p + in, s, n);
		s += n;
		off += n;
		len -= n;
	}
	return 0;
}

void fz_file_set_size(struct fz_file *f, uint64_t size)
{
	if (size < f->io.size) {
		/* what lies beyond the new end must read as zero if the file grows again */
		for (size_t i = 0; i < f->over.cap; i++) {
			struct fz_page *pg = &f->over.slot[i];
			uint64_t start = pg->index * FZ_PAGE;
			if (!pg->data || start + FZ_PAGE <= size)
				continue;
			if (start >= size)
				memset(pg->data, 0, FZ_PAGE);
			else
				memset(pg->data + (size - start), 0, (size_t)(FZ_PAGE - (size - start)));
		}
		if (size < f->base_cut)
			f->base_cut = size;
	}
	f->io.size = size;
}

uint64_t fz_budget(const struct fz_file *f)
{
	uint64_t mib = f->io.size / FZ_MiB + (f->io.size % FZ_MiB != 0);
	return FZ_BUDGET_FIXED + f->budget_extra + (mib + 7) / 8;
}

static int in_allowed(const struct fz_file *f, uint64_t off, uint64_t len)
{
	if (!f->nallowed)
		return 1;
	for (unsigned i = 0; i < f->nallowed; i++) {
		const struct fz_range *r = &f->allowed[i];
		if (off >= r->off && len <= r->len && off - r->off <= r->len - len)
			return 1;
	}
	return 0;
}

static int cb_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct fz_file *f = ctx;

	if (off > f->io.size || len > f->io.size - off)
		fz_die("backend read of %zu bytes at %llu beyond io.size %llu: the core did not bounds-check", len,
		       (unsigned long long)off, (unsigned long long)f->io.size);
	f->reads++;
	if (f->fail_read_at && f->reads == f->fail_read_at) {
		f->injected = 1;
		return -1;
	}
	f->read_bytes += len;
	fz_file_pread(f, off, buf, len);
	return 0;
}

static int cb_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct fz_file *f = ctx;

	if (!f->allow_write)
		fz_die("backend write of %zu bytes at %llu during an operation that must not write", len,
		       (unsigned long long)off);
	if (f->io.read_only)
		fz_die("backend write of %zu bytes at %llu on a read-only medium", len, (unsigned long long)off);
	if (off > f->io.size || len > f->io.size - off)
		fz_die("backend write of %zu bytes at %llu beyond io.size %llu: the core did not bounds-check", len,
		       (unsigned long long)off, (unsigned long long)f->io.size);
	if (!in_allowed(f, off, len))
		fz_die("backend write of %zu bytes at %llu outside the ranges this operation may write", len,
		       (unsigned long long)off);
	for (unsigned i = 0; i < f->nforbid; i++)
		if (off < f->forbid[i].off + f->forbid[i].len && f->forbid[i].off < off + len)
			fz_die("backend write of %zu bytes at %llu into forbidden bytes %llu..%llu", len,
			       (unsigned long long)off, (unsigned long long)f->forbid[i].off,
			       (unsigned long long)(f->forbid[i].off + f->forbid[i].len));
	f->writes++;
	f->write_bytes += len;
	return fz_file_pwrite(f, off, buf, len);
}

static int cb_flush(void *ctx)
{
	struct fz_file *f = ctx;

	if (!f->allow_write || f->io.read_only)
		fz_die("backend flush during an operation that must not write");
	f->flushes++;
	return 0;
}

int fz_resize_cb(void *ctx, uint64_t new_size)
{
	struct fz_file *f = ctx;

	if (!f->allow_write || !f->allow_resize || f->io.read_only)
		fz_die("backend resize to %llu during an operation that must not write", (unsigned long long)new_size);
	f->resizes++;
	fz_file_set_size(f, new_size);
	return 0;
}

struct fz_alloc_hdr {
	size_t len;
	size_t magic;
};
#define FZ_ALLOC_MAGIC ((size_t)0x667a616c6c6f63ull)

/*
 * Freed blocks of the sizes the core asks for again and again (the 1 MiB BAT scan buffer, the log tables) are
 * kept for reuse instead of going back to ASan's mmap-backed large allocator, which made every execution pay
 * for mmap/munmap.  A cached block is poisoned, so a use after free by the core still reports.
 */
#define CACHE_SLOTS 16
static struct fz_alloc_hdr *cache[CACHE_SLOTS];

static struct fz_alloc_hdr *cache_take(size_t len)
{
	for (int i = 0; i < CACHE_SLOTS; i++) {
		struct fz_alloc_hdr *h = cache[i];
		if (h && h->len == len) {
			cache[i] = NULL;
			ASAN_UNPOISON_MEMORY_REGION(h + 1, len);
			return h;
		}
	}
	return NULL;
}

static void cache_put(struct fz_alloc_hdr *h)
{
	if (h->len >= 64 * 1024) {
		for (int i = 0; i < CACHE_SLOTS; i++) {
			if (!cache[i]) {
				ASAN_POISON_MEMORY_REGION(h + 1, h->len);
				cache[i] = h;
				return;
			}
		}
	}
	free(h);
}

static int soft_budget = -1;

static void *cb_alloc(void *ctx, size_t len)
{
	struct fz_file *f = ctx;
	struct fz_alloc_hdr *h;

	f->allocs++;
	if (soft_budget < 0)
		soft_budget = getenv("FZ_BUDGET") && strcmp(getenv("FZ_BUDGET"), "soft") == 0;
	if ((len > fz_budget(f) || f->live + len > fz_budget(f)) && soft_budget)
		return NULL; /* FZ_BUDGET=soft: refuse like a full heap instead, to fuzz past a known budget finding */
	if (len > fz_budget(f) || f->live + len > fz_budget(f))
		fz_die("allocation of %zu bytes brings live core memory to %llu, over the budget of %llu (4 MiB + %llu + "
		       "1 bit per MiB of a %llu-byte file)",
		       len, (unsigned long long)f->live + len, (unsigned long long)fz_budget(f),
		       (unsigned long long)f->budget_extra, (unsigned long long)f->io.size);
	if (f->fail_alloc_at && f->allocs == f->fail_alloc_at) {
		f->injected = 1;
		return NULL;
	}
	h = cache_take(len);
	if (!h)
		h = malloc(sizeof(*h) + len);
	if (!h)
		return NULL;
	h->len = len;
	h->magic = FZ_ALLOC_MAGIC;
	f->live += len;
	if (f->live > f->peak)
		f->peak = f->live;
	return h + 1;
}

static void cb_free(void *ctx, void *p, size_t len)
{
	struct fz_file *f = ctx;
	struct fz_alloc_hdr *h;

	if (!p)
		return;
	h = (struct fz_alloc_hdr *)p - 1;
	if (h->magic != FZ_ALLOC_MAGIC)
		fz_die("free of %p: not a live allocation of the core", p);
	if (h->len != len)
		fz_die("free of %p with length %zu, allocated with %zu", p, len, h->len);
	h->magic = 0;
	f->live -= len;
	f->frees++;
	cache_put(h);
}

void fz_file_init(struct fz_file *f, const struct fz_base *b, uint64_t size)
{
	struct fz_pagemap keep = f->over; /* reuse the slot array of a previous run */

	memset(f, 0, sizeof(*f));
	f->over = keep;
	pm_clear(&f->over);
	f->base = b ? &b->pages : NULL;
	f->base_cut = b ? b->size : 0;
	if (f->base_cut > size)
		f->base_cut = size;
	f->io.ctx = f;
	f->io.size = size;
	f->io.read = cb_read;
	f->io.write = cb_write;
	f->io.flush = cb_flush;
	f->io.resize = NULL;
	f->io.alloc = cb_alloc;
	f->io.free = cb_free;
}

void fz_file_reset(struct fz_file *f)
{
	if (f->live)
		fz_die("%zu bytes of core memory still allocated at the end of the run (leak)", f->live);
	pm_clear(&f->over);
}

/* ------------------------------------------------------------------------------------------------ bases */

static struct fz_base *bases;
static size_t nbases;

static const uint8_t guid_bat[16] = { 0x66, 0x77, 0xC2, 0x2D, 0x23, 0xF6, 0x00, 0x42,
				      0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08 };
static const uint8_t guid_meta[16] = { 0x06, 0xA2, 0x7C, 0x8B, 0x90, 0x47, 0x9A, 0x4B,
				       0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E };

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Anchors from the base's own bytes (best effort: a damaged base just gets defaults). */
static void compute_anchors(struct fz_base *b)
{
	struct fz_file f;
	uint8_t h[2][80], *rt = xmalloc(64 * 1024), e[8];
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

/* content source for the created bases: block b holds a recognisable first sector when its bit is set */
struct src {
	uint64_t mask;
	uint32_t block_size;
};

static int src_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct src *s = ctx;
	uint64_t b = off / s->block_size;

	memset(buf, 0, len);
	if (b < 64 && (s->mask >> b) & 1) {
		uint8_t *p = buf;
		for (size_t i = 0; i < len && i < 4096; i++)
			p[i] = (uint8_t)(b * 37 + i * 7 + 1);
		if (len > 4096) /* and a few bytes at the very end of the piece */
			memset(p + len - 16, 0xEE, 16);
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
	struct src s = { mask, bs };
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

/* ------------------------------------------------------------------------------------------------ input */

struct touched {
	int hdr[2], rgn[2], log;
	uint64_t log_off, log_len;
};

static void note_touch(struct touched *t, uint64_t off, uint64_t len)
{
	if (t->log_len && off < t->log_off + t->log_len && t->log_off < off + len)
		t->log = 1;
	for (int i = 0; i < 2; i++) {
		uint64_t h = (64 + 64 * (uint64_t)i) * FZ_KiB, r = (192 + 64 * (uint64_t)i) * FZ_KiB;
		if (off < h + 4096 && h < off + len)
			t->hdr[i] = 1;
		if (off < r + 65536 && r < off + len)
			t->rgn[i] = 1;
	}
}

static void fix_crc(struct fz_file *f, uint64_t off, size_t len)
{
	uint8_t *buf;
	uint32_t c;

	if (off + len > f->io.size)
		return;
	buf = xmalloc(len);
	fz_file_pread(f, off, buf, len);
	memset(buf + 4, 0, 4);
	c = vhdx_crc32c(0, buf, len);
	buf[4] = (uint8_t)c;
	buf[5] = (uint8_t)(c >> 8);
	buf[6] = (uint8_t)(c >> 16);
	buf[7] = (uint8_t)(c >> 24);
	fz_file_pwrite(f, off + 4, buf + 4, 4);
	free(buf);
}

/* Gives every plausible log entry ("loge", sane length) a correct checksum, reading around the ring. */
static void fix_log(struct fz_file *f, uint64_t base, uint64_t length)
{
	uint64_t sectors = length / FZ_PAGE;
	uint8_t s[FZ_PAGE];

	if (!sectors || base + length > f->io.size || length > 64 * FZ_MiB)
		return;
	for (uint64_t pos = 0; pos < sectors; pos++) {
		fz_file_pread(f, base + pos * FZ_PAGE, s, FZ_PAGE);
		if (memcmp(s, "loge", 4) != 0)
			continue;
		uint32_t len = le32(s + 8);
		if (!len || len % FZ_PAGE || len > length)
			continue;
		uint32_t c = 0;
		for (uint64_t k = 0; k < len / FZ_PAGE; k++) {
			uint8_t t[FZ_PAGE];
			fz_file_pread(f, base + ((pos + k) % sectors) * FZ_PAGE, t, FZ_PAGE);
			if (k == 0)
				memset(t + 4, 0, 4);
			c = vhdx_crc32c(c, t, FZ_PAGE);
		}
		uint8_t cb[4] = { (uint8_t)c, (uint8_t)(c >> 8), (uint8_t)(c >> 16), (uint8_t)(c >> 24) };
		fz_file_pwrite(f, base + pos * FZ_PAGE + 4, cb, 4);
	}
}

unsigned fz_flags2(const uint8_t *data, size_t size)
{
	size_t nb = fz_base_count();
	(void)nb;
	if (size < FZ_HDR_BYTES || data[0] == FZ_RAW)
		return 0;
	return data[3];
}

size_t fz_load_input(struct fz_file *f, const uint8_t *data, size_t size, unsigned *flags, int *raw)
{
	size_t nb = fz_base_count(), pos;
	const struct fz_base *b;
	struct touched t;
	unsigned fl, arg;
	uint64_t fsize;

	memset(&t, 0, sizeof(t));
	*flags = 0;
	*raw = 0;
	if (size == 0) {
		fz_file_init(f, fz_base_get(0), fz_base_get(0)->size);
		return 0;
	}
	if (data[0] == FZ_RAW) {
		size_t n = size - 1 < FZ_RAW_MAX ? size - 1 : FZ_RAW_MAX;
		*raw = 1;
		fz_file_init(f, NULL, n);
		fz_file_pwrite(f, 0, data + 1, n);
		return size;
	}
	b = fz_base_get(data[0] % nb);
	if (getenv("FZ_VERBOSE"))
		fprintf(stderr, "base %u: %s (%llu bytes)\n", data[0] % (unsigned)nb, b->name,
			(unsigned long long)b->size);
	fl = size > 1 ? data[1] : 0;
	arg = size > 2 ? data[2] : 0;
	*flags = fl;
	fsize = b->size;
	if (fl & 0x10) {
		int64_t d = (int8_t)arg;
		if (d < 0 && (uint64_t)-d * FZ_MiB > fsize)
			fsize = 0;
		else
			fsize += (uint64_t)d * FZ_MiB;
	}
	if (fl & 0x20)
		fsize = fsize > arg * 512u ? fsize - arg * 512u : 0;
	if (fl & 0x40)
		fsize += (uint64_t)arg << 32;
	fz_file_init(f, b, fsize);

	t.log_off = b->anchor[FZ_A_LOG];
	t.log_len = b->log_length;
	for (pos = FZ_HDR_BYTES; pos + 5 <= size;) {
		unsigned a = data[pos] % FZ_ANCHORS;
		uint64_t rel = (uint64_t)data[pos + 1] | (uint64_t)data[pos + 2] << 8 | (uint64_t)data[pos + 3] << 16;
		size_t len = data[pos + 4], avail = size - pos - 5;
		uint64_t off;

		if (len > avail)
			len = avail;
		if (a == FZ_A_END)
			off = fsize > rel ? fsize - rel : 0;
		else
			off = b->anchor[a] + rel;
		if (off < fsize) {
			size_t n = fsize - off < len ? (size_t)(fsize - off) : len;
			fz_file_pwrite(f, off, data + pos + 5, n);
			note_touch(&t, off, n);
		}
		pos += 5 + len;
	}
	for (int i = 0; i < 2; i++) {
		if (t.hdr[i] && !(fl & (1u << i)))
			fix_crc(f, (64 + 64 * (uint64_t)i) * FZ_KiB, 4096);
		if (t.rgn[i] && !(fl & (4u << i)))
			fix_crc(f, (192 + 64 * (uint64_t)i) * FZ_KiB, 65536);
	}
	if (t.log && !((size > 3 ? data[3] : 0) & 1))
		fix_log(f, t.log_off, t.log_len);
	return size;
}

/* ------------------------------------------------------------------------------------------------ checks */

void fz_check_msg(const char *msg, size_t cap)
{
	if (!memchr(msg, 0, cap))
		fz_die("message not NUL-terminated within %zu bytes", cap);
}

static int pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static int overl(uint64_t a, uint64_t al, uint64_t b, uint64_t bl)
{
	return a < b + bl && b < a + al;
}

static uint32_t crc_with_zero(const uint8_t *buf, size_t len)
{
	uint8_t *c = xmalloc(len);
	uint32_t r;

	memcpy(c, buf, len);
	memset(c + 4, 0, 4);
	r = vhdx_crc32c(0, c, len);
	free(c);
	return r;
}

/*
 * The file as the core validated it: the backing bytes, or - while a log is pending - the file as the replay
 * will leave it, read through the core's own overlay (fuzz_replay checks that overlay against a real replay).
 */
static void view_read(struct fz_file *f, struct vhdx_image *img, uint64_t off, void *buf, size_t len)
{
	if (!img->log.active) {
		fz_file_pread(f, off, buf, len);
		return;
	}
	char keep[VHDX_MSG_LEN];
	memcpy(keep, img->msg, sizeof(keep));
	vhdx_status st = vhdx_pread(img, off, buf, len, "fuzz oracle");
	FZ_ASSERT(st == VHDX_OK, "reading %zu validated bytes at %llu through the log overlay: %s", len,
		  (unsigned long long)off, img->msg);
	memcpy(img->msg, keep, sizeof(keep));
}

/* A second, independent reading of the metadata items the core reports. */
static void check_metadata(struct fz_file *f, struct vhdx_image *img)
{
	static const uint8_t g_fp[16] = { 0x37, 0x67, 0xA1, 0xCA, 0x36, 0xFA, 0x43, 0x4D,
					  0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B };
	static const uint8_t g_vs[16] = { 0x24, 0x42, 0xA5, 0x2F, 0x1B, 0xCD, 0x76, 0x48,
					  0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8 };
	static const uint8_t g_ls[16] = { 0x1D, 0xBF, 0x41, 0x81, 0x6F, 0xA9, 0x09, 0x47,
					  0xBA, 0x47, 0xF2, 0x33, 0xA8, 0xFA, 0xAB, 0x5F };
	uint8_t *t = xmalloc(65536), v[8];
	unsigned count;
	int seen = 0;

	view_read(f, img, img->meta_offset, t, 65536);
	FZ_ASSERT(memcmp(t, "metadata", 8) == 0, "metadata signature");
	count = (unsigned)t[10] | (unsigned)t[11] << 8;
	FZ_ASSERT(count <= 2047 && count == img->metadata_count, "metadata count %u vs %u", count, img->metadata_count);
	for (unsigned i = 0; i < count; i++) {
		const uint8_t *e = t + 32 + 32 * i;
		uint32_t off = le32(e + 16), len = le32(e + 20);
		FZ_ASSERT(len == 0 || ((uint64_t)off + len <= img->meta_length && off >= 65536 && len <= FZ_MiB),
			  "metadata entry %u (offset %u, length %u) accepted outside the region", i, off, len);
		if (memcmp(e, g_fp, 16) == 0) {
			FZ_ASSERT(len == 8, "file parameters length");
			view_read(f, img, img->meta_offset + off, v, 8);
			FZ_ASSERT(le32(v) == img->block_size, "block size %u vs %u", le32(v), img->block_size);
			FZ_ASSERT(((le32(v + 4) >> 1) & 1) == (uint32_t)img->has_parent, "has_parent");
			seen |= 1;
		} else if (memcmp(e, g_vs, 16) == 0) {
			FZ_ASSERT(len == 8, "virtual size length");
			view_read(f, img, img->meta_offset + off, v, 8);
			FZ_ASSERT(le64(v) == img->virtual_size, "virtual size");
			seen |= 2;
		} else if (memcmp(e, g_ls, 16) == 0) {
			FZ_ASSERT(len == 4, "logical sector length");
			view_read(f, img, img->meta_offset + off, v, 4);
			FZ_ASSERT(le32(v) == img->logical_sector_size, "logical sector size");
			seen |= 4;
		}
	}
	FZ_ASSERT(seen == 7, "a required metadata item the core accepted is missing (%d)", seen);
	free(t);
}

struct span {
	uint64_t off, end, idx;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

/*
 * An independent pass over the BAT (for BATs of up to 2^20 entries): every state, and the placement of every
 * present block - inside the file as validated, outside the header area, the log, the metadata and the BAT, and
 * overlapping no other block (checked by sorting the blocks, so it holds whatever the file size).
 */
static void check_bat(struct fz_file *f, struct vhdx_image *img)
{
	const struct vhdx_header *h = &img->header[img->current];
	uint64_t n = img->bat_entries, cr = img->chunk_ratio, fsz = img->file_size, np = 0;
	uint64_t counts[8] = { 0 };
	uint8_t *bat;
	struct span *sp;

	if (n > (1u << 20))
		return;
	bat = xmalloc((size_t)n * 8);
	sp = xmalloc((size_t)n * sizeof(*sp));
	view_read(f, img, img->bat_offset, bat, (size_t)n * 8);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t e = le64(bat + i * 8), off = e & 0xFFFFFFFFFFF00000ull, len;
		unsigned st = (unsigned)(e & 7);
		int bitmap = (i % (cr + 1)) == cr;
		uint64_t blk = i - i / (cr + 1);
		if (bitmap) {
			FZ_ASSERT(st == 0 || st == 6, "BAT entry %llu: bitmap state %u accepted", (unsigned long long)i, st);
			if (st != 6)
				continue;
			len = FZ_MiB;
		} else {
			if (blk >= img->payload_blocks) {
				FZ_ASSERT(st == 0, "BAT entry %llu: padding state %u accepted", (unsigned long long)i, st);
				continue;
			}
			FZ_ASSERT(st <= 3 || st == 6 || (st == 7 && img->has_parent),
				  "BAT entry %llu: payload state %u accepted", (unsigned long long)i, st);
			counts[st]++;
			if (st != 6 && st != 7)
				continue;
			/* the last block of a disk that is not a whole number of blocks need only hold what it covers */
			uint64_t left = img->virtual_size - blk * img->block_size;
			len = left < img->block_size ? left : img->block_size;
		}
		FZ_ASSERT(off >= FZ_MiB && off + len <= fsz && off + len > off,
			  "BAT entry %llu: block at %llu+%llu accepted outside the file (%llu)", (unsigned long long)i,
			  (unsigned long long)off, (unsigned long long)len, (unsigned long long)fsz);
		FZ_ASSERT(!(h->log_length && overl(off, len, h->log_offset, h->log_length)),
			  "BAT entry %llu: block overlapping the log accepted", (unsigned long long)i);
		FZ_ASSERT(!overl(off, len, img->meta_offset, img->meta_length),
			  "BAT entry %llu: block overlapping the metadata accepted", (unsigned long long)i);
		FZ_ASSERT(!overl(off, len, img->bat_offset, img->bat_length),
			  "BAT entry %llu: block overlapping the BAT accepted", (unsigned long long)i);
		FZ_ASSERT(off + len <= img->data_end, "data_end %llu below a present block's end",
			  (unsigned long long)img->data_end);
		sp[np].off = off;
		sp[np].end = off + len;
		sp[np].idx = i;
		np++;
	}
	qsort(sp, (size_t)np, sizeof(*sp), span_cmp);
	for (uint64_t k = 1; k < np; k++)
		FZ_ASSERT(sp[k].off >= sp[k - 1].end, "BAT entries %llu and %llu: blocks at %llu and %llu overlap, accepted",
			  (unsigned long long)sp[k - 1].idx, (unsigned long long)sp[k].idx, (unsigned long long)sp[k - 1].off,
			  (unsigned long long)sp[k].off);
	for (int s = 0; s < 8; s++)
		FZ_ASSERT(counts[s] == img->state_count[s], "state %d count %llu vs core %llu", s,
			  (unsigned long long)counts[s], (unsigned long long)img->state_count[s]);
	free(sp);
	free(bat);
}

static int verbose = -1;

void fz_check_open(struct fz_file *f, struct vhdx_image *img, vhdx_status st)
{
	if (verbose < 0)
		verbose = getenv("FZ_VERBOSE") != NULL;
	if (verbose)
		fprintf(stderr, "open: status %d%s%s (file %llu bytes, log %s)\n", (int)st, st ? ": " : "", st ? img->msg : "",
			(unsigned long long)f->io.size, img->log.active ? "active" : "none");
	FZ_ASSERT((unsigned)st < VHDX_STATUS_COUNT, "status %d out of range", (int)st);
	fz_check_msg(img->msg, sizeof(img->msg));
	FZ_ASSERT(img->warnings <= VHDX_MAX_WARNINGS, "warnings %u", img->warnings);
	for (unsigned i = 0; i < img->warnings; i++)
		fz_check_msg(img->warning[i], sizeof(img->warning[i]));
	fz_check_msg(img->creator, sizeof(img->creator));
	if (st != VHDX_OK) {
		FZ_ASSERT(img->msg[0] != 0, "failed open (status %d) without a message", (int)st);
		FZ_ASSERT(!img->validated, "failed open left validated set");
		FZ_ASSERT(f->live == 0, "failed open left %zu bytes allocated", f->live);
		return;
	}
	FZ_ASSERT(img->validated, "open OK but not validated");
	/* FZ_SKIP_KNOWN=1: do not re-report the known LastFileOffset findings (regress/open/log-lastfileoffset-*) */
	static int skip_known = -1;
	if (skip_known < 0)
		skip_known = getenv("FZ_SKIP_KNOWN") != NULL;
	if (skip_known && img->log.active && img->file_size > f->io.size + (1ull << 40))
		return;
	/* the BAT window, and a differencing image's parsed Parent Locator (issue 11) */
	FZ_ASSERT(f->live <= 64 * FZ_KiB + 64 + (img->has_parent ? sizeof(struct vhdx_parent_locator) : 0),
		  "open keeps %zu bytes", f->live);
	FZ_ASSERT(!img->has_parent || (img->locator && (img->locator->keys & VHDX_LOC_LINKAGE)),
		  "a differencing image opened without its parent_linkage");

	/* headers: an independent check of signature and checksum, and of the choice of the current one */
	uint8_t hb[2][4096];
	int valid[2];
	for (int i = 0; i < 2; i++) {
		fz_file_pread(f, (uint64_t)(64 + 64 * i) * FZ_KiB, hb[i], 4096);
		valid[i] = memcmp(hb[i], "head", 4) == 0 && le32(hb[i] + 4) == crc_with_zero(hb[i], 4096);
		FZ_ASSERT(valid[i] == img->header_valid[i], "header %d validity %d vs core %d", i + 1, valid[i],
			  img->header_valid[i]);
	}
	int cur = img->current;
	FZ_ASSERT(cur == 0 || cur == 1, "current %d", cur);
	FZ_ASSERT(valid[cur], "current header %d is not valid", cur + 1);
	if (valid[!cur]) {
		uint64_t sc = le64(hb[cur] + 8), so = le64(hb[!cur] + 8);
		FZ_ASSERT(sc > so || (sc == so && memcmp(hb[0], hb[1], 4096) == 0),
			  "current header %d (sequence %llu) vs other (sequence %llu)", cur + 1, (unsigned long long)sc,
			  (unsigned long long)so);
	}
	const struct vhdx_header *h = &img->header[cur];
	FZ_ASSERT(h->version == 1 && h->log_version == 0, "versions");
	FZ_ASSERT(h->log_offset % FZ_MiB == 0 && h->log_offset >= FZ_MiB && h->log_length % FZ_MiB == 0, "log place");
	FZ_ASSERT(h->log_offset + h->log_length <= f->io.size && h->log_offset + h->log_length >= h->log_offset,
		  "log beyond the file");
	FZ_ASSERT(img->log_pending == !vhdx_guid_is_zero(&h->log_guid), "log_pending");

	FZ_ASSERT(img->file_size >= f->io.size, "file_size %llu below the backing size",
		  (unsigned long long)img->file_size);
	FZ_ASSERT(img->log_pending || (!img->log.active && img->file_size == f->io.size), "file_size without a log");
	const uint64_t fsz = img->file_size;
	/* (while a log is pending, the checks below read the file as the replay will leave it) */
	{
		/* region table used: independently valid, and the offsets the core took come from it */
		uint8_t *rt = xmalloc(65536);
		view_read(f, img, (uint64_t)(192 + 64 * img->region_used) * FZ_KiB, rt, 65536);
		FZ_ASSERT(memcmp(rt, "regi", 4) == 0 && le32(rt + 4) == crc_with_zero(rt, 65536), "region table %d invalid",
			  img->region_used + 1);
		uint32_t rc = le32(rt + 8);
		FZ_ASSERT(rc <= 2047 && rc == img->region_count, "region count");
		int nb = 0, nm = 0;
		for (uint32_t i = 0; i < rc; i++) {
			const uint8_t *e = rt + 16 + 32 * i;
			if (memcmp(e, guid_bat, 16) == 0) {
				nb++;
				FZ_ASSERT(le64(e + 16) == img->bat_offset && le32(e + 24) == img->bat_length, "BAT region");
			} else if (memcmp(e, guid_meta, 16) == 0) {
				nm++;
				FZ_ASSERT(le64(e + 16) == img->meta_offset && le32(e + 24) == img->meta_length, "metadata region");
			}
		}
		FZ_ASSERT(nb == 1 && nm == 1, "regions %d BAT, %d metadata", nb, nm);
		free(rt);
		FZ_ASSERT(img->bat_offset % FZ_MiB == 0 && img->bat_offset >= FZ_MiB && img->bat_length % FZ_MiB == 0 &&
				  img->bat_length && img->bat_offset + img->bat_length <= fsz,
			  "BAT region place");
		FZ_ASSERT(img->meta_offset % FZ_MiB == 0 && img->meta_offset >= FZ_MiB && img->meta_length % FZ_MiB == 0 &&
				  img->meta_length && img->meta_offset + img->meta_length <= fsz,
			  "metadata region place");
		FZ_ASSERT(!overl(img->bat_offset, img->bat_length, img->meta_offset, img->meta_length), "BAT/metadata overlap");
		FZ_ASSERT(!h->log_length || (!overl(img->bat_offset, img->bat_length, h->log_offset, h->log_length) &&
					     !overl(img->meta_offset, img->meta_length, h->log_offset, h->log_length)),
			  "region overlaps the log");
	}
	/* metadata values and geometry */
	FZ_ASSERT(pow2(img->block_size) && img->block_size >= FZ_MiB && img->block_size <= 256 * FZ_MiB, "block size");
	FZ_ASSERT(img->logical_sector_size == 512 || img->logical_sector_size == 4096, "lss");
	FZ_ASSERT(img->physical_sector_size == 512 || img->physical_sector_size == 4096, "pss");
	FZ_ASSERT(img->virtual_size && img->virtual_size <= 64 * FZ_MiB * FZ_MiB &&
			  img->virtual_size % img->logical_sector_size == 0,
		  "virtual size");
	FZ_ASSERT(img->chunk_ratio == (8 * FZ_MiB * img->logical_sector_size) / img->block_size, "chunk ratio");
	FZ_ASSERT(img->payload_blocks == (img->virtual_size + img->block_size - 1) / img->block_size, "payload blocks");
	FZ_ASSERT(img->bat_entries * 8 <= img->bat_length, "BAT entries %llu in %u bytes",
		  (unsigned long long)img->bat_entries, img->bat_length);
	uint64_t sum = 0;
	for (int s = 0; s < 8; s++)
		sum += img->state_count[s];
	FZ_ASSERT(sum == img->payload_blocks, "state counts sum %llu vs %llu blocks", (unsigned long long)sum,
		  (unsigned long long)img->payload_blocks);
	FZ_ASSERT(img->data_end <= fsz, "data_end beyond the file");
	FZ_ASSERT(img->has_parent || img->state_count[7] == 0, "partially present without a parent");
	check_metadata(f, img);
	check_bat(f, img);
}
