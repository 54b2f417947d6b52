/* SPDX-License-Identifier: BSD-2-Clause */
/* fz_file.c - the sparse in-memory file the harnesses hand the core (pages over a base image), and fz_die. */
#include "fuzzpriv.h"

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

void *fz_xmalloc(size_t n)
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

uint8_t *pm_find(const struct fz_pagemap *m, uint64_t index)
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

void pm_insert(struct fz_pagemap *m, uint64_t index, uint8_t *data)
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

void pm_clear(struct fz_pagemap *m)
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
void page_contents(const struct fz_file *f, uint64_t pi, uint8_t *out)
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
			p = fz_xmalloc(FZ_PAGE);
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
	f->io.alloc = fz_cb_alloc;
	f->io.free = fz_cb_free;
}

void fz_file_reset(struct fz_file *f)
{
	if (f->live)
		fz_die("%zu bytes of core memory still allocated at the end of the run (leak)", f->live);
	pm_clear(&f->over);
}

