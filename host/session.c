/* SPDX-License-Identifier: BSD-2-Clause */
/* session.c - `vhdx session` and `vhdx replay`: validate, then the core's header update or log replay. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "host.h"

static const char session_usage[] =
	"usage: vhdx session [--data] [--parent PATH]... IMAGE\n"
	"\n"
	"Validate IMAGE, replay its log if one is pending, then do a session header update: a new FileWriteGuid,\n"
	"the sequence number raised by two, both header copies rewritten (the non-current one first) and flushed.\n"
	"Nothing is written when the image is not sound, it cannot be written or its sequence number cannot be raised,\n"
	"or when it is a differencing image whose parents cannot all be found and attached (as vhdxboot refuses it).\n"
	"Exit 0 done, 1 refused (corrupt, unsupported, read-only, sequence), 2 usage or I/O error.\n"
	"\n"
	"  --data        also a new DataWriteGuid: do this before the virtual disk is written (a read-write mapping)\n"
	"  --parent PATH the parent of a differencing IMAGE, one per level (default: found by its Parent Locator)\n"
	"  -h, --help    this text\n"
	"  --version     the version\n";

/*
 * A differencing image is only usable with its whole chain, so, like the boot module, the session update of a
 * child is refused (nothing written) unless every parent is found by --parent or the Parent Locator, sound, and
 * the one parent_linkage names.  The chain is opened read-only beside the read-write open of the image: a
 * session update writes only the child's headers, so nothing of the parents is needed after the check.
 */
static int parents_found(struct host_chain *ch, const char *path)
{
	int rc = host_chain_open(ch, path);
	if (rc) {
		host_error(path, "a differencing image whose parent chain is incomplete: nothing was written");
		return rc;
	}
	host_chain_close(ch);
	return 0;
}

int cmd_session(int argc, char **argv)
{
	struct host_chain ch; /* --parent options; the chain is checked, then closed */
	struct host_file f;
	struct vhdx_image img;
	uint8_t rnd[VHDX_PREPARE_RANDOM];
	struct vhdx_prepare_report rep;
	char g[VHDX_GUID_TEXT];
	const char *path;
	vhdx_status st;
	int rc, opened, e, c, data = 0;
	static const struct option opts[] = {
		{ "data", no_argument, NULL, 'd' }, /* a new DataWriteGuid too */
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};

	rc = host_chain_options(&ch, "session", &argc, argv);
	if (rc >= 0)
		return rc;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'd')
			data = 1;
		else
			return host_opt_common("session", c, session_usage, argv);
	}
	if (argc - optind != 1)
		return host_usage_error("session", "expected 1 operand, got %d", argc - optind);
	path = argv[optind];
	rc = host_image_open(&f, &img, path, HOST_RDWR, &opened);
	if (rc)
		return rc;
	host_print_warnings(path, &img);
	if (!img.has_parent && ch.nparent_opt) {
		host_error(path, "--parent given, but File Parameters HasParent is clear: the image has no parent; nothing was written");
		host_image_close(&f, &img);
		return EXIT_USAGE;
	}
	if (img.has_parent && (rc = parents_found(&ch, path))) {
		host_image_close(&f, &img);
		return rc;
	}
	e = host_random(rnd, sizeof(rnd));
	if (e) {
		host_error(path, "no random bytes for the new FileWriteGuid: %s; nothing was written", strerror(e));
		host_image_close(&f, &img);
		return EXIT_USAGE;
	}
	/* replay of a pending log, then the session update (with --data a new DataWriteGuid): the core's one rule */
	st = data ? vhdx_prepare_write_data(&img, rnd, &rep) : vhdx_prepare_write(&img, rnd, &rep);
	if (rep.replayed)
		printf("%s: replayed %" PRIu64 " log entries\n", path, (uint64_t)rep.entries);
	if (st) {
		rc = host_report(path, st, img.msg, &f);
		host_image_close(&f, &img);
		return rc;
	}
	vhdx_guid_format(&img.header[img.current].file_write_guid, g);
	printf("%s: sequence %" PRIu64 " -> %" PRIu64 ", file write guid %s\n", path, rep.sequence_before,
	       img.header[img.current].sequence, g);
	if (data) {
		vhdx_guid_format(&img.header[img.current].data_write_guid, g);
		printf("%s: data write guid %s\n", path, g);
	}
	vhdx_close(&img);
	e = host_file_close(&f);
	if (e) {
		host_error(path, "%s", strerror(e));
		return EXIT_USAGE;
	}
	if (fflush(stdout)) {
		host_error("-", "writing the output failed");
		return EXIT_USAGE;
	}
	return EXIT_SOUND;
}

static const char replay_usage[] =
	"usage: vhdx replay IMAGE\n"
	"\n"
	"Validate IMAGE and, when its log must be replayed, apply the log to the file (growing it if the log says\n"
	"so), give it new FileWriteGuid and DataWriteGuid values and clear LogGuid.  An image without a pending log\n"
	"is left untouched.  Exit 0 done (or nothing to do), 1 refused (corrupt, unsupported, read-only, sequence),\n"
	"2 usage or I/O error.\n"
	"\n"
	"  -h, --help    this text\n"
	"  --version     the version\n";

int cmd_replay(int argc, char **argv)
{
	struct host_file f;
	struct vhdx_image img;
	uint8_t rnd[32];
	uint64_t old_seq, entries;
	const char *path;
	vhdx_status st;
	int rc, first, opened, e;

	rc = host_simple_args("replay", replay_usage, argc, argv, 1, &first);
	if (rc >= 0)
		return rc;
	path = argv[first];
	rc = host_image_open(&f, &img, path, HOST_RDWR, &opened);
	if (rc)
		return rc;
	if (!img.log_pending) {
		printf("%s: no log to replay\n", path);
		host_image_close(&f, &img);
		return fflush(stdout) ? EXIT_USAGE : EXIT_SOUND;
	}
	e = host_random(rnd, sizeof(rnd));
	if (e) {
		host_error(path, "no random bytes for the new GUIDs: %s; nothing was written", strerror(e));
		host_image_close(&f, &img);
		return EXIT_USAGE;
	}
	old_seq = img.header[img.current].sequence;
	entries = img.log.entries;
	st = vhdx_replay(&img, rnd);
	if (st) {
		rc = host_report(path, st, img.msg, &f);
		host_image_close(&f, &img);
		return rc;
	}
	printf("%s: replayed %" PRIu64 " log entries, sequence %" PRIu64 " -> %" PRIu64 "\n", path, entries, old_seq,
	       img.header[img.current].sequence);
	vhdx_close(&img);
	e = host_file_close(&f);
	if (e) {
		host_error(path, "%s", strerror(e));
		return EXIT_USAGE;
	}
	return fflush(stdout) ? EXIT_USAGE : EXIT_SOUND;
}
