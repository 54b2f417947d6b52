/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * logwalk.h - the log layer's shared parts: one pass over the log's sectors, entries and descriptors.  Private to
 * the files that read the log (log.c finds and overlays, replay.c writes what it finds); nothing else includes it.
 */
#ifndef VHDX_LOGWALK_H
#define VHDX_LOGWALK_H

#include "internal.h"

#define VHDX_LOG_CHECK_BUDGET 16 /* bytes checksummed during the search, in log lengths */

/* The log region being read, and the few sector buffers every pass needs. */
struct vhdx_logctx {
	struct vhdx_image *img;
	uint64_t base, length; /* log region in the file */
	uint32_t sectors;
	uint8_t *sec;          /* one sector */
	uint8_t *dsec;         /* the descriptor sector in use */
	uint64_t dsec_at;      /* ring position of dsec, or UINT64_MAX */
	uint64_t budget;
};

/* A parsed entry header. */
struct vhdx_log_ehdr {
	uint32_t len, tail, count;
	uint64_t seq, flushed, last;
};

/* A parsed descriptor. */
struct vhdx_log_desc {
	int zero;
	uint64_t offset, length;
	uint32_t data_index; /* data descriptors: which data sector of the entry */
	const uint8_t *raw;
};

/* Sets up a context for the current header's log; *extra receives one spare sector of scratch. */
vhdx_status vhdx_log_ctx_init(struct vhdx_image *img, struct vhdx_logctx *c, uint8_t **extra);
void vhdx_log_ctx_done(struct vhdx_logctx *c);

/* Reads one sector of the ring (raw: the log's own sectors are never overlaid). */
vhdx_status vhdx_log_sector(struct vhdx_logctx *c, uint64_t ring_sector, uint8_t *buf);
/* The header fields of a plausible entry in sector s, or non-zero when the sector is not one. */
int vhdx_log_parse_header(struct vhdx_logctx *c, const uint8_t *s, struct vhdx_log_ehdr *e);
/* Descriptor i of the entry at ring sector pos (*desc points into c->dsec, valid until the next call). */
vhdx_status vhdx_log_descriptor(struct vhdx_logctx *c, uint64_t pos, uint32_t i, const uint8_t **desc);
void vhdx_log_parse_desc(const uint8_t *d, struct vhdx_log_desc *o);
/* Sectors the entry's header and descriptors take, before its data sectors. */
uint64_t vhdx_log_desc_sectors(const struct vhdx_log_ehdr *e);
/* Rebuilds the 4 KiB a data descriptor puts into the file. */
vhdx_status vhdx_log_load_data(struct vhdx_logctx *c, uint64_t pos, const struct vhdx_log_ehdr *e,
			       const struct vhdx_log_desc *d, uint8_t *out);

/* Calls fn for each descriptor of the active sequence (img->log), tail to head. */
typedef vhdx_status (*vhdx_log_visit_fn)(struct vhdx_logctx *c, uint64_t pos, const struct vhdx_log_ehdr *e,
					 const struct vhdx_log_desc *d, void *arg);
vhdx_status vhdx_log_walk(struct vhdx_logctx *c, vhdx_log_visit_fn fn, void *arg);

#endif
