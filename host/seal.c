/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * seal.c - `vhdx seal IMAGE [--sha256]`: what an owner pins about an image, as policy lines vhdxboot reads
 * (vhdxboot.conf, or a policy embedded by `make sign`), and the digest of the measurement event a verifier should
 * find in the TPM event log when vhdxboot boots this image with that policy.  Writes nothing.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "pipe.h"

static const char seal_usage[] =
	"usage: vhdx seal [--sha256] IMAGE\n"
	"\n"
	"Print the policy lines that pin IMAGE for vhdxboot (require-disk-id, require-data-write-guid, and with\n"
	"--sha256 require-sha256: the SHA-256 of the whole virtual disk, as `vhdx export` writes it), then, as\n"
	"comments, the measurement event vhdxboot extends into the TPM (PCR, type, bytes) and its SHA-256 digest.\n"
	"The event carries the content digest only when require-sha256 is pinned, so the prediction follows --sha256.\n"
	"Exit 0 done, 1 the image is corrupt, unsupported or has a pending log, 2 usage or I/O error.\n"
	"\n"
	"  --sha256      hash the virtual disk (reads every stored block; absent blocks count as zeros)\n"
	"  -h, --help    this text\n"
	"  --version     the version\n";

/*
 * The digest vhdxboot computes at boot (core/digest.c's pieces, the same SHA-256), with the reads on a second
 * thread (host/pipe.h) so that the disk and the hashing overlap.  Pieces of zeros are hashed without a read.
 */
static int hash_disk(const char *path, struct host_file *f, struct vhdx_image *img, uint8_t digest[VHDX_SHA256_SIZE])
{
	struct host_pipe pipe;
	struct host_piece piece;
	struct vhdx_sha256 ctx;
	int e = host_pipe_start(&pipe, host_pipe_read_disk, img);

	if (e) {
		host_error(path, "cannot start the reader thread: %s", strerror(e));
		return EXIT_USAGE;
	}
	vhdx_sha256_init(&ctx);
	while (host_pipe_next(&pipe, &piece)) {
		if (piece.data)
			vhdx_sha256_update(&ctx, piece.data, (size_t)piece.len);
		else
			vhdx_sha256_zeros(&ctx, piece.len);
		host_pipe_release(&pipe);
	}
	vhdx_status st = host_pipe_finish(&pipe);
	if (st)
		return host_report(path, st, img->msg, f);
	vhdx_sha256_final(&ctx, digest);
	return 0;
}

static void print_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

int cmd_seal(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sha256", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, want_sha = 0;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 's')
			want_sha = 1;
		else
			return host_opt_common("seal", c, seal_usage, argv);
	}
	if (argc - optind != 1)
		return host_usage_error("seal", "expected 1 operand, got %d", argc - optind);
	const char *path = argv[optind];

	struct host_file f;
	struct vhdx_image img;
	int opened, rc = host_image_open(&f, &img, path, HOST_RDONLY, &opened);
	if (rc)
		return rc;
	host_print_warnings(path, &img);
	/* replaying the log gives the image a new DataWriteGuid: a pin taken now would never match at boot */
	if (img.log_pending) {
		host_error(path, "header %d: LogGuid is not zero (a log is pending): replaying it changes DataWriteGuid; "
				 "run 'vhdx replay' first, then seal", img.current + 1);
		host_image_close(&f, &img);
		return EXIT_BAD;
	}

	uint8_t digest[VHDX_SHA256_SIZE];
	if (want_sha && (rc = hash_disk(path, &f, &img, digest)) != 0) {
		host_image_close(&f, &img);
		return rc;
	}

	char t[VHDX_GUID_TEXT];
	vhdx_guid_format(&img.disk_id, t);
	printf("require-disk-id = %s\n", t);
	vhdx_guid_format(&img.header[img.current].data_write_guid, t);
	printf("require-data-write-guid = %s\n", t);
	if (want_sha) {
		printf("require-sha256 = ");
		print_hex(digest, sizeof digest);
		printf("\n");
	}

	uint8_t event[VHDX_MEASURE_EVENT_SIZE], event_digest[VHDX_SHA256_SIZE];
	vhdx_measure_event(&img, want_sha ? digest : NULL, event);
	vhdx_sha256(event, sizeof event, event_digest);
	printf("# measurement: PCR %d, event type 0x%X (EV_IPL), %d bytes of event data:\n# event-data = ",
	       VHDX_MEASURE_PCR, VHDX_MEASURE_EVENT_TYPE, VHDX_MEASURE_EVENT_SIZE);
	print_hex(event, sizeof event);
	printf("\n# event-sha256 = ");
	print_hex(event_digest, sizeof event_digest);
	printf("\n");
	host_image_close(&f, &img);
	return fflush(stdout) ? EXIT_USAGE : EXIT_SOUND;
}
