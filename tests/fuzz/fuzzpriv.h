/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzzpriv.h - what the pieces of the fuzzing library share among themselves (fz_file.c, fz_alloc.c, fz_bases.c,
 * fz_input.c, fz_oracle.c); the harnesses include fuzzlib.h only.
 */
#ifndef FUZZPRIV_H
#define FUZZPRIV_H

#include "fuzzlib.h"
#include "internal.h" /* vhdx_pread: the oracle reads a pending-log image through the core's overlay */

#include <sanitizer/asan_interface.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *fz_xmalloc(size_t n); /* malloc, or fz_die */

/* little-endian loads of the inputs' bytes */
static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}


/* the BAT and metadata region GUIDs as they lie on disk (the oracle reads them without the core) */
static const __attribute__((unused)) uint8_t guid_bat[16] = { 0x66, 0x77, 0xC2, 0x2D, 0x23, 0xF6, 0x00, 0x42,
				      0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08 };
static const __attribute__((unused)) uint8_t guid_meta[16] = { 0x06, 0xA2, 0x7C, 0x8B, 0x90, 0x47, 0x9A, 0x4B,
				       0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E };

/* fz_file.c: the page maps of the sparse file */
uint8_t *pm_find(const struct fz_pagemap *m, uint64_t index);
void pm_insert(struct fz_pagemap *m, uint64_t index, uint8_t *data);
void pm_clear(struct fz_pagemap *m);
void page_contents(const struct fz_file *f, uint64_t pi, uint8_t *out);

/* fz_alloc.c: the allocator the sparse file hands the core */
void *fz_cb_alloc(void *ctx, size_t len);
void fz_cb_free(void *ctx, void *p, size_t len);

#endif
