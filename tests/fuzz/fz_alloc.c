/* SPDX-License-Identifier: BSD-2-Clause */
/* fz_alloc.c - the budgeted allocator behind the sparse file's struct vhdx_io (alloc/free, failure injection). */
#include "fuzzpriv.h"


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

void *fz_cb_alloc(void *ctx, size_t len)
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

void fz_cb_free(void *ctx, void *p, size_t len)
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

