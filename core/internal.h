/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * internal.h - helpers shared by the core's own files; not for efi/ or host/.
 *
 * The core is layered.  A file calls only into files of its own layer or of a layer listed above it, and no two
 * files call each other (directly or round a longer loop); tests/shape/layers.sh checks both from the object
 * files' symbols, reading the table below, so a new file must be added to it.
 *
 *   layer leaf:  mem crc32c crc32c_armv8 sha256 sha256_x86 sha256_armv8 guid guidparse fmt status   no I/O
 *   layer io:    io fsio                             raw read/write/flush through struct vhdx_io; a located file
 *   layer log:   logwalk log                         find the active log sequence; overlay it on a read
 *   layer view:  view                                vhdx_pread: raw read + overlay, what the parsers read
 *   layer parse: header region metadata bat parent   parse and validate one structure each
 *   layer open:  image read extent                   vhdx_open (validation in order), virtual-disk reads, extents
 *   layer use:   digest measure                      what is computed from an open image
 *   layer write: hdrwrite replay session create datawrite  writers: headers, replay, session update, create, data
 *   layer logw:  logwrite allocate                   the log writer; allocation (BAT updates) through it
 *   layer fsu:   fsutil ntfsio ntfsrun ntfsmft ntfsattr ntfsindex   locators' counted reads, extents, names; NTFS parts
 *   layer fsrd:  fat exfat ext4 ntfs                 one file system's locator each, read only, no driver
 *   layer fs:    fs                                  probe the partition's file system, dispatch to its locator
 *   layer boot:  handoff                             the boot module's handoff variable, encoded and decoded
 */
#ifndef VHDX_INTERNAL_H
#define VHDX_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "vhdx.h"

/* mem.c: the compiler may emit calls to these, so they carry the standard names. */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* endian: little-endian loads and stores at any alignment */
static inline uint16_t vhdx_le16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] | (b[1] << 8));
}
static inline uint32_t vhdx_le32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}
static inline uint64_t vhdx_le64(const void *p)
{
	const uint8_t *b = p;
	return (uint64_t)vhdx_le32(b) | ((uint64_t)vhdx_le32(b + 4) << 32);
}
static inline void vhdx_put16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}
static inline void vhdx_put32(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}
static inline void vhdx_put64(void *p, uint64_t v)
{
	vhdx_put32(p, (uint32_t)v);
	vhdx_put32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

/* overflow-checked arithmetic: return non-zero on overflow */
static inline int vhdx_add_overflow(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_add_overflow(a, b, r);
}
/* Do [a, a + alen) and [b, b + blen) share a byte?  The ends must not overflow (callers check them first). */
static inline int vhdx_overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}
static inline int vhdx_mul_overflow(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_mul_overflow(a, b, r);
}

/* fmt.c: vhdx_fmt and vhdx_vfmt are declared in vhdx.h (the boot module's console uses them too). */

/* guid.c: a GUID as text for a message's %s (the buffer lives until the end of the enclosing statement) */
const char *vhdx_guid_str(const struct vhdx_guid *g, char *text);
#define VHDX_GUID_STR(g) vhdx_guid_str((g), (char[VHDX_GUID_TEXT]){ 0 })

/* Sets img->msg and returns st; the message names structure, field and value. */
vhdx_status vhdx_fail(struct vhdx_image *img, vhdx_status st, const char *fmt, ...) VHDX_PRINTF(3, 4);
void vhdx_warn(struct vhdx_image *img, const char *fmt, ...) VHDX_PRINTF(2, 3);

/* io.c: raw image I/O through the backend, with bounds checks and statistics; view.c: vhdx_pread, the read view */
vhdx_status vhdx_pread(struct vhdx_image *img, uint64_t off, void *buf, size_t len, const char *what);
vhdx_status vhdx_pwrite(struct vhdx_image *img, uint64_t off, const void *buf, size_t len, const char *what);
vhdx_status vhdx_flush(struct vhdx_image *img);
vhdx_status vhdx_raw_read(struct vhdx_image *img, uint64_t off, void *buf, size_t len, const char *what);

/* log.c: find the active sequence (open) and lay it over reads; replay.c writes it */
vhdx_status vhdx_log_find(struct vhdx_image *img);
vhdx_status vhdx_log_overlay(struct vhdx_image *img, uint64_t off, void *buf, size_t len);

/* checksum of a structure with its 4-byte checksum field (at csum_off) taken as zero */
uint32_t vhdx_struct_crc(const void *buf, size_t len, size_t csum_off);

/* header.c: parse, choose; hdrwrite.c: write a copy, the writers' checks, the current copy as a template */
void vhdx_header_parse(struct vhdx_header *h, const uint8_t *buf);
void vhdx_header_serialize(uint8_t *buf, const struct vhdx_header *h); /* keeps buf's reserved bytes, sets checksum */
vhdx_status vhdx_headers_load(struct vhdx_image *img, uint8_t *buf);
vhdx_status vhdx_header_check_current(struct vhdx_image *img);
vhdx_status vhdx_header_write(struct vhdx_image *img, uint8_t *block, const struct vhdx_header *h);
vhdx_status vhdx_header_block(struct vhdx_image *img, uint8_t **out);
vhdx_status vhdx_write_allowed(struct vhdx_image *img, const char *what, uint64_t raises);

/* region.c, metadata.c, bat.c: each validates its structure; scratch holds at least 64 KiB */
vhdx_status vhdx_regions_load(struct vhdx_image *img, uint8_t *scratch);
vhdx_status vhdx_metadata_load(struct vhdx_image *img, uint8_t *scratch);
vhdx_status vhdx_bat_geometry(struct vhdx_image *img);
vhdx_status vhdx_bat_scan(struct vhdx_image *img);
#define VHDX_BAT_WINDOW 8192 /* entries cached for virtual reads */
vhdx_status vhdx_bat_entry(struct vhdx_image *img, uint64_t index, uint64_t *entry);
/* The file offset of chunk c's sector bitmap block; VHDX_E_CORRUPT when its entry is not SB_BLOCK_PRESENT. */
vhdx_status vhdx_bitmap_block(struct vhdx_image *img, uint64_t c, uint64_t *off);

/* bat.c: index of payload block b's entry, and of the bitmap entry of chunk c */
static inline uint64_t vhdx_bat_index(const struct vhdx_image *img, uint64_t b)
{
	return b + b / img->chunk_ratio;
}

/*
 * logwrite.c: the log writer, the other half of log.c.  Only writers (allocate) use it, never the
 * parsers.  The protocol: vhdx_logw_begin sets a fresh LogGuid (with a new FileWriteGuid) in the headers and
 * flushes; each vhdx_logw_entry writes one entry into the ring and flushes; vhdx_logw_apply writes the same
 * sectors to their final places and flushes; vhdx_logw_end clears LogGuid in both headers.  A crash anywhere
 * leaves a log that log.c (and QEMU) replay to the state of the last complete entry.
 */
struct vhdx_log_sector {
	uint64_t offset;      /* file offset, a multiple of 4 KiB */
	uint64_t zero_length; /* 0: a data descriptor putting `data` there; else a zero descriptor over this many bytes */
	const uint8_t *data;  /* data descriptors: 4096 bytes */
};

struct vhdx_log_writer {
	struct vhdx_image *img;
	struct vhdx_guid guid;
	uint64_t base;         /* file offset of the ring */
	uint32_t sectors;      /* ring size in 4 KiB sectors */
	uint32_t pos;          /* ring sector where the next entry goes */
	uint32_t tail;         /* ring sector of the oldest entry not yet applied (== pos when none) */
	uint32_t pending;      /* entries written and not yet applied */
	uint32_t max_sectors;  /* longest entry, in sectors */
	uint64_t seq;          /* sequence number of the next entry */
	uint64_t entries;      /* entries written */
	uint8_t *buf;          /* one entry */
	uint8_t *starts;       /* one bit per ring sector: an entry of this writer starts there and is intact */
	size_t buf_len, starts_len;
};

/*
 * Every refusal vhdx_logw_begin can make, without writing: a writer that writes something else first checks here
 * (raises: header sequence raises it needs besides the log's three).
 */
vhdx_status vhdx_logw_check(struct vhdx_image *img, uint32_t max_sectors, uint32_t start, uint64_t raises);
/* max_sectors: 0 for the default; start: ring sector of the first entry (tests start near the end to wrap) */
vhdx_status vhdx_logw_begin(struct vhdx_image *img, struct vhdx_log_writer *w, const uint8_t random[32],
			    uint32_t max_sectors, uint32_t start);
/* data descriptors one entry can hold (zero descriptors cost 32 bytes each, no data sector) */
uint32_t vhdx_logw_capacity(const struct vhdx_log_writer *w);
vhdx_status vhdx_logw_entry(struct vhdx_log_writer *w, const struct vhdx_log_sector *d, uint32_t n,
			    uint64_t flushed_offset, uint64_t last_offset);
vhdx_status vhdx_logw_apply(struct vhdx_log_writer *w, const struct vhdx_log_sector *d, uint32_t n);
vhdx_status vhdx_logw_end(struct vhdx_log_writer *w);
void vhdx_logw_release(struct vhdx_log_writer *w); /* frees the buffers; writes nothing */

/* read.c: vhdx_read of a differencing image (range checked by the caller): every level of a differencing chain */
vhdx_status vhdx_diff_read(struct vhdx_image *img, uint64_t off, uint8_t *out, size_t len);

#endif
