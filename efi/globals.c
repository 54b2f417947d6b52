/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * globals.c - the firmware as efi_main receives it, kept where every file of the module can reach it without
 * depending on the boot flow (main.c), so no file calls back into main.c.
 */
#include "boot.h"

EFI_HANDLE g_image;
EFI_SYSTEM_TABLE *g_st;
EFI_BOOT_SERVICES *g_bs;
EFI_LOADED_IMAGE *g_loaded;

EFI_STATUS efi_globals_set(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	g_image = image;
	g_st = systab;
	g_bs = systab->BootServices;
	if (EFI_ERROR(g_bs->HandleProtocol(image, &g_guid_loaded_image, (void **)&g_loaded)) || !g_loaded)
		return EFI_LOAD_ERROR;
	return EFI_SUCCESS;
}
