/* SPDX-License-Identifier: BSD-2-Clause */
/* main.c - the `vhdx` tool: its subcommand table and the dispatch to them; the helpers the subcommands share are
 * in cli.c (options, messages, exit codes), imageopen.c (opening an image) and units.c (sizes). */
#include <stdio.h>
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
	{ "map", cmd_map },         { "find", cmd_find },       { "handoff", cmd_handoff },
	{ "allocate", cmd_allocate }, { "install-boot", cmd_install_boot }, { "seal", cmd_seal },
	{ "locate", cmd_locate },
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
