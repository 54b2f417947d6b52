/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * boot.h - what the files of the UEFI boot module share.  Only efi/ includes it.
 *
 * The module takes nothing from gnu-efi's libefi: the firmware tables are kept here, printing and device-path
 * handling live in console.c and devpath.c.  (libefi's init.o defines memcpy/memset, which core/mem.c provides.)
 */
#ifndef VHDXBOOT_BOOT_H
#define VHDXBOOT_BOOT_H

#include <efi.h>
#include <efishell.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "vhdx.h"
#include "efiarch.h" /* per-architecture names: the removable-media path, the CPU random instruction */

/* core/mem.c provides these in the EFI image as well */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#define VHDXBOOT_NAME "vhdxboot"
#define VHDXBOOT_CONF L"vhdxboot.conf"

/* globals.c: the firmware, as handed to efi_main; efi_globals_set keeps it (EFI_LOAD_ERROR: no LoadedImage) */
extern EFI_HANDLE g_image;
extern EFI_SYSTEM_TABLE *g_st;
extern EFI_BOOT_SERVICES *g_bs;
extern EFI_LOADED_IMAGE *g_loaded; /* our own LoadedImage */
EFI_STATUS efi_globals_set(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab);

/* efiguid.c: the GUIDs we use, defined once */
extern EFI_GUID g_guid_loaded_image;
extern EFI_GUID g_guid_device_path;
extern EFI_GUID g_guid_block_io;
extern EFI_GUID g_guid_simple_fs;
extern EFI_GUID g_guid_file_info;
extern EFI_GUID g_guid_fs_info;
extern EFI_GUID g_guid_rng;
extern EFI_GUID g_guid_shell_params;
extern EFI_GUID g_guid_dp_to_text;

/* console.c: printf format strings as core/fmt.c reads them (%ls takes a CHAR16 string; a status goes through
 * efi_status_name and %s), checked by the compiler. */
size_t fmt_v(char *buf, size_t size, const char *fmt, va_list ap) VHDX_PRINTF(3, 0);
size_t fmt(char *buf, size_t size, const char *fmt, ...) VHDX_PRINTF(3, 4);
void con_print(const char *fmt, ...) VHDX_PRINTF(1, 2);
void con_say(const char *fmt, ...) VHDX_PRINTF(1, 2); /* "vhdxboot: " ... "\n" */
const char *efi_status_name(EFI_STATUS st);

/* memory.c: pool memory, and a buffer aligned for a device */
void *mem_alloc(UINTN len);
void *mem_zalloc(UINTN len);
void mem_free(void *p);
void *mem_alloc_aligned(UINTN len, UINTN align, void **base); /* free *base */

/* ucs2.h, optparse.h: CHAR16 strings, struct boot_options and the option parsers (no firmware calls) */
#include "optparse.h"

/* policy.c, embedded.c: struct boot_policy and the key parser are in optparse.h (pinparse.c) */
EFI_STATUS policy_load_embedded(struct boot_policy *p);
/* Hashes (if pinned), measures, compares.  EFI_SECURITY_VIOLATION when the image must be refused. */
EFI_STATUS policy_check(struct boot_policy *p, struct vhdx_image *img);
/* measure.c: one EV_IPL event in PCR 9 through EFI_TCG2_PROTOCOL (content_sha256 may be NULL) */
EFI_STATUS measure_image(const struct vhdx_image *img, const uint8_t *content_sha256);
/* shim.c: verify a next stage through shim's SHIM_LOCK protocol when shim is present */
EFI_STATUS shim_verify_dp(const EFI_DEVICE_PATH *dp, const CHAR16 *shown);
extern int g_shim_verified; /* the last shim_verify_dp had shim say yes */

/* options.c */
/* Parses the command line (Shell parameters, else LoadOptions when they are text).  Errors are printed. */
EFI_STATUS options_parse_cmdline(struct boot_options *o);
/* Reads vhdxboot.conf beside the application (if any) and fills what the command line left unset. */
EFI_STATUS options_read_config(struct boot_options *o);
void options_usage(void);

/* devpath.c */
EFI_DEVICE_PATH *dp_of(EFI_HANDLE h);
UINTN dp_size(const EFI_DEVICE_PATH *dp);                  /* bytes, end node included */
EFI_DEVICE_PATH *dp_append_file(const EFI_DEVICE_PATH *dp, const CHAR16 *path);
EFI_DEVICE_PATH *dp_append_node(const EFI_DEVICE_PATH *dp, const EFI_DEVICE_PATH *node);
CHAR16 *dp_text(const EFI_DEVICE_PATH *dp);                 /* pool string, or NULL */
CHAR16 *dp_dir_of_file(const EFI_DEVICE_PATH *dp);          /* directory of the file path nodes, "\\" ended */
int dp_is_prefix(const EFI_DEVICE_PATH *prefix, const EFI_DEVICE_PATH *dp);

/* fileio.c: files on simple-file-system volumes */
EFI_FILE_HANDLE fs_root(EFI_HANDLE volume);
EFI_STATUS fs_read_whole(EFI_FILE_HANDLE root, const CHAR16 *path, void **data, UINTN *size, UINTN max);
EFI_STATUS fs_file_size(EFI_FILE_HANDLE f, uint64_t *size);
EFI_STATUS fs_volume_read_only(EFI_FILE_HANDLE root, int *ro);

/* backends: fill struct vhdx_io; *_close releases what *_open took */
struct backend {
	struct vhdx_io io;
	CHAR16 *name;          /* for messages: device-path text or file path */
	EFI_STATUS last;       /* the firmware status of the last failing call */
	const char *ro_reason; /* why io.read_only is set, or NULL */
	void *priv;
};
EFI_STATUS blk_backend_open(struct backend *b, EFI_HANDLE h);
void blk_backend_close(struct backend *b);
EFI_STATUS file_backend_open(struct backend *b, EFI_HANDLE volume, const CHAR16 *path);
void file_backend_close(struct backend *b);
void backend_set_alloc(struct vhdx_io *io);

/* discover.c: Block I/O devices that start with the VHDX signature */
struct found_disk {
	EFI_HANDLE handle;
	CHAR16 *text;          /* device-path text */
	UINT32 block_size;
	uint64_t size;
	int read_only;
};
EFI_STATUS discover_disks(struct found_disk **list, UINTN *count);
void discover_free(struct found_disk *list, UINTN count);
void discover_print(const struct found_disk *list, UINTN count);
EFI_STATUS find_image_file(const CHAR16 *path, EFI_HANDLE *volume);

/* random.c: 32 bytes from EFI_RNG_PROTOCOL, else the CPU's instruction (RDRAND, RNDR); never anything weaker */
EFI_STATUS random_get(uint8_t *out, UINTN len, const char **source);

/* the CPU's random instruction, random.c's fallback (hwrng_x86.c: RDRAND, hwrng_aa64.c: RNDR; the
 * name in efiarch.h).  EFI_UNSUPPORTED: no such instruction; EFI_DEVICE_ERROR: it failed or repeats itself. */
EFI_STATUS hwrng_get(uint8_t *out, UINTN len);
/* hwrngfill.c: fills out from a 64-bit source (0 = a good value), refusing a generator stuck on one value */
EFI_STATUS hwrng_fill(uint8_t *out, UINTN len, int (*next)(uint64_t *v));

/* chainload.c */
EFI_STATUS chainload_path(EFI_HANDLE volume, const CHAR16 *path, const CHAR16 *args);
EFI_STATUS chainload_dp(EFI_DEVICE_PATH *dp, const CHAR16 *shown, const CHAR16 *args);

/* vdisk.c: the image's virtual disk as a firmware Block I/O device (boot from inside) */
struct vdisk;
/* Whether the virtual disk may be written this boot (the rule is in vdisk.c; says why not on the console). */
int vdisk_writable(const struct boot_options *o, const struct vhdx_image *img, int updated);
EFI_STATUS vdisk_install(struct vdisk **out, struct vhdx_image *img, EFI_HANDLE parent_handle, int writable);
EFI_STATUS vdisk_boot(struct vdisk *vd, const CHAR16 *path, const CHAR16 *args);
void vdisk_uninstall(struct vdisk *vd);

/* handoff.c: the volatile variable that tells the OS which image it was booted from (layout: core/handoff.h) */
void handoff_publish(const struct vhdx_image *img, EFI_HANDLE holder, const CHAR16 *file, int os_write, int updated);
void handoff_refresh(const struct vhdx_image *img); /* again, with the image's GUIDs of now (after a vdisk write) */
void handoff_clear(void);

/* parents.c: the parents of a differencing image, found (relative_path beside a file image, then the VHDX
 * devices by DataWriteGuid), opened read-only and attached level by level.  EFI_NOT_FOUND: a parent is missing
 * (said on the console, GUID named).  parents_release after the child is closed; *out may hold a partial chain. */
struct parents;
EFI_STATUS parents_attach(struct parents **out, struct vhdx_image *child, EFI_HANDLE handle, const CHAR16 *file);
void parents_release(struct parents **p);
EFI_STATUS file_backend_open_readonly(struct backend *b, EFI_HANDLE volume, const CHAR16 *path);

/* statusmap.c: a core status as the EFI_STATUS the module returns */
EFI_STATUS efi_status_of(vhdx_status st);

#endif
