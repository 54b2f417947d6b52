/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * map.c - `vhdx map`: a device-mapper table of the virtual disk over the device that holds the VHDX.
 *
 * Once Linux runs, the firmware's virtual disk is gone; the kernel reads the VHDX's payload blocks directly through
 * `linear` segments, one per run of present blocks whose file offsets follow each other, and absent blocks as
 * `zero` segments.  That gives kernel-native speed with no VHDX code in the I/O path, and it is only correct while
 * nothing changes the BAT: so a pending log is replayed first (or refused read-only), and a read-write table must
 * cover present blocks only (a write to a `zero` segment would be lost).
 *
 * A differencing chain maps read-only only: its segments point into every level's file (vhdx_extent
 * says which level holds each run), and a write through such a table would land in a parent, which is never
 * written.  Each level needs its own device; they are named in chain order (--device once per level), or, with
 * --find-parents, each parent is the block device holding its DataWriteGuid (parentscan.c), which is what the
 * initramfs has: the booted child's device from `vhdx find`, and no names for the parents.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "file.h"
#include "fsio.h"
#include "gpt.h"
#include "host.h"

#define DM_SECTOR 512u /* device-mapper tables count 512-byte sectors, whatever the devices' block size */

static const char map_usage[] =
	"usage: vhdx map [--partition N|root|usr|esp|PARTUUID] [--rw] [--device DEV]... [--offset BYTES]...\n"
	"                [--parent PATH]... [--find-parents] IMAGE\n"
	"       vhdx map --partitions [--partition SEL] [--parent PATH]... [--find-parents] IMAGE\n"
	"       vhdx map --levels [--parent PATH]... [--find-parents] IMAGE\n"
	"\n"
	"Print a device-mapper table (for 'dmsetup create NAME') of the virtual disk of IMAGE, an image file or the\n"
	"block device holding the VHDX: a 'linear' segment per run of present blocks that lie one after another in the\n"
	"file, a 'zero' segment per run of absent blocks.  Sectors are 512 bytes.\n"
	"\n"
	"  --partition SEL  only that partition of the GPT inside the virtual disk: its number, its PARTUUID, or\n"
	"                   root, usr, esp (Discoverable Partitions Specification types of this architecture)\n"
	"  --rw             the table will be used read-write: refuse ranges with absent blocks (fix: vhdx allocate);\n"
	"                   a pending log is replayed first (without --rw it is refused: nothing is written)\n"
	"  --device DEV     the device the linear segments point at (default: IMAGE, when it is a block device)\n"
	"  --offset BYTES   where the VHDX starts on DEV (default 0; a multiple of 512)\n"
	"  --partitions     print the GPT of the virtual disk instead, one partition a line: 'NUMBER START SECTORS\n"
	"                   TYPE PARTUUID' (512-byte sectors from the start of the virtual disk: a 'linear' table\n"
	"                   over a mapping of the whole disk gives each partition its own device); with --partition\n"
	"                   only the partition it selects\n"
	"  --parent PATH    a differencing IMAGE's parent (repeatable: the parent's parent next), else found by the\n"
	"                   Parent Locator's relative_path beside the image, then its absolute_win32_path\n"
	"  --find-parents   find each parent instead among the block devices and partitions (/sys/class/block, as\n"
	"                   'vhdx find' looks), by its DataWriteGuid = the child's parent_linkage (or parent_linkage2),\n"
	"                   every device opened read-only; its segments point at that device.  Refused: no device\n"
	"                   holds it (exit 3, the level and the GUID named), several hold it with differing content\n"
	"                   (FileWriteGuid or BAT; the same image on two devices uses the first by name), a loop\n"
	"  --levels         print the chain instead, one level a line: 'LEVEL DATAWRITEGUID PATH' (0 IMAGE itself, 1\n"
	"                   its parent...); one line for an image without a parent\n"
	"  -h, --help       this text\n"
	"\n"
	"A differencing IMAGE maps read-only only (--rw is refused): each segment points at the level of the chain\n"
	"that holds its sectors (a zero segment where no level does).  Levels are numbered IMAGE 0, its parent 1, its\n"
	"parent's parent 2...; the Nth --device and the Nth --offset are level N-1's.  A level without a --device\n"
	"uses its own path when that is a block device.\n"
	"\n"
	"Exit 0 table printed, 1 refused (the image, its GPT, absent blocks under --rw, a chain under --rw, a parent\n"
	"refused), 2 usage or I/O error, 3 a parent not found on any block device (--find-parents; it may appear later).\n";

#define LEVELS (VHDX_CHAIN_MAX_DEPTH + 1) /* a differencing image and its parents */

struct map_out {
	const char *dev[LEVELS];
	const struct vhdx_fs_file *fs[LEVELS]; /* a level that is a file inside a partition: its extents there */
	uint64_t dev_off[LEVELS]; /* bytes: where each level's VHDX starts on its device */
	uint64_t start;     /* bytes: virtual position where the pending segment starts (relative to the range) */
	uint64_t len;       /* bytes in the pending segment (0: none) */
	int linear;         /* 0: zero; else 1 + the level the pending segment points into */
	uint64_t file_off;  /* linear: file offset of the pending segment's start */
	uint64_t segments;
	uint64_t absent, absent_bytes; /* blocks (and bytes of the range) not present */
	int dry;            /* count only: --rw checks the whole range before printing anything */
	int write_err;
};

/* One linear line per piece of a file inside a partition: the VHDX's run cut again at the file's extents. */
static int emit_piece(void *arg, uint64_t part_off, uint64_t file_off, uint64_t len)
{
	struct map_out *o = arg;
	int lvl = o->linear - 1;
	uint64_t start = o->start + (file_off - o->file_off);

	if (!o->dry && printf("%" PRIu64 " %" PRIu64 " linear %s %" PRIu64 "\n", start / DM_SECTOR, len / DM_SECTOR,
			      o->dev[lvl], (o->dev_off[lvl] + part_off) / DM_SECTOR) < 0)
		o->write_err = 1;
	o->segments++;
	return 0;
}

static void emit(struct map_out *o)
{
	if (!o->len)
		return;
	int n = 0;
	if (o->linear && o->fs[o->linear - 1]) {
		/* the core checked the file's runs against its size, so the split cannot fail */
		if (vhdx_fs_runs(o->fs[o->linear - 1], o->file_off, o->len, emit_piece, o))
			o->write_err = 1;
		o->start += o->len;
		o->len = 0;
		return;
	}
	if (!o->dry && o->linear)
		n = printf("%" PRIu64 " %" PRIu64 " linear %s %" PRIu64 "\n", o->start / DM_SECTOR, o->len / DM_SECTOR,
			   o->dev[o->linear - 1], (o->dev_off[o->linear - 1] + o->file_off) / DM_SECTOR);
	else if (!o->dry)
		n = printf("%" PRIu64 " %" PRIu64 " zero\n", o->start / DM_SECTOR, o->len / DM_SECTOR);
	if (n < 0)
		o->write_err = 1;
	o->segments++;
	o->start += o->len;
	o->len = 0;
}

/* Adds len bytes of the range: level linear-1's data at file_off, or zeros (linear == 0); merges with the pending
 * segment. */
static void add(struct map_out *o, int linear, uint64_t file_off, uint64_t len)
{
	if (o->len && o->linear == linear && (!linear || o->file_off + o->len == file_off)) {
		o->len += len;
		return;
	}
	emit(o);
	o->linear = linear;
	o->file_off = file_off;
	o->len = len;
}

/* Walks the blocks over [lo, hi) of the virtual disk.  Returns 0, or an exit code after a message. */
static int walk(struct vhdx_image *img, const char *path, uint64_t lo, uint64_t hi, struct map_out *o)
{
	uint64_t bs = img->block_size;

	for (uint64_t pos = lo; pos < hi;) {
		uint64_t b = pos / bs, in = pos % bs, n = bs - in;
		unsigned state;
		uint64_t file_off;
		vhdx_status st = vhdx_block_lookup(img, b, &state, &file_off);
		if (st)
			return host_report(path, st, img->msg, NULL);
		if (n > hi - pos)
			n = hi - pos;
		if (state == VHDX_BAT_FULLY_PRESENT) {
			add(o, 1, file_off + in, n);
		} else {
			o->absent++;
			o->absent_bytes += n;
			add(o, 0, 0, n);
		}
		pos += n;
	}
	emit(o);
	return 0;
}

/* A differencing chain: the runs of [lo, hi) level by level, as vhdx_extent finds them. */
static int walk_chain(struct vhdx_image *img, const char *path, uint64_t lo, uint64_t hi, struct map_out *o)
{
	for (uint64_t pos = lo; pos < hi;) {
		struct vhdx_extent e;
		vhdx_status st = vhdx_extent(img, pos, hi - pos, &e);
		if (st)
			return host_report(path, st, img->msg, NULL);
		if (pos % DM_SECTOR || e.len % DM_SECTOR) { /* runs are whole logical sectors: cannot happen */
			host_error(path, "extent at byte %" PRIu64 " (%" PRIu64 " bytes) is not whole 512-byte sectors", pos,
				   e.len);
			return EXIT_BAD;
		}
		add(o, e.image ? (int)e.level + 1 : 0, e.file_off, e.len);
		pos += e.len;
	}
	emit(o);
	return 0;
}

/* --rw: every block of the range must be present, or a write would land in a `zero` segment and be lost. */
static int check_present(struct vhdx_image *img, const char *path, const char *sel, uint64_t lo, uint64_t hi)
{
	struct map_out o = { .dry = 1 };
	char h[32];
	int rc = walk(img, path, lo, hi, &o);

	if (rc || !o.absent)
		return rc;
	host_error(path, "--rw: %" PRIu64 " block%s (%s) of the %s %s not present; writes there would be lost and "
		   "nothing was mapped. Allocate them first: vhdx allocate%s%s %s",
		   o.absent, o.absent == 1 ? "" : "s", host_human(o.absent_bytes, h, sizeof(h)),
		   sel ? "partition" : "virtual disk", o.absent == 1 ? "is" : "are", sel ? " --partition " : "",
		   sel ? sel : "", path);
	return EXIT_BAD;
}

/* Replays a pending log when the table is for read-write use; refuses otherwise.  0 or an exit code. */
static int settle_log(struct host_file *f, struct vhdx_image *img, const char *path, int rw)
{
	uint8_t rnd[32];
	vhdx_status st;
	int e;

	if (!img->log_pending)
		return 0;
	if (!rw || img->io->read_only) {
		host_error(path, "the log must be replayed before the virtual disk can be mapped (the BAT may change); "
			   "nothing was written. Replay it: vhdx replay %s", path);
		return EXIT_BAD;
	}
	e = host_random(rnd, sizeof(rnd));
	if (e) {
		host_error(path, "no random bytes for the log replay: %s; nothing was written", strerror(e));
		return EXIT_USAGE;
	}
	st = vhdx_replay(img, rnd);
	if (st)
		return host_report(path, st, img->msg, f);
	fprintf(stderr, "vhdx: %s: replayed the pending log before mapping\n", path);
	return 0;
}

/* The range of the virtual disk to map: all of it, or the selected partition of its GPT.  0 or an exit code. */
static int select_range(struct vhdx_image *img, const char *path, const char *sel, uint64_t *lo, uint64_t *hi)
{
	uint64_t len = 0;
	int rc;

	*lo = 0;
	*hi = img->virtual_size;
	if (!sel)
		return 0;
	rc = host_gpt_partition(img, path, sel, lo, &len);
	*hi = *lo + len;
	return rc;
}

/*
 * Each level's device: its --device, else its own path when that is a block device.  Every level's log must be
 * settled, as for a single image: the table points at the file's bytes, which a pending log would change.
 */
static int chain_devices(const struct host_chain *ch, unsigned ndev, struct map_out *o)
{
	struct stat sb;

	if (ndev > ch->n)
		return host_usage_error("map", "%u --device options for a chain of %u level%s (IMAGE and its parents)", ndev,
					ch->n, ch->n == 1 ? "" : "s");
	for (unsigned i = 0; i < ch->n; i++) {
		if (ch->img[i].log_pending) {
			host_error(ch->path[0], "level %u of the chain (%s) has a pending log: it must be replayed before the "
				   "chain can be mapped (its BAT may change); nothing was written. Replay it: vhdx replay %s",
				   i, ch->path[i], ch->path[i]);
			return EXIT_BAD;
		}
		const char *container;
		o->fs[i] = host_fsview_file(&ch->file[i], &container);
		if (i < ndev)
			continue;
		if (o->fs[i]) {
			o->dev[i] = container;
			continue;
		}
		if (stat(ch->path[i], &sb) || !S_ISBLK(sb.st_mode))
			return host_usage_error("map", "level %u of the chain, %s, is not a block device: name the device that "
						"holds it with a further --device (%u given; a loop device over a file: "
						"losetup --find --show --read-only %s)", i, ch->path[i], ndev, ch->path[i]);
		o->dev[i] = ch->path[i];
	}
	return 0;
}

/* Read-only, through the chain when IMAGE is a differencing image (with a single image, a chain of one level). */
static int map_ro(struct host_chain *ch, const char *path, const char *sel, unsigned ndev, struct map_out *o)
{
	uint64_t lo, hi;
	int rc = host_chain_open(ch, path);

	if (rc)
		return rc;
	if (ch->n == 1 && ch->img[0].log_pending) /* the single-image message, naming vhdx replay */
		rc = settle_log(&ch->file[0], &ch->img[0], path, 0);
	if (!rc)
		rc = chain_devices(ch, ndev, o);
	if (!rc)
		rc = select_range(&ch->img[0], path, sel, &lo, &hi);
	if (!rc)
		rc = ch->n == 1 ? walk(&ch->img[0], path, lo, hi, o) : walk_chain(&ch->img[0], path, lo, hi, o);
	host_chain_close(ch);
	return rc;
}

/* --rw: a single image only (a chain's table would send writes into its parents). */
static int map_rw(const struct host_chain *ch, const char *path, const char *sel, unsigned ndev, struct map_out *o)
{
	struct host_file f;
	struct vhdx_image img;
	uint64_t lo, hi;
	int opened, rc;

	if (ch->nparent_opt) {
		host_error(path, "--rw with --parent: a differencing chain is mapped read-only only: its table points into "
			   "the parents, which are never written; nothing was opened for writing. Map it without --rw");
		return EXIT_BAD;
	}
	rc = host_image_open(&f, &img, path, HOST_RDWR, &opened); /* validates only: nothing is written yet */
	if (rc)
		return rc;
	if (img.has_parent) {
		host_error(path, "--rw: a differencing image is mapped read-only only: its table points into its parents, "
			   "which are never written; nothing was written. Map it without --rw");
		host_image_close(&f, &img);
		return EXIT_BAD;
	}
	if (ndev > 1) {
		host_image_close(&f, &img);
		return host_usage_error("map", "%u --device options for an image without a parent (one level)", ndev);
	}
	const char *container;
	o->fs[0] = host_fsview_file(&f, &container);
	if (o->fs[0] && !ndev)
		o->dev[0] = container;
	rc = settle_log(&f, &img, path, 1);
	if (!rc)
		rc = select_range(&img, path, sel, &lo, &hi);
	if (!rc)
		rc = check_present(&img, path, sel, lo, hi);
	if (!rc)
		rc = walk(&img, path, lo, hi, o);
	host_image_close(&f, &img);
	return rc;
}

/* --levels: the chain, one level a line, the path last (a file inside a partition may have spaces in it). */
static int map_levels(struct host_chain *ch, const char *path)
{
	char g[VHDX_GUID_TEXT];
	int rc = host_chain_open(ch, path);

	if (rc)
		return rc;
	for (unsigned i = 0; !rc && i < ch->n; i++) {
		vhdx_guid_format(&ch->img[i].header[ch->img[i].current].data_write_guid, g);
		if (printf("%u %s %s\n", i, g, ch->path[i]) < 0)
			rc = EXIT_USAGE;
	}
	host_chain_close(ch);
	return rc;
}

/* --partitions: the GPT's entries (or the one sel picks) in device-mapper sectors.  0 or an exit code. */
static int list_partitions(struct vhdx_image *img, const char *path, const char *sel)
{
	struct host_gpt gpt;
	const struct host_gpt_part *one = NULL;
	char msg[320], type[VHDX_GUID_TEXT], uuid[VHDX_GUID_TEXT];
	int rc = 0;

	if (host_gpt_read(img, &gpt, msg, sizeof(msg))) {
		host_error(path, "%s", msg);
		return EXIT_BAD;
	}
	if (gpt.used_backup)
		host_error(path, "warning: the primary GPT is damaged; using the backup");
	if (sel && !(one = host_gpt_select(&gpt, sel, msg, sizeof(msg)))) {
		host_error(path, "%s", msg);
		rc = EXIT_BAD;
	}
	for (unsigned i = 0; !rc && i < gpt.count; i++) {
		const struct host_gpt_part *p = &gpt.part[i];
		if (one && p != one)
			continue;
		vhdx_guid_format(&p->type, type);
		vhdx_guid_format(&p->uuid, uuid);
		if (printf("%u %" PRIu64 " %" PRIu64 " %s %s\n", p->index, p->first_lba * gpt.sector / DM_SECTOR,
			   (p->last_lba + 1 - p->first_lba) * gpt.sector / DM_SECTOR, type, uuid) < 0)
			rc = EXIT_USAGE;
	}
	host_gpt_free(&gpt);
	return rc;
}

/* --partitions: read-only, through the chain like map_ro; a pending log is refused (the GPT may be in it). */
static int map_list(struct host_chain *ch, const char *path, const char *sel)
{
	int rc = host_chain_open(ch, path);

	if (rc)
		return rc;
	if (ch->img[0].log_pending)
		rc = settle_log(&ch->file[0], &ch->img[0], path, 0);
	if (!rc)
		rc = list_partitions(&ch->img[0], path, sel);
	host_chain_close(ch);
	return rc;
}

int cmd_map(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "partition", required_argument, NULL, 'p' }, { "rw", no_argument, NULL, 'w' },
		{ "device", required_argument, NULL, 'd' },    { "offset", required_argument, NULL, 'o' },
		{ "partitions", no_argument, NULL, 'l' },      { "find-parents", no_argument, NULL, 'f' },
		{ "levels", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },            { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sel = NULL, *path;
	unsigned ndev = 0, noff = 0;
	int rw = 0, list = 0, levels = 0, find = 0, c, rc;
	struct host_chain ch;
	struct host_parent_scan scan = { .sys_block = "/sys/class/block", .dev_dir = "/dev" };
	struct map_out o = { .dry = 0 };
	struct stat sb;

	rc = host_chain_options(&ch, "map", &argc, argv); /* differencing chains: --parent PATH */
	if (rc >= 0)
		return rc;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': sel = optarg; break;
		case 'w': rw = 1; break;
		case 'l': list = 1; break;
		case 'L': levels = 1; break;
		case 'f': find = 1; break;
		case 'd':
			if (ndev == LEVELS)
				return host_usage_error("map", "more than %d --device options", LEVELS);
			o.dev[ndev++] = optarg;
			break;
		case 'o':
			if (noff == LEVELS)
				return host_usage_error("map", "more than %d --offset options", LEVELS);
			if (host_parse_size(optarg, &o.dev_off[noff]) || o.dev_off[noff] % DM_SECTOR)
				return host_usage_error("map", "--offset '%s' is not a byte count that is a multiple of 512",
							optarg);
			noff++;
			break;
		default: return host_opt_common("map", c, map_usage, argv);
		}
	}
	if (argc - optind != 1)
		return host_usage_error("map", "expected 1 operand, got %d", argc - optind);
	path = argv[optind];
	if (find && ch.nparent_opt)
		return host_usage_error("map", "--find-parents and --parent: the parents are either named or found");
	if (find) {
		scan.child_name = path;
		scan.notes = levels; /* said once, where the chain is shown, not at every call */
		ch.scan = &scan;
	}
	if (levels && (list || rw || ndev || noff || sel))
		return host_usage_error("map", "--levels prints the chain only: --partitions, --partition, --rw, --device "
					"and --offset do not apply");
	if (levels) {
		rc = map_levels(&ch, path);
		return !rc && fflush(stdout) ? EXIT_USAGE : rc;
	}
	if (list && (rw || ndev || noff))
		return host_usage_error("map", "--partitions prints the GPT only: --rw, --device and --offset do not apply");
	if (list) {
		rc = map_list(&ch, path, sel);
		return !rc && fflush(stdout) ? EXIT_USAGE : rc;
	}
	/* ENOTDIR: a file inside a partition (PARTITION/PATH), whose segments will point at the partition */
	int missing = stat(path, &sb) != 0, inside = missing && errno == ENOTDIR;
	if (missing && !inside) {
		host_error(path, "%s", strerror(errno));
		return EXIT_USAGE;
	}
	if (!ndev && !inside) {
		if (!S_ISBLK(sb.st_mode))
			return host_usage_error("map", "%s is not a block device: name the device that holds the VHDX "
						"with --device (a loop device over a file: losetup --find --show %s)",
						path, path);
		o.dev[ndev++] = path;
	}
	if (noff > ndev)
		return host_usage_error("map", "%u --offset options for %u device%s (the Nth --offset is the Nth device's)",
					noff, ndev, ndev == 1 ? "" : "s");
	rc = rw ? map_rw(&ch, path, sel, ndev, &o) : map_ro(&ch, path, sel, ndev, &o);
	if (!rc && (o.write_err || fflush(stdout))) {
		host_error("-", "writing the table failed");
		rc = EXIT_USAGE;
	}
	return rc;
}
