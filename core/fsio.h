/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fsio.h - a VHDX file on a file system, read and written through its extents on the raw partition.
 *
 * A locator (fs.h) answers where a file's bytes lie.  This turns that answer into the core's I/O seam: a struct
 * vhdx_io the size of the file whose offsets are the file's, served by the partition's own vhdx_io.  The core then
 * opens, checks, replays and updates the image exactly as it does a file or a disk, and no byte outside the
 * file's extents can be reached: an access past the file's end fails before the partition is touched, and the
 * file can never grow (there is no resize), because growing it would need the file system's allocator.
 *
 * The same run splitter serves Linux: a device-mapper table for a VHDX file is the VHDX's own table (runs of the
 * file) cut again at the file's extent boundaries (vhdx_fs_runs).
 */
#ifndef VHDX_FSIO_H
#define VHDX_FSIO_H

#include "fs.h"

struct vhdx_fs_io {
	struct vhdx_io io;               /* what the core is given; io.ctx points back here */
	const struct vhdx_io *part;      /* the partition */
	const struct vhdx_fs_file *file; /* its extents: sorted, contiguous from 0, covering [0, file->size) */
	uint32_t hint;                   /* the extent the last access ended in (accesses are mostly sequential) */
};

/*
 * Fills *fio so that fio->io reads (and, unless read_only or the partition is read-only, writes) the file.  The
 * extents must be as a locator returns them; VHDX_E_ARG names the first that is not (a gap, an overlap, a run
 * beyond the partition, a total that is not the file's size).
 */
vhdx_status vhdx_fs_io_init(struct vhdx_fs_io *fio, const struct vhdx_io *part, const struct vhdx_fs_file *file,
			    int read_only, char msg[256]);

/*
 * Calls fn once for each piece of [off, off + len) of the file, in order, with the piece's partition offset, its
 * file offset and its length; stops at the first non-zero return and returns it.  Returns -1 (calling nothing)
 * when the range goes past the end of the file.
 */
int vhdx_fs_runs(const struct vhdx_fs_file *file, uint64_t off, uint64_t len,
		 int (*fn)(void *arg, uint64_t part_off, uint64_t file_off, uint64_t len), void *arg);

#endif
