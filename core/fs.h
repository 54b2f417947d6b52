/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fs.h - read-only file locators: where the bytes of one file lie on a partition, without a file-system driver.
 *
 * The boot module and the Linux tool both need a VHDX *file* on NTFS, exFAT, ext4 or FAT32 as a list of byte
 * ranges on the raw partition: the firmware to read and update the image through them, Linux to compose them with
 * the VHDX block map into one device-mapper table.  Both run this code, so they agree on the extents by
 * construction.
 *
 * A locator reads the partition only through the caller's struct vhdx_io (read only: it never calls write, flush
 * or resize), takes scratch memory only from io->alloc, and reads only what the lookup needs: the boot sector or
 * superblock, the directories on the path (their indexes where the format has them) and the file's own allocation
 * records, never a whole MFT, FAT or inode table.  The partition is hostile input like an image: every count,
 * offset and chain is bounded, cycles and cross-links are refused, and a refusal sets out->msg naming structure,
 * field and value.
 *
 * A file is served only if raw extents serve it exactly: compressed, encrypted or sparse NTFS files, resident or
 * inline data, ext4 unwritten extents, holes, allocation outside the partition are refused (VHDX_E_UNSUPPORTED
 * for a valid file this cannot serve, VHDX_E_CORRUPT for a broken structure, VHDX_E_NOTFOUND for a missing path).
 */
#ifndef VHDX_FS_H
#define VHDX_FS_H

#include "vhdx.h"

enum vhdx_fs_kind {
	VHDX_FS_UNKNOWN = 0,
	VHDX_FS_FAT,   /* FAT32 (FAT12/16 are refused: no VHDX fits) */
	VHDX_FS_EXFAT,
	VHDX_FS_NTFS,
	VHDX_FS_EXT4,  /* ext4, and ext2/ext3 where the file uses block maps */
};

/* Why a volume is not fit for writes that bypass its driver (out->fs_flags). */
enum {
	VHDX_FS_DIRTY = 1u << 0,       /* the volume's own dirty/unclean flag is set (exFAT VolumeDirty, FAT32's
					  clean-shutdown bit of FAT[1] clear or the dirty bit Linux sets in the boot
					  sector's byte 0x41, NTFS $Volume dirty, ext4 s_state not clean or with errors) */
	VHDX_FS_HIBERNATED = 1u << 1,  /* NTFS with a live hiberfil.sys (Windows hibernation or "fast startup") */
	VHDX_FS_RECOVERY = 1u << 2,    /* ext4 with a journal that needs recovery (INCOMPAT_RECOVER) */
};

/* One run of the file: bytes [file_offset, file_offset + length) are at part_offset on the partition. */
struct vhdx_fs_extent {
	uint64_t file_offset;
	uint64_t part_offset;
	uint64_t length;
};

/*
 * What a lookup answers.  The caller sets extents and extent_max; the locator fills the rest.  The extents are in
 * file order, adjacent runs merged, and cover [0, size) exactly (the last one is cut at size).
 */
struct vhdx_fs_file {
	enum vhdx_fs_kind kind;
	uint64_t size;                    /* the file's length in bytes */
	struct vhdx_fs_extent *extents;   /* caller's array */
	uint32_t extent_max;              /* its length; more extents than this is VHDX_E_UNSUPPORTED, named */
	uint32_t extent_count;
	uint32_t fs_flags;                /* VHDX_FS_DIRTY ... */
	uint32_t cluster_size;            /* the allocation unit, bytes */
	uint64_t bytes_read;              /* what the lookup read from the partition (for the benchmarks) */
	uint32_t reads;                   /* in how many read calls */
	char msg[256];                    /* the reason of a refusal; a note on success may be left here too */
};

/* Which file system the partition holds (reads its first sectors); VHDX_FS_UNKNOWN when none of the four. */
vhdx_status vhdx_fs_probe(const struct vhdx_io *part, enum vhdx_fs_kind *kind, char msg[256]);

/*
 * Finds path on the partition and fills *out.  path: UTF-8, components separated by '/' or '\', a leading
 * separator optional; names compare as the file system does (FAT, exFAT and NTFS without regard to case; ext4
 * exactly).  The kind is probed first.  FAT and exFAT fold case by simple rules (fsutil.c: ASCII, Latin-1,
 * Latin Extended-A, Greek, Cyrillic), not exFAT's up-case table; a FAT name matches its long name or its 8.3
 * name (ASCII 8.3 names only).
 */
vhdx_status vhdx_fs_locate(const struct vhdx_io *part, const char *path, struct vhdx_fs_file *out);

/* The same for one known kind (the probe already done); vhdx_fs_locate dispatches to these. */
vhdx_status vhdx_fat_locate(const struct vhdx_io *part, const char *path, struct vhdx_fs_file *out);
vhdx_status vhdx_exfat_locate(const struct vhdx_io *part, const char *path, struct vhdx_fs_file *out);
vhdx_status vhdx_ntfs_locate(const struct vhdx_io *part, const char *path, struct vhdx_fs_file *out);
vhdx_status vhdx_ext4_locate(const struct vhdx_io *part, const char *path, struct vhdx_fs_file *out);

const char *vhdx_fs_kind_name(enum vhdx_fs_kind kind); /* "fat32", "exfat", "ntfs", "ext4", "unknown" */

#endif
