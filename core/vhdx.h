/*
 * vhdx.h - the public face of the freestanding VHDX core.
 *
 * This is the only header the platform bindings (efi/, host/) include.  The core never allocates on its own and
 * never calls out except through struct vhdx_io, which the binding fills in.
 */
#ifndef VHDX_H
#define VHDX_H

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
 * Issue 10: the session update before a user-visible write (an OS mounting its root read-write): as
 * vhdx_session_update, and also a new DataWriteGuid from random[16..31].
 */
vhdx_status vhdx_session_update_data(struct vhdx_image *img, const uint8_t random[32]);

/*
 * Issue 10: allocation.  Makes every payload block that the byte range [offset, offset + length) of the virtual
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

/* Creating an image. */
struct vhdx_create_params {
	uint64_t virtual_size;      /* bytes, multiple of logical_sector_size */
	uint32_t block_size;        /* 0: 32 MiB default; power of two 1..256 MiB */
	uint32_t logical_sector_size;  /* 512 or 4096 (0: 512) */
	uint32_t physical_sector_size; /* 512 or 4096 (0: 4096) */
	uint32_t log_size;          /* 0: 1 MiB; multiple of 1 MiB */
	int fixed;                  /* all blocks allocated and FULLY_PRESENT */
	/* optional content: called for each block-sized piece in order; NULL means all zeros */
	int (*source)(void *ctx, uint64_t off, void *buf, size_t len);
	void *source_ctx;
	uint8_t random[64];         /* FileWriteGuid, DataWriteGuid, disk ID, spare */
};

/* Writes a new image through io (which must be empty or will be overwritten); msg gets the reason on failure. */
vhdx_status vhdx_create(struct vhdx_io *io, const struct vhdx_create_params *p, char *msg, size_t msglen);

#endif
