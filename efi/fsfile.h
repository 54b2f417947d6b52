/* SPDX-License-Identifier: BSD-2-Clause */
/* fsfile.h - a VHDX file on an NTFS, exFAT, ext4 or FAT32 partition, through the core's locator (fsfile.c). */
#ifndef VHDXBOOT_FSFILE_H
#define VHDXBOOT_FSFILE_H

/*
 * spec: PATH, or PARTUUID:PATH to look on that GPT partition only.  On success b serves the image and *holder is
 * the partition's handle (for the handoff).  EFI_NOT_FOUND: no partition holds the file; EFI_UNSUPPORTED: a
 * partition holds it but the locator refused it (said on the console); EFI_INVALID_PARAMETER: several do.
 */
EFI_STATUS fs_backend_open(struct backend *b, const CHAR16 *spec, EFI_HANDLE *holder);
void fs_backend_close(struct backend *b);

#endif
