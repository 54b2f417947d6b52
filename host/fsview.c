/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fsview.c - an IMAGE path that goes through a partition: `/dev/sda2/images/debian.vhdx`.
 *
 * People keep VHDX files on NTFS, exFAT, ext4 and FAT32, and the initramfs must reach them before anything is
 * mounted (and Linux has no NTFS driver of its own in Debian's kernel).  So every command that takes an IMAGE also
 * accepts a block device (or a file holding a partition image) followed by the file's path inside that partition's
 * file system.  Such a path cannot name anything else: a device or a regular file has no children, so opening it
 * fails with ENOTDIR, and only then is it read this way.  host_file_open and host_file_close, which every
 * command uses, are here for that reason: they open a file or a device through file.c, else a file inside one.  The core's locator (core/fs.h) finds the file's extents
 * and core/fsio.c serves the image through them, so the tool reads and writes exactly the bytes the firmware does,
 * and never a byte of the file system outside the file.
 *
 * A volume that is not fit for writes behind its driver's back (dirty, hibernated, a journal to recover) is opened
 * read-only, with a message that says why and what to do.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "file.h"
#include "fsio.h"
#include "host.h"

#define FSVIEW_EXTENT_MAX (1u << 20) /* more fragments than this is refused by the locator, naming the count */

struct host_fsview {
	struct host_file part;     /* the partition: a block device or a file holding one */
	struct vhdx_fs_file file;  /* where the image's bytes lie on it */
	struct vhdx_fs_io fio;     /* the core's I/O seam over those bytes */
	char *container;           /* the partition's path */
	char msg[1024];            /* why the last open failed, for host_fsview_message */
};

static char last_msg[1024]; /* why the last open through a partition failed */

/* The longest proper prefix of path that exists and is not a directory (malloc'd), and the rest after it. */
static char *split(const char *path, const char **inner)
{
	size_t len = strlen(path);
	char *c = strdup(path);
	struct stat st;

	if (!c)
		return NULL;
	for (size_t i = len; i > 1; i--) {
		if (c[i - 1] != '/' || i == len)
			continue;
		c[i - 1] = 0;
		if (stat(c, &st) == 0) {
			if (S_ISBLK(st.st_mode) || S_ISREG(st.st_mode)) {
				*inner = path + i;
				return c;
			}
			break; /* a directory or something else: an ordinary missing path */
		}
		c[i - 1] = '/';
	}
	free(c);
	return NULL;
}

static const char *flags_text(uint32_t flags)
{
	if (flags & VHDX_FS_HIBERNATED)
		return "the NTFS volume is hibernated (Windows hibernation or \"fast startup\"): shut Windows down "
		       "fully (shutdown /s /t 0, or turn fast startup off) before writing to it";
	if (flags & VHDX_FS_RECOVERY)
		return "the ext4 journal needs recovery: run e2fsck on the partition (or mount it once) before writing";
	return "the volume's dirty flag is set: check it with its own tool (chkdsk, fsck.exfat, fsck.vfat, e2fsck) "
	       "before writing";
}

static int fail(struct host_fsview *v, int e)
{
	snprintf(last_msg, sizeof last_msg, "%s", v->msg);
	host_raw_close(&v->part);
	free(v->file.extents);
	free(v->container);
	free(v);
	return e;
}

static int fsview_open(struct host_file *f, const char *path, int mode)
{
	const char *inner = NULL;
	struct host_fsview *v;
	vhdx_status st;
	int e;

	last_msg[0] = 0;
	if (mode != HOST_RDONLY && mode != HOST_RDWR)
		return ENOTDIR;
	v = calloc(1, sizeof(*v));
	if (!v)
		return ENOMEM;
	v->container = split(path, &inner);
	if (!v->container) {
		free(v);
		return ENOTDIR;
	}
	e = host_raw_open(&v->part, v->container, mode);
	if (e) {
		snprintf(v->msg, sizeof v->msg, "%s: %s", v->container, strerror(e));
		return fail(v, e);
	}
	v->file.extents = calloc(FSVIEW_EXTENT_MAX, sizeof(*v->file.extents));
	v->file.extent_max = FSVIEW_EXTENT_MAX;
	if (!v->file.extents)
		return fail(v, ENOMEM);
	st = vhdx_fs_locate(&v->part.io, inner, &v->file);
	if (st) {
		snprintf(v->msg, sizeof v->msg, "%s on %s: %s", inner, v->container, v->file.msg);
		return fail(v, st == VHDX_E_NOTFOUND ? ENOENT : st == VHDX_E_IO ? EIO : EINVAL);
	}
	int ro = mode == HOST_RDONLY;
	if (!ro && v->file.fs_flags) {
		fprintf(stderr, "vhdx: %s: opened read-only: %s\n", v->container, flags_text(v->file.fs_flags));
		ro = 1;
	}
	st = vhdx_fs_io_init(&v->fio, &v->part.io, &v->file, ro, v->msg);
	if (st)
		return fail(v, EINVAL);
	memset(f, 0, sizeof(*f));
	f->path = path;
	f->fd = v->part.fd; /* for identity checks (fstat) only: reads and writes go through f->io */
	f->io = v->fio.io;
	f->view = v;
	return 0;
}

int host_open_failed(const char *path, int e)
{
	if (last_msg[0]) { /* a file inside a partition: its locator's reason, a refusal rather than a usage error */
		host_error(path, "%s", last_msg);
		return e == EIO || e == ENOMEM ? EXIT_USAGE : EXIT_BAD;
	}
	host_error(path, "%s", strerror(e));
	return EXIT_USAGE;
}

const char *host_fsview_message(void)
{
	return last_msg[0] ? last_msg : NULL;
}

const struct vhdx_fs_file *host_fsview_file(const struct host_file *f, const char **container)
{
	if (!f->view)
		return NULL;
	if (container)
		*container = f->view->container;
	return &f->view->file;
}

static int fsview_close(struct host_file *f)
{
	struct host_fsview *v = f->view;
	int e;

	if (!v)
		return 0;
	e = host_raw_close(&v->part);
	free(v->file.extents);
	free(v->container);
	free(v);
	f->view = NULL;
	f->fd = -1;
	return e;
}

int host_file_open(struct host_file *f, const char *path, int mode)
{
	int e = host_raw_open(f, path, mode);

	last_msg[0] = 0;
	if (e == ENOTDIR && mode != HOST_CREATE) /* a path inside a partition's file system */
		return fsview_open(f, path, mode);
	return e;
}

int host_file_close(struct host_file *f)
{
	return f->view ? fsview_close(f) : host_raw_close(f);
}
