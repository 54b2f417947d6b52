/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * handoff.c - `vhdx handoff [FILE]`: vhdxboot's handoff variable as shell assignments.
 *
 * The initramfs script must learn which image it was booted from; parsing a binary EFI variable in a busybox shell
 * is fragile, so the tool does it and prints KEY=value lines the script can `eval`.  The bytes are decoded by the
 * core (core/handoff.h, the same definition the boot module encodes with); efivarfs puts the variable's 4-byte
 * attributes in front of the data.  Every value printed is a GUID, a number, yes/no or a path checked to be plain
 * printable ASCII without quotes, so `eval` cannot run anything.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "handoff.h"
#include "host.h"

#define HANDOFF_EFIVARFS "/sys/firmware/efi/efivars/" VHDX_HANDOFF_NAME "-" VHDX_HANDOFF_VENDOR_TEXT
#define EFIVARFS_ATTR_BYTES 4

static const char handoff_usage[] =
	"usage: vhdx handoff [FILE]\n"
	"\n"
	"Print vhdxboot's handoff variable (default " HANDOFF_EFIVARFS ")\n"
	"as shell assignments: VHDX_DISK_ID, VHDX_DATA_WRITE_GUID, VHDX_FILE_WRITE_GUID, VHDX_PARTUUID (empty: a\n"
	"whole disk), VHDX_PARTNO, VHDX_OFFSET, VHDX_VIRTUAL_SIZE, VHDX_OS_WRITE (yes/no), VHDX_UPDATED (yes/no),\n"
	"VHDX_FILE (the image file's path on its partition when it is a file, else empty), VHDX_EXPAND (yes/no:\n"
	"os-write = expand, allocate absent blocks before writing).\n"
	"Exit 0 printed, 1 the variable is malformed or of an unknown version, 2 it cannot be read.\n";

static void print_guid(FILE *out, const char *key, const struct vhdx_guid *g)
{
	char t[VHDX_GUID_TEXT];

	vhdx_guid_format(g, t);
	fprintf(out, "%s=%s\n", key, t);
}

/* The path as ASCII into out (FAT's '\' turned into '/'); -1 when it is not plain safe ASCII or too long. */
static int ascii_path(const uint16_t *path, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *path; path++) {
		unsigned c = *path;
		if (c < 0x20 || c >= 0x7F || c == '\'' || c == '"' || c == '`' || c == '$' || n + 1 >= outlen)
			return -1;
		out[n++] = c == '\\' ? '/' : (char)c;
	}
	out[n] = 0;
	return 0;
}

int host_handoff_print(FILE *out, const uint8_t *var, size_t len, char *msg, size_t msglen)
{
	struct vhdx_handoff h;
	char core_msg[VHDX_MSG_LEN];
	char path[VHDX_HANDOFF_PATH_MAX];

	if (len < EFIVARFS_ATTR_BYTES) {
		snprintf(msg, msglen, "%zu bytes: shorter than the efivarfs attributes (%u)", len, EFIVARFS_ATTR_BYTES);
		return EXIT_BAD;
	}
	if (vhdx_handoff_decode(var + EFIVARFS_ATTR_BYTES, len - EFIVARFS_ATTR_BYTES, &h, core_msg) != VHDX_OK) {
		snprintf(msg, msglen, "%s", core_msg);
		return EXIT_BAD;
	}
	path[0] = 0;
	if ((h.flags & VHDX_HANDOFF_FILE) && ascii_path(h.path, path, sizeof(path))) {
		snprintf(msg, msglen, "handoff: the image file's path is not plain printable ASCII without quotes");
		return EXIT_BAD;
	}
	print_guid(out, "VHDX_DISK_ID", &h.disk_id);
	print_guid(out, "VHDX_DATA_WRITE_GUID", &h.data_write_guid);
	print_guid(out, "VHDX_FILE_WRITE_GUID", &h.file_write_guid);
	if (h.flags & VHDX_HANDOFF_PARTITION)
		print_guid(out, "VHDX_PARTUUID", &h.partition_guid);
	else
		fprintf(out, "VHDX_PARTUUID=\n");
	fprintf(out, "VHDX_PARTNO=%" PRIu32 "\n", h.partition_number);
	fprintf(out, "VHDX_OFFSET=%" PRIu64 "\n", h.offset);
	fprintf(out, "VHDX_VIRTUAL_SIZE=%" PRIu64 "\n", h.virtual_size);
	fprintf(out, "VHDX_OS_WRITE=%s\n", (h.flags & VHDX_HANDOFF_OS_WRITE) ? "yes" : "no");
	fprintf(out, "VHDX_UPDATED=%s\n", (h.flags & VHDX_HANDOFF_UPDATED) ? "yes" : "no");
	fprintf(out, "VHDX_EXPAND=%s\n", (h.flags & VHDX_HANDOFF_EXPAND) ? "yes" : "no");
	fprintf(out, "VHDX_FILE='%s'\n", path);
	return EXIT_SOUND;
}

int cmd_handoff(int argc, char **argv)
{
	/* one byte more than the largest encoding, so a longer file is seen as such rather than cut short */
	uint8_t buf[EFIVARFS_ATTR_BYTES + VHDX_HANDOFF_MAX + 1];
	char msg[VHDX_MSG_LEN + 64];
	const char *path = HANDOFF_EFIVARFS;
	int rc, first;

	if (argc > 1) {
		rc = host_simple_args("handoff", handoff_usage, argc, argv, 1, &first);
		if (rc >= 0)
			return rc;
		path = argv[first];
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		host_error(path, "%s", strerror(errno));
		return EXIT_USAGE;
	}
	size_t got = fread(buf, 1, sizeof(buf), f);
	int err = ferror(f);
	fclose(f);
	if (err) {
		host_error(path, "read failed");
		return EXIT_USAGE;
	}
	if (got == sizeof(buf)) {
		host_error(path, "longer than the largest handoff variable (%u bytes after the attributes)",
			   VHDX_HANDOFF_MAX);
		return EXIT_BAD;
	}
	rc = host_handoff_print(stdout, buf, got, msg, sizeof(msg));
	if (rc != EXIT_SOUND) {
		host_error(path, "%s", msg);
		return rc;
	}
	return fflush(stdout) ? EXIT_USAGE : EXIT_SOUND;
}
