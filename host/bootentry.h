/* SPDX-License-Identifier: BSD-2-Clause */
/* bootentry.h - the firmware boot entry of `vhdx install-boot`, through efibootmgr (bootentry.c). */
#ifndef HOST_BOOTENTRY_H
#define HOST_BOOTENTRY_H

/* The number of the entry described as label that starts loader (an ESP path, "\EFI\x\y.efi"), -1 if there is
 * none, -2 when efibootmgr failed (reported). */
int bootentry_find(const char *label, const char *loader);
/* 1 when entry num exists and is described as label, 0 when not, -2 when efibootmgr failed (reported). */
int bootentry_exists(const char *label, unsigned num);
/* Creates the entry (efibootmgr also puts it first in BootOrder); its number, or -2 (reported) / -1 (not seen). */
int bootentry_create(const char *disk, unsigned part, const char *loader, const char *label);
/* 0, or -1 (reported). */
int bootentry_delete(unsigned num);

#endif
