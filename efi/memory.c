/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * memory.c - pool memory for the module and for the core (struct vhdx_io's allocator), and buffers aligned for
 * a device's IoAlign.
 */
#include "boot.h"

void *mem_alloc(UINTN len)
{
	void *p = NULL;
	if (!len)
		len = 1;
	if (EFI_ERROR(g_bs->AllocatePool(EfiLoaderData, len, &p)))
		return NULL;
	return p;
}

void *mem_zalloc(UINTN len)
{
	void *p = mem_alloc(len);
	if (p)
		memset(p, 0, len);
	return p;
}

void mem_free(void *p)
{
	if (p)
		g_bs->FreePool(p);
}

/* Pool memory is 8-byte aligned; a larger IoAlign (a power of two) gets an over-allocation rounded up. */
void *mem_alloc_aligned(UINTN len, UINTN align, void **base)
{
	if (align < 8)
		align = 8;
	if (align & (align - 1))
		return NULL;
	UINTN total = len + align - 1;
	if (total < len)
		return NULL;
	void *p = mem_alloc(total);
	*base = p;
	if (!p)
		return NULL;
	return (void *)(((UINTN)p + align - 1) & ~(align - 1));
}

static void *io_alloc(void *ctx, size_t len)
{
	(void)ctx;
	return mem_alloc(len);
}

static void io_free(void *ctx, void *p, size_t len)
{
	(void)ctx;
	(void)len;
	mem_free(p);
}

void backend_set_alloc(struct vhdx_io *io)
{
	io->alloc = io_alloc;
	io->free = io_free;
}
