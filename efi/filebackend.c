/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * filebackend.c - struct vhdx_io over EFI_FILE_PROTOCOL: a VHDX stored as a file on a FAT volume.
 *
 * Opened read-write when the volume allows it, else read-only (and then the core never writes).  Reads and
 * writes go through SetPosition; a short read is an error, never zeros; flush is EFI_FILE_PROTOCOL.Flush.
 */
#include "boot.h"

struct fbk {
	EFI_FILE_HANDLE root, f;
	struct backend *b;
};

static int ffail(struct fbk *k, EFI_STATUS st, const char *what, uint64_t off)
{
	k->b->last = st;
	con_say("%ls: %s at offset %llu: %s", k->b->name, what, (unsigned long long)off, efi_status_name(st));
	return -1;
}

#define CHUNK (1u << 20)

static int f_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct fbk *k = ctx;
	UINT8 *out = buf;
	EFI_STATUS st = k->f->SetPosition(k->f, off);
	if (EFI_ERROR(st))
		return ffail(k, st, "seek", off);
	while (len) {
		UINTN n = len > CHUNK ? CHUNK : len;
		UINTN got = n;
		st = k->f->Read(k->f, &got, out);
		if (EFI_ERROR(st))
			return ffail(k, st, "read", off);
		if (got != n)
			return ffail(k, EFI_END_OF_FILE, "short read", off + got);
		off += n, out += n, len -= n;
	}
	return 0;
}

static int f_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct fbk *k = ctx;
	const UINT8 *in = buf;
	EFI_STATUS st = k->f->SetPosition(k->f, off);
	if (EFI_ERROR(st))
		return ffail(k, st, "seek", off);
	while (len) {
		UINTN n = len > CHUNK ? CHUNK : len;
		UINTN put = n;
		st = k->f->Write(k->f, &put, (void *)in);
		if (EFI_ERROR(st))
			return ffail(k, st, "write", off);
		if (put != n)
			return ffail(k, EFI_VOLUME_FULL, "short write", off + put);
		off += n, in += n, len -= n;
	}
	return 0;
}

static int f_flush(void *ctx)
{
	struct fbk *k = ctx;
	EFI_STATUS st = k->f->Flush(k->f);
	if (EFI_ERROR(st))
		return ffail(k, st, "flush", 0);
	return 0;
}

/* writable: try read-write first; 0 (a differencing parent) opens for reading only and leaves no write path */
static EFI_STATUS open_file(struct backend *b, EFI_HANDLE volume, const CHAR16 *path, int writable)
{
	struct fbk *k = mem_zalloc(sizeof *k);
	if (!k)
		return EFI_OUT_OF_RESOURCES;
	k->b = b;
	k->root = fs_root(volume);
	if (!k->root) {
		mem_free(k);
		return EFI_NOT_FOUND;
	}
	int ro = !writable;
	const char *why = writable ? NULL : "a parent of a differencing image is never written";
	if (writable && !EFI_ERROR(fs_volume_read_only(k->root, &ro)) && ro)
		why = "the volume is read-only";
	EFI_STATUS st = EFI_WRITE_PROTECTED;
	if (!ro)
		st = k->root->Open(k->root, &k->f, (CHAR16 *)path, EFI_FILE_MODE_READ | EFI_FILE_MODE_WRITE, 0);
	if (st == EFI_WRITE_PROTECTED || st == EFI_ACCESS_DENIED) {
		if (!why)
			why = "the file cannot be opened for writing";
		ro = 1;
		st = k->root->Open(k->root, &k->f, (CHAR16 *)path, EFI_FILE_MODE_READ, 0);
	}
	uint64_t size = 0;
	if (!EFI_ERROR(st)) {
		st = fs_file_size(k->f, &size);
		if (EFI_ERROR(st))
			k->f->Close(k->f);
	}
	if (EFI_ERROR(st)) {
		k->root->Close(k->root);
		mem_free(k);
		return st;
	}
	memset(&b->io, 0, sizeof b->io);
	b->io.ctx = k;
	b->io.size = size;
	b->io.read_only = ro;
	b->ro_reason = ro ? why : NULL;
	b->io.read = f_read;
	b->io.write = writable ? f_write : NULL;
	b->io.flush = writable ? f_flush : NULL;
	backend_set_alloc(&b->io);
	b->priv = k;
	b->last = EFI_SUCCESS;
	if (!b->name)
		b->name = u16_dup(path);
	return EFI_SUCCESS;
}

EFI_STATUS file_backend_open(struct backend *b, EFI_HANDLE volume, const CHAR16 *path)
{
	return open_file(b, volume, path, 1);
}

EFI_STATUS file_backend_open_readonly(struct backend *b, EFI_HANDLE volume, const CHAR16 *path)
{
	return open_file(b, volume, path, 0);
}

void file_backend_close(struct backend *b)
{
	struct fbk *k = b->priv;
	if (k) {
		k->f->Close(k->f);
		k->root->Close(k->root);
		mem_free(k);
	}
	b->priv = NULL;
}
