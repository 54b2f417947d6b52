/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * esp.h - what `vhdx install-boot` (installboot.c) uses from the system: the EFI binary's identity (efibin.c),
 * the ESP's file system and block device, and efibootmgr (esp.c).
 */
#ifndef HOST_ESP_H
#define HOST_ESP_H

#include <stddef.h>
#include <stdint.h>

/* PE/COFF Machine values of the architectures vhdxboot is built for. */
#define PE_MACHINE_X64 0x8664
#define PE_MACHINE_IA32 0x014c
#define PE_MACHINE_AA64 0xaa64

struct efi_binary {
	uint16_t machine; /* PE_MACHINE_* */
	int has_sbat;     /* it has a .sbat section */
	int ours;         /* its .sbat section names the component "vhdxboot" */
};

/* 0 with *out filled, or -1 with a reason in why (the file is not a PE image we can read). */
int efibin_inspect(const unsigned char *buf, size_t len, struct efi_binary *out, char *why, size_t whylen);
/* "x64", "ia32", "aa64" or "unknown". */
const char *efibin_machine_name(uint16_t machine);

/* Where a directory is mounted, from /proc/self/mountinfo: the last mount whose mount point is the directory. */
struct esp_mount {
	int found;          /* dir is a mount point */
	unsigned major, minor;
	char fstype[64];
	char source[256];
	char root[256];     /* the directory of the file system mounted there ("/" for the whole file system) */
};

/* Fills m for the directory at real path dir; 0, or an errno value when mountinfo cannot be read. */
int esp_find_mount(const char *dir, struct esp_mount *m);
/*
 * Is dir on a FAT file system?  1 yes, 0 no (with the type seen in what), -1 with errno set when statfs fails.
 * FAT is the kernel's vfat/msdos (statfs type MSDOS_SUPER_MAGIC) or Debian's user-space driver fusefat, whose
 * mounts statfs only knows as FUSE: for those the mount table's type decides.
 */
int esp_is_fat(const char *dir, const struct esp_mount *m, char *what, size_t whatlen);
/*
 * The whole disk (/dev/NAME) and partition number holding the file system of m, from sysfs.  0, or -1 with a
 * reason in why (not a block device, not a partition).
 */
int esp_partition(const struct esp_mount *m, char *disk, size_t disklen, unsigned *part, char *why, size_t whylen);

/*
 * Runs argv[0] (looked up in PATH) with argv, standard output captured into *out (NUL-terminated, malloc'd;
 * the caller frees it), standard error passed through.  Returns the exit status, or -1 with errno set when the
 * program could not be run.
 */
int esp_run(char *const argv[], char **out);

/* Has the running system booted through UEFI (so boot entries can be read and written)? */
int esp_uefi_system(void);

#endif
