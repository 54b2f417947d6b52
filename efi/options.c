/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * options.c - the firmware side of the options: where the command line and vhdxboot.conf come from (Shell
 * parameters, LoadOptions, the file beside the application).  What they mean is optparse.c, which the host tests.
 */
#include "boot.h"

EFI_STATUS options_parse_cmdline(struct boot_options *o)
{
	EFI_SHELL_PARAMETERS_PROTOCOL *sp = NULL;

	if (!EFI_ERROR(g_bs->HandleProtocol(g_image, &g_guid_shell_params, (void **)&sp)) && sp && sp->Argc) {
		/* started by the UEFI Shell: Argv[0] is our own name */
		CHAR16 *tok[OPT_MAX_TOKENS];
		UINTN n = 0;
		for (UINTN i = 1; i < sp->Argc && n < OPT_MAX_TOKENS; i++)
			tok[n++] = u16_dup(sp->Argv[i]);
		int bad = opt_parse_tokens(o, tok, n);
		for (UINTN i = 0; i < n; i++)
			mem_free(tok[i]);
		return bad ? EFI_INVALID_PARAMETER : EFI_SUCCESS;
	}
	if (g_loaded->LoadOptions && g_loaded->LoadOptionsSize >= sizeof(CHAR16))
		return opt_parse_load_options(o, g_loaded->LoadOptions, g_loaded->LoadOptionsSize) ?
			       EFI_INVALID_PARAMETER :
			       EFI_SUCCESS;
	return EFI_SUCCESS;
}

EFI_STATUS options_read_config(struct boot_options *o)
{
	if (o->no_config)
		return EFI_SUCCESS;
	EFI_FILE_HANDLE root = fs_root(g_loaded->DeviceHandle);
	if (!root)
		return EFI_SUCCESS; /* loaded from something without a file system: no config */
	CHAR16 *dir = dp_dir_of_file(g_loaded->FilePath);
	CHAR16 path[600];
	UINTN n = 0;
	for (const CHAR16 *s = dir ? dir : L"\\"; *s && n < 500; s++)
		path[n++] = *s;
	for (const CHAR16 *s = VHDXBOOT_CONF; *s; s++)
		path[n++] = *s;
	path[n] = 0;
	mem_free(dir);

	void *data = NULL;
	UINTN size = 0;
	EFI_STATUS st = fs_read_whole(root, path, &data, &size, 64 * 1024);
	root->Close(root);
	if (st == EFI_NOT_FOUND)
		return EFI_SUCCESS;
	if (EFI_ERROR(st)) {
		con_say("cannot read %ls: %s", path, efi_status_name(st));
		return st;
	}
	char *text = data;
	size = opt_config_narrow(text, size);
	con_say("config %ls", path);
	st = opt_parse_config(o, text, size) ? EFI_INVALID_PARAMETER : EFI_SUCCESS;
	mem_free(data);
	return st;
}

void options_usage(void)
{
	con_print("usage: vhdxboot.efi [options] [-- options for the next stage]\n"
		  "  --next PATH       next stage on this volume; vhdx:PATH inside the image (vhdx: alone:\n"
		  "                    " EFIARCH_REMOVABLE_A " of its virtual disk)\n"
		  "  --disk SEL        auto (the one VHDX found) | index from --list | device-path text\n"
		  "  --image PATH      the VHDX is a file on this volume (else on another FAT volume)\n"
		  "  --check-only      validate, write nothing\n"
		  "  --os-write        (with next=vhdx:) tell the OS booted from inside that it may write the image\n"
		  "  --vdisk-write     (with next=vhdx:) the loader inside may write present blocks of the image\n"
		  "  --on-error MODE   stop (default) or continue to the next stage after a refusal\n"
		  "  --list            list the VHDX devices found and exit\n"
		  "  --no-config       ignore vhdxboot.conf\n"
		  "  --help            this text\n"
		  "  --require-disk-id GUID         pin the VirtualDiskId (vhdx seal prints the pins)\n"
		  "  --require-data-write-guid GUID pin the DataWriteGuid\n"
		  "  --require-sha256 HEX           pin the SHA-256 of the whole virtual disk\n"
		  "  --on-mismatch MODE             stop (default) or warn when a pin does not match\n"
		  "Also key=value (next=..., check-only).  vhdxboot.conf beside the application takes the\n"
		  "same keys as \"key = value\" lines, and \"args = ...\" for the next stage; the command line wins.\n");
}
