/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * optparse.h - what the boot module is told, without the firmware: the option tokenizer, key=value handling, raw
 * LoadOptions, the config file (ASCII or UTF-16LE) and the --disk selection.  optparse.c and disksel.c include no
 * EFI header, so they compile for the module and for the host (tests/unit/test_options.c, tests/fuzz/
 * fuzz_options.c); options.c and main.c are the firmware side.  Strings are CHAR16, spelled uint16_t here.
 *
 * The binding provides con_say and fmt (console.c in firmware, the test shim on the host) and mem_alloc/mem_free.
 */
#ifndef VHDXBOOT_OPTPARSE_H
#define VHDXBOOT_OPTPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "ucs2.h"
#include "vhdx.h" /* struct vhdx_guid, VHDX_SHA256_SIZE (types only: pinparse.c links guidparse and sha256) */

/* %ls takes a CHAR16 string: printf-checkable only where wchar_t is 16 bits (the module, -fshort-wchar). */
#if defined(__WCHAR_MAX__) && __WCHAR_MAX__ <= 0xFFFF
#define VHDXBOOT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define VHDXBOOT_PRINTF(f, a)
#endif

size_t fmt(char *buf, size_t size, const char *f, ...) VHDXBOOT_PRINTF(3, 4);
void con_say(const char *f, ...) VHDXBOOT_PRINTF(1, 2); /* "vhdxboot: " ... "\n" */

#define VHDXBOOT_CONF_NAME "vhdxboot.conf"
#define OPT_MAX_TOKENS 64

enum on_error { ON_ERROR_STOP = 0, ON_ERROR_CONTINUE = 1 };

/* what the owner pins about the image (efi/policy.c checks it at boot; pinparse.c parses the keys) */
enum { POLICY_DISK_ID = 1u << 0, POLICY_DATA_WRITE = 1u << 1, POLICY_SHA256 = 1u << 2 };
struct boot_policy {
	unsigned have;         /* POLICY_* pinned */
	struct vhdx_guid disk_id, data_write_guid;
	uint8_t sha256[VHDX_SHA256_SIZE];
	int warn_only;         /* on-mismatch = warn */
	int embedded;          /* the .vhdxpol section is in force: other sources are ignored */
	int refused;           /* a mismatch with on-mismatch = stop (or a broken embedded policy): no next stage */
};
/* The pin keys, in this order: require-disk-id, require-data-write-guid, require-sha256, on-mismatch. */
enum { PIN_KEY_DISK, PIN_KEY_DATA, PIN_KEY_SHA, PIN_KEY_ONMISMATCH, PIN_KEYS };
int policy_key_index(const uint16_t *k, size_t n); /* PIN_KEY_*, or -1: not a policy key */
/* Sets one pin from its text; where names the source in messages.  OPT_OK, or OPT_INVALID after a message.  Once
 * an embedded policy is in force (p->embedded), values from elsewhere (from_embedded == 0) are ignored with a line. */
int policy_set(struct boot_policy *p, int key, const uint16_t *value, const char *where, int from_embedded);

enum { OS_WRITE_NO = 0, OS_WRITE_YES = 1, OS_WRITE_EXPAND = 2 }; /* os-write = no | yes | expand */
struct boot_options {
	uint16_t *next;        /* next stage: path on our volume, or "vhdx:PATH" / "vhdx:" inside the image */
	uint16_t *disk;        /* device selection: "auto", an index from --list, or device-path text */
	uint16_t *image;       /* a VHDX file (path on our volume, then on the other FAT volumes) */
	uint16_t *child_args;  /* what follows "--": the next stage's LoadOptions */
	int check_only;
	int on_error;
	int list;
	int help;
	int no_config;
	int os_write;          /* OS_WRITE_*: handoff says the OS may write (default read-only), or expand then write */
	int vdisk_write;       /* the next stage inside the image may write its virtual disk (vdisk.c; default no) */
	struct boot_policy policy; /* the owner's pins (pinparse.c) */
	unsigned set;          /* which fields the command line gave (OPT_*) */
};
enum {
	OPT_NEXT = 1u << 0, OPT_DISK = 1u << 1, OPT_IMAGE = 1u << 2, OPT_ARGS = 1u << 3, OPT_CHECK = 1u << 4,
	OPT_ONERR = 1u << 5, OPT_OSWRITE = 1u << 6, /* os-write */
	OPT_REQ_DISK = 1u << 7, OPT_REQ_DATA = 1u << 8, OPT_REQ_SHA = 1u << 9, OPT_ONMISMATCH = 1u << 10, /* the pins */
	OPT_VDISKWRITE = 1u << 11
};

/* The result of the parsers: OPT_OK, or OPT_INVALID after a message (con_say) naming the token or line. */
enum { OPT_OK = 0, OPT_INVALID = -1 };

/* Splits a command line into tokens (mem_alloc'd); double quotes group, ^ escapes (as in the UEFI Shell). */
size_t opt_tokenize(const uint16_t *s, size_t len, uint16_t **tok, size_t max);
/* A boot entry's LoadOptions may be binary (OVMF marks its own entries with a GUID): only printable text counts. */
int opt_looks_like_text(const uint16_t *s, size_t chars);
/* Applies command-line tokens (Shell Argv without Argv[0], or tokenized LoadOptions). */
int opt_parse_tokens(struct boot_options *o, uint16_t **tok, size_t n);
/* Raw LoadOptions bytes: ignored unless text; the program's own path, when a boot manager put it first, skipped. */
int opt_parse_load_options(struct boot_options *o, const void *data, size_t bytes);
/* vhdxboot.conf: UTF-16LE with a BOM is narrowed in place first (returns the new size), then "key = value" lines. */
size_t opt_config_narrow(char *text, size_t size);
int opt_parse_config(struct boot_options *o, char *text, size_t size);
/* Frees what the parsers allocated in o. */
void opt_free(struct boot_options *o);

/* disksel.c: --disk SEL over the device-path texts of the VHDX found (texts[i * stride] in bytes, see main.c) */
enum disk_choice {
	DISK_PICKED,      /* *pick is the device */
	DISK_NONE,        /* auto, and no VHDX at all */
	DISK_SEVERAL,     /* auto, and more than one */
	DISK_INDEX_RANGE, /* an index not below the count */
	DISK_MATCHES,     /* device-path text matching *hits devices, not one */
};
enum disk_choice disk_select(const uint16_t *sel, const uint16_t *const *texts, size_t stride, size_t n,
			     size_t *pick, size_t *hits);

#endif
