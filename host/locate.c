/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * locate.c - `vhdx locate [--json] PARTITION PATH`: where the bytes of a file lie on a partition, computed by the
 * core's read-only locators (the same code the boot module runs), without mounting anything.
 *
 * The partition (a block device or a file holding a partition image) is opened read-only.  Text output: `fs KIND`,
 * `size BYTES`, `flags clean` or the flags joined by commas, `extents N`, then one line per extent
 * `FILE_OFFSET PART_OFFSET LENGTH` in bytes.  Exit 0 found, 1 refused (the core's reason on stderr), 2 usage or
 * I/O error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "host.h"
#include "json.h"

#define LOCATE_EXTENT_MAX (1u << 20) /* 24 MiB of extents: a VHDX in a million fragments is refused, named */

static const char locate_usage[] =
	"usage: vhdx locate [--json] PARTITION PATH\n"
	"\n"
	"Find PATH on the FAT32, exFAT, NTFS or ext4 file system in PARTITION (a block device or a partition image,\n"
	"opened read-only; nothing is mounted) and print where the file's bytes lie on the partition:\n"
	"  fs KIND / size BYTES / flags clean|dirty,hibernated,recovery / extents N\n"
	"  then per extent: FILE_OFFSET PART_OFFSET LENGTH (bytes, decimal)\n"
	"Exit 0 found, 1 refused (not found, corrupt, or a file raw extents cannot serve), 2 usage or I/O error.\n"
	"\n"
	"  --json       the same as a JSON object\n"
	"  -h, --help   this text\n";

static void flags_text(uint32_t flags, char *buf, size_t len)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = { { VHDX_FS_DIRTY, "dirty" }, { VHDX_FS_HIBERNATED, "hibernated" }, { VHDX_FS_RECOVERY, "recovery" } };
	size_t k = 0;

	buf[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & names[i].bit)
			k += (size_t)snprintf(buf + k, len - k, "%s%s", k ? "," : "", names[i].name);
	if (!k)
		snprintf(buf, len, "clean");
}

static void print_json(const struct vhdx_fs_file *r, const char *flags)
{
	struct json j;

	json_init(&j, stdout);
	json_object(&j, NULL);
	json_string(&j, "fs", vhdx_fs_kind_name(r->kind));
	json_u64(&j, "size", r->size);
	json_string(&j, "flags", flags);
	json_u64(&j, "cluster_size", r->cluster_size);
	json_u64(&j, "bytes_read", r->bytes_read);
	json_u64(&j, "reads", r->reads);
	json_array(&j, "extents");
	for (uint32_t i = 0; i < r->extent_count; i++) {
		json_object(&j, NULL);
		json_u64(&j, "file_offset", r->extents[i].file_offset);
		json_u64(&j, "part_offset", r->extents[i].part_offset);
		json_u64(&j, "length", r->extents[i].length);
		json_end(&j, '}');
	}
	json_end(&j, ']');
	json_end(&j, '}');
	json_finish(&j);
}

int cmd_locate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct vhdx_fs_file r;
	struct host_file f;
	char flags[64];
	int c, json = 0, e;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else
			return host_opt_common("locate", c, locate_usage, argv);
	}
	if (argc - optind != 2)
		return host_usage_error("locate", "PARTITION and PATH are required (got %d operands)", argc - optind);
	e = host_file_open(&f, argv[optind], HOST_RDONLY);
	if (e) {
		host_error(argv[optind], "%s", strerror(e));
		return EXIT_USAGE;
	}
	memset(&r, 0, sizeof(r));
	r.extent_max = LOCATE_EXTENT_MAX;
	r.extents = calloc(r.extent_max, sizeof(*r.extents));
	if (!r.extents) {
		host_file_close(&f);
		host_error("locate", "no memory for %u extents", r.extent_max);
		return EXIT_USAGE;
	}
	vhdx_status st = vhdx_fs_locate(&f.io, argv[optind + 1], &r);
	if (st) {
		/* "vhdx locate: <reason>", the form the locator's callers (tests, the initramfs) read */
		const char *text = r.msg[0] ? r.msg : vhdx_status_message(st);
		if ((st == VHDX_E_IO || st == VHDX_E_NOMEM) && f.err)
			fprintf(stderr, "vhdx locate: %s: %s\n", text, strerror(f.err));
		else
			fprintf(stderr, "vhdx locate: %s\n", text);
		int rc = host_exit_code(st);
		free(r.extents);
		host_file_close(&f);
		return rc;
	}
	flags_text(r.fs_flags, flags, sizeof(flags));
	if (json) {
		print_json(&r, flags);
	} else {
		printf("fs %s\nsize %llu\nflags %s\nextents %u\n", vhdx_fs_kind_name(r.kind), (unsigned long long)r.size,
		       flags, r.extent_count);
		for (uint32_t i = 0; i < r.extent_count; i++)
			printf("%llu %llu %llu\n", (unsigned long long)r.extents[i].file_offset,
			       (unsigned long long)r.extents[i].part_offset, (unsigned long long)r.extents[i].length);
	}
	free(r.extents);
	host_file_close(&f);
	return fflush(stdout) ? EXIT_USAGE : EXIT_SOUND;
}
