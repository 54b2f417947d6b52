/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzzlib.h - shared machinery of the libFuzzer harnesses (tests/fuzz/fuzz_*.c).
 *
 * The image under test lives in a sparse in-memory file (struct fz_file): an immutable base (a set of 4 KiB
 * pages, shared between executions) under a private copy-on-write overlay, so a 30 MiB image with a few hundred
 * KiB of non-zero bytes costs a few page copies per execution.  Bytes with no page read as zero, so the logical
 * size may be far larger than anything stored (files of up to a TiB are cheap).
 *
 * The backend is also the referee:
 *   - a read or write outside io.size aborts (the core must bounds-check before it calls the backend);
 *   - a write aborts unless the harness allowed writes, and then only inside the allowed ranges;
 *   - io.alloc counts live bytes and aborts when they exceed the budget: 4 MiB plus one bit per MiB of file
 *     (plus, for create, the caller-chosen block buffer) - the core's resource-bound rule;
 *   - io.free aborts when the length passed does not match the allocation.
 *
 * Input format of the image harnesses (open, read, session) - see README.md for the full description:
 *   byte 0   base: index (mod the number of bases) into the table of base images (fz_bases_init: the created
 *            ones, then bases/ORDER); the value FZ_RAW (0xFF) means raw mode: the rest of the input is the file
 *            itself (at most 1.5 MiB).
 *   byte 1   flags: bits 0-3 leave the checksum of header 1, header 2, region table 1, region table 2 as the
 *            patches left it (default: recomputed, so that mutations reach the checks behind the checksums);
 *            bit 4: size += (int8)byte2 MiB; bit 5: size -= byte2 * 512; bit 6: size += byte2 << 32;
 *            bit 7: harness-specific (session: read-only medium).
 *   byte 2   size argument.
 *   byte 3   flags2: bit 0 leaves log entry checksums as patched (default: every "loge" sector of the log is
 *            given a correct checksum when a patch touched the log); bits 1-7 harness-specific.
 *   then     patches, each [anchor u8][offset u24 LE][len u8][len bytes]: write the bytes at anchor + offset.
 *            Anchors (mod FZ_ANCHORS): 0 file start, 1 header 1, 2 header 2, 3 region table 1, 4 region table 2,
 *            5 log, 6 metadata table, 7 metadata items (table + 64 KiB), 8 BAT, 9 first present payload block,
 *            10 end of the file (offset counts backwards), 11 region table 1 entries, 12 log + 4 KiB.
 */
#ifndef FUZZLIB_H
#define FUZZLIB_H

#include <stddef.h>
#include <stdint.h>

#include "vhdx.h"

#define FZ_PAGE 4096u
#define FZ_KiB 1024ull
#define FZ_MiB (1024ull * 1024ull)
#define FZ_RAW 0xFF
#define FZ_RAW_MAX (3 * FZ_MiB / 2) /* raw mode: at most the first 1.5 MiB of the input */
#define FZ_BUDGET_FIXED (4 * FZ_MiB)
#define FZ_OVERLAY_MAX_PAGES 16384u /* 64 MiB of private pages: writes beyond that fail (not a crash) */

void fz_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* FZ_ASSERT(cond, "format", args...): a failed check is a crash the fuzzer records. */
#define FZ_ASSERT(cond, fmt, ...)                                                                                \
	do {                                                                                                     \
		if (!(cond))                                                                                     \
			fz_die("%s:%d: `%s' failed: " fmt, __FILE__, __LINE__, #cond, ##__VA_ARGS__);             \
	} while (0)

/* a set of 4 KiB pages keyed by page number (open addressing) */
struct fz_page {
	uint64_t index;
	uint8_t *data;
};
struct fz_pagemap {
	struct fz_page *slot;
	size_t cap, count; /* cap: power of two or 0 */
};

struct fz_range {
	uint64_t off, len;
};
#define FZ_MAX_RANGES 8

struct fz_file {
	struct vhdx_io io;
	const struct fz_pagemap *base; /* immutable; may be NULL */
	uint64_t base_cut;             /* base bytes at or beyond this offset read as zero (shrunk files) */
	struct fz_pagemap over;        /* private pages */

	int allow_write;   /* 0: any write or flush aborts */
	int allow_resize;  /* io.resize set */
	unsigned nallowed; /* 0 with allow_write: writes anywhere inside io.size */
	struct fz_range allowed[FZ_MAX_RANGES];
	unsigned nforbid;  /* writes overlapping these ranges abort */
	struct fz_range forbid[FZ_MAX_RANGES];
	int overlay_full;  /* a write failed because the overlay is full (not a core bug) */

	unsigned fail_alloc_at, fail_read_at; /* 1-based: that call fails (0: none); `injected` tells it happened */
	int injected;
	unsigned reads, writes, flushes, resizes;
	uint64_t read_bytes, write_bytes;
	size_t live, peak, budget_extra;
	unsigned allocs, frees;
};

/* Anchors of a base image, computed from its bytes when it is registered. */
enum {
	FZ_A_FILE,
	FZ_A_HDR1,
	FZ_A_HDR2,
	FZ_A_RGN1,
	FZ_A_RGN2,
	FZ_A_LOG,
	FZ_A_META,
	FZ_A_META_ITEMS,
	FZ_A_BAT,
	FZ_A_PAYLOAD,
	FZ_A_END,
	FZ_A_RGN1_ENTRIES,
	FZ_A_LOG_SECTOR1,
	FZ_ANCHORS
};

struct fz_base {
	const char *name;
	struct fz_pagemap pages;
	uint64_t size;
	uint64_t log_length; /* of the current header, for the log checksum fix-up */
	uint64_t anchor[FZ_ANCHORS];
};

/* Embedded sparse images (generated by embed.py from tests/fuzz/bases/NAME.sparse). */
struct fz_run {
	uint64_t off;
	uint32_t len;
	const uint8_t *data;
};
struct fz_embedded {
	const char *name;
	uint64_t size;
	const struct fz_run *runs;
	size_t nruns;
};
extern const struct fz_embedded fz_embedded[];
extern const size_t fz_embedded_count;

/* All bases: built in memory by vhdx_create at start-up, plus the embedded ones (qemu-img, vhdxlib, fixtures). */
size_t fz_base_count(void);
const struct fz_base *fz_base_get(size_t i);

/* Sets up f over base b (NULL: an empty file) with the given size. */
void fz_file_init(struct fz_file *f, const struct fz_base *b, uint64_t size);
void fz_file_reset(struct fz_file *f); /* frees the overlay; checks no core allocation is still live */
/* Direct access for harnesses (never counted, never checked against the write rules). */
void fz_file_pread(struct fz_file *f, uint64_t off, void *buf, size_t len);
int fz_file_pwrite(struct fz_file *f, uint64_t off, const void *buf, size_t len);
void fz_file_set_size(struct fz_file *f, uint64_t size);
uint64_t fz_budget(const struct fz_file *f);
/* the resize callback (set io.resize to it and allow_resize to 1 to let the core grow or shrink the file) */
int fz_resize_cb(void *ctx, uint64_t new_size);

/*
 * Decodes the common image input (see above) into f.  Returns the number of bytes consumed (all of them, or up
 * to `end`); *raw tells whether raw mode was used; *flags gets byte 1.
 */
size_t fz_load_input(struct fz_file *f, const uint8_t *data, size_t size, unsigned *flags, int *raw);
#define FZ_HDR_BYTES 4
/* byte 3 of the input (0 when absent or in raw mode) */
unsigned fz_flags2(const uint8_t *data, size_t size);

/* Checks that hold after any vhdx_open outcome; on success also the structural invariants of the image. */
void fz_check_open(struct fz_file *f, struct vhdx_image *img, vhdx_status st);
void fz_check_msg(const char *msg, size_t cap);

/* the in-memory bases built by vhdx_create; also used by the create harness's self-test */
void fz_bases_init(void);

#endif
