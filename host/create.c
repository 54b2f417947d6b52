/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * create.c - `vhdx create`: options, the target file and the raw source; the format itself is vhdx_create's.
 *
 * A new IMAGE is created with O_EXCL and removed if anything fails (also on SIGINT/SIGTERM/SIGHUP).  With --force
 * an existing regular file is replaced only when the new image is complete: it is built under a temporary name
 * beside it and renamed over it.  An existing block device (--force) is written in place.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"
#include "source.h"

static const char create_usage[] =
	"usage: vhdx create [OPTIONS] IMAGE SIZE\n"
	"       vhdx create [OPTIONS] --from RAW IMAGE [SIZE]\n"
	"       vhdx create [OPTIONS] --parent PARENT IMAGE\n"
	"\n"
	"Make a new VHDX image of SIZE bytes (K, M, G, T suffixes: powers of 1024).\n"
	"\n"
	"  --dynamic                only blocks holding data take space (the default)\n"
	"  --fixed                  every block allocated in the file\n"
	"  --block-size N           payload block size, a power of two from 1M to 256M (default 32M)\n"
	"  --logical-sector 512|4096   logical sector size (default 512)\n"
	"  --physical-sector 512|4096  physical sector size (default 4096)\n"
	"  --log-size N             log size, a multiple of 1M (default 1M)\n"
	"  --from RAW               fill the disk from a raw image or device; SIZE defaults to its size rounded up\n"
	"                           to the logical sector (a dynamic image leaves its all-zero blocks out)\n"
	"  --parent PARENT          a differencing image of PARENT (its size, sector size and block size unless\n"
	"                           given); the locator holds PARENT's DataWriteGuid and its relative and\n"
	"                           absolute paths\n"
	"  --force                  replace an existing IMAGE\n"
	"  -h, --help               this text\n"
	"  --version                the version\n"
	"\n"
	"Exit 0 done, 1 the medium is read-only, 2 usage or I/O error.\n";

enum { OPT_FIXED = 256, OPT_DYNAMIC, OPT_BLOCK, OPT_LSS, OPT_PSS, OPT_LOG, OPT_FROM, OPT_FORCE, OPT_PARENT };

struct create_opts {
	struct vhdx_create_params p;
	const char *from;
	int force;
	int have_size;
	const char *parent; /* differencing chains */
};

/* The file to remove if the process is stopped half way. */
static volatile sig_atomic_t cleanup_armed;
static const char *cleanup_path;

static void on_signal(int sig)
{
	if (cleanup_armed)
		unlink(cleanup_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void arm_cleanup(const char *path)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	size_t i;

	cleanup_path = path;
	cleanup_armed = 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static int opt_u32(const char *opt, const char *arg, uint32_t *out)
{
	uint64_t v;

	if (host_parse_size(arg, &v) < 0)
		return host_usage_error("create", "%s '%s': not a size", opt, arg);
	if (v == 0)
		return host_usage_error("create", "%s '%s': must not be zero", opt, arg);
	if (v > UINT32_MAX)
		return host_usage_error("create", "%s '%s': too large", opt, arg);
	*out = (uint32_t)v;
	return -1;
}

static int parse_opts(struct create_opts *co, int argc, char **argv, const char **image, const char **size)
{
	static const struct option opts[] = {
		{ "fixed", no_argument, NULL, OPT_FIXED },
		{ "dynamic", no_argument, NULL, OPT_DYNAMIC },
		{ "block-size", required_argument, NULL, OPT_BLOCK },
		{ "logical-sector", required_argument, NULL, OPT_LSS },
		{ "physical-sector", required_argument, NULL, OPT_PSS },
		{ "log-size", required_argument, NULL, OPT_LOG },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "parent", required_argument, NULL, OPT_PARENT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = -1, n;

	opterr = 0;
	optind = 0;
	while (rc < 0 && (c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_FIXED: co->p.fixed = 1; break;
		case OPT_DYNAMIC: co->p.fixed = 0; break;
		case OPT_BLOCK: rc = opt_u32("--block-size", optarg, &co->p.block_size); break;
		case OPT_LSS: rc = opt_u32("--logical-sector", optarg, &co->p.logical_sector_size); break;
		case OPT_PSS: rc = opt_u32("--physical-sector", optarg, &co->p.physical_sector_size); break;
		case OPT_LOG: rc = opt_u32("--log-size", optarg, &co->p.log_size); break;
		case OPT_FROM: co->from = optarg; break;
		case OPT_FORCE: co->force = 1; break;
		case OPT_PARENT: co->parent = optarg; break;
		default: return host_opt_common("create", c, create_usage, argv);
		}
	}
	if (rc >= 0)
		return rc;
	n = argc - optind;
	if (n == 0)
		return host_usage_error("create", "no IMAGE given");
	if (n > 2)
		return host_usage_error("create", "expected IMAGE and SIZE, got %d operands", n);
	if (co->parent && co->from)
		return host_usage_error("create", "--parent and --from exclude each other");
	if (n == 1 && !co->from && !co->parent)
		return host_usage_error("create", "no SIZE given");
	*image = argv[optind];
	*size = n == 2 ? argv[optind + 1] : NULL;
	if (*size) {
		if (host_parse_size(*size, &co->p.virtual_size) < 0)
			return host_usage_error("create", "SIZE '%s': not a size", *size);
		co->have_size = 1;
	}
	return -1;
}

/* Opens the raw source and settles the virtual size from it when SIZE was not given. */
static int open_source(struct create_opts *co, struct host_source *src)
{
	struct host_file *raw = &src->file;
	uint64_t lss = co->p.logical_sector_size ? co->p.logical_sector_size : 512;
	char h[32];
	int e = host_source_open(src, co->from);

	if (e) {
		host_error(co->from, "%s", strerror(e));
		return EXIT_USAGE;
	}
	if (!co->have_size) {
		co->p.virtual_size = raw->io.size + (lss - raw->io.size % lss) % lss;
	} else if (raw->io.size > co->p.virtual_size) {
		host_error(co->from, "%" PRIu64 " bytes do not fit in a disk of %" PRIu64 " bytes (%s)", raw->io.size,
			   co->p.virtual_size, host_human(co->p.virtual_size, h, sizeof(h)));
		host_source_close(src);
		return EXIT_USAGE;
	}
	co->p.source = host_source_read;
	co->p.source_ctx = src;
	return 0;
}

/* Opens the target: *tmp is set (and must be freed) when the image is built under a temporary name. */
static int open_target(struct create_opts *co, const char *image, struct host_file *f, char **tmp, int *remove)
{
	struct stat st;
	const char *path = image;
	int e;

	*tmp = NULL;
	*remove = 0;
	if (stat(image, &st) == 0) {
		if (!co->force) {
			host_error(image, "already exists (use --force to replace it)");
			return EXIT_USAGE;
		}
		if (S_ISBLK(st.st_mode)) {
			e = host_file_open(f, image, HOST_RDWR);
			if (e) {
				host_error(image, "%s", strerror(e));
				return EXIT_USAGE;
			}
			return 0;
		}
		if (!S_ISREG(st.st_mode)) {
			host_error(image, "is neither a regular file nor a block device");
			return EXIT_USAGE;
		}
		*tmp = malloc(strlen(image) + 32);
		if (!*tmp) {
			host_error(image, "%s", strerror(ENOMEM));
			return EXIT_USAGE;
		}
		sprintf(*tmp, "%s.vhdx-create-%ld", image, (long)getpid());
		path = *tmp;
	} else if (errno != ENOENT) {
		host_error(image, "%s", strerror(errno));
		return EXIT_USAGE;
	}
	e = host_file_open(f, path, HOST_CREATE);
	if (e) {
		host_error(path, "%s", strerror(e));
		free(*tmp);
		*tmp = NULL;
		return EXIT_USAGE;
	}
	*remove = 1;
	arm_cleanup(path);
	return 0;
}

int cmd_create(int argc, char **argv)
{
	struct create_opts co;
	struct host_file f;
	struct host_source src;
	struct vhdx_image img;
	const char *image = NULL, *size = NULL;
	char msg[VHDX_MSG_LEN], h1[32], h2[32], *tmp = NULL;
	uint8_t *locator = NULL;
	vhdx_status st;
	int rc, e, remove;

	memset(&co, 0, sizeof(co));
	rc = parse_opts(&co, argc, argv, &image, &size);
	if (rc >= 0)
		return rc;
	if (co.from) {
		rc = open_source(&co, &src);
		if (rc)
			return rc;
	}
	if (co.parent) {
		rc = host_create_parent(&co.p, co.parent, image, co.have_size, &locator);
		if (rc)
			return rc;
	}
	e = host_random(co.p.random, sizeof(co.p.random));
	if (e)
		host_error(image, "no random bytes for the GUIDs: %s", strerror(e));
	rc = e ? EXIT_USAGE : open_target(&co, image, &f, &tmp, &remove);
	if (!rc && co.from && (e = host_source_start(&src))) {
		host_error(co.from, "no reader thread: %s", strerror(e));
		host_file_close(&f);
		if (remove)
			unlink(tmp ? tmp : image);
		rc = EXIT_USAGE;
	}
	if (rc) {
		if (co.from)
			host_source_close(&src);
		free(tmp);
		return rc;
	}

	st = vhdx_create(&f.io, &co.p, msg, sizeof(msg));
	if (co.from)
		host_source_close(&src); /* stops the reader: from here on src.file.err is settled */
	if (st) {
		if (st == VHDX_E_IO && co.from && src.file.err) {
			host_error(co.from, "%s: %s", msg, strerror(src.file.err));
			rc = EXIT_USAGE;
		} else {
			rc = host_report(image, st, msg, &f);
		}
	}
	e = host_file_close(&f);
	if (!rc && e) {
		host_error(image, "%s", strerror(e));
		rc = EXIT_USAGE;
	}
	if (!rc && tmp && rename(tmp, image) < 0) {
		host_error(image, "replacing it with %s failed: %s", tmp, strerror(errno));
		rc = EXIT_USAGE;
	}
	if (rc && remove)
		unlink(tmp ? tmp : image);
	cleanup_armed = 0;
	free(tmp);
	free(locator);
	if (rc)
		return rc;

	/* read the result back through the core: the summary comes from what is on disk */
	rc = host_image_open(&f, &img, image, HOST_RDONLY, &e);
	if (rc)
		return rc;
	printf("%s: created, %s, virtual size %" PRIu64 " bytes (%s), block size %s, %" PRIu64 " of %" PRIu64
	       " blocks allocated\n",
	       image, co.p.fixed ? "fixed" : co.parent ? "differencing" : "dynamic", img.virtual_size, host_human(img.virtual_size, h1, sizeof(h1)),
	       host_human(img.block_size, h2, sizeof(h2)), img.state_count[VHDX_BAT_FULLY_PRESENT],
	       img.payload_blocks);
	host_image_close(&f, &img);
	if (fflush(stdout)) {
		host_error("-", "writing the output failed");
		return EXIT_USAGE;
	}
	return EXIT_SOUND;
}
