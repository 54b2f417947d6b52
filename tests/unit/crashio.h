/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * crashio.h - a fault-injecting struct vhdx_io for crash-consistency tests (header-only: tests/unit/unit.mk links
 * the unit tests with membackend.o and imgbuild.o only).
 *
 * The backend keeps two images of the file: `live`, what the running program reads back (its page cache), and
 * `disk`, what survives a crash.  Writes, flushes and resizes are counted together as operations; the operation
 * numbered `crash_at` (1-based; 0 = never) is the crash: it fails, every later call (reads too) fails, and `disk`
 * is what a machine would find after a power cut, by mode:
 *
 *   CIO_CUT        write-through: every completed write is on disk; the crashing operation does nothing.
 *   CIO_TEAR       write-through, and a crashing write lands half: its first len/2 bytes reach the disk.
 *   CIO_DROP       write-back: writes reach the disk only at a flush; at the crash every write since the last
 *                  flush is lost (resizes too).
 *   CIO_DROP_SOME  write-back, and at the crash the unflushed writes land out of order: the last one, the one
 *                  before the one before it, and so on reach the disk, the others are lost (a disk cache that
 *                  reorders within a flush epoch: the newest write survives while an older one does not).
 *
 * Every operation is recorded (kind, offset, length) so a dry run (crash_at = 0) lists the crash points.
 *
 *   struct crashio c;
 *   cio_init(&c, bytes, size, CIO_TEAR, 5);     vhdx_open(&img, &c.io); ... (fails once the crash happens)
 *   struct membackend mb; cio_disk(&c, &mb);    the surviving file, for the next run
 *   cio_free(&c);
 */
#ifndef CRASHIO_H
#define CRASHIO_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "membackend.h"
#include "vhdx.h"

#define CIO_UNUSED __attribute__((unused))
#define CIO_MAX_OPS 256

enum cio_mode { CIO_CUT, CIO_TEAR, CIO_DROP, CIO_DROP_SOME, CIO_MODES };

CIO_UNUSED static const char *const cio_mode_name[CIO_MODES] = { "cut", "tear", "drop", "drop-some" };

struct cio_op {
	char kind; /* 'w' write, 'f' flush, 'r' resize */
	uint64_t off, len; /* write: offset and length; resize: new size in len */
};

struct cio_pending {
	uint64_t off, len;
	uint8_t *data; /* NULL for a resize (new size in len) */
};

struct crashio {
	struct vhdx_io io;
	enum cio_mode mode;
	unsigned crash_at, ops;
	int crashed;
	uint8_t *live, *disk;
	uint64_t live_size, disk_size, cap;
	struct cio_pending pend[CIO_MAX_OPS];
	unsigned npend;
	struct cio_op op[CIO_MAX_OPS];
	unsigned nop;
	size_t alloc_live; /* scratch bytes the core holds */
	int overflow;      /* more than CIO_MAX_OPS operations, or out of memory */
};

static int cio_reserve(struct crashio *c, uint64_t size)
{
	if (size <= c->cap)
		return 0;
	uint64_t cap = c->cap ? c->cap : 1 << 20;
	while (cap < size)
		cap *= 2;
	uint8_t *l = realloc(c->live, (size_t)cap), *d;
	if (!l)
		return -1;
	c->live = l;
	d = realloc(c->disk, (size_t)cap);
	if (!d)
		return -1;
	c->disk = d;
	memset(c->live + c->cap, 0, (size_t)(cap - c->cap));
	memset(c->disk + c->cap, 0, (size_t)(cap - c->cap));
	c->cap = cap;
	return 0;
}

static void cio_set_size(uint8_t *buf, uint64_t *size, uint64_t n)
{
	if (n < *size)
		memset(buf + n, 0, (size_t)(*size - n));
	*size = n;
}

static void cio_drop_pending(struct crashio *c)
{
	for (unsigned i = 0; i < c->npend; i++)
		free(c->pend[i].data);
	c->npend = 0;
}

/* the crash: make `disk` what survives, per mode */
static void cio_crash(struct crashio *c, const void *buf, uint64_t off, uint64_t len, char kind)
{
	c->crashed = 1;
	if (c->mode == CIO_TEAR && kind == 'w')
		memcpy(c->disk + off, buf, (size_t)(len / 2));
	if (c->mode == CIO_DROP_SOME) {
		for (unsigned i = (c->npend + 1) % 2; i < c->npend; i += 2) {
			struct cio_pending *p = &c->pend[i];
			if (p->data)
				memcpy(c->disk + p->off, p->data, (size_t)p->len);
			else
				cio_set_size(c->disk, &c->disk_size, p->len);
			if (p->data && p->off + p->len > c->disk_size)
				c->disk_size = p->off + p->len;
		}
	}
	cio_drop_pending(c);
}

/* counts an operation; non-zero when it is the crash or comes after it */
static int cio_op(struct crashio *c, char kind, uint64_t off, uint64_t len, const void *buf)
{
	if (c->crashed)
		return 1;
	if (c->nop < CIO_MAX_OPS)
		c->op[c->nop++] = (struct cio_op){ kind, off, len };
	else
		c->overflow = 1;
	if (++c->ops == c->crash_at) {
		cio_crash(c, buf, off, len, kind);
		return 1;
	}
	return 0;
}

static int cio_write_back(const struct crashio *c)
{
	return c->mode == CIO_DROP || c->mode == CIO_DROP_SOME;
}

static int cio_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct crashio *c = ctx;
	if (c->crashed || off > c->live_size || len > c->live_size - off)
		return -1;
	memcpy(buf, c->live + off, len);
	return 0;
}

static int cio_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct crashio *c = ctx;
	if (off > UINT64_MAX - len || off + len > c->live_size)
		return -1; /* the core resizes before writing past the end */
	if (cio_op(c, 'w', off, len, buf))
		return -1;
	memcpy(c->live + off, buf, len);
	if (!cio_write_back(c)) {
		memcpy(c->disk + off, buf, len);
		return 0;
	}
	if (c->npend == CIO_MAX_OPS || !(c->pend[c->npend].data = malloc(len))) {
		c->overflow = 1;
		return -1;
	}
	memcpy(c->pend[c->npend].data, buf, len);
	c->pend[c->npend].off = off;
	c->pend[c->npend].len = len;
	c->npend++;
	return 0;
}

static int cio_flush(void *ctx)
{
	struct crashio *c = ctx;
	if (cio_op(c, 'f', 0, 0, NULL))
		return -1;
	if (cio_write_back(c)) {
		memcpy(c->disk, c->live, (size_t)c->live_size);
		cio_set_size(c->disk, &c->disk_size, c->live_size);
		cio_drop_pending(c);
	}
	return 0;
}

static int cio_resize(void *ctx, uint64_t n)
{
	struct crashio *c = ctx;
	if (cio_reserve(c, n)) {
		c->overflow = 1;
		return -1;
	}
	if (cio_op(c, 'r', 0, n, NULL))
		return -1;
	cio_set_size(c->live, &c->live_size, n);
	c->io.size = n;
	if (!cio_write_back(c)) {
		cio_set_size(c->disk, &c->disk_size, n);
	} else if (c->npend < CIO_MAX_OPS) {
		c->pend[c->npend++] = (struct cio_pending){ 0, n, NULL };
	} else {
		c->overflow = 1;
		return -1;
	}
	return 0;
}

static void *cio_alloc(void *ctx, size_t len)
{
	struct crashio *c = ctx;
	void *p = malloc(len ? len : 1);
	if (p)
		c->alloc_live += len;
	return p;
}

static void cio_free_cb(void *ctx, void *p, size_t len)
{
	struct crashio *c = ctx;
	if (p)
		c->alloc_live -= len;
	free(p);
}

/* a backend over a copy of `bytes`; crash at operation `crash_at` (0: never). 0 on success */
CIO_UNUSED static int cio_init(struct crashio *c, const uint8_t *bytes, uint64_t size, enum cio_mode mode,
			       unsigned crash_at)
{
	memset(c, 0, sizeof(*c));
	if (cio_reserve(c, size))
		return -1;
	memcpy(c->live, bytes, (size_t)size);
	memcpy(c->disk, bytes, (size_t)size);
	c->live_size = c->disk_size = size;
	c->mode = mode;
	c->crash_at = crash_at;
	c->io.ctx = c;
	c->io.size = size;
	c->io.read = cio_read;
	c->io.write = cio_write;
	c->io.flush = cio_flush;
	c->io.resize = cio_resize;
	c->io.alloc = cio_alloc;
	c->io.free = cio_free_cb;
	return 0;
}

/* what is on disk now (after a crash: what survived; without one: the flushed state), as a growable backend */
CIO_UNUSED static int cio_disk(const struct crashio *c, struct membackend *mb)
{
	if (mb_init_copy(mb, c->disk, c->disk_size))
		return -1;
	mb->grow = 1;
	mb_io(mb);
	return 0;
}

/* a short description of operation i (1-based) for test names */
CIO_UNUSED static const char *cio_describe(const struct crashio *c, unsigned i, char *out, size_t n)
{
	const struct cio_op *o = i && i <= c->nop ? &c->op[i - 1] : NULL;

	if (!o)
		snprintf(out, n, "op %u: none", i);
	else if (o->kind == 'f')
		snprintf(out, n, "op %u: flush", i);
	else if (o->kind == 'r')
		snprintf(out, n, "op %u: resize to %llu", i, (unsigned long long)o->len);
	else if (o->off == 64 * 1024 || o->off == 128 * 1024)
		snprintf(out, n, "op %u: write header %d", i, o->off == 64 * 1024 ? 1 : 2);
	else
		snprintf(out, n, "op %u: write %llu at 0x%llx", i, (unsigned long long)o->len, (unsigned long long)o->off);
	return out;
}

CIO_UNUSED static void cio_free(struct crashio *c)
{
	cio_drop_pending(c);
	free(c->live);
	free(c->disk);
	c->live = c->disk = NULL;
}

#endif
