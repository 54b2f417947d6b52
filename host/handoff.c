/*
 * handoff.c - `vhdx handoff [FILE]`: vhdxboot's EFI variable as shell assignments (issue 10).
 *
 * The initramfs script must learn which image it was booted from; parsing a binary EFI variable in a busybox shell
 * is fragile, so the tool does it and prints KEY=value lines the script can `eval`.  The layout is efi/handoff.c's
 * (version 1, documented in README.md); efivarfs puts the variable's 4-byte attributes in front of the data.
 * Every value printed is a GUID, a number, yes/no or a path checked to be plain printable ASCII without quotes,
 * so `eval` cannot run anything.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "host.h"

#define HANDOFF_EFIVARFS "/sys/firmware/efi/efivars/VhdxbootImage-13c0a24a-244b-4711-800a-241c56517353"
#define HANDOFF_VERSION 1
#define HANDOFF_FIXED_SIZE 112
#define EFIVARFS_ATTR_BYTES 4
#define HANDOFF_MAX 4096
#define HANDOFF_FLAG_OS_WRITE 1u
#define HANDOFF_FLAG_PARTITION 2u
#define HANDOFF_FLAG_FILE 4u
#define HANDOFF_FLAG_UPDATED 8u
#define HANDOFF_FLAG_EXPAND 16u /* os-write = expand: allocate the virtual disk's absent blocks before writing */

static const char handoff_usage[] =
	"usage: vhdx handoff [FILE]\n"
	"\n"
	"Print vhdxboot's handoff variable (default " HANDOFF_EFIVARFS ")\n"
	"as shell assignments: VHDX_DISK_ID, VHDX_DATA_WRITE_GUID, VHDX_FILE_WRITE_GUID, VHDX_PARTUUID (empty: a\n"
	"whole disk), VHDX_PARTNO, VHDX_OFFSET, VHDX_VIRTUAL_SIZE, VHDX_OS_WRITE (yes/no), VHDX_UPDATED (yes/no),\n"
	"VHDX_FILE (the image file's path when it is a file on a FAT volume, else empty), VHDX_EXPAND (yes/no:\n"
	"os-write = expand, allocate absent blocks before writing).\n"
	"Exit 0 printed, 1 the variable is malformed or of an unknown version, 2 it cannot be read.\n";

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void print_guid(const char *key, const uint8_t *p)
{
	struct vhdx_guid g;
	char t[VHDX_GUID_TEXT];

	vhdx_guid_load(&g, p);
	vhdx_guid_format(&g, t);
	printf("%s=%s\n", key, t);
}

/* The UTF-16LE path after the fixed part, as ASCII into out; -1 when it is not plain safe ASCII. */
static int file_path(const uint8_t *p, size_t len, char *out, size_t outlen)
{
	size_t n = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		unsigned c = p[i] | (unsigned)p[i + 1] << 8;
		if (!c)
			break;
		if (c < 0x20 || c >= 0x7F || c == '\'' || c == '"' || c == '`' || c == '$' || n + 1 >= outlen)
			return -1;
		out[n++] = c == '\\' ? '/' : (char)c; /* a FAT path's separators, as Linux writes them */
	}
	out[n] = 0;
	return 0;
}

int cmd_handoff(int argc, char **argv)
{
	uint8_t buf[HANDOFF_MAX];
	char path_text[HANDOFF_MAX / 2];
	const char *path = HANDOFF_EFIVARFS;
	int rc, first;

	if (argc == 1) {
		first = 1;
	} else {
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
	if (got < EFIVARFS_ATTR_BYTES + HANDOFF_FIXED_SIZE) {
		host_error(path, "%zu bytes: shorter than efivarfs attributes (4) and the version-1 layout (%u)", got,
			   HANDOFF_FIXED_SIZE);
		return EXIT_BAD;
	}
	const uint8_t *v = buf + EFIVARFS_ATTR_BYTES;
	size_t len = got - EFIVARFS_ATTR_BYTES;
	unsigned version = v[0] | v[1] << 8, fixed = v[2] | v[3] << 8;
	uint32_t flags = le32(v + 4);
	if (version != HANDOFF_VERSION || fixed < HANDOFF_FIXED_SIZE || fixed > len) {
		host_error(path, "version %u with a %u-byte fixed part: this tool knows version %u (%u bytes)", version,
			   fixed, HANDOFF_VERSION, HANDOFF_FIXED_SIZE);
		return EXIT_BAD;
	}
	path_text[0] = 0;
	if ((flags & HANDOFF_FLAG_FILE) && file_path(v + fixed, len - fixed, path_text, sizeof(path_text))) {
		host_error(path, "the image file's path is not plain printable ASCII");
		return EXIT_BAD;
	}
	print_guid("VHDX_DISK_ID", v + 8);
	print_guid("VHDX_DATA_WRITE_GUID", v + 24);
	print_guid("VHDX_FILE_WRITE_GUID", v + 40);
	if (flags & HANDOFF_FLAG_PARTITION)
		print_guid("VHDX_PARTUUID", v + 56);
	else
		printf("VHDX_PARTUUID=\n");
	printf("VHDX_PARTNO=%" PRIu32 "\n", le32(v + 96));
	printf("VHDX_OFFSET=%" PRIu64 "\n", le64(v + 72));
	printf("VHDX_VIRTUAL_SIZE=%" PRIu64 "\n", le64(v + 80));
	printf("VHDX_OS_WRITE=%s\n", (flags & HANDOFF_FLAG_OS_WRITE) ? "yes" : "no");
	printf("VHDX_UPDATED=%s\n", (flags & HANDOFF_FLAG_UPDATED) ? "yes" : "no");
	printf("VHDX_FILE='%s'\n", path_text);
	printf("VHDX_EXPAND=%s\n", (flags & HANDOFF_FLAG_EXPAND) ? "yes" : "no");
	return fflush(stdout) ? EXIT_USAGE : EXIT_SOUND;
}
