/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * export.c - `vhdx export IMAGE OUT`: the virtual disk as a raw file.  A regular OUT stays sparse: blocks the
 * core reports as holding no data, and all-zero pieces of the others, are not written, and the file is cut to
 * the virtual size at the end.  Standard output, pipes and devices get every byte in order.  The image is read
 * on a second thread (host/pipe.h) while the pieces already read are written; blocks that hold no data are not
 * read at all (core/digest.c's pieces, the same ones `vhdx seal` hashes).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"
#include "pipe.h"

#define GRAIN (64u << 10) /* zero runs at least this long (and aligned) become holes in a regular OUT */

static const char export_usage[] =
	"usage: vhdx export [--parent PATH]... IMAGE OUT\n"
	"\n"
	"Write the virtual disk of IMAGE to OUT as a raw image ('-' for standard output).  A regular file OUT is\n"
	"written sparse: blocks that hold no data and all-zero stretches stay holes.  OUT is replaced if it exists.\n"
	"Exit 0 done, 1 the image is corrupt or unsupported, 2 usage or I/O error.\n"
	"\n"
	"  --parent PATH the parent of a differencing IMAGE (repeat for each level; default: the locator's\n"
	"                relative_path beside IMAGE, then its absolute_win32_path)\n"
	"  -h, --help    this text\n"
	"  --version     the version\n";

static int zero_piece(const uint8_t *p, size_t n)
{
	static const uint8_t zeros[4096];
	size_t k;

	for (; n; p += k, n -= k) {
		k = n < sizeof(zeros) ? n : sizeof(zeros);
		if (memcmp(p, zeros, k))
			return 0;
	}
	return 1;
}

/* Writes the runs of buf that are not all zero, in GRAIN steps, at file offset off; 0 or an errno value. */
static int write_sparse(int fd, const uint8_t *buf, size_t n, uint64_t off)
{
	size_t i = 0, run = 0, k;
	int e;

	while (i < n) {
		k = n - i < GRAIN ? n - i : GRAIN;
		if (zero_piece(buf + i, k)) {
			if (i > run && (e = host_write_all(fd, buf + run, i - run, (int64_t)(off + run))))
				return e;
			run = i + k;
		}
		i += k;
	}
	return i > run ? host_write_all(fd, buf + run, i - run, (int64_t)(off + run)) : 0;
}

/* n zero bytes to a stream (a regular OUT skips them): written from one buffer of zeros, allocated once */
static int write_zeros(int fd, uint64_t n)
{
	static uint8_t *zeros;
	int e;

	if (!zeros && !(zeros = calloc(1, HOST_PIPE_SLOT)))
		return ENOMEM;
	while (n) {
		size_t k = n < HOST_PIPE_SLOT ? (size_t)n : HOST_PIPE_SLOT;
		if ((e = host_write_all(fd, zeros, k, -1)))
			return e;
		n -= k;
	}
	return 0;
}

struct out {
	const char *name;
	int fd;
	int sparse;   /* a regular file: skip zeros, pwrite at offsets, ftruncate at the end */
	int created;  /* remove it if the export fails */
};

static int open_out(struct out *o, const char *name, const struct host_chain *ch)
{
	struct stat st, ist;

	memset(o, 0, sizeof(*o));
	o->name = name;
	if (!strcmp(name, "-")) {
		o->name = "standard output";
		o->fd = STDOUT_FILENO;
		if (isatty(o->fd)) {
			host_error(o->name, "refusing to write a disk image to a terminal");
			return EXIT_USAGE;
		}
		return 0;
	}
	o->fd = open(name, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
	if (o->fd < 0 || fstat(o->fd, &st) < 0) {
		host_error(name, "%s", strerror(errno));
		if (o->fd >= 0)
			close(o->fd);
		return EXIT_USAGE;
	}
	/* O_TRUNC only after this check: exporting onto the image itself would destroy it */
	for (unsigned i = 0; i < ch->n; i++) {
		if (fstat(ch->file[i].fd, &ist) == 0 && st.st_dev == ist.st_dev && st.st_ino == ist.st_ino) {
			host_error(name, i ? "is a parent of the image" : "is the image itself");
			close(o->fd);
			return EXIT_USAGE;
		}
	}
	if (S_ISREG(st.st_mode)) {
		if (ftruncate(o->fd, 0) < 0) {
			host_error(name, "%s", strerror(errno));
			close(o->fd);
			return EXIT_USAGE;
		}
		o->sparse = 1;
		o->created = 1;
	}
	return 0;
}

static int finish_out(struct out *o, uint64_t size, int ok)
{
	int e = 0;

	if (ok && o->sparse && ftruncate(o->fd, (off_t)size) < 0)
		e = errno;
	if (ok && !e && o->fd != STDOUT_FILENO && fsync(o->fd) < 0 && errno != EINVAL && errno != EROFS)
		e = errno;
	if (o->fd != STDOUT_FILENO && close(o->fd) < 0 && !e && errno != EINTR)
		e = errno;
	if (ok && e)
		host_error(o->name, "%s", strerror(e));
	if ((!ok || e) && o->created)
		unlink(o->name);
	return ok && !e ? EXIT_SOUND : EXIT_USAGE;
}

int cmd_export(int argc, char **argv)
{
	struct host_chain ch; /* differencing chains: the image and its parents */
	struct host_file *f;
	struct vhdx_image *img;
	struct out o;
	struct host_pipe pipe;
	struct host_piece piece;
	uint64_t off = 0, end;
	const char *path;
	vhdx_status st = VHDX_OK;
	int rc, first, e;

	rc = host_chain_options(&ch, "export", &argc, argv);
	if (rc >= 0)
		return rc;
	rc = host_simple_args("export", export_usage, argc, argv, 2, &first);
	if (rc >= 0)
		return rc;
	path = argv[first];
	rc = host_chain_open(&ch, path);
	if (rc)
		return rc;
	f = &ch.file[0];
	img = &ch.img[0];
	host_print_warnings(path, img);
	rc = open_out(&o, argv[first + 1], &ch);
	if (rc) {
		host_chain_close(&ch);
		return rc;
	}
	e = host_pipe_start(&pipe, host_pipe_read_disk, img);
	if (e) {
		host_error(path, "cannot start the reader thread: %s", strerror(e));
		finish_out(&o, 0, 0);
		host_chain_close(&ch);
		return EXIT_USAGE;
	}
	while (host_pipe_next(&pipe, &piece)) {
		off = piece.off;
		if (piece.data)
			e = o.sparse ? write_sparse(o.fd, piece.data, (size_t)piece.len, off)
				     : host_write_all(o.fd, piece.data, (size_t)piece.len, -1);
		else
			e = o.sparse ? 0 : write_zeros(o.fd, piece.len);
		host_pipe_release(&pipe);
		if (e) {
			host_error(o.name, "write near offset %llu failed: %s", (unsigned long long)off, strerror(e));
			break;
		}
		off += piece.len;
	}
	st = host_pipe_finish(&pipe);
	end = img->virtual_size;
	if (st)
		rc = host_report(path, st, img->msg, f);
	else if (off < end)
		rc = EXIT_USAGE; /* a write failed, reported above */
	rc = finish_out(&o, end, rc == 0) ? (rc ? rc : EXIT_USAGE) : rc;
	host_chain_close(&ch);
	return rc;
}
