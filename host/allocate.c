/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * allocate.c - `vhdx allocate`: make every block of the virtual disk, of one partition inside it, or of
 * a byte range present and zero-filled, so that `vhdx map --rw` can map it.  The work is the core's
 * (vhdx_allocate); this file picks the range and reports.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gpt.h"
#include "host.h"

static const char allocate_usage[] =
	"usage: vhdx allocate [--partition N|root|usr|esp|PARTUUID | --range OFFSET:LENGTH] IMAGE\n"
	"\n"
	"Make every block of the virtual disk of IMAGE present and zero-filled, so that it can be mapped read-write\n"
	"('vhdx map --rw').  Blocks that are present keep their data; the others read as zeros before and after.\n"
	"New blocks go after the last used byte of the file, which grows; on a block device the room must be there\n"
	"already, or nothing is written.  The BAT changes go through the VHDX log: an interruption leaves an image\n"
	"that opens, and the next run (or any VHDX reader) replays the log.  A pending log is replayed first.\n"
	"The FileWriteGuid changes; the DataWriteGuid does not (the virtual disk reads the same).\n"
	"\n"
	"  --partition SEL       only the blocks of that partition of the GPT inside the virtual disk: its number,\n"
	"                        its PARTUUID, or root, usr, esp (Discoverable Partitions Specification types)\n"
	"  --range OFF:LEN       only the blocks that bytes OFF..OFF+LEN of the virtual disk touch (K, M, G, T)\n"
	"  -h, --help            this text\n"
	"  --version             the version\n"
	"\n"
	"Exit 0 done (or nothing to do), 1 refused (corrupt, differencing, read-only, no room, no such partition),\n"
	"2 usage or I/O error.\n";

/* "OFF:LEN" with the usual size suffixes; 0 or -1. */
static int parse_range(const char *s, uint64_t *off, uint64_t *len)
{
	char buf[64];
	const char *colon = strchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, (size_t)(colon - s));
	buf[colon - s] = 0;
	return host_parse_size(buf, off) || host_parse_size(colon + 1, len) ? -1 : 0;
}

/* The format demands a pending log be replayed before anything else is written.  0 or an exit code. */
static int replay_first(struct host_file *f, struct vhdx_image *img, const char *path)
{
	uint64_t entries = img->log.entries;
	uint8_t rnd[32];
	vhdx_status st;
	int e;

	if (!img->log_pending)
		return 0;
	e = host_random(rnd, sizeof(rnd));
	if (e) {
		host_error(path, "no random bytes for the log replay: %s; nothing was written", strerror(e));
		return EXIT_USAGE;
	}
	st = vhdx_replay(img, rnd);
	if (st)
		return host_report(path, st, img->msg, f);
	printf("%s: replayed %" PRIu64 " log entries first\n", path, entries);
	return 0;
}

static void report(const char *path, const struct vhdx_image *img, uint64_t off, uint64_t len,
		   const struct vhdx_allocate_result *r)
{
	char a[32], b[32];

	printf("%s: bytes %" PRIu64 "..%" PRIu64 " of the virtual disk: ", path, off, off + len);
	if (!r->blocks) {
		printf("%s %" PRIu64 " block%s present already; nothing was written\n", r->present == 1 ? "its" : "all",
		       r->present, r->present == 1 ? " is" : "s are");
		return;
	}
	printf("allocated %" PRIu64 " blocks (%s) at file offset %" PRIu64 ", %" PRIu64 " present already; "
	       "the file grew by %" PRIu64 " bytes (%s)",
	       r->blocks, host_human(r->blocks * img->block_size, a, sizeof(a)), r->first_offset, r->present, r->grown,
	       host_human(r->grown, b, sizeof(b)));
	if (r->zeroed)
		printf(", %" PRIu64 " bytes of free space zeroed", r->zeroed);
	printf("; %" PRIu64 " log entr%s\n", r->entries, r->entries == 1 ? "y" : "ies");
}

int cmd_allocate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "partition", required_argument, NULL, 'p' }, { "range", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },            { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sel = NULL, *range = NULL, *path;
	struct vhdx_allocate_result res;
	struct vhdx_image img;
	struct host_file f;
	uint64_t off = 0, len = 0;
	uint8_t rnd[32];
	int c, rc, opened, e;
	vhdx_status st;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': sel = optarg; break;
		case 'r': range = optarg; break;
		default: return host_opt_common("allocate", c, allocate_usage, argv);
		}
	}
	if (argc - optind != 1)
		return host_usage_error("allocate", "expected 1 operand, got %d", argc - optind);
	if (sel && range)
		return host_usage_error("allocate", "--partition and --range exclude each other");
	if (range && parse_range(range, &off, &len))
		return host_usage_error("allocate", "--range '%s' is not OFFSET:LENGTH (byte counts, K M G T suffixes)",
					range);
	path = argv[optind];
	rc = host_image_open(&f, &img, path, HOST_RDWR, &opened);
	if (rc)
		return rc;
	host_print_warnings(path, &img);
	f.grow_written = 1; /* new blocks get real storage: see host/file.c */
	rc = replay_first(&f, &img, path);
	if (!rc && sel)
		rc = host_gpt_partition(&img, path, sel, &off, &len);
	if (!rc && !sel && !range)
		len = img.virtual_size;
	if (!rc && (e = host_random(rnd, sizeof(rnd)))) {
		host_error(path, "no random bytes for the new FileWriteGuid and LogGuid: %s; nothing was written",
			   strerror(e));
		rc = EXIT_USAGE;
	}
	if (rc) {
		host_image_close(&f, &img);
		return rc;
	}
	st = vhdx_allocate(&img, off, len, rnd, NULL, &res);
	if (st) {
		rc = host_report(path, st, img.msg, &f);
		if (res.entries || res.grown)
			host_error(path, "stopped after %" PRIu64 " log entries; the image opens, and the next run replays "
				   "its log and completes the allocation", res.entries);
		host_image_close(&f, &img);
		return rc;
	}
	report(path, &img, off, len, &res);
	int frags = host_file_extents(&f);
	if (res.grown && frags > 1)
		printf("%s: the file now has %d extents on its file system (booted from the raw partition, each is a "
		       "device-mapper segment; a copy to a freshly defragmented volume makes it one)\n", path, frags);
	vhdx_close(&img);
	e = host_file_close(&f);
	if (e) {
		host_error(path, "%s", strerror(e));
		return EXIT_USAGE;
	}
	return fflush(stdout) ? EXIT_USAGE : EXIT_SOUND;
}
