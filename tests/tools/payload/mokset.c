/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mokset.c - a test application standing in for MokManager's enrollment: it writes the MokList variable (shim's
 * GUID, non-volatile + boot-services access only, as MokManager stores it) from the EFI_SIGNATURE_LIST in
 * \mok.esl on its own volume, then powers off.  MokManager itself needs a person at the console (a password typed
 * at the next boot), which a test cannot give; shim reads MokList the same way whoever wrote it.
 * Output: "MOKSET-DONE: N bytes" or "MOKSET-ERROR: ...".
 */
#include <efi.h>
#include <efilib.h>

#define SBAT_CSV                                                                                                  \
	"sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"                                \
	"vhdxboot-mokset,1,vhdxboot,vhdxboot-mokset,0.1.0,https://example.invalid/vhdxboot\n"
__attribute__((section(".sbat"), used)) static const char sbat[sizeof(SBAT_CSV) - 1] = SBAT_CSV;

static EFI_GUID shim_guid = { 0x605dab50, 0xe046, 0x4300, { 0xab, 0xb6, 0x3d, 0xd8, 0x10, 0xdd, 0x8b, 0x23 } };

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	InitializeLib(image, systab);
	EFI_LOADED_IMAGE *li = NULL;
	EFI_FILE_HANDLE root = NULL, f = NULL;
	UINT8 buf[8192];
	UINTN size = sizeof buf;
	EFI_STATUS st = uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol, (void **)&li);
	if (!EFI_ERROR(st)) {
		root = LibOpenRoot(li->DeviceHandle);
		st = root ? uefi_call_wrapper(root->Open, 5, root, &f, L"\\mok.esl", EFI_FILE_MODE_READ, 0) : EFI_NOT_FOUND;
	}
	if (!EFI_ERROR(st))
		st = uefi_call_wrapper(f->Read, 3, f, &size, buf);
	if (EFI_ERROR(st) || size == 0 || size == sizeof buf) {
		Print(L"MOKSET-ERROR: reading \\mok.esl: %r (%u bytes)\n", st, size);
	} else {
		st = uefi_call_wrapper(RT->SetVariable, 5, L"MokList", &shim_guid,
				       EFI_VARIABLE_NON_VOLATILE | EFI_VARIABLE_BOOTSERVICE_ACCESS, size, buf);
		if (EFI_ERROR(st))
			Print(L"MOKSET-ERROR: SetVariable MokList: %r\n", st);
		else
			Print(L"MOKSET-DONE: %u bytes\n", size);
	}
	uefi_call_wrapper(RT->ResetSystem, 4, EfiResetShutdown, EFI_SUCCESS, 0, NULL);
	return st;
}
