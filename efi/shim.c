/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shim.c - the next stage checked through shim, on machines that boot through it.
 *
 * When shim started us it installs the SHIM_LOCK protocol (605DAB50-E046-4300-ABB6-3DD810DD8B23).  Its Verify()
 * checks an image against everything shim trusts: db (unless disabled), dbx, SBAT, MokList/MokListX and shim's
 * built-in vendor certificate.  We read the next stage's bytes and hand them to Verify before starting it, so an
 * image shim does not trust is refused and named here, whoever's LoadImage runs next.
 *
 * Calling convention: shim declares the SHIM_LOCK functions *without* EFIAPI, and shim is built as SysV code on
 * x86_64, so they are SysV calls (shim's change to build with -mabi=ms keeps them SysV explicitly with a SYSVAPI
 * macro; grub, refind and iPXE call them that way too).  Calling them through an EFIAPI pointer would pass the
 * arguments in the wrong registers.
 *
 * Starting it: LoadImage still runs after Verify.  In Secure Boot mode a shim that carries a vendor certificate
 * (Debian's does: "Debian Secure Boot CA") replaces gBS->LoadImage/StartImage with its own loader, which accepts
 * what shim trusts (MOK, vendor certificate), so an image only shim trusts loads through the ordinary LoadImage.
 * A shim without a vendor certificate installs no such hook; then the firmware's LoadImage sees only db and refuses
 * a MOK-signed image: chainload.c names that case.
 */
#include "boot.h"

#define SHIM_LOCK_GUID                                                                                             \
	{ 0x605dab50, 0xe046, 0x4300, { 0xab, 0xb6, 0x3d, 0xd8, 0x10, 0xdd, 0x8b, 0x23 } }
#define NEXT_STAGE_MAX (512u << 20)

#if defined(__x86_64__)
#define SHIM_CALL __attribute__((sysv_abi))
#else
#define SHIM_CALL
#endif

struct shim_lock {
	EFI_STATUS(SHIM_CALL *verify)(void *buffer, UINT32 size);
	void *hash;    /* not used here */
	void *context; /* not used here */
};

static EFI_GUID shim_lock_guid = SHIM_LOCK_GUID;
int g_shim_verified;

/* The file path nodes after a simple-file-system device, joined into one path. */
static CHAR16 *file_path_of(const EFI_DEVICE_PATH *dp)
{
	UINTN chars = 1;
	for (const EFI_DEVICE_PATH *n = dp; !IsDevicePathEnd(n); n = NextDevicePathNode(n))
		if (DevicePathType(n) == MEDIA_DEVICE_PATH && DevicePathSubType(n) == MEDIA_FILEPATH_DP)
			chars += DevicePathNodeLength(n) / sizeof(CHAR16) + 1;
	CHAR16 *out = mem_alloc(chars * sizeof(CHAR16)), *o = out;
	if (!out)
		return NULL;
	for (const EFI_DEVICE_PATH *n = dp; !IsDevicePathEnd(n); n = NextDevicePathNode(n)) {
		if (DevicePathType(n) != MEDIA_DEVICE_PATH || DevicePathSubType(n) != MEDIA_FILEPATH_DP)
			continue;
		const CHAR16 *s = ((const FILEPATH_DEVICE_PATH *)n)->PathName;
		UINTN max = (DevicePathNodeLength(n) - 4) / sizeof(CHAR16);
		if (o > out && o[-1] != L'\\' && max && s[0] != L'\\')
			*o++ = L'\\';
		for (UINTN i = 0; i < max && s[i]; i++)
			*o++ = s[i];
	}
	*o = 0;
	return out;
}

EFI_STATUS shim_verify_dp(const EFI_DEVICE_PATH *dp, const CHAR16 *shown)
{
	struct shim_lock *shim = NULL;
	g_shim_verified = 0;
	if (EFI_ERROR(g_bs->LocateProtocol(&shim_lock_guid, NULL, (void **)&shim)) || !shim || !shim->verify)
		return EFI_SUCCESS; /* not started through shim: the firmware's LoadImage is the only check */

	EFI_DEVICE_PATH *rest = (EFI_DEVICE_PATH *)dp;
	EFI_HANDLE vol = NULL;
	EFI_STATUS st = g_bs->LocateDevicePath(&g_guid_simple_fs, &rest, &vol);
	CHAR16 *path = EFI_ERROR(st) ? NULL : file_path_of(rest);
	EFI_FILE_HANDLE root = path ? fs_root(vol) : NULL;
	void *data = NULL;
	UINTN size = 0;
	if (root) {
		st = fs_read_whole(root, path, &data, &size, NEXT_STAGE_MAX);
		root->Close(root);
	} else if (!EFI_ERROR(st)) {
		st = EFI_NOT_FOUND;
	}
	mem_free(path);
	if (EFI_ERROR(st)) {
		con_say("%ls: shim is present but the next stage cannot be read for SHIM_LOCK Verify: %s", shown,
			efi_status_name(st));
		return st;
	}
	st = shim->verify(data, (UINT32)size);
	mem_free(data);
	if (EFI_ERROR(st)) {
		con_say("%ls: shim (SHIM_LOCK Verify) refuses it: %s (not signed by a key shim trusts: db, MokList or "
			"shim's vendor certificate; or revoked by dbx/MokListX/SBAT)", shown, efi_status_name(st));
		return st == EFI_ACCESS_DENIED ? st : EFI_SECURITY_VIOLATION;
	}
	g_shim_verified = 1;
	con_say("%ls: verified by shim (SHIM_LOCK Verify: %llu bytes)", shown, (unsigned long long)size);
	return EFI_SUCCESS;
}
