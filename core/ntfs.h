/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntfs.h - the NTFS locator's own pieces, shared by core/ntfs*.c and their unit test; not for efi/ or host/.
 *
 * The files, bottom up (each calls only the ones before it):
 *   ntfsio.c     the lookup's state: bounded reads through struct vhdx_io, scratch allocations, refusals
 *   ntfsrun.c    runlists: decoding mapping pairs, reading through them, overlap checks
 *   ntfsmft.c    boot sector, MFT records (fixups), the attribute walk in one record
 *   ntfsattr.c   one attribute of a file over its $ATTRIBUTE_LIST pieces; mounting (the $MFT's own runs)
 *   ntfsindex.c  $UpCase, name collation, directory lookup through $INDEX_ROOT / $INDEX_ALLOCATION
 *   ntfs.c       vhdx_ntfs_locate: the path, the file's $DATA as extents, $Volume and hiberfil.sys flags
 */
#ifndef VHDX_NTFS_H
#define VHDX_NTFS_H

#include "fs.h"
#include "internal.h"

/* Attribute types used here. */
#define NTFS_AT_ATTRIBUTE_LIST 0x20u
#define NTFS_AT_FILE_NAME 0x30u
#define NTFS_AT_VOLUME_INFORMATION 0x70u
#define NTFS_AT_DATA 0x80u
#define NTFS_AT_INDEX_ROOT 0x90u
#define NTFS_AT_INDEX_ALLOCATION 0xa0u
#define NTFS_AT_END 0xffffffffu

/* Attribute flags. */
#define NTFS_ATTR_COMPRESSED_MASK 0x00ffu
#define NTFS_ATTR_ENCRYPTED 0x4000u
#define NTFS_ATTR_SPARSE 0x8000u

/* System files' record numbers. */
#define NTFS_REC_MFT 0
#define NTFS_REC_VOLUME 3
#define NTFS_REC_ROOT 5
#define NTFS_REC_UPCASE 10

#define NTFS_FIXUP_STRIDE 512u   /* the update sequence protects every 512 bytes, whatever the sector size */
#define NTFS_LCN_HOLE UINT64_MAX /* a run without an LCN: a sparse hole */
#define NTFS_MAX_RUNS (1u << 16) /* runs of one attribute; more is refused */
#define NTFS_MAX_ALLOCS 64       /* scratch blocks held at once (32 of them $UpCase pages at most) */

struct ntfs_run {
	uint64_t vcn, lcn, len; /* clusters; lcn NTFS_LCN_HOLE for a hole */
};

struct ntfs_runs {
	struct ntfs_run *r;
	uint32_t n, cap;
	uint64_t next_vcn; /* the VCN the next decoded run must start at */
};

struct ntfs_alloc {
	void *p;
	size_t len;
};

struct ntfs_vol {
	const struct vhdx_io *io;
	struct vhdx_fs_file *out; /* msg and the read statistics */
	uint32_t sector_size, cluster_size, record_size, index_size;
	uint32_t cluster_bits;
	uint64_t clusters;      /* clusters of the volume that lie inside the partition */
	uint64_t mft_lcn;
	uint64_t mft_records;   /* records the $MFT's data size holds */
	struct ntfs_runs mft;   /* the $MFT's own $DATA runs */
	uint32_t record_reads;  /* bounded: every record read counts */
	uint8_t *upcase[32];    /* $UpCase (UTF-16LE), 2048 characters a page, loaded on demand */
	struct ntfs_runs upcase_runs;
	uint64_t upcase_size;
	int upcase_ready;
	struct ntfs_alloc allocs[NTFS_MAX_ALLOCS];
};

/* ntfsio.c */
vhdx_status vhdx_ntfs_fail(struct ntfs_vol *v, vhdx_status st, const char *fmt, ...) VHDX_PRINTF(3, 4);
/* zeroed scratch of len bytes in *out; refused (msg set) when the allocator fails or too many blocks are held */
vhdx_status vhdx_ntfs_alloc(struct ntfs_vol *v, size_t len, const char *what, void *out);
void vhdx_ntfs_free(struct ntfs_vol *v, void *p);
void vhdx_ntfs_free_all(struct ntfs_vol *v);
vhdx_status vhdx_ntfs_read(struct ntfs_vol *v, uint64_t off, void *buf, size_t len, const char *what);

/* ntfsrun.c: mapping pairs at p[0..len) starting at VCN lowest (appended to runs), checked against clusters */
vhdx_status vhdx_ntfs_runs_decode(struct ntfs_vol *v, struct ntfs_runs *runs, const uint8_t *p, size_t len,
				  uint64_t lowest, uint64_t highest, const char *what);
/* reads bytes [off, off + len) of the attribute the runs describe (holes read as zeros) */
vhdx_status vhdx_ntfs_runs_read(struct ntfs_vol *v, const struct ntfs_runs *runs, uint64_t off, void *buf,
				size_t len, const char *what);
/* refuses two runs that share a cluster (a cross-linked runlist) */
vhdx_status vhdx_ntfs_runs_disjoint(struct ntfs_vol *v, const struct ntfs_runs *runs, const char *what);

/* ntfsmft.c */
vhdx_status vhdx_ntfs_boot(struct ntfs_vol *v, const uint8_t *bs);
/* verifies and removes the update sequence of a FILE or INDX block of len bytes */
vhdx_status vhdx_ntfs_fixup(struct ntfs_vol *v, uint8_t *b, uint32_t len, const char *magic, const char *what,
			    uint64_t num);
/* reads record rec (a base record when seq is non-zero: its sequence number must be seq) into buf */
vhdx_status vhdx_ntfs_record(struct ntfs_vol *v, uint64_t rec, uint16_t seq, uint8_t *buf);
/* the header checks of a record already read and fixed up (in use, sequence, bytes_in_use, attrs_offset) */
vhdx_status vhdx_ntfs_record_check(struct ntfs_vol *v, const uint8_t *buf, uint64_t rec, uint16_t seq);

/* One attribute found in a record: its header and bounds inside the record buffer. */
struct ntfs_attr {
	const uint8_t *a; /* the attribute header */
	uint32_t len;     /* its length */
	uint32_t type;
	uint16_t flags;
	int non_resident;
	const uint8_t *value; /* resident: the value */
	uint32_t value_len;
};
/* the next attribute after *pos (0: the first); 1 found, 0 at the end, <0 refused (msg set) */
int vhdx_ntfs_attr_next(struct ntfs_vol *v, const uint8_t *rec, uint32_t *pos, struct ntfs_attr *at,
			uint64_t recno);
int vhdx_ntfs_attr_named(const struct ntfs_attr *at, const char *ascii_name); /* "" for unnamed */
int vhdx_ntfs_name_is(const uint8_t *u, uint32_t n, const char *ascii);      /* UTF-16LE name == ASCII text */
uint64_t vhdx_ntfs_record_base(const uint8_t *rec);                          /* 0 for a base record */
int vhdx_ntfs_record_is_dir(const uint8_t *rec);
#define NTFS_REF_RECORD(ref) ((ref) & 0xffffffffffffull)
#define NTFS_REF_SEQ(ref) ((uint16_t)((ref) >> 48))

/*
 * Everything about one named attribute of a file, collected over the base record and, through $ATTRIBUTE_LIST,
 * its extension records: the first header's sizes and flags, and the runs of all its pieces in VCN order.
 */
/* ntfsattr.c */
struct ntfs_stream {
	int found, non_resident;
	uint16_t flags;
	uint64_t data_size, init_size, alloc_size;
	uint8_t *resident;      /* a copy of a resident value (scratch) */
	uint32_t resident_len;
	struct ntfs_runs runs;
	uint32_t pieces;        /* attribute records the runs came from */
};
vhdx_status vhdx_ntfs_stream(struct ntfs_vol *v, uint64_t recno, const uint8_t *base, uint32_t type,
			     const char *name, struct ntfs_stream *s);
void vhdx_ntfs_stream_free(struct ntfs_vol *v, struct ntfs_stream *s);
vhdx_status vhdx_ntfs_mount(struct ntfs_vol *v); /* boot sector and the $MFT's runs */
#define NTFS_MAX_RECORD_READS 4096u  /* MFT records one lookup may read */
#define NTFS_MAX_ATTR_LIST (256u << 10) /* bytes of an $ATTRIBUTE_LIST */

/* ntfsindex.c */
/*
 * Compares a name (host UTF-16) with an on-disk UTF-16LE name as the file-name collation does: character by
 * character through $UpCase, then the shorter first; *cmp <0, 0, >0.  Pages of $UpCase load on first use (tests
 * may fill v->upcase themselves).
 */
vhdx_status vhdx_ntfs_name_cmp(struct ntfs_vol *v, const uint16_t *a, uint32_t alen, const uint8_t *b_le,
			       uint32_t blen, int *cmp);
/* looks name up in directory dir (its base record at rec); *ref the found file reference; VHDX_E_NOTFOUND
 * without a message when the name is not there */
vhdx_status vhdx_ntfs_dir_lookup(struct ntfs_vol *v, uint64_t dir, const uint8_t *rec, const uint16_t *name,
				 uint32_t name_len, uint64_t *ref);

#endif
