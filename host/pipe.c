/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pipe.c - the reader thread of pipe.h: a ring of HOST_PIPE_SLOTS pieces under one lock.  Slot i's buffer
 * belongs to the reader from host_pipe_slot to host_pipe_push, then to the consumer from host_pipe_next to
 * host_pipe_release; a piece of zeros uses its slot only for its place in the order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pipe.h"

static void *reader_main(void *arg)
{
	struct host_pipe *p = arg;
	vhdx_status st = p->reader(p, p->arg);

	pthread_mutex_lock(&p->lock);
	p->status = st;
	p->finished = 1;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int host_pipe_start(struct host_pipe *p, host_pipe_reader reader, void *arg)
{
	memset(p, 0, sizeof(*p));
	/* page-aligned: the kernel copies into an unaligned buffer at a fraction of the speed (file.c, cb_alloc) */
	if (posix_memalign((void **)&p->mem, 4096, (size_t)HOST_PIPE_SLOTS * HOST_PIPE_SLOT))
		return ENOMEM;
	p->reader = reader;
	p->arg = arg;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->changed, NULL);
	int e = pthread_create(&p->thread, NULL, reader_main, p);
	if (e) {
		pthread_cond_destroy(&p->changed);
		pthread_mutex_destroy(&p->lock);
		free(p->mem);
		p->mem = NULL;
	}
	return e;
}

uint8_t *host_pipe_slot(struct host_pipe *p)
{
	uint8_t *buf = NULL;

	pthread_mutex_lock(&p->lock);
	while (!p->stop && p->count == HOST_PIPE_SLOTS)
		pthread_cond_wait(&p->changed, &p->lock);
	if (!p->stop)
		buf = p->mem + (size_t)((p->head + p->count) % HOST_PIPE_SLOTS) * HOST_PIPE_SLOT;
	pthread_mutex_unlock(&p->lock);
	return buf;
}

void host_pipe_push(struct host_pipe *p, uint64_t off, uint64_t len, int zeros)
{
	pthread_mutex_lock(&p->lock);
	unsigned i = (p->head + p->count) % HOST_PIPE_SLOTS;
	p->queue[i].off = off;
	p->queue[i].len = len;
	p->queue[i].data = zeros ? NULL : p->mem + (size_t)i * HOST_PIPE_SLOT;
	p->count++;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
}

int host_pipe_next(struct host_pipe *p, struct host_piece *piece)
{
	int got = 0;

	pthread_mutex_lock(&p->lock);
	while (!p->count && !p->finished)
		pthread_cond_wait(&p->changed, &p->lock);
	if (p->count) {
		*piece = p->queue[p->head];
		got = 1;
	}
	pthread_mutex_unlock(&p->lock);
	return got;
}

void host_pipe_release(struct host_pipe *p)
{
	pthread_mutex_lock(&p->lock);
	p->head = (p->head + 1) % HOST_PIPE_SLOTS;
	p->count--;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
}

vhdx_status host_pipe_finish(struct host_pipe *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->changed);
	pthread_mutex_destroy(&p->lock);
	free(p->mem);
	p->mem = NULL;
	return p->status;
}

vhdx_status host_pipe_read_disk(struct host_pipe *p, void *arg)
{
	struct vhdx_image *img = arg;
	uint64_t off, n, k;
	int stored;

	for (off = 0; off < img->virtual_size; off += n) {
		vhdx_status st = vhdx_digest_piece(img, off, &n, &stored);
		if (st)
			return st;
		for (uint64_t o = off; o < off + n; o += k) {
			uint8_t *buf = host_pipe_slot(p);
			if (!buf)
				return VHDX_OK; /* the consumer stopped */
			k = stored && off + n - o > HOST_PIPE_SLOT ? HOST_PIPE_SLOT : off + n - o;
			if (stored && (st = vhdx_read(img, o, buf, (size_t)k)))
				return st;
			host_pipe_push(p, o, k, !stored);
		}
	}
	return VHDX_OK;
}
