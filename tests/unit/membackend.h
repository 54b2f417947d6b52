/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * membackend.h - an in-memory struct vhdx_io for unit tests.
 *
 *   struct membackend mb;
 *   mb_init(&mb, size);                 zero-filled buffer of `size` bytes (mb_init_copy: from existing bytes)
 *   vhdx_open(&img, mb_io(&mb));
 *   ...                                 inspect mb.buf / mb.size, counters, inject faults
 *   mb_free(&mb);
 *
 * Knobs (set any time): read_only (mirrored into io.read_only), grow (resize allowed; writes past the end extend
 * the buffer when grow is set, fail otherwise), fail_write_at / fail_flush_at / fail_read_at / fail_alloc_at
 * (1-based: the Nth call counted since mb_init or mb_reset_counters fails; 0 = never; with fail_sticky set every
 * call from the Nth on fails).  A read-only backend fails every write and flush.
 * Counters: reads, writes, flushes, resizes, allocs, frees, alloc_bytes_live, alloc_bytes_peak, write_bytes.
 * The first and last write offsets are recorded, and a per-write log of (offset, length) for the first
 * MB_LOG_MAX writes.
 */
#ifndef MEMBACKEND_H
#define MEMBACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "vhdx.h"

#define MB_LOG_MAX 64

struct mb_write {
	uint64_t off;
	size_t len;
};

struct membackend {
	struct vhdx_io io;
	uint8_t *buf;
	uint64_t size; /* bytes of valid data (== io.size) */
	uint64_t cap;  /* bytes allocated */
	int read_only;
	int grow;

	unsigned fail_read_at, fail_write_at, fail_flush_at, fail_alloc_at;
	int fail_sticky;

	unsigned reads, writes, flushes, resizes, allocs, frees;
	uint64_t write_bytes;
	size_t alloc_bytes_live, alloc_bytes_peak;
	unsigned failed_calls;
	unsigned nlog;
	struct mb_write log[MB_LOG_MAX];
	int writes_after_flush; /* writes since the last flush */
};

int mb_init(struct membackend *mb, uint64_t size);                        /* 0 on success */
int mb_init_copy(struct membackend *mb, const void *data, uint64_t size); /* 0 on success */
int mb_load_file(struct membackend *mb, const char *path);                /* 0 on success */
int mb_save_file(const struct membackend *mb, const char *path);          /* 0 on success */
struct vhdx_io *mb_io(struct membackend *mb); /* refreshes io.size / io.read_only from the knobs */
void mb_reset_counters(struct membackend *mb);
void mb_free(struct membackend *mb);

#endif
