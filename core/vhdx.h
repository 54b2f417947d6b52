/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vhdx.h - the public face of the freestanding VHDX core.
 *
 * This is the only header the platform bindings (efi/, host/) include.  The core never allocates on its own and
 * never calls out except through struct vhdx_io, which the binding fills in.
 */
#ifndef VHDX_H
#define VHDX_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define VHDX_VERSION_STRING "0.1.0"

/* One status per kind of outcome; vhdx_status_message() gives the generic text, img->msg the specific one. */
typedef enum vhdx_status {
	VHDX_OK = 0,
	VHDX_E_IO,          /* the backend failed a read, write, flush or resize */
	VHDX_E_NOMEM,       /* the backend's allocator returned NULL */
	VHDX_E_ARG,         /* the caller passed something impossible */
	VHDX_E_CORRUPT,     /* the file breaks a rule of the format */
	VHDX_E_UNSUPPORTED, /* valid VHDX, but a feature this code does not handle */
	VHDX_E_READONLY,    /* a write was needed and the medium is read-only */
	VHDX_E_LOG_PENDING, /* the log must be replayed before anything is written */
	VHDX_E_SEQUENCE,    /* the header sequence number cannot be raised */
	VHDX_E_RANGE,       /* a virtual-disk access beyond the end of the disk */
	VHDX_E_STATE,       /* the image is not open/validated for this operation */
	VHDX_E_NOTFOUND,    /* a path, device or parent that was asked for does not exist */
	VHDX_STATUS_COUNT
} vhdx_status;

const char *vhdx_status_message(vhdx_status st);

/* The I/O seam.  Every callback returns 0 on success, non-zero on failure. */
struct vhdx_io {
	void *ctx;
	uint64_t size;  /* current size of the backing file/device in bytes */
	int read_only;  /* non-zero: the core never calls write/flush/resize */
	int (*read)(void *ctx, uint64_t off, void *buf, size_t len);
	int (*write)(void *ctx, uint64_t off, const void *buf, size_t len);
	int (*flush)(void *ctx);
	int (*resize)(void *ctx, uint64_t new_size); /* optional (NULL: cannot grow); new bytes must read as 0 */
	void *(*alloc)(void *ctx, size_t len);       /* scratch memory; may return NULL */
	void (*free)(void *ctx, void *p, size_t len);
};

/* Microsoft on-disk GUID layout. */
struct vhdx_guid {
	uint32_t data1;
	uint16_t data2;
	uint16_t data3;
	uint8_t data4[8];
};

#define VHDX_GUID_TEXT 37 /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" + NUL */
int vhdx_guid_equal(const struct vhdx_guid *a, const struct vhdx_guid *b);
int vhdx_guid_is_zero(const struct vhdx_guid *g);
void vhdx_guid_format(const struct vhdx_guid *g, char out[VHDX_GUID_TEXT]);
/* RFC 4122 version 4 in the MS layout, from 16 caller-supplied random bytes. */
void vhdx_guid_from_random(struct vhdx_guid *g, const uint8_t random[16]);
void vhdx_guid_load(struct vhdx_guid *g, const void *p);
void vhdx_guid_store(void *p, const struct vhdx_guid *g);

/* CRC-32C (Castagnoli). */
uint32_t vhdx_crc32c(uint32_t crc, const void *buf, size_t len); /* crc: 0 to start, previous result to continue */
uint32_t vhdx_crc32c_portable(uint32_t crc, const void *buf, size_t len);
uint32_t vhdx_crc32c_sse42(uint32_t crc, const void *buf, size_t len); /* only if vhdx_crc32c_have_sse42() */
int vhdx_crc32c_have_sse42(void);
/* the ARMv8 CRC32C instructions (aarch64, ID_AA64ISAR0_EL1.CRC32 read at run time) */
uint32_t vhdx_crc32c_armv8(uint32_t crc, const void *buf, size_t len); /* only if vhdx_crc32c_have_armv8() */
int vhdx_crc32c_have_armv8(void);

/* A parsed header (the 80 used bytes). */
struct vhdx_header {
	uint32_t signature;
	uint32_t checksum;
	uint64_t sequence;
	struct vhdx_guid file_write_guid;
	struct vhdx_guid data_write_guid;
	struct vhdx_guid log_guid;
	uint16_t log_version;
	uint16_t version;
	uint32_t log_length;
	uint64_t log_offset;
};

/* BAT entry states. */
enum {
	VHDX_BAT_NOT_PRESENT = 0,
	VHDX_BAT_UNDEFINED = 1,
	VHDX_BAT_ZERO = 2,
	VHDX_BAT_UNMAPPED = 3,
	VHDX_BAT_FULLY_PRESENT = 6,
	VHDX_BAT_PARTIALLY_PRESENT = 7,
	VHDX_SB_PRESENT = 6
};

#define VHDX_MSG_LEN 384 /* room for both copies' reasons when both region tables are damaged */
#define VHDX_MAX_WARNINGS 8

struct vhdx_stats {
	uint64_t reads, read_bytes, writes, write_bytes, flushes;
};

/*
 * The open image.  Caller-owned storage; vhdx_open fills it in.  Fields are read-only for callers (info output),
 * except through the functions below.
 */
struct vhdx_image {
	struct vhdx_io *io;
	int validated;          /* vhdx_open succeeded */

	char creator[128];      /* file identifier creator, UTF-16LE squeezed to ASCII ('?' for others) */

	int header_valid[2];    /* signature + checksum OK */
	struct vhdx_header header[2];
	int current;            /* index of the current header (0 or 1) */

	int region_valid[2];    /* each copy of the region table passed every check */
	int region_used;        /* index of the copy used */
	uint32_t region_count;  /* entries in the copy used */
	uint64_t bat_offset, meta_offset;
	uint32_t bat_length, meta_length;

	/* metadata */
	uint32_t block_size;
	int leave_blocks_allocated;
	int has_parent;
	uint64_t virtual_size;
	struct vhdx_guid disk_id;
	uint32_t logical_sector_size;
	uint32_t physical_sector_size;
	uint32_t metadata_count;

	/* geometry */
	uint64_t chunk_ratio;
	uint64_t payload_blocks;
	uint64_t bat_entries;

	/* BAT summary (payload entries counted by state; sector-bitmap entries present) */
	uint64_t state_count[8];
	uint64_t bitmaps_present;
	uint64_t data_end;      /* end of the highest present block in the file */

	int log_pending;        /* current header's LogGuid is not zero */
	uint64_t file_size;     /* size of the file as validated: the backing size, or larger once a log is replayed */

	/* the active log sequence found by open when a log is pending (reads see it through an overlay) */
	struct vhdx_log_state {
		int active;              /* an overlay is in force: structure reads see the replayed file */
		uint64_t tail;           /* byte offset inside the log of the oldest entry to replay */
		uint64_t tail_seq, head_seq;
		uint32_t entries;        /* entries from tail to head */
		uint64_t descriptors;    /* descriptors in them */
		uint64_t zero_bytes;     /* bytes below the file's end that zero descriptors cover */
		uint64_t flushed_offset; /* the head's FlushedFileOffset */
		uint64_t last_offset;    /* the head's LastFileOffset: the file's size after replay */
		uint64_t dirty_lo, dirty_hi; /* bytes of the file the sequence touches */
	} log;

	/* outcome of the last failing call and warnings gathered during open */
	char msg[VHDX_MSG_LEN];
	unsigned warnings;
	char warning[VHDX_MAX_WARNINGS][VHDX_MSG_LEN];

	struct vhdx_stats stats;

	/* a window of BAT entries for virtual reads (allocated at open, freed at close) */
	uint64_t *batwin;
	uint64_t batwin_first;
	uint32_t batwin_count;
	uint32_t batwin_cap;

	/* differencing chains: the parsed Parent Locator (allocated at open when HasParent is set), the
	 * parent attached by vhdx_attach_parent, and the child this image serves as a parent for (never written) */
	struct vhdx_parent_locator *locator;
	struct vhdx_image *parent;
	struct vhdx_image *child;

	int data_renewed;       /* this session gave the file a new DataWriteGuid: vhdx_write may write data */
};

/* Validates the whole image; writes nothing.  On failure img->msg names the structure, field and value. */
vhdx_status vhdx_open(struct vhdx_image *img, struct vhdx_io *io);
void vhdx_close(struct vhdx_image *img);

/* Reads virtual-disk bytes at any offset and length; zeros where no data is stored. */
vhdx_status vhdx_read(struct vhdx_image *img, uint64_t off, void *buf, size_t len);

/* Where a payload block lives: state (VHDX_BAT_*) and file offset (0 when not present). */
vhdx_status vhdx_block_lookup(struct vhdx_image *img, uint64_t block, unsigned *state, uint64_t *file_off);

/*
 * The session header update: a new FileWriteGuid from 32 random bytes' first 16 (the second 16 are kept for a
 * future DataWriteGuid change), written to the non-current slot and flushed, twice.  Refuses unless the image
 * validated, is writable, has no pending log and its sequence number can be raised by two.
 */
vhdx_status vhdx_session_update(struct vhdx_image *img, const uint8_t random[32]);

/*
 * Log replay: applies the active log sequence to the file, growing it when the log says so (io->resize), then
 * clears LogGuid in both headers.  FileWriteGuid and DataWriteGuid get new values from the random bytes before the
 * first write.  Restartable: an interruption at any point leaves a file that opens and replays again.
 */
vhdx_status vhdx_replay(struct vhdx_image *img, const uint8_t random[32]);

/*
 * Preparing to write: the one rule every binding follows before its first write to an image.  A pending
 * log is replayed first (the format demands it), then the session update gives the file a new FileWriteGuid.
 *
 * The random bytes, VHDX_PREPARE_RANDOM of them from a real random source (never a fixed or guessable value: the
 * GUIDs tell other writers the file changed):
 *   bytes  0..31  the session update (0..15 the new FileWriteGuid; 16..31 the new DataWriteGuid of
 *                vhdx_prepare_write_data)
 *   bytes 32..63  the log replay, when one is pending (32..47 its FileWriteGuid, 48..63 its DataWriteGuid)
 * The report says what was done, so a binding can print the replay and the update as separate steps; on failure
 * replay_failed tells which step the status and img->msg belong to.  Nothing is written when the image is not
 * writable or its sequence number cannot be raised.
 */
#define VHDX_PREPARE_RANDOM 64
struct vhdx_prepare_report {
	uint64_t sequence_before;   /* the current header's sequence number before anything was written */
	uint64_t sequence_replayed; /* the same after the replay (when replayed) */
	uint32_t entries;           /* log entries the replay applied */
	int replayed;               /* a pending log was replayed */
	int replay_failed;          /* the returned failure is the replay's (0: the session update's) */
};
vhdx_status vhdx_prepare_write(struct vhdx_image *img, const uint8_t random[VHDX_PREPARE_RANDOM],
			       struct vhdx_prepare_report *report);
/* The same, with vhdx_session_update_data's new DataWriteGuid (before a user-visible write). */
vhdx_status vhdx_prepare_write_data(struct vhdx_image *img, const uint8_t random[VHDX_PREPARE_RANDOM],
				    struct vhdx_prepare_report *report);

/*
 * The session update before a user-visible write (an OS mounting its root read-write): as
 * vhdx_session_update, and also a new DataWriteGuid from random[16..31].
 */
vhdx_status vhdx_session_update_data(struct vhdx_image *img, const uint8_t random[32]);

/*
 * Writing virtual-disk bytes in place (core/datawrite.c): only into FULLY_PRESENT blocks, only after this
 * session's vhdx_session_update_data (or vhdx_prepare_write_data) gave the file a new DataWriteGuid, never with a
 * pending log or into a parent.  Every block of the range is checked before the first byte is written; a refusal
 * (VHDX_E_READONLY) fills why with the first block that cannot be written and its state.  Data written in place
 * needs no log (no metadata changes); vhdx_write_flush makes it durable.
 */
struct vhdx_write_refusal {
	int refused;     /* a block of the range is not FULLY_PRESENT */
	uint64_t block;  /* that payload block */
	unsigned state;  /* its VHDX_BAT_* state */
};
vhdx_status vhdx_write(struct vhdx_image *img, uint64_t off, const void *buf, size_t len,
		       struct vhdx_write_refusal *why);
vhdx_status vhdx_write_flush(struct vhdx_image *img);
const char *vhdx_bat_state_name(unsigned state); /* "FULLY_PRESENT", "NOT_PRESENT", ... */

/*
 * Allocation.  Makes every payload block that the byte range [offset, offset + length) of the virtual
 * disk touches present and zero-filled (NOT_PRESENT, UNDEFINED, ZERO and UNMAPPED blocks; present blocks keep
 * their data), so that the range can be mapped read-write.  New blocks go after every used byte of the file, 1 MiB
 * aligned, in block order; a file grows (io->resize: the new bytes read as zero), a device must already have the
 * room (the bytes reused are zeroed) or the call refuses before writing anything.  The BAT changes go through the
 * log: random[0..15] is the new FileWriteGuid, random[16..31] the LogGuid; the header sequence number rises by 4.  The DataWriteGuid is kept: the virtual
 * disk reads the same before and after.  Refuses differencing images, a pending log (replay first) and read-only
 * media.  After a failure that wrote something, close and reopen the image (it opens; a pending log replays).
 */
struct vhdx_allocate_opts {
	uint32_t entry_sectors; /* longest log entry in 4 KiB sectors (0: default); tests force several entries */
	uint32_t log_start;     /* ring sector of the first entry (0); tests start near the end to wrap */
};

struct vhdx_allocate_result {
	uint64_t blocks;       /* blocks made present */
	uint64_t present;      /* blocks of the range that were present already */
	uint64_t first_offset; /* file offset of the first new block */
	uint64_t grown;        /* bytes the file grew */
	uint64_t zeroed;       /* bytes of existing space written with zeros */
	uint64_t entries;      /* log entries written */
};

vhdx_status vhdx_allocate(struct vhdx_image *img, uint64_t offset, uint64_t length, const uint8_t random[32],
			  const struct vhdx_allocate_opts *opts, struct vhdx_allocate_result *res);

/*
 * The project's one formatter (core/fmt.c): C printf's meanings for flags '0' '-', width, l/ll/z, and s (ls: a
 * CHAR16 string), c, d, i, u, x, X, p, %%; a GUID goes through vhdx_guid_format and %s.  Always NUL-terminates;
 * returns the length the whole text would have.  VHDX_PRINTF lets the compiler check every caller's arguments.
 */
#define VHDX_PRINTF(f, a) __attribute__((format(printf, f, a)))
size_t vhdx_vfmt(char *buf, size_t size, const char *fmt, va_list ap) VHDX_PRINTF(3, 0);
size_t vhdx_fmt(char *buf, size_t size, const char *fmt, ...) VHDX_PRINTF(3, 4);

/* Creating an image. */
#define VHDX_SOURCE_ZEROS 1
struct vhdx_create_params {
	uint64_t virtual_size;      /* bytes, multiple of logical_sector_size */
	uint32_t block_size;        /* 0: 32 MiB default; power of two 1..256 MiB */
	uint32_t logical_sector_size;  /* 512 or 4096 (0: 512) */
	uint32_t physical_sector_size; /* 512 or 4096 (0: 4096) */
	uint32_t log_size;          /* 0: 1 MiB; multiple of 1 MiB */
	int fixed;                  /* all blocks allocated and FULLY_PRESENT */
	/* optional content: called for each piece of the disk in order, at most 1 MiB and never across a payload
	 * block's end (a block is read and written a piece at a time, while the piece is in the CPU's cache); NULL
	 * means all zeros.  Returns 0 (buf filled), VHDX_SOURCE_ZEROS (the piece is all zeros; buf untouched: a
	 * sparse source's hole is neither read nor scanned), or -1 (failed) */
	int (*source)(void *ctx, uint64_t off, void *buf, size_t len);
	void *source_ctx;
	uint8_t random[64];         /* FileWriteGuid, DataWriteGuid, disk ID, spare */
	/* differencing chains: a Parent Locator item (vhdx_locator_build) makes a differencing image with
	 * every block NOT_PRESENT and a zeroed sector bitmap block per chunk (core/create.c, cr_bitmap); not with
	 * fixed or source */
	const uint8_t *parent_locator;
	uint32_t parent_locator_len;
};

/* Writes a new image through io (which must be empty or will be overwritten); msg gets the reason on failure. */
vhdx_status vhdx_create(struct vhdx_io *io, const struct vhdx_create_params *p, char *msg, size_t msglen);

/* ---- boot-time integrity (SHA-256, the whole-disk digest, the measurement event) ---- */

/* SHA-256 (FIPS 180-4).  init, any number of updates, final (which wipes the state). */
#define VHDX_SHA256_SIZE 32
#define VHDX_SHA256_BLOCK 64
#define VHDX_SHA256_HEX 65 /* 64 lower-case hex digits + NUL */
struct vhdx_sha256 {
	uint32_t h[8];
	uint64_t bytes; /* message length so far */
	uint8_t buf[VHDX_SHA256_BLOCK];
	size_t fill;    /* bytes waiting in buf */
};
void vhdx_sha256_init(struct vhdx_sha256 *c);
void vhdx_sha256_update(struct vhdx_sha256 *c, const void *data, size_t len);
void vhdx_sha256_final(struct vhdx_sha256 *c, uint8_t out[VHDX_SHA256_SIZE]);
/* the same as vhdx_sha256_update with n zero bytes, without a buffer of them */
void vhdx_sha256_zeros(struct vhdx_sha256 *c, uint64_t n);
void vhdx_sha256(const void *data, size_t len, uint8_t out[VHDX_SHA256_SIZE]);
void vhdx_sha256_hex(const uint8_t digest[VHDX_SHA256_SIZE], char out[VHDX_SHA256_HEX]);
/* The compression path.  AUTO (the default) takes the CPU's instructions where it has them (the x86 SHA
 * extensions, the ARMv8 SHA-2 instructions; detected at run time), else portable C.  Every path gives the same
 * digests; forcing one is for tests and benches.  set_impl: 0, or -1 (nothing changed) when the CPU lacks it. */
enum vhdx_sha256_impl { VHDX_SHA256_AUTO, VHDX_SHA256_PORTABLE, VHDX_SHA256_SHANI, VHDX_SHA256_ARMV8 };
int vhdx_sha256_set_impl(enum vhdx_sha256_impl which);
enum vhdx_sha256_impl vhdx_sha256_get_impl(void); /* the path in use, never AUTO */
const char *vhdx_sha256_impl_name(enum vhdx_sha256_impl which); /* "portable", "sha-ni", "armv8", "auto" */
/* 64 hex digits (either case), nothing else: 0; otherwise -1 */
int vhdx_sha256_parse_hex(const char *text, size_t len, uint8_t out[VHDX_SHA256_SIZE]);

/* GUID text "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (braces allowed, either case) as vhdx_guid_format writes it:
 * 0, or -1 when it is not exactly that. */
int vhdx_guid_parse(const char *text, size_t len, struct vhdx_guid *g);

/*
 * The SHA-256 of the whole virtual disk (what `vhdx export` writes, byte for byte), fed into ctx, which the caller
 * initialised and finalises.  Blocks that store no data (NOT_PRESENT, ZERO, UNMAPPED, UNDEFINED) are hashed as
 * zeros without reading the file.  buf (buflen bytes, at least 4096) is scratch for the blocks that are read, one
 * vhdx_read of up to buflen bytes at a time (so a large buffer means few, large reads).  progress, when not NULL,
 * is called after every read and every block of zeros with the bytes hashed so far and the virtual size.
 */
typedef void (*vhdx_progress_fn)(void *arg, uint64_t done, uint64_t total);
vhdx_status vhdx_digest_virtual(struct vhdx_image *img, struct vhdx_sha256 *ctx, void *buf, size_t buflen,
				vhdx_progress_fn progress, void *arg);
/*
 * The pieces vhdx_digest_virtual hashes, for a caller that reads them its own way (`vhdx seal` reads on a second
 * thread): from off (below the virtual size) the longest stretch of whole blocks of one kind, *len bytes
 * (to the end of a block, or of the disk), and *stored = 1 when it must be read with vhdx_read, 0 when it reads
 * as zeros without touching the file.
 */
vhdx_status vhdx_digest_piece(struct vhdx_image *img, uint64_t off, uint64_t *len, int *stored);

/*
 * The measurement event: what vhdxboot extends into the TPM for the image it validated, and what `vhdx seal`
 * predicts.  A fixed layout of VHDX_MEASURE_EVENT_SIZE bytes, all integers little-endian, GUIDs in the MS on-disk
 * layout (as in the VHDX headers and metadata):
 *    0  8   signature "VHDXIMG\0"
 *    8  u16 version (1)
 *   10  u16 flags: bit 0 = the content digest at 72 is present (otherwise those 32 bytes are zero)
 *   12  u32 size of the event (104)
 *   16  16  VirtualDiskId (metadata "Page 83 data")
 *   32  u64 virtual size in bytes
 *   40  u32 block size     44 u32 logical sector size     48 u32 physical sector size     52 u32 reserved (0)
 *   56  16  DataWriteGuid of the current header (changes only when user-visible data changes)
 *   72  32  SHA-256 of the whole virtual disk
 * FileWriteGuid and the sequence number change at every session and are left out on purpose.  The TPM is
 * extended with the SHA-256 (and each other active bank's hash) of exactly these bytes.
 */
#define VHDX_MEASURE_EVENT_SIZE 104
#define VHDX_MEASURE_VERSION 1
#define VHDX_MEASURE_HAS_SHA256 1u
/* PCR 9 and EV_IPL: see efi/measure.c for why */
#define VHDX_MEASURE_PCR 9
#define VHDX_MEASURE_EVENT_TYPE 0x0000000Du
void vhdx_measure_event(const struct vhdx_image *img, const uint8_t *content_sha256,
			uint8_t out[VHDX_MEASURE_EVENT_SIZE]);

/*
 * Differencing chains.  The platform finds and opens every parent itself (read-only) and hands it to the
 * core; the core checks that it is the parent the child names and reads through it.  Reads of a child fall through
 * to its parent block by block (NOT_PRESENT) or sector by sector (PARTIALLY_PRESENT, through the sector bitmap);
 * ZERO, UNMAPPED and UNDEFINED blocks of a child read as zeros, as in any other image.
 */
#define VHDX_CHAIN_MAX_DEPTH 16      /* parents below the child that is read; a deeper chain is refused */
#define VHDX_LOCATOR_PATH_MAX 1024   /* bytes of a path value in UTF-8, NUL included; longer is unsupported */

enum {
	VHDX_LOC_LINKAGE = 1,        /* parent_linkage */
	VHDX_LOC_LINKAGE2 = 2,       /* parent_linkage2 */
	VHDX_LOC_RELATIVE = 4,       /* relative_path */
	VHDX_LOC_VOLUME = 8,         /* volume_path */
	VHDX_LOC_ABSOLUTE = 16       /* absolute_win32_path */
};

struct vhdx_parent_locator {
	unsigned keys;                  /* VHDX_LOC_* present */
	unsigned unknown_keys;          /* entries with other keys (kept out, counted) */
	struct vhdx_guid linkage;       /* the parent's DataWriteGuid */
	struct vhdx_guid linkage2;      /* an alternative accepted value, when present */
	char relative_path[VHDX_LOCATOR_PATH_MAX];       /* UTF-8, as stored: "\\" separators */
	char volume_path[VHDX_LOCATOR_PATH_MAX];
	char absolute_win32_path[VHDX_LOCATOR_PATH_MAX];
};

/*
 * Parses a Parent Locator metadata item of len bytes (vhdx_open does this for a differencing image).  On failure
 * img->msg names the entry, the field and the value; img is used for the message only.
 */
vhdx_status vhdx_locator_parse(struct vhdx_image *img, const uint8_t *item, uint32_t len,
			       struct vhdx_parent_locator *loc);

/*
 * Makes parent the parent of child.  Both must be open; parent's backend must be read-only (a parent is never
 * written).  Refused: a child without HasParent or with a parent already, a parent whose DataWriteGuid is neither
 * parent_linkage nor parent_linkage2, a different virtual size or logical sector size, the same image twice in
 * the chain (by pointer, or by VirtualDiskId and DataWriteGuid), a chain deeper than VHDX_CHAIN_MAX_DEPTH.
 * The refusal is in child->msg.  vhdx_close of the child does not close the parent.
 */
vhdx_status vhdx_attach_parent(struct vhdx_image *child, struct vhdx_image *parent);

/*
 * Builds a Parent Locator item in out (cap bytes): parent_linkage from the parent's DataWriteGuid, then each path
 * that is not NULL or empty (UTF-8, stored as UTF-16LE).  Returns its length, or 0 if it does not fit in cap or
 * a path is not valid UTF-8.
 */
uint32_t vhdx_locator_build(uint8_t *out, uint32_t cap, const struct vhdx_guid *linkage, const char *relative_path,
			    const char *volume_path, const char *absolute_win32_path);
#define VHDX_LOCATOR_BUILD_MAX (60 * 1024) /* the largest locator vhdx_create writes */

/*
 * Where virtual bytes live (core/extent.c), for callers that point at the files themselves (`vhdx map`):
 * the bytes from off on (len > 0, inside the virtual disk) come from one level of the chain - 0 the image asked,
 * 1 its parent, and so on - at file_off in that level's file, for ext->len bytes (1 to len, never past a block of
 * any level passed through); or read as zeros (image NULL).  The same answer vhdx_read acts on: FULLY_PRESENT
 * blocks, PARTIALLY_PRESENT blocks run by run through the sector bitmap, else the parent.  Call again from
 * off + ext->len for the rest.
 */
struct vhdx_extent {
	const struct vhdx_image *image; /* the level holding the bytes; NULL: zeros */
	unsigned level;                 /* 0: img, 1: its parent, ... (the level passed last when image is NULL) */
	uint64_t file_off;              /* in image's file */
	uint64_t len;                   /* bytes */
};
vhdx_status vhdx_extent(struct vhdx_image *img, uint64_t off, uint64_t len, struct vhdx_extent *ext);

#endif
