/* main.c - the `vhdx` tool: subcommand dispatch, and the helpers every subcommand shares. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

static const char usage[] =
	"usage: vhdx COMMAND [OPTIONS] ARGS...\n"
	"\n"
	"Commands:\n"
	"  info [--json] IMAGE       describe an image: headers, region tables, metadata, BAT, log\n"
	"  check IMAGE               validate an image (exit 0 sound, 1 corrupt or unsupported, 2 usage or I/O error)\n"
	"  session IMAGE             do a session header update (new FileWriteGuid, sequence raised by two)\n"
	"  replay IMAGE              replay a pending log into the file\n"
	"  export IMAGE OUT          write the virtual disk as a raw file ('-' for standard output)\n"
	"  create [OPTIONS] IMAGE [SIZE]\n"
	"                            make a new fixed or dynamic image (see 'vhdx create --help')\n"
	"  map [OPTIONS] IMAGE       print a device-mapper table of the virtual disk (see 'vhdx map --help')\n"
	"  find --disk-id GUID       the block device holding the VHDX with that VirtualDiskId\n"
	"  handoff [FILE]            vhdxboot's EFI variable (the image Linux was booted from) as shell assignments\n"
	"  allocate [OPTIONS] IMAGE  make every block (of a partition, of a range) present and zero-filled\n"
	"  install-boot --esp DIR [OPTIONS]\n"
	"                            put vhdxboot.efi on an EFI System Partition (see 'vhdx install-boot --help')\n"
	"  seal [--sha256] IMAGE     policy lines that pin IMAGE for vhdxboot, and its measurement's digest\n"
	"  locate PARTITION PATH     where the bytes of file PATH lie on a FAT32/exFAT/NTFS/ext4 partition\n"
	"\n"
	"Options:\n"
	"  -h, --help                this text (also after a command: 'vhdx info --help')\n"
	"  --version                 the version\n"
	"\n"
	"Sizes take a K, M, G or T suffix (powers of 1024).\n";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "info", cmd_info },       { "check", cmd_check },   { "session", cmd_session },
	{ "export", cmd_export },   { "create", cmd_create },   { "replay", cmd_replay },
	{ "map", cmd_map },         { "find", cmd_find },       { "handoff", cmd_handoff }, /* issue 10 */
	{ "allocate", cmd_allocate }, /* issue 10 */
	{ "install-boot", cmd_install_boot }, /* issue 13 */
	{ "seal", cmd_seal }, /* issue 12 */
	{ "locate", cmd_locate }, /* a file's extents on a FAT32, exFAT, NTFS or ext4 partition */
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, stdout);
		return fflush(stdout) ? EXIT_USAGE : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		fputs(HOST_VERSION_LINE, stdout);
		return fflush(stdout) ? EXIT_USAGE : 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		fprintf(stderr, "vhdx: unknown option '%s' (see 'vhdx --help')\n", argv[1]);
	else
		fprintf(stderr, "vhdx: unknown command '%s' (see 'vhdx --help')\n", argv[1]);
	return EXIT_USAGE;
}

int host_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vhdx: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'vhdx %s --help')\n", cmd);
	return EXIT_USAGE;
}

int host_opt_common(const char *cmd, int c, const char *text, char **argv)
{
	switch (c) {
	case 'h':
		fputs(text, stdout);
		return fflush(stdout) ? EXIT_USAGE : 0;
	case 'V':
		fputs(HOST_VERSION_LINE, stdout);
		return fflush(stdout) ? EXIT_USAGE : 0;
	case ':':
		return host_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
	default: {
		const char *a = optind > 0 ? argv[optind - 1] : NULL;
		if (a && a[0] == '-' && a[1] == '-')
			return host_usage_error(cmd, "unknown option '%s'", a);
		return host_usage_error(cmd, "unknown option '-%c'", optopt);
	}
	}
}

int host_simple_args(const char *cmd, const char *text, int argc, char **argv, int want, int *first)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
		return host_opt_common(cmd, c, text, argv);
	if (argc - optind != want)
		return host_usage_error(cmd, "expected %d operand%s, got %d", want, want == 1 ? "" : "s", argc - optind);
	*first = optind;
	return -1;
}

void host_error(const char *name, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vhdx: %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int host_exit_code(vhdx_status st)
{
	switch (st) {
	case VHDX_OK:
		return EXIT_SOUND;
	case VHDX_E_IO:
	case VHDX_E_NOMEM:
	case VHDX_E_ARG:
		return EXIT_USAGE;
	default:
		return EXIT_BAD;
	}
}

int host_report(const char *name, vhdx_status st, const char *msg, const struct host_file *f)
{
	const char *text = msg && msg[0] ? msg : vhdx_status_message(st);

	if ((st == VHDX_E_IO || st == VHDX_E_NOMEM) && f && f->err)
		host_error(name, "%s: %s", text, strerror(f->err));
	else
		host_error(name, "%s", text);
	return host_exit_code(st);
}

int host_image_open(struct host_file *f, struct vhdx_image *img, const char *path, int mode, int *opened)
{
	vhdx_status st;
	int e;

	memset(img, 0, sizeof(*img));
	*opened = 0;
	e = host_file_open(f, path, mode);
	if (e) {
		host_error(path, "%s", strerror(e));
		return EXIT_USAGE;
	}
	*opened = 1;
	st = vhdx_open(img, &f->io);
	if (st) {
		e = host_report(path, st, img->msg, f);
		vhdx_close(img);
		host_file_close(f);
		return e;
	}
	return 0;
}

void host_image_close(struct host_file *f, struct vhdx_image *img)
{
	vhdx_close(img);
	host_file_close(f);
}

void host_print_warnings(const char *name, const struct vhdx_image *img)
{
	unsigned i;

	for (i = 0; i < img->warnings && i < VHDX_MAX_WARNINGS; i++)
		host_error(name, "warning: %s", img->warning[i]);
}

int host_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	switch (*p) {
	case 0: break;
	case 'k': case 'K': mul = 1ULL << 10; break;
	case 'm': case 'M': mul = 1ULL << 20; break;
	case 'g': case 'G': mul = 1ULL << 30; break;
	case 't': case 'T': mul = 1ULL << 40; break;
	default: return -1;
	}
	if (*p) {
		p++;
		/* "M", "MB" and "MiB" all mean 2^20 */
		if (!strcmp(p, "iB") || !strcmp(p, "B"))
			p += strlen(p);
		if (*p)
			return -1;
	}
	if (v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

const char *host_human(uint64_t bytes, char *buf, unsigned len)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned u = 0;
	uint64_t whole = bytes, rem = 0;

	while (whole >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		rem = whole % 1024;
		whole /= 1024;
		u++;
	}
	if (u == 0 || rem == 0)
		snprintf(buf, len, "%" PRIu64 " %s", whole, units[u]);
	else
		snprintf(buf, len, "%" PRIu64 ".%02u %s", whole, (unsigned)(rem * 100 / 1024), units[u]);
	return buf;
}
