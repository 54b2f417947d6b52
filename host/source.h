/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * source.h - the raw source of `vhdx create --from`: a file or device read ahead by a reader thread
 * (pipe.h), so that reading the source and writing the image overlap, with a regular file's holes
 * (SEEK_DATA/SEEK_HOLE) passed on as zeros that are neither read nor scanned.
 */
#ifndef VHDX_HOST_SOURCE_H
#define VHDX_HOST_SOURCE_H

#include "file.h"
#include "pipe.h"

struct host_source {
	struct host_file file; /* file.err: errno of a failed read, once the reader has stopped */
	struct host_pipe pipe;
	int running;           /* the reader thread was started and not yet finished */
	int seek_holes;        /* the file answers SEEK_DATA/SEEK_HOLE (the reader thread's) */
	uint64_t pos;          /* the next offset the core asks for */
	struct host_piece cur; /* the piece being consumed (have), and how much of it is */
	int have;
	uint64_t used;
};

/* Opens path (a file, a device, or PARTITION/PATH) read-only; 0 or an errno value. */
int host_source_open(struct host_source *s, const char *path);
/* Starts the reader; 0 or an errno value.  From then on host_source_read serves the core, in order. */
int host_source_start(struct host_source *s);
/* vhdx_create_params.source: ctx is the struct host_source */
int host_source_read(void *ctx, uint64_t off, void *buf, size_t len);
/* Stops the reader and closes the file; the file's errno of a failed read stays in s->file.err. */
void host_source_close(struct host_source *s);

#endif
