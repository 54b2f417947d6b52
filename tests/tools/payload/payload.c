/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * payload.c - the test next stage.  Prints a marker and its LoadOptions on the console, then returns a status
 * or powers the machine off, as its options say:
 *   status=N        return N (decimal; an EFI error code when "error=N": EFIERR(N))
 *   poweroff        ResetSystem(EfiResetShutdown) after printing
 *   marker=TEXT     print TEXT in the marker line instead of the default
 * Output lines:  "PAYLOAD-MARKER: <marker>"  and  "PAYLOAD-OPTIONS: [<options>]".
 * Built with gnu-efi's libefi (InitializeLib, Print): unlike vhdxboot it links no core.
 */
#include <efi.h>
#include <efilib.h>

#define SBAT_CSV                                                                                                  \
	"sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"                                \
	"vhdxboot-payload,1,vhdxboot,vhdxboot-payload,0.1.0,https://example.invalid/vhdxboot\n"
__attribute__((section(".sbat"), used)) static const char sbat[sizeof(SBAT_CSV) - 1] = SBAT_CSV;

static int word_at(const CHAR16 *s, UINTN i, UINTN n, const CHAR16 *w)
{
	UINTN l = StrLen(w);
	if (i + l > n)
		return 0;
	if (i > 0 && s[i - 1] != L' ')
		return 0;
	for (UINTN k = 0; k < l; k++)
		if (s[i + k] != w[k])
			return 0;
	return 1;
}

static UINT64 number(const CHAR16 *s, UINTN i, UINTN n)
{
	UINT64 v = 0;
	while (i < n && s[i] >= L'0' && s[i] <= L'9')
		v = v * 10 + (UINT64)(s[i++] - L'0');
	return v;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	InitializeLib(image, st);
	EFI_LOADED_IMAGE *li = NULL;
	CHAR16 opts[512];
	CHAR16 marker[128];
	UINTN n = 0;
	EFI_STATUS ret = EFI_SUCCESS;
	int poweroff = 0;

	StrCpy(marker, L"vhdxboot test payload");
	if (!EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol, (void **)&li)) && li &&
	    li->LoadOptions) {
		const CHAR16 *s = li->LoadOptions;
		UINTN chars = li->LoadOptionsSize / sizeof(CHAR16);
		for (UINTN i = 0; i < chars && s[i] && n < 511; i++)
			opts[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : L'?';
	}
	opts[n] = 0;

	for (UINTN i = 0; i < n; i++) {
		if (word_at(opts, i, n, L"status="))
			ret = (EFI_STATUS)number(opts, i + 7, n);
		else if (word_at(opts, i, n, L"error="))
			ret = EFIERR(number(opts, i + 6, n));
		else if (word_at(opts, i, n, L"poweroff"))
			poweroff = 1;
		else if (word_at(opts, i, n, L"marker=")) {
			UINTN k = 0;
			for (UINTN j = i + 7; j < n && opts[j] != L' ' && k < 127; j++)
				marker[k++] = opts[j];
			marker[k] = 0;
		}
	}

	Print(L"PAYLOAD-MARKER: %s\n", marker);
	Print(L"PAYLOAD-OPTIONS: [%s]\n", opts);
	if (poweroff) {
		Print(L"PAYLOAD-POWEROFF\n");
		uefi_call_wrapper(RT->ResetSystem, 4, EfiResetShutdown, EFI_SUCCESS, 0, NULL);
	}
	Print(L"PAYLOAD-RETURN: %r\n", ret);
	return ret;
}
