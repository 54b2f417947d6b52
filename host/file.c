/* SPDX-License-Identifier: BSD-2-Clause */
/* file.c - the POSIX binding of the core: pread/pwrite loops, fsync, ftruncate, malloc, getrandom. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

static int cb_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct host_file *f = ctx;
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(f->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			f->err = errno;
			return -1;
		}
		if (n == 0) { /* the file ended early: the core checked bounds, so something else shrank it */
			f->err = EIO;
			return -1;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int host_write_all(int fd, const void *buf, size_t len, int64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = off >= 0 ? pwrite(fd, p, len, (off_t)off) : write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0)
			return ENOSPC;
		p += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

static int cb_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct host_file *f = ctx;
	int e = host_write_all(f->fd, buf, len, (int64_t)off);

	if (e) {
		f->err = e;
		return -1;
	}
	return 0;
}

static int cb_flush(void *ctx)
{
	struct host_file *f = ctx;

	while (fsync(f->fd) < 0) {
		if (errno == EINTR)
			continue;
		f->err = errno;
		return -1;
	}
	return 0;
}

/*
 * Grows the file by writing zeros, so every new byte has real storage on the file system: a hole or an unwritten
 * (fallocated) extent reads as zeros only through the file system, and an image that is later reached through
 * its raw extents on the partition (the boot module, the initramfs) must find its blocks there.
 */
static int grow_written(struct host_file *f, uint64_t new_size)
{
	static const uint8_t zeros[1u << 20];

	for (uint64_t pos = f->io.size; pos < new_size;) {
		size_t n = new_size - pos < sizeof zeros ? (size_t)(new_size - pos) : sizeof zeros;
		int e = host_write_all(f->fd, zeros, n, (int64_t)pos);
		if (e) {
			f->err = e;
			return -1;
		}
		pos += n;
	}
	f->io.size = new_size;
	return 0;
}

static int cb_resize(void *ctx, uint64_t new_size)
{
	struct host_file *f = ctx;

	if (new_size > (uint64_t)INT64_MAX) {
		f->err = EFBIG;
		return -1;
	}
	if (f->grow_written && new_size > f->io.size)
		return grow_written(f, new_size);
	while (ftruncate(f->fd, (off_t)new_size) < 0) {
		if (errno == EINTR)
			continue;
		f->err = errno;
		return -1;
	}
	f->io.size = new_size;
	return 0;
}

/*
 * Page-aligned: the core reads and writes through these buffers, and the kernel's copy to or from a buffer that
 * is not (malloc's large blocks start 16 bytes into a page) ran at a third of the speed on the import bench.
 */
#define HOST_BUF_ALIGN 4096

static void *cb_alloc(void *ctx, size_t len)
{
	struct host_file *f = ctx;
	void *p = NULL;

	if (posix_memalign(&p, HOST_BUF_ALIGN, len ? len : 1))
		p = NULL;
	if (!p)
		f->err = ENOMEM;
	return p;
}

static void cb_free(void *ctx, void *p, size_t len)
{
	(void)ctx;
	(void)len;
	free(p);
}

int host_file_read_fill(struct host_file *f, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(f->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0) {
			memset(p, 0, len);
			return 0;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int host_raw_open(struct host_file *f, const char *path, int mode)
{
	static const int flags[] = {
		[HOST_RDONLY] = O_RDONLY,
		[HOST_RDWR] = O_RDWR,
		[HOST_CREATE] = O_RDWR | O_CREAT | O_EXCL,
	};
	struct stat st;
	int ro = 0, e;

	memset(f, 0, sizeof(*f));
	f->path = path;
	do
		f->fd = open(path, flags[mode] | O_CLOEXEC, 0666);
	while (f->fd < 0 && errno == EINTR);
	if (f->fd < 0 && mode == HOST_RDWR && (errno == EROFS || errno == EACCES || errno == EPERM)) {
		/* open it anyway, read-only: the core then refuses the write with its own message */
		f->fd = open(path, O_RDONLY | O_CLOEXEC);
		ro = 1;
	}
	if (f->fd < 0)
		return errno;
	if (fstat(f->fd, &st) < 0)
		goto fail;
	f->is_reg = S_ISREG(st.st_mode);
	f->is_blk = S_ISBLK(st.st_mode);
	if (f->is_reg) {
		f->io.size = (uint64_t)st.st_size;
	} else if (f->is_blk) {
		uint64_t bytes = 0;
		int dev_ro = 0;
		if (ioctl(f->fd, BLKGETSIZE64, &bytes) < 0)
			goto fail;
		f->io.size = bytes;
		if (mode != HOST_RDONLY && ioctl(f->fd, BLKROGET, &dev_ro) == 0 && dev_ro)
			ro = 1;
	} else if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto fail;
	} else {
		errno = EINVAL; /* a pipe or a character device: the core needs random access */
		goto fail;
	}

	f->io.ctx = f;
	f->io.read_only = mode == HOST_RDONLY || ro;
	f->io.read = cb_read;
	if (!f->io.read_only) {
		f->io.write = cb_write;
		f->io.flush = cb_flush;
		f->io.resize = f->is_reg ? cb_resize : NULL;
	}
	f->io.alloc = cb_alloc;
	f->io.free = cb_free;
	return 0;

fail:
	e = errno;
	close(f->fd);
	f->fd = -1;
	return e;
}

int host_raw_close(struct host_file *f)
{
	int e = 0;

	if (f->fd >= 0 && close(f->fd) < 0 && errno != EINTR)
		e = errno;
	f->fd = -1;
	return e;
}

int host_file_extents(const struct host_file *f)
{
	struct fiemap fm = { .fm_length = FIEMAP_MAX_OFFSET, .fm_flags = FIEMAP_FLAG_SYNC, .fm_extent_count = 0 };

	if (!f->is_reg || ioctl(f->fd, FS_IOC_FIEMAP, &fm) < 0)
		return -1;
	return (int)fm.fm_mapped_extents;
}

int host_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
