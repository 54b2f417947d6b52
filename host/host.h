/* SPDX-License-Identifier: BSD-2-Clause */
/* host.h - what the `vhdx` tool's files share: subcommands, option handling, error reporting, exit codes. */
#ifndef HOST_HOST_H
#define HOST_HOST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "file.h"
#include "vhdx.h"

/* Exit codes. */
#define EXIT_SOUND 0
#define EXIT_BAD 1   /* corrupt, unsupported, log pending, read-only, sequence: the image's fault */
#define EXIT_USAGE 2 /* usage and I/O errors: the caller's or the system's */

#define HOST_VERSION_LINE "vhdx (vhdxboot) " VHDX_VERSION_STRING "\n"

int cmd_info(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_session(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_replay(int argc, char **argv);
/* the Linux root inside a VHDX: map.c, find.c, handoff.c, allocate.c */
int cmd_map(int argc, char **argv);
int cmd_find(int argc, char **argv);
int cmd_handoff(int argc, char **argv);
/* handoff.c: the handoff variable as efivarfs holds it (4 attribute bytes, then the data) printed to out as the
 * shell assignments `vhdx handoff` prints.  EXIT_SOUND, or EXIT_BAD with msg naming the field and value. */
int host_handoff_print(FILE *out, const uint8_t *var, size_t len, char *msg, size_t msglen);
int cmd_allocate(int argc, char **argv);
/* installboot.c: vhdxboot.efi onto an EFI System Partition */
int cmd_install_boot(int argc, char **argv);
int cmd_seal(int argc, char **argv); /* the policy pins and the predicted measurement */
int cmd_locate(int argc, char **argv); /* locate.c: a file's extents on a partition (core/fs.h) */

/*
 * cli.c: option helpers for the subcommands.  Each parses with getopt_long (opterr off) and hands the cases it does not
 * handle itself here: 'h' prints usage to stdout, 'V' the version, '?' and ':' an error line.  Returns the exit
 * code to leave with.
 */
int host_opt_common(const char *cmd, int c, const char *usage, char **argv);
/* For subcommands with only --help/--version: returns -1 with *first at `want` operands, or an exit code. */
int host_simple_args(const char *cmd, const char *text, int argc, char **argv, int want, int *first);
/* "vhdx: CMD: <message> (see 'vhdx CMD --help')" on stderr; returns EXIT_USAGE. */
int host_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "vhdx: NAME: <message>" on stderr. */
void host_error(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The exit code for a core status. */
int host_exit_code(vhdx_status st);
/* Reports a failed core call on an image: the core's message (plus the OS error behind an I/O failure). */
int host_report(const char *name, vhdx_status st, const char *msg, const struct host_file *f);

/*
 * imageopen.c: opens path in the given mode and runs vhdx_open.  Returns 0 when the image is open (close it with
 * host_image_close), otherwise reports the failure and returns the exit code; *opened tells whether the file
 * itself opened (img then holds whatever the core parsed before it stopped; the file is closed already).
 */
int host_image_open(struct host_file *f, struct vhdx_image *img, const char *path, int mode, int *opened);
void host_image_close(struct host_file *f, struct vhdx_image *img);
void host_print_warnings(const char *name, const struct vhdx_image *img);

/* units.c: parses a byte count with an optional K, M, G or T suffix (powers of 1024); 0 on success, -1 if malformed. */
int host_parse_size(const char *s, uint64_t *out);
/* "4 MiB", "1.5 GiB": a short human form of a byte count. */
const char *host_human(uint64_t bytes, char *buf, unsigned len);

/*
 * Differencing chains, host/chain.c: `--parent PATH` options (one per level, child's parent first)
 * taken out of argv, then the image and every parent opened read-only and attached.  img[0] is the image named.
 */
/*
 * parentscan.c: the parent of a differencing image found among the block devices by its DataWriteGuid (the
 * child's parent_linkage or parent_linkage2), every device opened read-only.  0 and the device's path (malloc'd)
 * in *out; else a message naming the level and the GUID, and HOST_EXIT_NO_PARENT (no device holds it) or EXIT_BAD
 * (several devices hold it with differing content).
 */
#define HOST_EXIT_NO_PARENT 3
struct host_parent_scan {
	const char *sys_block;  /* the directory listing the devices (/sys/class/block) */
	const char *dev_dir;    /* where their nodes are (/dev) */
	const char *child_name; /* the image named on the command line, for messages */
	unsigned level;         /* the level looked for: 1 the image's parent, 2 its parent's parent... */
	int notes;              /* say on stderr when several devices hold the same image */
};
int host_parent_scan(const struct host_parent_scan *s, const struct vhdx_parent_locator *loc, char **out);

struct json;
struct host_chain {
	unsigned n;               /* images open: the child and its parents */
	struct host_file *file;
	struct vhdx_image *img;
	char **path;
	const char *parent_opt[VHDX_CHAIN_MAX_DEPTH];
	unsigned nparent_opt;
	const struct host_parent_scan *scan; /* set: parents not given by --parent are found on the block devices */
};
/* Returns -1 (go on) or an exit code; removes --parent options from argv and lowers *argc. */
int host_chain_options(struct host_chain *ch, const char *cmd, int *argc, char **argv);
/* 0 when the whole chain is open, else reports and returns the exit code (nothing left open). */
int host_chain_open(struct host_chain *ch, const char *path);
void host_chain_close(struct host_chain *ch);
void host_chain_text(const struct host_chain *ch, const struct vhdx_image *img);
void host_chain_json(struct json *j, const struct host_chain *ch, const struct vhdx_image *img);

/* host/creatediff.c: `create --parent`: geometry from the parent and a Parent Locator (malloc'd, in *locator) */
int host_create_parent(struct vhdx_create_params *p, const char *parent, const char *image, int have_size,
		       uint8_t **locator);

#endif
