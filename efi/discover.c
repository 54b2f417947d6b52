/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * discover.c - finding the VHDX: Block I/O devices whose first bytes are the signature "vhdxfile", or a file on
 * a FAT volume (our own volume first).
 */
#include "boot.h"

static int starts_with_signature(EFI_BLOCK_IO_PROTOCOL *bio)
{
	EFI_BLOCK_IO_MEDIA *m = bio->Media;
	if (!m->MediaPresent || m->BlockSize < 512 || m->BlockSize > 64 * 1024 || m->LastBlock < 1)
		return 0;
	void *base = NULL;
	UINT8 *buf = mem_alloc_aligned(m->BlockSize, m->IoAlign > 1 ? m->IoAlign : 1, &base);
	if (!buf)
		return 0;
	EFI_STATUS st = bio->ReadBlocks(bio, m->MediaId, 0, m->BlockSize, buf);
	int yes = !EFI_ERROR(st) && memcmp(buf, "vhdxfile", 8) == 0;
	mem_free(base);
	return yes;
}

EFI_STATUS discover_disks(struct found_disk **list, UINTN *count)
{
	EFI_HANDLE *hs = NULL;
	UINTN nh = 0;
	*list = NULL;
	*count = 0;
	EFI_STATUS st = g_bs->LocateHandleBuffer(ByProtocol, &g_guid_block_io, NULL, &nh, &hs);
	if (st == EFI_NOT_FOUND)
		return EFI_SUCCESS;
	if (EFI_ERROR(st))
		return st;
	struct found_disk *l = mem_zalloc(nh * sizeof *l);
	if (!l) {
		g_bs->FreePool(hs);
		return EFI_OUT_OF_RESOURCES;
	}
	UINTN n = 0;
	for (UINTN i = 0; i < nh; i++) {
		EFI_BLOCK_IO_PROTOCOL *bio = NULL;
		if (EFI_ERROR(g_bs->HandleProtocol(hs[i], &g_guid_block_io, (void **)&bio)) || !bio)
			continue;
		if (!starts_with_signature(bio))
			continue;
		l[n].handle = hs[i];
		l[n].text = dp_text(dp_of(hs[i]));
		l[n].block_size = bio->Media->BlockSize;
		l[n].size = ((uint64_t)bio->Media->LastBlock + 1) * bio->Media->BlockSize;
		l[n].read_only = bio->Media->ReadOnly ? 1 : 0;
		n++;
	}
	g_bs->FreePool(hs);
	*list = l;
	*count = n;
	return EFI_SUCCESS;
}

void discover_free(struct found_disk *list, UINTN count)
{
	for (UINTN i = 0; i < count; i++)
		mem_free(list[i].text);
	mem_free(list);
}

void discover_print(const struct found_disk *list, UINTN count)
{
	con_say("%llu VHDX device%s found", (unsigned long long)count, count == 1 ? "" : "s");
	for (UINTN i = 0; i < count; i++)
		con_print("  [%llu] %ls  %llu MiB, %u-byte blocks%s\n", (unsigned long long)i, list[i].text,
			  (unsigned long long)(list[i].size >> 20), list[i].block_size,
			  list[i].read_only ? ", read-only" : "");
}

static int file_exists(EFI_HANDLE volume, const CHAR16 *path)
{
	EFI_FILE_HANDLE root = fs_root(volume), f = NULL;
	if (!root)
		return 0;
	EFI_STATUS st = root->Open(root, &f, (CHAR16 *)path, EFI_FILE_MODE_READ, 0);
	int yes = 0;
	if (!EFI_ERROR(st)) {
		uint64_t size;
		yes = !EFI_ERROR(fs_file_size(f, &size));
		f->Close(f);
	}
	root->Close(root);
	return yes;
}

/* Our own volume wins; otherwise exactly one other volume may hold the path. */
EFI_STATUS find_image_file(const CHAR16 *path, EFI_HANDLE *volume)
{
	if (g_loaded->DeviceHandle && file_exists(g_loaded->DeviceHandle, path)) {
		*volume = g_loaded->DeviceHandle;
		return EFI_SUCCESS;
	}
	EFI_HANDLE *hs = NULL;
	UINTN nh = 0, found = 0;
	EFI_STATUS st = g_bs->LocateHandleBuffer(ByProtocol, &g_guid_simple_fs, NULL, &nh, &hs);
	if (EFI_ERROR(st))
		return EFI_NOT_FOUND;
	for (UINTN i = 0; i < nh; i++) {
		if (hs[i] == g_loaded->DeviceHandle || !file_exists(hs[i], path))
			continue;
		CHAR16 *t = dp_text(dp_of(hs[i]));
		if (found)
			con_say("%ls is also on %ls", path, t);
		else
			*volume = hs[i];
		mem_free(t);
		found++;
	}
	g_bs->FreePool(hs);
	if (found > 1) {
		con_say("%ls is on %llu volumes: refusing to guess which one is meant", path,
			(unsigned long long)found);
		return EFI_INVALID_PARAMETER;
	}
	return found ? EFI_SUCCESS : EFI_NOT_FOUND;
}
