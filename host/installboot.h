/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * installboot.h - the parts of `vhdx install-boot` (installboot.c): the vhdxboot.conf it writes (bootconf.c) and
 * the files it puts on the ESP with their record, DIR/EFI/vhdxboot/installed (bootmanifest.c).
 */
#ifndef HOST_INSTALLBOOT_H
#define HOST_INSTALLBOOT_H

#include <stddef.h>

/* The config keys install-boot writes (vhdxboot.conf(5)), in the order they are written. */
enum { BM_KEY_NEXT, BM_KEY_DISK, BM_KEY_IMAGE, BM_KEY_ONERR, BM_KEY_ARGS, BM_CONF_KEYS };
#define BM_CONF_MAX 4096

/* os-write as install-boot writes it: not at all, "yes", or "expand" (allocate absent blocks at boot, then write) */
enum { BM_OS_WRITE_NONE, BM_OS_WRITE_YES, BM_OS_WRITE_EXPAND };

/*
 * The text of vhdxboot.conf from the option values (NULL: not given), the check-only flag, os-write (BM_OS_WRITE_*)
 * and vdisk-write (the firmware's view of the image accepts writes: systemd-boot's random seed, boot counting).
 * 0, or -1 with the reason in why: a value the module's config reader could not read back as given (empty, a '#',
 * which starts a comment, a line break, a character outside printable ASCII, spaces at either end).
 */
int bm_conf_text(const char *const value[BM_CONF_KEYS], int check_only, int os_write, int vdisk_write, char *out,
		 size_t outlen, char *why, size_t whylen);

/* The record of what install-boot created, relative to the ESP's root. */
#define BM_MANIFEST "EFI/vhdxboot/installed"
#define BM_PATH_MAX 64
#define BM_MAX_ITEMS 32

enum bm_kind {
	BM_DIR,   /* a directory it created */
	BM_FILE,  /* a file it created (or replaced, with a BM_SAVED before it) */
	BM_SAVED, /* the file that was at path, kept in EFI/vhdxboot/saved/ */
	BM_ENTRY  /* a firmware boot entry, BootXXXX */
};

struct bm_item {
	enum bm_kind kind;
	char path[BM_PATH_MAX];
	unsigned num;
};

struct bm_manifest {
	unsigned n;
	struct bm_item item[BM_MAX_ITEMS];
};

/* Reads root/BM_MANIFEST; *present 0 when there is none.  0, or an exit code (a damaged record: reported). */
int bm_read(const char *root, struct bm_manifest *m, int *present);

enum bm_state { BM_T_MISSING, BM_T_SAME, BM_T_REPLACE, BM_T_SAVE_REPLACE };

struct bm_target {
	char rel[BM_PATH_MAX];
	const void *data;
	size_t len;
	enum bm_state state;
};

#define BM_MAX_TARGETS 4

struct bm_plan {
	const char *root;
	struct bm_manifest m;
	struct bm_target t[BM_MAX_TARGETS];
	unsigned nt;
	int mk_efi, mk_ours, mk_boot, mk_saved; /* directories to create */
};

/*
 * Looks at what is on the ESP and decides what to write: the module and conf in EFI/vhdxboot/, and when bootfile
 * is not NULL also EFI/BOOT/bootfile and EFI/BOOT/vhdxboot.conf.  Writes nothing.  0, or an exit code after
 * reporting a refusal (a file that is not ours without force, a damaged record).
 */
int bm_plan_install(struct bm_plan *p, const char *root, const void *module, size_t module_len, const char *conf,
		    const char *bootfile, int force);
/* Creates the directories, records the plan, moves replaced files aside and writes the files, saying what it did
 * or found in place.  0, or an exit code (reported). */
int bm_apply(struct bm_plan *p);
/* Adds a boot entry to the record.  0, or an exit code (reported). */
int bm_record_entry(struct bm_plan *p, unsigned num);
/* Takes away the files and directories of the record (not its boot entries), then the record.  0, or an exit
 * code (reported). */
int bm_remove(const char *root, const struct bm_manifest *m);

#endif
