/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fileio.c - files on simple-file-system (FAT) volumes: the root of a volume, a whole small file (the config),
 * a file's size, whether the volume is read-only.
 */
#include "boot.h"

EFI_FILE_HANDLE fs_root(EFI_HANDLE volume)
{
	EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *fs = NULL;
	EFI_FILE_HANDLE root = NULL;
	if (EFI_ERROR(g_bs->HandleProtocol(volume, &g_guid_simple_fs, (void **)&fs)) || !fs)
		return NULL;
	if (EFI_ERROR(fs->OpenVolume(fs, &root)))
		return NULL;
	return root;
}

/* GetInfo into a pool buffer grown until it fits. */
static void *get_info(EFI_FILE_HANDLE f, EFI_GUID *type, EFI_STATUS *st)
{
	UINTN size = 256;
	for (int tries = 0; tries < 4; tries++) {
		void *buf = mem_alloc(size);
		if (!buf) {
			*st = EFI_OUT_OF_RESOURCES;
			return NULL;
		}
		*st = f->GetInfo(f, type, &size, buf);
		if (!EFI_ERROR(*st))
			return buf;
		mem_free(buf);
		if (*st != EFI_BUFFER_TOO_SMALL)
			return NULL;
	}
	return NULL;
}

EFI_STATUS fs_file_size(EFI_FILE_HANDLE f, uint64_t *size)
{
	EFI_STATUS st;
	EFI_FILE_INFO *fi = get_info(f, &g_guid_file_info, &st);
	if (!fi)
		return st;
	*size = fi->FileSize;
	int dir = (fi->Attribute & EFI_FILE_DIRECTORY) != 0;
	mem_free(fi);
	return dir ? EFI_NOT_FOUND : EFI_SUCCESS;
}

EFI_STATUS fs_volume_read_only(EFI_FILE_HANDLE root, int *ro)
{
	EFI_STATUS st;
	EFI_FILE_SYSTEM_INFO *fi = get_info(root, &g_guid_fs_info, &st);
	if (!fi)
		return st;
	*ro = fi->ReadOnly ? 1 : 0;
	mem_free(fi);
	return EFI_SUCCESS;
}

/* Reads a whole file of at most max bytes into pool memory, NUL-padded by two bytes for text parsers. */
EFI_STATUS fs_read_whole(EFI_FILE_HANDLE root, const CHAR16 *path, void **data, UINTN *size, UINTN max)
{
	EFI_FILE_HANDLE f = NULL;
	uint64_t fsize = 0;
	EFI_STATUS st = root->Open(root, &f, (CHAR16 *)path, EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(st))
		return st;
	st = fs_file_size(f, &fsize);
	if (EFI_ERROR(st))
		goto out;
	if (fsize > max) {
		st = EFI_BAD_BUFFER_SIZE;
		goto out;
	}
	UINT8 *buf = mem_alloc((UINTN)fsize + 2);
	if (!buf) {
		st = EFI_OUT_OF_RESOURCES;
		goto out;
	}
	UINTN got = (UINTN)fsize;
	st = f->Read(f, &got, buf);
	if (EFI_ERROR(st) || got != fsize) {
		mem_free(buf);
		if (!EFI_ERROR(st))
			st = EFI_DEVICE_ERROR;
		goto out;
	}
	buf[got] = buf[got + 1] = 0;
	*data = buf;
	*size = got;
out:
	f->Close(f);
	return st;
}
