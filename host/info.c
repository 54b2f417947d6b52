/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * info.c - `vhdx info` (text and JSON) and `vhdx check`.  Everything shown comes from struct vhdx_image as the
 * core filled it in; nothing here reads the file.
 *
 * JSON keys (stable; an absent section is null):
 *   image                 string   the path given
 *   file_size             number   bytes
 *   ok                    bool     vhdx_open succeeded
 *   status                string   "ok" or the failing status: io, nomem, arg, corrupt, unsupported, readonly,
 *                                  log_pending, sequence, range, state
 *   error                 string|null  the core's message when ok is false
 *   creator               string|null  file identifier creator (null when the identifier was not read)
 *   headers               object   current: 1|2|null; copies: [ { slot: 1|2, offset, valid, sequence,
 *                                  file_write_guid, data_write_guid, log_guid, log_offset, log_length, version,
 *                                  log_version, current } ]
 *   region_tables         object|null  used: 1|2; entries; copies: [ { slot, offset, valid, used } ];
 *                                  bat: { offset, length }; metadata: { offset, length }
 *   metadata              object|null  entries, block_size, virtual_size, logical_sector_size,
 *                                  physical_sector_size, disk_id, leave_blocks_allocated, has_parent
 *   bat                   object|null  entries, chunk_ratio, payload_blocks, bitmaps_present, data_end,
 *                                  states: { not_present, undefined, zero, unmapped, fully_present,
 *                                  partially_present }
 *   log_pending           bool|null    the current header's LogGuid is not zero
 *   log                   object|null  the active sequence open found (null when no log is pending): entries,
 *                                  descriptors, tail (byte offset in the log), tail_sequence, head_sequence,
 *                                  flushed_offset, last_offset, file_size_after_replay
 *   warnings              array of strings
 * region_tables, metadata, bat, log_pending and log are given only when ok is true; headers always (a copy that was
 * not read shows valid false).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "host.h"
#include "json.h"

static const char info_usage[] =
	"usage: vhdx info [--json] IMAGE\n"
	"\n"
	"Describe IMAGE: file identifier, both headers (which is current), both region tables, the metadata, a\n"
	"summary of the BAT and whether the log must be replayed.  Exit 0 when the image validates, 1 when it is\n"
	"corrupt or unsupported (what could be read is still shown), 2 for usage or I/O errors.\n"
	"\n"
	"  --json        machine-readable output (keys documented in host/info.c)\n"
	"  -h, --help    this text\n"
	"  --version     the version\n";

static const char check_usage[] =
	"usage: vhdx check IMAGE\n"
	"\n"
	"Validate every structure of IMAGE.  Prints \"IMAGE: ok\" and a summary when it is sound (warnings go to\n"
	"standard error).  Exit 0 sound, 1 corrupt or unsupported, 2 usage or I/O error.\n"
	"\n"
	"  -h, --help    this text\n"
	"  --version     the version\n";

static const char *const status_key[VHDX_STATUS_COUNT] = {
	[VHDX_OK] = "ok",
	[VHDX_E_IO] = "io",
	[VHDX_E_NOMEM] = "nomem",
	[VHDX_E_ARG] = "arg",
	[VHDX_E_CORRUPT] = "corrupt",
	[VHDX_E_UNSUPPORTED] = "unsupported",
	[VHDX_E_READONLY] = "readonly",
	[VHDX_E_LOG_PENDING] = "log_pending",
	[VHDX_E_SEQUENCE] = "sequence",
	[VHDX_E_RANGE] = "range",
	[VHDX_E_STATE] = "state",
};

static const struct {
	unsigned state;
	const char *key, *text;
} states[] = {
	{ VHDX_BAT_NOT_PRESENT, "not_present", "not present" },
	{ VHDX_BAT_UNDEFINED, "undefined", "undefined" },
	{ VHDX_BAT_ZERO, "zero", "zero" },
	{ VHDX_BAT_UNMAPPED, "unmapped", "unmapped" },
	{ VHDX_BAT_FULLY_PRESENT, "fully_present", "fully present" },
	{ VHDX_BAT_PARTIALLY_PRESENT, "partially_present", "partially present" },
};

static const uint64_t header_offset[2] = { 64 * 1024, 128 * 1024 };
static const uint64_t region_offset[2] = { 192 * 1024, 256 * 1024 };

/* Parse the IMAGE operand (and --json for info). */
static int parse_args(const char *cmd, const char *usage, int allow_json, int argc, char **argv, int *json,
		      const char **path)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*json = 0;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'j' && allow_json)
			*json = 1;
		else if (c == 'j')
			return host_usage_error(cmd, "unknown option '--json'");
		else
			return host_opt_common(cmd, c, usage, argv);
	}
	if (argc == optind)
		return host_usage_error(cmd, "no IMAGE given");
	if (argc - optind > 1)
		return host_usage_error(cmd, "expected one IMAGE, got %d operands", argc - optind);
	*path = argv[optind];
	return -1;
}

static void text_header(const struct vhdx_image *img, int i)
{
	const struct vhdx_header *h = &img->header[i];
	char g[VHDX_GUID_TEXT];

	printf("header %d (offset %" PRIu64 "): %s", i + 1, header_offset[i], img->header_valid[i] ? "valid" : "invalid");
	if (!img->header_valid[i]) {
		putchar('\n');
		return;
	}
	printf(", sequence %" PRIu64 "%s\n", h->sequence, img->current == i ? ", current" : "");
	vhdx_guid_format(&h->file_write_guid, g);
	printf("  file write guid: %s\n", g);
	vhdx_guid_format(&h->data_write_guid, g);
	printf("  data write guid: %s\n", g);
	vhdx_guid_format(&h->log_guid, g);
	printf("  log guid: %s\n", g);
	printf("  log: offset %" PRIu64 ", length %" PRIu32 "\n", h->log_offset, h->log_length);
	printf("  version: %u, log version: %u\n", h->version, h->log_version);
}

static int any_header(const struct vhdx_image *img)
{
	return img->header_valid[0] || img->header_valid[1];
}

static void info_text(const char *path, const struct host_file *f, const struct vhdx_image *img, vhdx_status st,
		      const struct host_chain *ch)
{
	char h[32], g[VHDX_GUID_TEXT];
	unsigned i;

	printf("image: %s\n", path);
	printf("file size: %" PRIu64 " bytes (%s)\n", f->io.size, host_human(f->io.size, h, sizeof(h)));
	printf("status: %s\n", st ? (img->msg[0] ? img->msg : vhdx_status_message(st)) : "ok");
	if (img->creator[0] || st == VHDX_OK)
		printf("creator: %s\n", img->creator);
	if (st == VHDX_OK) {
		printf("virtual size: %" PRIu64 " bytes (%s)\n", img->virtual_size,
		       host_human(img->virtual_size, h, sizeof(h)));
		printf("block size: %" PRIu32 " bytes (%s)\n", img->block_size, host_human(img->block_size, h, sizeof(h)));
		printf("logical sector size: %" PRIu32 "\n", img->logical_sector_size);
		printf("physical sector size: %" PRIu32 "\n", img->physical_sector_size);
		vhdx_guid_format(&img->disk_id, g);
		printf("disk id: %s\n", g);
		printf("leave blocks allocated: %s\n", img->leave_blocks_allocated ? "yes" : "no");
		printf("has parent: %s\n", img->has_parent ? "yes" : "no");
		printf("metadata entries: %" PRIu32 "\n", img->metadata_count);
		host_chain_text(ch, img); /* differencing chains: each parent */
	}
	if (any_header(img))
		printf("current header: %d\n", img->current + 1);
	text_header(img, 0);
	text_header(img, 1);
	if (st == VHDX_OK) {
		printf("region table 1 (offset %" PRIu64 "): %s%s\n", region_offset[0],
		       img->region_valid[0] ? "valid" : "invalid", img->region_used == 0 ? ", used" : "");
		printf("region table 2 (offset %" PRIu64 "): %s%s\n", region_offset[1],
		       img->region_valid[1] ? "valid" : "invalid", img->region_used == 1 ? ", used" : "");
		printf("region entries: %" PRIu32 "\n", img->region_count);
		printf("BAT region: offset %" PRIu64 ", length %" PRIu32 "\n", img->bat_offset, img->bat_length);
		printf("metadata region: offset %" PRIu64 ", length %" PRIu32 "\n", img->meta_offset, img->meta_length);
		printf("BAT entries: %" PRIu64 "\n", img->bat_entries);
		printf("chunk ratio: %" PRIu64 "\n", img->chunk_ratio);
		printf("payload blocks: %" PRIu64 "\n", img->payload_blocks);
		for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
			printf("blocks %s: %" PRIu64 "\n", states[i].text, img->state_count[states[i].state]);
		printf("sector bitmaps present: %" PRIu64 "\n", img->bitmaps_present);
		printf("data end: %" PRIu64 "\n", img->data_end);
		printf("log pending: %s\n", img->log_pending ? "yes" : "no");
		if (img->log_pending && img->log.active) {
			const struct vhdx_log_state *L = &img->log;
			printf("log sequence: %" PRIu32 " entries (sequence %" PRIu64 "..%" PRIu64 "), %" PRIu64
			       " descriptors, tail at log offset %" PRIu64 "\n",
			       L->entries, L->tail_seq, L->head_seq, L->descriptors, L->tail);
			printf("log flushed file offset: %" PRIu64 ", last file offset: %" PRIu64 "\n", L->flushed_offset,
			       L->last_offset);
			printf("file size after replay: %" PRIu64 "\n", img->file_size);
		}
	}
	if (!img->warnings)
		printf("warnings: none\n");
	for (i = 0; i < img->warnings && i < VHDX_MAX_WARNINGS; i++)
		printf("warning: %s\n", img->warning[i]);
}

static void json_guid(struct json *j, const char *key, const struct vhdx_guid *guid)
{
	char g[VHDX_GUID_TEXT];

	vhdx_guid_format(guid, g);
	json_string(j, key, g);
}

static void json_headers(struct json *j, const struct vhdx_image *img)
{
	int i;

	json_object(j, "headers");
	if (any_header(img))
		json_u64(j, "current", (uint64_t)img->current + 1);
	else
		json_null(j, "current");
	json_array(j, "copies");
	for (i = 0; i < 2; i++) {
		const struct vhdx_header *h = &img->header[i];
		json_object(j, NULL);
		json_u64(j, "slot", (uint64_t)i + 1);
		json_u64(j, "offset", header_offset[i]);
		json_bool(j, "valid", img->header_valid[i]);
		json_bool(j, "current", any_header(img) && img->current == i);
		if (img->header_valid[i]) {
			json_u64(j, "sequence", h->sequence);
			json_guid(j, "file_write_guid", &h->file_write_guid);
			json_guid(j, "data_write_guid", &h->data_write_guid);
			json_guid(j, "log_guid", &h->log_guid);
			json_u64(j, "log_offset", h->log_offset);
			json_u64(j, "log_length", h->log_length);
			json_u64(j, "version", h->version);
			json_u64(j, "log_version", h->log_version);
		}
		json_end(j, '}');
	}
	json_end(j, ']');
	json_end(j, '}');
}

static void json_region(struct json *j, const char *key, uint64_t off, uint64_t len)
{
	json_object(j, key);
	json_u64(j, "offset", off);
	json_u64(j, "length", len);
	json_end(j, '}');
}

static void info_json(const char *path, const struct host_file *f, const struct vhdx_image *img, vhdx_status st,
		      const struct host_chain *ch)
{
	struct json j;
	unsigned i;
	int ok = st == VHDX_OK;

	json_init(&j, stdout);
	json_object(&j, NULL);
	json_string(&j, "image", path);
	json_u64(&j, "file_size", f->io.size);
	json_bool(&j, "ok", ok);
	json_string(&j, "status", (unsigned)st < VHDX_STATUS_COUNT ? status_key[st] : "unknown");
	json_string(&j, "error", ok ? NULL : (img->msg[0] ? img->msg : vhdx_status_message(st)));
	json_string(&j, "creator", img->creator[0] || ok ? img->creator : NULL);
	json_headers(&j, img);
	if (ok) {
		json_object(&j, "region_tables");
		json_u64(&j, "used", (uint64_t)img->region_used + 1);
		json_u64(&j, "entries", img->region_count);
		json_array(&j, "copies");
		for (i = 0; i < 2; i++) {
			json_object(&j, NULL);
			json_u64(&j, "slot", i + 1);
			json_u64(&j, "offset", region_offset[i]);
			json_bool(&j, "valid", img->region_valid[i]);
			json_bool(&j, "used", img->region_used == (int)i);
			json_end(&j, '}');
		}
		json_end(&j, ']');
		json_region(&j, "bat", img->bat_offset, img->bat_length);
		json_region(&j, "metadata", img->meta_offset, img->meta_length);
		json_end(&j, '}');

		json_object(&j, "metadata");
		json_u64(&j, "entries", img->metadata_count);
		json_u64(&j, "block_size", img->block_size);
		json_u64(&j, "virtual_size", img->virtual_size);
		json_u64(&j, "logical_sector_size", img->logical_sector_size);
		json_u64(&j, "physical_sector_size", img->physical_sector_size);
		json_guid(&j, "disk_id", &img->disk_id);
		json_bool(&j, "leave_blocks_allocated", img->leave_blocks_allocated);
		json_bool(&j, "has_parent", img->has_parent);
		json_end(&j, '}');

		json_object(&j, "bat");
		json_u64(&j, "entries", img->bat_entries);
		json_u64(&j, "chunk_ratio", img->chunk_ratio);
		json_u64(&j, "payload_blocks", img->payload_blocks);
		json_object(&j, "states");
		for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
			json_u64(&j, states[i].key, img->state_count[states[i].state]);
		json_end(&j, '}');
		json_u64(&j, "bitmaps_present", img->bitmaps_present);
		json_u64(&j, "data_end", img->data_end);
		json_end(&j, '}');
		json_bool(&j, "log_pending", img->log_pending);
		if (img->log_pending && img->log.active) {
			const struct vhdx_log_state *L = &img->log;
			json_object(&j, "log");
			json_u64(&j, "entries", L->entries);
			json_u64(&j, "descriptors", L->descriptors);
			json_u64(&j, "tail", L->tail);
			json_u64(&j, "tail_sequence", L->tail_seq);
			json_u64(&j, "head_sequence", L->head_seq);
			json_u64(&j, "flushed_offset", L->flushed_offset);
			json_u64(&j, "last_offset", L->last_offset);
			json_u64(&j, "file_size_after_replay", img->file_size);
			json_end(&j, '}');
		} else {
			json_null(&j, "log");
		}
	} else {
		json_null(&j, "region_tables");
		json_null(&j, "metadata");
		json_null(&j, "bat");
		json_null(&j, "log_pending");
		json_null(&j, "log");
	}
	json_array(&j, "warnings");
	for (i = 0; i < img->warnings && i < VHDX_MAX_WARNINGS; i++)
		json_string(&j, NULL, img->warning[i]);
	json_end(&j, ']');
	host_chain_json(&j, ch, img); /* differencing chains: each parent */
	json_end(&j, '}');
	json_finish(&j);
}

int cmd_info(int argc, char **argv)
{
	struct host_chain ch; /* the image and its parents (differencing chains) */
	int chain_rc = 0;
	struct host_file f;
	struct vhdx_image img;
	const char *path = NULL;
	vhdx_status st;
	int json, rc, e;

	rc = host_chain_options(&ch, "info", &argc, argv);
	if (rc >= 0)
		return rc;
	rc = parse_args("info", info_usage, 1, argc, argv, &json, &path);
	if (rc >= 0)
		return rc;
	memset(&img, 0, sizeof(img));
	e = host_file_open(&f, path, HOST_RDONLY);
	if (e)
		return host_open_failed(path, e);
	st = vhdx_open(&img, &f.io);
	/* a differencing image: its parents too, as far as they open (a failure is reported, the rest shown) */
	if (!st && img.has_parent)
		chain_rc = host_chain_open(&ch, path);
	if (json)
		info_json(path, &f, &img, st, &ch);
	else
		info_text(path, &f, &img, st, &ch);
	rc = fflush(stdout) ? EXIT_USAGE : 0;
	if (rc)
		host_error("-", "writing the output failed");
	if (st)
		rc = host_report(path, st, img.msg, &f);
	else if (chain_rc)
		rc = chain_rc;
	host_chain_close(&ch);
	host_image_close(&f, &img);
	return rc;
}

int cmd_check(int argc, char **argv)
{
	struct host_chain ch;
	struct vhdx_image *img;
	const char *path = NULL;
	char h[32];
	int json, rc;
	uint64_t present;

	rc = host_chain_options(&ch, "check", &argc, argv);
	if (rc >= 0)
		return rc;
	rc = parse_args("check", check_usage, 0, argc, argv, &json, &path);
	if (rc >= 0)
		return rc;
	rc = host_chain_open(&ch, path); /* differencing chains: every parent validated too */
	if (rc)
		return rc;
	for (unsigned i = 1; i < ch.n; i++)
		host_print_warnings(ch.path[i], &ch.img[i]);
	img = &ch.img[0];
	host_print_warnings(path, img);
	present = img->state_count[VHDX_BAT_FULLY_PRESENT] + img->state_count[VHDX_BAT_PARTIALLY_PRESENT];
	printf("%s: ok (virtual size %s, %" PRIu64 " of %" PRIu64 " blocks present%s%s)\n", path,
	       host_human(img->virtual_size, h, sizeof(h)), present, img->payload_blocks,
	       img->has_parent ? ", differencing" : "", img->log_pending ? ", log must be replayed" : "");
	if (ch.n > 1)
		printf("%s: chain of %u parent%s ok\n", path, ch.n - 1, ch.n == 2 ? "" : "s");
	host_chain_close(&ch);
	if (fflush(stdout)) {
		host_error("-", "writing the output failed");
		return EXIT_USAGE;
	}
	return EXIT_SOUND;
}
