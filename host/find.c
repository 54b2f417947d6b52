/*
 * find.c - `vhdx find --disk-id GUID`: which block device holds the VHDX with that VirtualDiskId (issue 10).
 *
 * The initramfs knows the image only by the IDs vhdxboot left in its EFI variable (or a kernel parameter); device
 * names are not stable.  Every disk and partition in /sys/class/block is opened read-only; those that start with
 * the VHDX signature are validated (vhdx_open writes nothing) and their VirtualDiskId compared.  Two matches are
 * a refusal: mapping the wrong copy of a disk would be silent corruption.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpt.h"
#include "host.h"

#define SYS_BLOCK "/sys/class/block"
#define DEV_DIR "/dev/"
#define VHDX_SIGNATURE "vhdxfile"
#define FIND_MAX_HITS 8

static const char find_usage[] =
	"usage: vhdx find --disk-id GUID\n"
	"\n"
	"Look through every block device and partition (/sys/class/block) for the VHDX whose VirtualDiskId is GUID,\n"
	"opening each read-only, and print 'DEVICE DATAWRITEGUID'.  Devices that cannot be opened are skipped.\n"
	"Exit 0 found exactly one, 1 none or several (listed), 2 usage or I/O error.\n"
	"\n"
	"  --disk-id GUID   the VirtualDiskId (vhdx info shows it; vhdxboot's EFI variable carries it)\n"
	"  -h, --help       this text\n";

struct hit {
	char dev[300];
	char dwg[VHDX_GUID_TEXT];
};

/* Looks at one device; fills *h and returns 1 when it is the VHDX wanted. */
static int probe(const char *dev, const struct vhdx_guid *want, struct hit *h)
{
	struct host_file f;
	struct vhdx_image img;
	char sig[8];
	int match = 0;

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
	} else if (vhdx_guid_equal(&img.disk_id, want)) {
		snprintf(h->dev, sizeof(h->dev), "%s", dev);
		vhdx_guid_format(&img.header[img.current].data_write_guid, h->dwg);
		match = 1;
	}
	vhdx_close(&img);
	host_file_close(&f);
	return match;
}

int cmd_find(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "disk-id", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct vhdx_guid want;
	const char *id = NULL;
	struct hit hits[FIND_MAX_HITS];
	unsigned n = 0;
	int c;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'i')
			id = optarg;
		else
			return host_opt_common("find", c, find_usage, argv);
	}
	if (argc != optind)
		return host_usage_error("find", "unexpected operand '%s'", argv[optind]);
	if (!id)
		return host_usage_error("find", "--disk-id GUID is required");
	if (vhdx_guid_parse(id, strlen(id), &want))
		return host_usage_error("find", "--disk-id '%s' is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", id);

	DIR *d = opendir(SYS_BLOCK);
	if (!d) {
		host_error(SYS_BLOCK, "%s", strerror(errno));
		return EXIT_USAGE;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		char dev[sizeof(DEV_DIR) + 256];
		if (e->d_name[0] == '.')
			continue;
		snprintf(dev, sizeof(dev), DEV_DIR "%s", e->d_name);
		if (n < FIND_MAX_HITS && probe(dev, &want, &hits[n]))
			n++;
	}
	closedir(d);
	if (n == 1) {
		printf("%s %s\n", hits[0].dev, hits[0].dwg);
		return fflush(stdout) ? EXIT_USAGE : EXIT_SOUND;
	}
	if (!n) {
		host_error("find", "no block device holds a VHDX with VirtualDiskId %s", id);
		return EXIT_BAD;
	}
	host_error("find", "%u devices hold a VHDX with VirtualDiskId %s; refusing to guess:", n, id);
	for (unsigned i = 0; i < n; i++)
		fprintf(stderr, "vhdx: find:   %s (DataWriteGuid %s)\n", hits[i].dev, hits[i].dwg);
	return EXIT_BAD;
}
