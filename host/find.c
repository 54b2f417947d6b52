/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * find.c - `vhdx find --disk-id GUID`: which block device holds the VHDX with that VirtualDiskId.
 *
 * The initramfs knows the image only by the IDs vhdxboot left in its EFI variable (or a kernel parameter); device
 * names are not stable.  Every disk and partition in /sys/class/block is opened read-only; those that start with
 * the VHDX signature are validated (vhdx_open writes nothing) and their VirtualDiskId compared.
 *
 * A copied golden image keeps its VirtualDiskId, so several devices commonly hold "the" image.  vhdxboot's
 * variable says more: the FileWriteGuid it wrote this boot (new at every session update, so only the image it
 * booted has it), the DataWriteGuid and the GPT partition the image lies on.  Given those, the one device that
 * matches them all is the answer, however many copies sit beside it.  Several devices that match everything
 * given are a refusal: mapping the wrong copy of a disk would be silent corruption.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpt.h"
#include "host.h"

#define SYS_BLOCK "/sys/class/block"
#define DEV_DIR "/dev/"
#define VHDX_SIGNATURE "vhdxfile"
#define FIND_MAX_HITS 32
#define EXIT_SEVERAL 3 /* several devices match everything given: waiting for more devices cannot help */

#define SECTOR_MIN 512
#define SECTOR_MAX 65536

static const char find_usage[] =
	"usage: vhdx find --disk-id GUID [--file-write-guid GUID] [--data-write-guid GUID] [--partuuid GUID]\n"
	"                 [--file PATH]\n"
	"\n"
	"Look through every block device and partition (/sys/class/block) for the VHDX whose VirtualDiskId is GUID,\n"
	"opening each read-only, and print 'DEVICE DATAWRITEGUID' of the one that also matches every other GUID\n"
	"given.  Copies of an image share its VirtualDiskId; the other GUIDs (vhdxboot's EFI variable carries them)\n"
	"pick the copy that was booted.  Devices that cannot be opened are skipped.\n"
	"\n"
	"  --disk-id GUID          the VirtualDiskId (vhdx info shows it)\n"
	"  --file-write-guid GUID  the image's current FileWriteGuid (vhdxboot's session update wrote it)\n"
	"  --data-write-guid GUID  the image's current DataWriteGuid\n"
	"  --partuuid GUID         the device is the GPT partition with this unique partition GUID\n"
	"  --file PATH             the VHDX is the file PATH inside each device's file system (NTFS, exFAT, ext4,\n"
	"                          FAT32, read by vhdx's own locator); prints DEVICE/PATH, which every command opens\n"
	"  -h, --help              this text\n"
	"\n"
	"Exit 0 found exactly one, 1 none matches (the candidates are listed), 2 usage or I/O error,\n"
	"3 several match everything given (listed; refused).\n";

/* What was asked: the VirtualDiskId, and each optional GUID with whether it was given. */
struct want {
	struct vhdx_guid disk_id, fwg, dwg, partuuid;
	int has_fwg, has_dwg, has_partuuid;
	const char *file; /* the image is this file inside the device's file system */
};

struct hit {
	char dev[PATH_MAX + 300];
	struct vhdx_guid fwg, dwg, partuuid;
	int is_partition, has_partuuid;
};

/* A number from a one-line sysfs file; 0 when absent or malformed. */
static unsigned long sysfs_number(const char *path)
{
	char buf[32];
	FILE *f = fopen(path, "r");
	unsigned long v = 0;

	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f))
		v = strtoul(buf, NULL, 10);
	fclose(f);
	return v;
}

static int fd_read(void *ctx, uint64_t off, void *buf, size_t len, char *why, size_t whylen)
{
	ssize_t n = pread(*(int *)ctx, buf, len, (off_t)off);

	if (n == (ssize_t)len)
		return 0;
	snprintf(why, whylen, "%zu bytes at offset %llu: %s", len, (unsigned long long)off,
		 n < 0 ? strerror(errno) : "short read");
	return -1;
}

/*
 * The unique GUID of partition `name` (vda1, sdb2) as its disk's GPT says: the kernel keeps PARTUUID out of sysfs,
 * so the GPT is read from the parent disk (host/gpt.c, both CRCs checked, the backup if the primary is damaged,
 * as the kernel does).  0 and *g set, or -1 (not a GPT partition, or unreadable).
 */
static int partition_uuid(const char *name, struct vhdx_guid *g)
{
	char path[PATH_MAX], link[PATH_MAX], disk[NAME_MAX + 1], msg[320];
	struct host_gpt gpt;
	int rc = -1;

	snprintf(path, sizeof(path), SYS_BLOCK "/%s/partition", name);
	unsigned long partno = sysfs_number(path);
	snprintf(path, sizeof(path), SYS_BLOCK "/%s", name);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (!partno || n <= 0)
		return -1;
	link[n] = 0;
	snprintf(disk, sizeof(disk), "%.255s", basename(dirname(link))); /* .../vda/vda1: the disk is the parent */
	snprintf(path, sizeof(path), SYS_BLOCK "/%s/queue/logical_block_size", disk);
	unsigned long sector = sysfs_number(path);
	if (sector < SECTOR_MIN || sector > SECTOR_MAX)
		return -1;
	snprintf(path, sizeof(path), DEV_DIR "%s", disk);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	off_t size = lseek(fd, 0, SEEK_END);
	struct host_gpt_disk d = { (uint32_t)sector, size > 0 ? (uint64_t)size : 0, fd_read, &fd };
	if (!host_gpt_read_disk(&d, &gpt, msg, sizeof(msg))) {
		for (unsigned i = 0; i < gpt.count; i++)
			if (gpt.part[i].index == partno) {
				*g = gpt.part[i].uuid;
				rc = 0;
			}
		host_gpt_free(&gpt);
	}
	close(fd);
	return rc;
}

/* Looks at one device; fills *h and returns 1 when it holds a valid VHDX with the VirtualDiskId wanted. */
static int probe(const char *name, const struct want *w, struct hit *h)
{
	struct host_file f;
	struct vhdx_image img;
	char dev[sizeof(h->dev)], path[PATH_MAX], sig[8];
	int match = 0;

	if (w->file) /* DEVICE/PATH: the file inside the device's file system (a device without one fails here) */
		snprintf(dev, sizeof(dev), DEV_DIR "%s/%s", name, w->file + (w->file[0] == '/'));
	else
		snprintf(dev, sizeof(dev), DEV_DIR "%s", name);
	if (host_file_open(&f, dev, HOST_RDONLY))
		return 0;
	if (f.io.size < sizeof(sig) || f.io.read(f.io.ctx, 0, sig, sizeof(sig)) || memcmp(sig, VHDX_SIGNATURE, 8)) {
		host_file_close(&f);
		return 0;
	}
	memset(&img, 0, sizeof(img));
	vhdx_status st = vhdx_open(&img, &f.io);
	if (st) {
		fprintf(stderr, "vhdx: find: %s: skipped, does not validate: %s\n", dev,
			img.msg[0] ? img.msg : vhdx_status_message(st));
	} else if (vhdx_guid_equal(&img.disk_id, &w->disk_id)) {
		memset(h, 0, sizeof(*h));
		snprintf(h->dev, sizeof(h->dev), "%s", dev);
		h->dwg = img.header[img.current].data_write_guid;
		h->fwg = img.header[img.current].file_write_guid;
		snprintf(path, sizeof(path), SYS_BLOCK "/%s/partition", name);
		h->is_partition = access(path, F_OK) == 0;
		h->has_partuuid = h->is_partition && !partition_uuid(name, &h->partuuid);
		match = 1;
	}
	vhdx_close(&img);
	host_file_close(&f);
	return match;
}

/* Does the candidate match every GUID given besides the VirtualDiskId? */
static int matches(const struct hit *h, const struct want *w)
{
	if (w->has_fwg && !vhdx_guid_equal(&h->fwg, &w->fwg))
		return 0;
	if (w->has_dwg && !vhdx_guid_equal(&h->dwg, &w->dwg))
		return 0;
	if (w->has_partuuid && !(h->has_partuuid && vhdx_guid_equal(&h->partuuid, &w->partuuid)))
		return 0;
	return 1;
}

static void list_hit(const struct hit *h, const char *why)
{
	char fwg[VHDX_GUID_TEXT], dwg[VHDX_GUID_TEXT], pu[VHDX_GUID_TEXT];

	vhdx_guid_format(&h->fwg, fwg);
	vhdx_guid_format(&h->dwg, dwg);
	if (h->has_partuuid)
		vhdx_guid_format(&h->partuuid, pu);
	fprintf(stderr, "vhdx: find:   %s (FileWriteGuid %s, DataWriteGuid %s, %s%s)%s\n", h->dev, fwg, dwg,
		h->has_partuuid ? "PARTUUID " : h->is_partition ? "a partition without a GPT PARTUUID" : "a whole disk",
		h->has_partuuid ? pu : "", why);
}

/* What was given beyond the VirtualDiskId, for the messages: " with FileWriteGuid X, ..." or "". */
static void describe(const struct want *w, char *out, size_t len)
{
	char t[VHDX_GUID_TEXT];
	size_t n = 0;
	const char *sep = " with";

	out[0] = 0;
	if (w->has_fwg) {
		vhdx_guid_format(&w->fwg, t);
		n += (size_t)snprintf(out + n, len - n, "%s FileWriteGuid %s", sep, t);
		sep = ",";
	}
	if (w->has_dwg && n < len) {
		vhdx_guid_format(&w->dwg, t);
		n += (size_t)snprintf(out + n, len - n, "%s DataWriteGuid %s", sep, t);
		sep = ",";
	}
	if (w->has_partuuid && n < len) {
		vhdx_guid_format(&w->partuuid, t);
		snprintf(out + n, len - n, "%s PARTUUID %s", sep, t);
	}
}

static int parse_guid_opt(const char *opt, const char *text, struct vhdx_guid *g, int *given)
{
	if (vhdx_guid_parse(text, strlen(text), g))
		return host_usage_error("find", "%s '%s' is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", opt, text);
	if (given)
		*given = 1;
	return 0;
}

/* The candidates found, judged against what was asked; prints the answer or the reason.  The exit code. */
static int verdict(const struct hit *hits, unsigned n, unsigned total, const struct want *w, const char *id)
{
	char more[200];
	unsigned good = 0, pick = 0;

	describe(w, more, sizeof(more));
	for (unsigned i = 0; i < n; i++)
		if (matches(&hits[i], w)) {
			good++;
			pick = i;
		}
	if (good == 1 && total == n) {
		char dwg[VHDX_GUID_TEXT];
		if (n > 1) {
			fprintf(stderr, "vhdx: find: %u devices hold a VHDX with VirtualDiskId %s; %s is the one%s:\n", n,
				id, hits[pick].dev, more);
			for (unsigned i = 0; i < n; i++)
				list_hit(&hits[i], i == pick ? " <- this one" : "");
		}
		vhdx_guid_format(&hits[pick].dwg, dwg);
		printf("%s %s\n", hits[pick].dev, dwg);
		return fflush(stdout) ? EXIT_USAGE : EXIT_SOUND;
	}
	if (!total) {
		host_error("find", "no block device holds a VHDX with VirtualDiskId %s", id);
		return EXIT_BAD;
	}
	if (total > n) {
		host_error("find", "more than %u devices hold a VHDX with VirtualDiskId %s; refusing to guess", n, id);
		return EXIT_SEVERAL;
	}
	if (!good) {
		host_error("find", "%u device%s hold%s a VHDX with VirtualDiskId %s, but none%s:", n, n == 1 ? "" : "s",
			   n == 1 ? "s" : "", id, more);
		for (unsigned i = 0; i < n; i++)
			list_hit(&hits[i], "");
		return EXIT_BAD;
	}
	host_error("find", "%u devices hold a VHDX with VirtualDiskId %s%s; refusing to guess which was booted:",
		   good, id, more);
	for (unsigned i = 0; i < n; i++)
		if (matches(&hits[i], w))
			list_hit(&hits[i], "");
	return EXIT_SEVERAL;
}

int cmd_find(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "disk-id", required_argument, NULL, 'i' },
		{ "file-write-guid", required_argument, NULL, 'f' },
		{ "data-write-guid", required_argument, NULL, 'd' },
		{ "partuuid", required_argument, NULL, 'p' },
		{ "file", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct want w;
	const char *id = NULL;
	struct hit hits[FIND_MAX_HITS];
	unsigned n = 0, total = 0;
	int c, rc = 0;

	memset(&w, 0, sizeof(w));
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': id = optarg; rc = parse_guid_opt("--disk-id", optarg, &w.disk_id, NULL); break;
		case 'f': rc = parse_guid_opt("--file-write-guid", optarg, &w.fwg, &w.has_fwg); break;
		case 'd': rc = parse_guid_opt("--data-write-guid", optarg, &w.dwg, &w.has_dwg); break;
		case 'p': rc = parse_guid_opt("--partuuid", optarg, &w.partuuid, &w.has_partuuid); break;
		case 'F': w.file = optarg; break;
		default: return host_opt_common("find", c, find_usage, argv);
		}
		if (rc)
			return rc;
	}
	if (argc != optind)
		return host_usage_error("find", "unexpected operand '%s'", argv[optind]);
	if (!id)
		return host_usage_error("find", "--disk-id GUID is required");

	DIR *d = opendir(SYS_BLOCK);
	if (!d) {
		host_error(SYS_BLOCK, "%s", strerror(errno));
		return EXIT_USAGE;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		struct hit h;
		if (e->d_name[0] == '.' || !probe(e->d_name, &w, &h))
			continue;
		if (n < FIND_MAX_HITS)
			hits[n++] = h;
		total++;
	}
	closedir(d);
	return verdict(hits, n, total, &w, id);
}
