/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fsutil.h - what the file locators (fat.c, exfat.c, ext4.c, ntfs.c) share: counted, bounds-checked reads of the
 * partition, refusals with a message, the extent list, path components and name comparison.
 */
#ifndef VHDX_FSUTIL_H
#define VHDX_FSUTIL_H

#include "fs.h"
#include "internal.h"

#define VHDX_FS_NAME_MAX 255 /* UTF-16 units of one name (FAT LFN, exFAT, NTFS); ext4 bytes */

/* Clears the result fields of *out (keeps extents and extent_max) and sets its kind. */
void vhdx_fsu_reset(struct vhdx_fs_file *out, enum vhdx_fs_kind kind);

/* Sets out->msg and returns st. */
vhdx_status vhdx_fsu_fail(struct vhdx_fs_file *out, vhdx_status st, const char *fmt, ...) VHDX_PRINTF(3, 4);

/*
 * Reads [off, off + len) of the partition; what names the structure for the message.  Refuses (VHDX_E_CORRUPT)
 * a range beyond the partition without calling the backend, counts bytes_read and reads.
 */
vhdx_status vhdx_fsu_read(const struct vhdx_io *io, struct vhdx_fs_file *out, uint64_t off, void *buf, size_t len,
			  const char *what);

/* Scratch from io->alloc (NULL: out->msg set, VHDX_E_NOMEM through vhdx_fsu_nomem); free with the same length. */
void *vhdx_fsu_alloc(const struct vhdx_io *io, size_t len);
void vhdx_fsu_free(const struct vhdx_io *io, void *p, size_t len);
vhdx_status vhdx_fsu_nomem(struct vhdx_fs_file *out, size_t len, const char *what);

/*
 * Appends a run of the file: file bytes [file_off, file_off + len) at part_off.  Runs must come in file order
 * without a gap (anything else is VHDX_E_CORRUPT naming `what`); the part past out->size is dropped; adjacent
 * runs merge; a run reaching beyond the partition is refused.  More than extent_max extents: VHDX_E_UNSUPPORTED.
 */
vhdx_status vhdx_fsu_extent(const struct vhdx_io *io, struct vhdx_fs_file *out, uint64_t file_off, uint64_t part_off,
			    uint64_t len, const char *what);
/* Bytes of the file the extents cover so far (the end of the last one). */
uint64_t vhdx_fsu_covered(const struct vhdx_fs_file *out);

/*
 * Path components: *p points into the path; returns 1 and sets name/len to the next component (separators '/'
 * and '\' skipped), 0 at the end.  "." and ".." are components like any other (the callers refuse them).
 */
int vhdx_fsu_component(const char **p, const char **name, size_t *len);
/* A component (not NUL-terminated) as text for a message's %s: at most 80 bytes of it, the buffer living to the
 * end of the enclosing statement (the formatter has no precision for %s). */
#define VHDX_FSU_NAME_TEXT 84
const char *vhdx_fsu_name(const char *name, size_t len, char *text);
#define VHDX_FSU_NAME(n, l) vhdx_fsu_name((n), (l), (char[VHDX_FSU_NAME_TEXT]){ 0 })

/* A component as UTF-16 units, each case-folded (vhdx_fsu_fold); -1 for bad UTF-8 or more than 255 units. */
int vhdx_fsu_utf16(const char *name, size_t len, uint16_t out[VHDX_FS_NAME_MAX], unsigned *n);
/*
 * Simple case folding to upper case, as the FAT and exFAT drivers compare names: ASCII, Latin-1, Latin
 * Extended-A pairs, Greek and Cyrillic.  Outside those a unit compares as itself (exFAT's up-case table may fold
 * more: such a name is then not found rather than a wrong one found).
 */
uint16_t vhdx_fsu_fold(uint16_t c);

/*
 * The probe's tests, one per locator (NTFS's is in fs.c, so its locator stays one entry point): does the start of the partition (first, len bytes, at least 4 KiB when the
 * partition has them) hold a sane boot sector or superblock of that file system?  The same checks the locator
 * makes before it reads on.
 */
int vhdx_fat_recognise(const uint8_t *first, size_t len);
int vhdx_exfat_recognise(const uint8_t *first, size_t len);
int vhdx_ext4_recognise(const uint8_t *first, size_t len);

#endif
