/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pipe.h - a reader thread running ahead of its consumer, so that reading the image and hashing or writing what
 * was read overlap (`vhdx seal --sha256`, `vhdx export`).  The core stays single-threaded: the reader thread is
 * the only one that touches the image until host_pipe_finish returns; the consumer touches only the pieces.
 *
 * Memory is fixed: HOST_PIPE_SLOTS buffers of HOST_PIPE_SLOT bytes whatever the image size.  Pieces come out in
 * the order they went in.  A piece of zeros carries no data (nothing was read for it) and may be of any length.
 */
#ifndef VHDX_HOST_PIPE_H
#define VHDX_HOST_PIPE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "vhdx.h"

/* Four slots: one being filled, one being consumed, two ready to absorb jitter on either side.  256 KiB a read:
 * a slot is still in the CPU's cache when it is hashed or written (with 2 MiB slots the kernel's copy into
 * them cost about three times the system time on the bench), and the syscalls stay few. */
#define HOST_PIPE_SLOTS 4
#define HOST_PIPE_SLOT (256u << 10)

struct host_piece {
	uint64_t off;        /* where it is in the virtual disk */
	uint64_t len;
	const uint8_t *data; /* NULL: len zero bytes */
};

struct host_pipe;
/* Runs on the reader thread: for each piece, host_pipe_slot (a buffer, or NULL: stop and return VHDX_OK), fill
 * it, host_pipe_push.  Returns what went wrong, or VHDX_OK. */
typedef vhdx_status (*host_pipe_reader)(struct host_pipe *p, void *arg);

struct host_pipe {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	uint8_t *mem;                              /* the slots, one allocation */
	struct host_piece queue[HOST_PIPE_SLOTS];  /* slot i's piece */
	unsigned head, count;                      /* the oldest ready piece; how many are ready or held */
	int stop, finished;
	vhdx_status status;                        /* the reader's result, once finished */
	host_pipe_reader reader;
	void *arg;
};

/* 0, or an errno value (no memory, no thread); on failure nothing is left to finish. */
int host_pipe_start(struct host_pipe *p, host_pipe_reader reader, void *arg);
/* reader side */
uint8_t *host_pipe_slot(struct host_pipe *p);
void host_pipe_push(struct host_pipe *p, uint64_t off, uint64_t len, int zeros);
/* consumer side: 1 and the next piece, or 0 when the reader is done; host_pipe_release when finished with it */
int host_pipe_next(struct host_pipe *p, struct host_piece *piece);
void host_pipe_release(struct host_pipe *p);
/* stops the reader if it is still going, waits for it, frees the slots; the reader's status */
vhdx_status host_pipe_finish(struct host_pipe *p);

/* The reader `vhdx seal` and `vhdx export` share: the virtual disk of arg (a struct vhdx_image *) from offset 0,
 * in the pieces vhdx_digest_piece gives, stored ones read HOST_PIPE_SLOT bytes at a time. */
vhdx_status host_pipe_read_disk(struct host_pipe *p, void *img);

#endif
