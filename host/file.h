/* SPDX-License-Identifier: BSD-2-Clause */
/* file.h - the POSIX binding: struct vhdx_io over a file descriptor, and the host's source of randomness. */
#ifndef HOST_FILE_H
#define HOST_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "vhdx.h"

struct host_file {
	struct vhdx_io io;
	const char *path;
	int fd;
	int is_reg;   /* a regular file (ftruncate works, holes are possible) */
	int is_blk;   /* a block device */
	int err;      /* errno of the last failing callback, 0 if none */
	int grow_written; /* growth writes zeros (real storage) instead of leaving a hole (cb_resize) */
	struct host_fsview *view; /* set when the image is a file inside a partition's file system (fsview.c) */
};

/* Open modes. */
enum {
	HOST_RDONLY,    /* info, check, export */
	HOST_RDWR,      /* session: falls back to read-only (io.read_only = 1) when the medium refuses writes */
	HOST_CREATE     /* create: a new file (O_EXCL) */
};

/*
 * Returns 0 or an errno value; on success f->io is ready to hand to the core.  path may also be a file inside a
 * partition's file system, PARTITION/PATH (fsview.c); host_raw_open takes only a file or a device (file.c).
 */
int host_file_open(struct host_file *f, const char *path, int mode);
int host_raw_open(struct host_file *f, const char *path, int mode);
/* Returns 0 or an errno value (from close). */
int host_file_close(struct host_file *f);
int host_raw_close(struct host_file *f);
/* Reads exactly len bytes at off, zero-filling past the end of the file; 0 or an errno value. */
int host_file_read_fill(struct host_file *f, uint64_t off, void *buf, size_t len);

/* fsview.c: why the last open of a PARTITION/PATH failed (NULL when the path was not of that form). */
struct vhdx_fs_file;
const char *host_fsview_message(void);
/* Says why host_file_open(path) failed with e (the locator's reason where it was a path inside a partition) and
 * returns the exit status: 1 for a refusal or a missing file inside a partition, 2 otherwise. */
int host_open_failed(const char *path, int e);
/* The located file behind f and its partition's path, or NULL when f is an ordinary file or device. */
const struct vhdx_fs_file *host_fsview_file(const struct host_file *f, const char **container);

/* How many extents a regular file has on its file system (FIEMAP), or -1 where that cannot be told. */
int host_file_extents(const struct host_file *f);

/* Writes all of buf to fd (at off when off >= 0, else at the current position); 0 or an errno value. */
int host_write_all(int fd, const void *buf, size_t len, int64_t off);

/* Fills buf with random bytes from getrandom(2); 0 or an errno value. */
int host_random(void *buf, size_t len);

#endif
