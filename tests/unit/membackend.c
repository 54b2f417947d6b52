/* SPDX-License-Identifier: BSD-2-Clause */
/* membackend.c - the in-memory struct vhdx_io for unit tests (see membackend.h). */
#include "membackend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int should_fail(struct membackend *mb, unsigned *at, unsigned count)
{
	if (*at == 0 || count < *at)
		return 0;
	if (count == *at || mb->fail_sticky) {
		mb->failed_calls++;
		return 1;
	}
	return 0;
}

static int ensure_cap(struct membackend *mb, uint64_t need)
{
	if (need <= mb->cap)
		return 0;
	uint64_t ncap = mb->cap ? mb->cap : 4096;
	while (ncap < need)
		ncap *= 2;
	if (ncap != (size_t)ncap)
		return -1;
	uint8_t *nb = realloc(mb->buf, (size_t)ncap);
	if (!nb)
		return -1;
	memset(nb + mb->cap, 0, (size_t)(ncap - mb->cap));
	mb->buf = nb;
	mb->cap = ncap;
	return 0;
}

static int mb_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct membackend *mb = ctx;
	mb->reads++;
	if (should_fail(mb, &mb->fail_read_at, mb->reads))
		return -1;
	if (off > mb->size || len > mb->size - off)
		return -1;
	memcpy(buf, mb->buf + off, len);
	return 0;
}

static int mb_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct membackend *mb = ctx;
	mb->writes++;
	if (mb->nlog < MB_LOG_MAX) {
		mb->log[mb->nlog].off = off;
		mb->log[mb->nlog].len = len;
		mb->nlog++;
	}
	if (should_fail(mb, &mb->fail_write_at, mb->writes))
		return -1;
	if (mb->read_only)
		return -1;
	if (off > UINT64_MAX - len)
		return -1;
	if (off + len > mb->size) {
		if (!mb->grow || ensure_cap(mb, off + len))
			return -1;
		mb->size = off + len;
		mb->io.size = mb->size;
	}
	memcpy(mb->buf + off, buf, len);
	mb->write_bytes += len;
	mb->writes_after_flush++;
	return 0;
}

static int mb_flush(void *ctx)
{
	struct membackend *mb = ctx;
	mb->flushes++;
	if (should_fail(mb, &mb->fail_flush_at, mb->flushes))
		return -1;
	if (mb->read_only)
		return -1;
	mb->writes_after_flush = 0;
	return 0;
}

static int mb_resize(void *ctx, uint64_t new_size)
{
	struct membackend *mb = ctx;
	mb->resizes++;
	if (mb->read_only || !mb->grow)
		return -1;
	if (ensure_cap(mb, new_size))
		return -1;
	if (new_size < mb->size)
		memset(mb->buf + new_size, 0, (size_t)(mb->size - new_size));
	mb->size = new_size;
	mb->io.size = new_size;
	return 0;
}

/* allocations carry a small header so that the length passed to free can be checked */
struct mb_alloc_hdr {
	size_t len;
	size_t magic;
};
#define MB_ALLOC_MAGIC ((size_t)0x6d62616c6c6f63ULL)

static void *mb_alloc(void *ctx, size_t len)
{
	struct membackend *mb = ctx;
	mb->allocs++;
	if (should_fail(mb, &mb->fail_alloc_at, mb->allocs))
		return NULL;
	struct mb_alloc_hdr *h = malloc(sizeof *h + len + 16);
	if (!h)
		return NULL;
	h->len = len;
	h->magic = MB_ALLOC_MAGIC;
	mb->alloc_bytes_live += len;
	if (mb->alloc_bytes_live > mb->alloc_bytes_peak)
		mb->alloc_bytes_peak = mb->alloc_bytes_live;
	return h + 1;
}

static void mb_free_cb(void *ctx, void *p, size_t len)
{
	struct membackend *mb = ctx;
	if (!p)
		return;
	struct mb_alloc_hdr *h = (struct mb_alloc_hdr *)p - 1;
	mb->frees++;
	if (h->magic != MB_ALLOC_MAGIC || h->len != len) {
		fprintf(stderr, "membackend: free(%p, %zu) does not match its allocation (%zu)\n", p, len, h->len);
		abort();
	}
	h->magic = 0;
	mb->alloc_bytes_live -= len;
	free(h);
}

static void setup(struct membackend *mb)
{
	mb->io.ctx = mb;
	mb->io.read = mb_read;
	mb->io.write = mb_write;
	mb->io.flush = mb_flush;
	mb->io.resize = mb_resize;
	mb->io.alloc = mb_alloc;
	mb->io.free = mb_free_cb;
	mb->io.size = mb->size;
	mb->io.read_only = mb->read_only;
}

int mb_init(struct membackend *mb, uint64_t size)
{
	memset(mb, 0, sizeof *mb);
	if (ensure_cap(mb, size ? size : 1))
		return -1;
	mb->size = size;
	setup(mb);
	return 0;
}

int mb_init_copy(struct membackend *mb, const void *data, uint64_t size)
{
	if (mb_init(mb, size))
		return -1;
	if (size)
		memcpy(mb->buf, data, (size_t)size);
	return 0;
}

int mb_load_file(struct membackend *mb, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0) {
		fclose(f);
		return -1;
	}
	long n = ftell(f);
	rewind(f);
	if (n < 0 || mb_init(mb, (uint64_t)n)) {
		fclose(f);
		return -1;
	}
	size_t got = fread(mb->buf, 1, (size_t)n, f);
	fclose(f);
	if (got != (size_t)n) {
		mb_free(mb);
		return -1;
	}
	return 0;
}

int mb_save_file(const struct membackend *mb, const char *path)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t put = fwrite(mb->buf, 1, (size_t)mb->size, f);
	int rc = fclose(f);
	return put == (size_t)mb->size && rc == 0 ? 0 : -1;
}

struct vhdx_io *mb_io(struct membackend *mb)
{
	mb->io.size = mb->size;
	mb->io.read_only = mb->read_only;
	mb->io.resize = mb->grow ? mb_resize : NULL;
	return &mb->io;
}

void mb_reset_counters(struct membackend *mb)
{
	mb->reads = mb->writes = mb->flushes = mb->resizes = 0;
	mb->write_bytes = 0;
	mb->failed_calls = 0;
	mb->nlog = 0;
	mb->writes_after_flush = 0;
}

void mb_free(struct membackend *mb)
{
	free(mb->buf);
	mb->buf = NULL;
	mb->size = mb->cap = 0;
}
