/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * chainload.c - the next stage: LoadImage from a device path, its LoadOptions, StartImage, and its status.
 */
#include "boot.h"

/* The SecureBoot global variable: 1 on, 0 off, -1 unknown (absent: a firmware without Secure Boot). */
static int secure_boot_state(void)
{
	EFI_GUID global = EFI_GLOBAL_VARIABLE;
	UINT8 v = 0;
	UINTN size = sizeof v;
	if (EFI_ERROR(g_st->RuntimeServices->GetVariable(L"SecureBoot", &global, NULL, &size, &v)) || size != 1)
		return -1;
	return v ? 1 : 0;
}

EFI_STATUS chainload_dp(EFI_DEVICE_PATH *dp, const CHAR16 *shown, const CHAR16 *args)
{
	EFI_HANDLE child = NULL;
	EFI_STATUS st = shim_verify_dp(dp, shown); /* shim's verdict first, when shim is there */
	if (EFI_ERROR(st))
		return st;
	st = g_bs->LoadImage(FALSE, g_image, dp, NULL, 0, &child);
	if (EFI_ERROR(st) && g_shim_verified)
		con_say("%ls: shim trusts it but LoadImage refused (%s): shim hooks LoadImage only in Secure Boot "
			"mode when it carries a vendor certificate; without that hook only db counts", shown,
			efi_status_name(st));
	if (EFI_ERROR(st)) {
		int sb = secure_boot_state();
		const char *sbtext = sb == 1 ? "Secure Boot is on" : sb == 0 ? "Secure Boot is off" : "no Secure Boot";
		/* EDK2 answers an image its db does not allow with EFI_ACCESS_DENIED; a deferred verdict is
		 * EFI_SECURITY_VIOLATION (the image is loaded then, and must be unloaded) */
		if (st == EFI_SECURITY_VIOLATION)
			con_say("%ls: LoadImage: EFI_SECURITY_VIOLATION (%s: the image is not trusted; unloading it)", shown,
				sbtext);
		else if (st == EFI_ACCESS_DENIED)
			con_say("%ls: LoadImage: EFI_ACCESS_DENIED (%s: the platform's policy refuses this image%s)", shown,
				sbtext, sb == 1 ? ", is it signed by a key in db?" : "");
		else if (st == EFI_NOT_FOUND)
			con_say("%ls: LoadImage: EFI_NOT_FOUND (no such file)", shown);
		else
			con_say("%ls: LoadImage: %s", shown, efi_status_name(st));
		/* a security violation still loads the image (deferred); the spec has the caller unload it */
		if (child)
			g_bs->UnloadImage(child);
		return st;
	}

	EFI_LOADED_IMAGE *li = NULL;
	CHAR16 *opts = NULL;
	if (!EFI_ERROR(g_bs->HandleProtocol(child, &g_guid_loaded_image, (void **)&li)) && li) {
		if (args && *args) {
			opts = u16_dup(args);
			if (opts) {
				li->LoadOptions = opts;
				li->LoadOptionsSize = (UINT32)((u16_len(opts) + 1) * sizeof(CHAR16));
			}
		} else {
			li->LoadOptions = NULL;
			li->LoadOptionsSize = 0;
		}
	}

	con_say("starting %ls%s%ls%s", shown, args && *args ? " with options \"" : "", args && *args ? args : L"",
		args && *args ? "\"" : "");
	UINTN exit_size = 0;
	CHAR16 *exit_data = NULL;
	st = g_bs->StartImage(child, &exit_size, &exit_data);
	if (exit_data && exit_size >= sizeof(CHAR16) && exit_data[0])
		con_say("%ls returned %s: %ls", shown, efi_status_name(st), exit_data);
	else
		con_say("%ls returned %s", shown, efi_status_name(st));
	if (exit_data)
		g_bs->FreePool(exit_data);
	mem_free(opts);
	return st;
}

EFI_STATUS chainload_path(EFI_HANDLE volume, const CHAR16 *path, const CHAR16 *args)
{
	EFI_DEVICE_PATH *dp = dp_append_file(dp_of(volume), path);
	if (!dp)
		return EFI_OUT_OF_RESOURCES;
	EFI_STATUS st = chainload_dp(dp, path, args);
	mem_free(dp);
	return st;
}
