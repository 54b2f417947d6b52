/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * source.c - the raw source of `vhdx create --from` (source.h).
 *
 * Why a reader thread: the import moves every data byte twice through the kernel (read from the source, written
 * to the image).  With one thread the two copies take turns; with the reader running ahead in HOST_PIPE_SLOT
 * pieces, the core writes one piece while the next is read, and the copy from a slot into the core's buffer is
 * small enough to stay in the CPU's cache.  The reader asks the file where its data is once per data stretch
 * (SEEK_DATA, then SEEK_HOLE), not once per piece.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "source.h"

int host_source_open(struct host_source *s, const char *path)
{
	memset(s, 0, sizeof(*s));
	s->file.fd = -1;
	int e = host_file_open(&s->file, path, HOST_RDONLY);
	if (!e)
		s->seek_holes = s->file.is_reg;
	return e;
}

/* Where the next data at or after pos starts, at most end (end: none); -1 with errno when the file cannot say. */
static int64_t seek_to(struct host_source *s, uint64_t pos, uint64_t end, int whence)
{
	off_t r = lseek(s->file.fd, (off_t)pos, whence);
	if (r < 0)
		return errno == ENXIO ? (int64_t)end : -1; /* ENXIO: no data at or after pos (SEEK_DATA) */
	return (uint64_t)r > end ? (int64_t)end : (int64_t)r;
}

/* The next stretch at pos: [pos, *data) is hole, [*data, *hole) is data.  A file system without hole
 * information (EINVAL, EOPNOTSUPP) makes the rest of the file data. */
static int next_stretch(struct host_source *s, uint64_t pos, uint64_t end, uint64_t *data, uint64_t *hole)
{
	int64_t d, h;

	*data = pos;
	*hole = end;
	if (!s->seek_holes)
		return 0;
	d = seek_to(s, pos, end, SEEK_DATA);
	h = d < 0 || (uint64_t)d == end ? d : seek_to(s, (uint64_t)d, end, SEEK_HOLE);
	if (d >= 0 && h >= 0) {
		*data = (uint64_t)d;
		*hole = (uint64_t)h;
		return 0;
	}
	if (errno != EINVAL && errno != EOPNOTSUPP)
		return errno;
	s->seek_holes = 0;
	return 0;
}

static vhdx_status reader(struct host_pipe *p, void *arg)
{
	struct host_source *s = arg;
	uint64_t end = s->file.io.size, pos = 0, data, hole, k;
	uint8_t *buf;
	int e;

	while (pos < end) {
		e = next_stretch(s, pos, end, &data, &hole);
		if (e) {
			s->file.err = e;
			return VHDX_E_IO;
		}
		if (data > pos) {
			if (!host_pipe_slot(p))
				return VHDX_OK; /* the consumer stopped */
			host_pipe_push(p, pos, data - pos, 1);
		}
		for (pos = data; pos < hole; pos += k) {
			k = hole - pos < HOST_PIPE_SLOT ? hole - pos : HOST_PIPE_SLOT;
			buf = host_pipe_slot(p);
			if (!buf)
				return VHDX_OK;
			e = host_file_read_fill(&s->file, pos, buf, (size_t)k);
			if (e) {
				s->file.err = e;
				return VHDX_E_IO;
			}
			host_pipe_push(p, pos, k, 0);
		}
	}
	return VHDX_OK;
}

int host_source_start(struct host_source *s)
{
	int e = host_pipe_start(&s->pipe, reader, s);
	s->running = !e;
	return e;
}

/*
 * The core asks for [off, off + len) in order.  Pieces are copied in as they come, holes and the bytes beyond
 * the source's end (a disk larger than its source) zeroed; a request that met no data at all is answered
 * VHDX_SOURCE_ZEROS with buf untouched.
 */
int host_source_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct host_source *s = ctx;
	uint8_t *out = buf;
	size_t done = 0, zeroed = 0; /* out[0, zeroed) is written; out[zeroed, done) still owes zeros */
	int any = 0;

	if (off != s->pos) {
		s->file.err = EINVAL; /* the core reads in order: anything else is a bug, not a file's fault */
		return -1;
	}
	while (done < len && off + done < s->file.io.size) {
		if (!s->have) {
			if (!host_pipe_next(&s->pipe, &s->cur)) {
				if (!s->file.err)
					s->file.err = EIO; /* the reader stopped short without saying why */
				return -1;
			}
			s->have = 1;
			s->used = 0;
		}
		uint64_t left = s->cur.len - s->used;
		size_t n = len - done < left ? len - done : (size_t)left;
		if (s->cur.data) {
			memset(out + zeroed, 0, done - zeroed);
			memcpy(out + done, s->cur.data + s->used, n);
			zeroed = done + n;
			any = 1;
		}
		done += n;
		s->used += n;
		if (s->used == s->cur.len) {
			host_pipe_release(&s->pipe);
			s->have = 0;
		}
	}
	s->pos = off + len;
	if (!any)
		return VHDX_SOURCE_ZEROS;
	memset(out + zeroed, 0, len - zeroed);
	return 0;
}

void host_source_close(struct host_source *s)
{
	if (s->running) {
		vhdx_status st = host_pipe_finish(&s->pipe);
		if (st && !s->file.err)
			s->file.err = EIO;
		s->running = 0;
	}
	int err = s->file.err;
	host_file_close(&s->file);
	s->file.err = err;
}
