/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * imgbuild.h - builds small valid VHDX images in memory for the unit tests, with accessors to break single fields
 * and helpers to re-checksum what was changed.
 *
 * Layout of a built image (all offsets from the start of the file):
 *   0        file identifier "vhdxfile", creator "imgbuild"
 *   64 KiB   header 1 (sequence IB_SEQ1)      128 KiB  header 2 (sequence IB_SEQ2: the current one)
 *   192 KiB  region table 1 (BAT, metadata)   256 KiB  region table 2 (identical)
 *   1 MiB    log (log_length bytes of zeros; LogGuid zero)
 *   meta_off metadata region (1 MiB): table; items from 64 KiB: FP +0, VDS +8, P83 +16, LSS +32, PSS +36,
 *            parent locator (when has_parent) +64
 *   bat_off  BAT region (bat_len, at least enough for the geometry, rounded to 1 MiB)
 *   data     payload blocks appended by ib_alloc_block() in call order
 *
 * Typical use:
 *   struct ib b; ib_build(&b, NULL);            8 MiB virtual, 1 MiB blocks, 512/4096 sectors, nothing allocated
 *   ib_alloc_block(&b, 3);                      block 3 FULLY_PRESENT, filled with ib_pattern()
 *   vhdx_put16(ib_hdr(&b, 0) + VHDX_HDR_VERSION, 2); ib_hdr_fix(&b, 0);
 *   struct membackend mb; ib_mb(&b, &mb);       an in-memory backend holding a copy of the bytes
 */
#ifndef IMGBUILD_H
#define IMGBUILD_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "membackend.h"

#define IB_SEQ1 5
#define IB_SEQ2 6

/* the metadata entries ib_build writes, in this order */
enum { IB_FP, IB_VDS, IB_P83, IB_LSS, IB_PSS, IB_LOC };

struct ib_params {
	uint64_t virtual_size; /* 0: 8 MiB */
	uint32_t block_size;   /* 0: 1 MiB */
	uint32_t lss, pss;     /* 0: 512, 4096 */
	uint32_t log_length;   /* 0: 1 MiB (use ib_params.no_log for none) */
	int no_log;            /* LogLength 0, LogOffset 1 MiB, no log area */
	uint32_t bat_length;   /* 0: what the geometry needs, rounded up to 1 MiB */
	int has_parent;        /* sets HasParent and adds a parent locator with one entry */
	int leave_allocated;
};

struct ib {
	uint8_t *buf;
	uint64_t size, cap;
	struct ib_params p;
	uint64_t log_off, meta_off, bat_off;
	uint32_t log_len, meta_len, bat_len;
	uint64_t chunk_ratio, payload_blocks, bat_entries;
	uint64_t data_next; /* where ib_alloc_block puts the next block (the file end when blocks are appended) */
	unsigned meta_count;
};

int ib_build(struct ib *b, const struct ib_params *p); /* 0 on success */
void ib_free(struct ib *b);
int ib_grow(struct ib *b, uint64_t size); /* zero-filled */

/* headers: raw 4 KiB block of slot i (0/1); ib_hdr_fix recomputes its checksum */
uint8_t *ib_hdr(struct ib *b, int i);
void ib_hdr_fix(struct ib *b, int i);
/* region tables: raw 64 KiB table i, its entry k; ib_rgn_fix recomputes the checksum */
uint8_t *ib_rgn(struct ib *b, int i);
uint8_t *ib_rgn_entry(struct ib *b, int i, unsigned k);
void ib_rgn_fix(struct ib *b, int i);
void ib_rgn_fix_both(struct ib *b); /* fixes table 1, then copies it over table 2 */
/* metadata: the table, entry k, and the item data that entry k points at */
uint8_t *ib_meta(struct ib *b);
uint8_t *ib_meta_entry(struct ib *b, unsigned k);
uint8_t *ib_meta_item(struct ib *b, unsigned k);
/* appends a metadata entry (guid, offset from the region start, length, flags); returns its index */
unsigned ib_meta_add(struct ib *b, const struct vhdx_guid *g, uint32_t off, uint32_t len, uint32_t flags);
/* removes entry k, moving the later ones down */
void ib_meta_remove(struct ib *b, unsigned k);

/* BAT */
uint64_t ib_bat_index(const struct ib *b, uint64_t block);
uint64_t ib_bat_get(const struct ib *b, uint64_t idx);
void ib_bat_set(struct ib *b, uint64_t idx, uint64_t entry);
/* allocates the next block-sized (last block: rounded to 1 MiB) piece at data_next, fills it with ib_pattern of
 * the virtual offsets it covers, marks the block FULLY_PRESENT; returns the file offset (0 on failure) */
uint64_t ib_alloc_block(struct ib *b, uint64_t block);
/* places block at a given file offset (growing the file if needed), filled like ib_alloc_block */
int ib_place_block(struct ib *b, uint64_t block, uint64_t file_off, unsigned state);

/* the byte a present block holds for virtual offset v */
uint8_t ib_pattern(uint64_t v);
/* what the virtual disk reads at [off, off+len): the stored bytes of FULLY_PRESENT blocks, zeros elsewhere */
void ib_expect(const struct ib *b, uint64_t off, void *buf, size_t len);

/* a backend holding a copy of the image's bytes (0 on success) */
int ib_mb(const struct ib *b, struct membackend *mb);

/* a fixed GUID for tests: distinct per n */
struct vhdx_guid ib_guid(unsigned n);

/*
 * Log entries.  ib_log_entry writes one entry at ring sector `pos` of the log (wrapping), with `n` descriptors:
 * zero descriptors clear `length` bytes at `offset`; data descriptors put the 4 KiB at `data` at `offset`.
 * Tail is a byte offset inside the log; flushed/last are FlushedFileOffset and LastFileOffset (0: the file size).
 * Returns the entry's length in sectors.  ib_set_log_guid sets LogGuid in both headers (re-checksummed).
 */
struct ib_desc {
	int zero;
	uint64_t offset, length; /* length: zero descriptors only */
	const uint8_t *data;     /* data descriptors: 4096 bytes */
};
uint32_t ib_log_entry(struct ib *b, uint32_t pos, uint64_t seq, uint32_t tail, const struct vhdx_guid *log_guid,
		      const struct ib_desc *d, unsigned n, uint64_t flushed, uint64_t last);
void ib_set_log_guid(struct ib *b, const struct vhdx_guid *g);

/*
 * Open checks, returning NULL when everything holds or a reason (static buffer) for t_report():
 *   ib_refused: a copy of the image opens with status `want`, img->msg contains frag1 and frag2 (either may be
 *     NULL), and the backend saw no write, flush or resize and holds no memory afterwards.
 *   ib_opened: the image opens (into *img over *mb, which the caller closes/frees) without writing anything.
 */
const char *ib_refused(const struct ib *b, vhdx_status want, const char *frag1, const char *frag2);
const char *ib_opened(const struct ib *b, struct vhdx_image *img, struct membackend *mb);
/* index+1 of the first warning containing frag, 0 if none */
unsigned ib_warned(const struct vhdx_image *img, const char *frag);

/* differencing chains: DataWriteGuid in both headers (checksums fixed); the child's parent_linkage (the locator
 * imgbuild writes for has_parent has one entry, parent_linkage, whose value becomes g) */
void ib_set_data_write_guid(struct ib *b, const struct vhdx_guid *g);
void ib_set_parent_linkage(struct ib *b, const struct vhdx_guid *g);

#endif
