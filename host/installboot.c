/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * installboot.c - `vhdx install-boot`: puts vhdxboot.efi and a vhdxboot.conf written from the options into an EFI
 * System Partition, optionally as the removable-media loader, and makes a firmware boot entry.
 *
 * Everything it creates is recorded in DIR/EFI/vhdxboot/installed (bootmanifest.c) before it is created, so
 * --remove takes away exactly that, and a file it had to move out of the way (only ours, or anything with
 * --force) is kept under EFI/vhdxboot/saved/ and put back.  All refusals (not FAT, a file that is not ours, no
 * partition to point a boot entry at) come before the first write.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootentry.h"
#include "esp.h"
#include "host.h"
#include "installboot.h"

/* Where `make install` put the EFI binaries (the Makefile defines it from PREFIX). */
#ifndef VHDX_LIBDIR
#define VHDX_LIBDIR "/usr/local/lib/vhdxboot"
#endif

#define CMD "install-boot"
#define ENV_MODULE "VHDXBOOT_MODULE"
#define ENTRY_LABEL "vhdxboot"
#define ENTRY_LOADER "\\EFI\\vhdxboot\\vhdxboot.efi"
#define FW_PLATFORM_SIZE "/sys/firmware/efi/fw_platform_size"
#define MODULE_MAX (16u << 20) /* far above the module's size: a bigger file is not the module */

static const char ib_usage[] =
	"usage: vhdx install-boot --esp DIR [OPTIONS]\n"
	"       vhdx install-boot --esp DIR --remove [--no-entry]\n"
	"\n"
	"Install vhdxboot.efi into the EFI System Partition mounted at DIR: DIR/EFI/vhdxboot/vhdxboot.efi with a\n"
	"vhdxboot.conf beside it written from the options below, a firmware boot entry (efibootmgr) when the system\n"
	"booted through UEFI, and with --removable also the removable-media path DIR/EFI/BOOT/BOOTX64.EFI.  What it\n"
	"creates is listed in DIR/EFI/vhdxboot/installed and --remove takes exactly that away.  A second run says\n"
	"what is already in place.\n"
	"\n"
	"  --esp DIR            the ESP's mount point (a FAT file system unless --force)\n"
	"  --next PATH          vhdxboot.conf \"next\": the next stage ('/' is written as '\\')\n"
	"  --disk SEL           vhdxboot.conf \"disk\": auto, an index, or device-path text\n"
	"  --image [PARTUUID:]PATH  vhdxboot.conf \"image\": the VHDX is a file on a FAT, NTFS, exFAT or ext4 volume\n"
	"  --on-error MODE      vhdxboot.conf \"on-error\": stop or continue after a refusal\n"
	"  --check-only         vhdxboot.conf \"check-only = yes\": validate, write nothing\n"
	"  --os-write[=expand]  vhdxboot.conf \"os-write = yes\": the OS booted from inside may write the image;\n"
	"                       =expand: \"os-write = expand\", absent blocks are allocated at boot first\n"
	"  --vdisk-write        vhdxboot.conf \"vdisk-write = yes\": the next stage may write present blocks of the\n"
	"                       virtual disk (systemd-boot's random seed and boot counting on the inner ESP)\n"
	"  --args TEXT          vhdxboot.conf \"args\": the next stage's options\n"
	"  --removable          also install as \\EFI\\BOOT\\BOOTX64.EFI (BOOTIA32.EFI, BOOTAA64.EFI)\n"
	"  --no-entry           create no firmware boot entry (with --remove: leave it)\n"
	"  --force              install on a file system that is not FAT, and replace a file that is not\n"
	"                       vhdxboot's (it is kept in EFI/vhdxboot/saved/ and --remove puts it back)\n"
	"  --remove             undo what earlier runs installed\n"
	"  --arch ARCH          x64, ia32 or aa64: the firmware's architecture (default: this system's)\n"
	"  --module FILE        the vhdxboot.efi to install (default: $" ENV_MODULE ", else vhdxbootARCH.efi\n"
	"                       in " VHDX_LIBDIR ")\n"
	"  -h, --help           this text\n"
	"  --version            the version\n"
	"\n"
	"Exit 0 done or already in place, 1 refused (not FAT, a file that is not vhdxboot's, no partition for the\n"
	"boot entry, a damaged record), 2 usage, I/O or efibootmgr error.\n";

enum {
	OPT_ESP = 256, OPT_NEXT, OPT_DISK, OPT_IMAGE, OPT_ONERR, OPT_CHECK, OPT_ARGS, OPT_REMOVABLE, OPT_NOENTRY,
	OPT_FORCE, OPT_REMOVE, OPT_ARCH, OPT_MODULE, OPT_OSWRITE, OPT_VDISKWRITE
};

struct arch {
	const char *name;     /* as in --arch and the installed file name vhdxbootNAME.efi */
	const char *builddir; /* build/DIR/vhdxboot.efi in the source tree */
	const char *bootfile; /* the removable-media file name */
	uint16_t machine;
};

static const struct arch arches[] = {
	{ "x64", "x86_64", "BOOTX64.EFI", PE_MACHINE_X64 },
	{ "ia32", "ia32", "BOOTIA32.EFI", PE_MACHINE_IA32 },
	{ "aa64", "aa64", "BOOTAA64.EFI", PE_MACHINE_AA64 },
};

struct ib {
	const char *esp, *module, *arch_name;
	const char *conf[BM_CONF_KEYS]; /* values for the config keys, in bm_conf_keys order */
	int check_only, os_write, vdisk_write, removable, no_entry, force, remove;
	char root[PATH_MAX]; /* the ESP, resolved */
	const struct arch *arch;
	char module_path[PATH_MAX];
	unsigned char *module_data;
	size_t module_len;
	struct esp_mount mount;
};

static const struct arch *arch_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(arches) / sizeof(arches[0]); i++)
		if (!strcmp(arches[i].name, name))
			return &arches[i];
	return NULL;
}

/* The firmware's architecture: the build's, except 64-bit x86 Linux on 32-bit UEFI (the kernel says so). */
static const struct arch *arch_default(void)
{
#if defined(__aarch64__)
	return arch_by_name("aa64");
#elif defined(__i386__)
	return arch_by_name("ia32");
#else
	char size[8] = "";
	FILE *f = fopen(FW_PLATFORM_SIZE, "r");

	if (f) {
		if (!fgets(size, sizeof(size), f))
			size[0] = 0;
		fclose(f);
	}
	return arch_by_name(!strncmp(size, "32", 2) ? "ia32" : "x64");
#endif
}

static int parse_args(struct ib *b, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "esp", required_argument, NULL, OPT_ESP },
		{ "next", required_argument, NULL, OPT_NEXT },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "on-error", required_argument, NULL, OPT_ONERR },
		{ "check-only", no_argument, NULL, OPT_CHECK },
		{ "os-write", optional_argument, NULL, OPT_OSWRITE },
		{ "vdisk-write", no_argument, NULL, OPT_VDISKWRITE },
		{ "args", required_argument, NULL, OPT_ARGS },
		{ "removable", no_argument, NULL, OPT_REMOVABLE },
		{ "no-entry", no_argument, NULL, OPT_NOENTRY },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "remove", no_argument, NULL, OPT_REMOVE },
		{ "arch", required_argument, NULL, OPT_ARCH },
		{ "module", required_argument, NULL, OPT_MODULE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, i, conf_given = 0;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ESP: b->esp = optarg; break;
		case OPT_NEXT: b->conf[BM_KEY_NEXT] = optarg; break;
		case OPT_DISK: b->conf[BM_KEY_DISK] = optarg; break;
		case OPT_IMAGE: b->conf[BM_KEY_IMAGE] = optarg; break;
		case OPT_ONERR: b->conf[BM_KEY_ONERR] = optarg; break;
		case OPT_ARGS: b->conf[BM_KEY_ARGS] = optarg; break;
		case OPT_CHECK: b->check_only = 1; break;
		case OPT_OSWRITE:
			if (!optarg || !strcmp(optarg, "yes"))
				b->os_write = BM_OS_WRITE_YES;
			else if (!strcmp(optarg, "expand"))
				b->os_write = BM_OS_WRITE_EXPAND;
			else
				return host_usage_error(CMD, "--os-write=%s: yes or expand", optarg);
			break;
		case OPT_VDISKWRITE: b->vdisk_write = 1; break;
		case OPT_REMOVABLE: b->removable = 1; break;
		case OPT_NOENTRY: b->no_entry = 1; break;
		case OPT_FORCE: b->force = 1; break;
		case OPT_REMOVE: b->remove = 1; break;
		case OPT_ARCH: b->arch_name = optarg; break;
		case OPT_MODULE: b->module = optarg; break;
		default: return host_opt_common(CMD, c, ib_usage, argv);
		}
	}
	if (optind < argc)
		return host_usage_error(CMD, "unexpected operand '%s'", argv[optind]);
	if (!b->esp)
		return host_usage_error(CMD, "--esp DIR is required");
	for (i = 0; i < BM_CONF_KEYS; i++)
		conf_given |= b->conf[i] != NULL;
	if (b->remove && (conf_given || b->check_only || b->os_write || b->vdisk_write || b->removable || b->module))
		return host_usage_error(CMD, "--remove takes only --esp, --no-entry, --force and --arch");
	if (b->conf[BM_KEY_ONERR] && strcmp(b->conf[BM_KEY_ONERR], "stop") && strcmp(b->conf[BM_KEY_ONERR], "continue"))
		return host_usage_error(CMD, "--on-error is stop or continue, not '%s'", b->conf[BM_KEY_ONERR]);
	b->arch = b->arch_name ? arch_by_name(b->arch_name) : arch_default();
	if (!b->arch)
		return host_usage_error(CMD, "--arch is x64, ia32 or aa64, not '%s'", b->arch_name);
	return -1;
}

/* Reads a whole (small) file; 0, or an errno value. */
static int slurp(const char *path, size_t max, unsigned char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	size_t n;

	*data = NULL;
	*len = 0;
	if (!f)
		return errno;
	buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		return ENOMEM;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return EIO;
	}
	fclose(f);
	if (n > max) {
		free(buf);
		return EFBIG;
	}
	*data = buf;
	*len = n;
	return 0;
}

/* The candidates for the module, in order: --module, $VHDXBOOT_MODULE, the library directory, then beside the
 * running tool (an unpacked or DESTDIR install: ../lib/vhdxboot; the source tree: ../ARCHDIR). */
static int find_module(struct ib *b)
{
	char cand[5][PATH_MAX], exe[PATH_MAX], *slash;
	const char *env = getenv(ENV_MODULE);
	ssize_t n;
	int k = 0, i;

	if (b->module)
		snprintf(cand[k++], PATH_MAX, "%s", b->module);
	else if (env && *env)
		snprintf(cand[k++], PATH_MAX, "%s", env);
	else {
		snprintf(cand[k++], PATH_MAX, "%s/vhdxboot%s.efi", VHDX_LIBDIR, b->arch->name);
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n > 0) {
			exe[n] = 0;
			slash = strrchr(exe, '/');
			if (slash)
				*slash = 0;
			snprintf(cand[k++], PATH_MAX, "%.*s/../lib/vhdxboot/vhdxboot%s.efi", PATH_MAX - 64, exe,
				 b->arch->name);
			snprintf(cand[k++], PATH_MAX, "%.*s/../%s/vhdxboot.efi", PATH_MAX - 64, exe, b->arch->builddir);
		}
	}
	for (i = 0; i < k; i++) {
		int e = slurp(cand[i], MODULE_MAX, &b->module_data, &b->module_len);

		if (e == ENOENT && !b->module && !(env && *env))
			continue;
		if (e) {
			host_error(cand[i], "cannot read the module: %s", e == EFBIG ? "larger than 16 MiB" : strerror(e));
			return EXIT_USAGE;
		}
		memcpy(b->module_path, cand[i], sizeof(b->module_path));
		return 0;
	}
	host_error(CMD, "no vhdxboot%s.efi in %s or beside the tool; give --module FILE", b->arch->name, VHDX_LIBDIR);
	return EXIT_USAGE;
}

/* The module must be vhdxboot, built for the firmware's architecture. */
static int check_module(const struct ib *b)
{
	struct efi_binary eb;
	char why[160];

	if (efibin_inspect(b->module_data, b->module_len, &eb, why, sizeof(why))) {
		host_error(b->module_path, "%s", why);
		return EXIT_BAD;
	}
	if (!eb.ours) {
		host_error(b->module_path, "not vhdxboot: its .sbat section names no \"vhdxboot\" component");
		return EXIT_BAD;
	}
	if (eb.machine != b->arch->machine) {
		host_error(b->module_path, "built for %s (PE machine 0x%04x), the firmware is %s (give --arch or --module)",
			   efibin_machine_name(eb.machine), eb.machine, b->arch->name);
		return EXIT_BAD;
	}
	return 0;
}

/* Resolves DIR and refuses what cannot be an ESP (not a directory; not FAT without --force). */
static int check_esp(struct ib *b)
{
	struct stat st;
	char what[128];
	int fat, e;

	if (!realpath(b->esp, b->root) || stat(b->root, &st)) {
		host_error(b->esp, "%s", strerror(errno));
		return EXIT_USAGE;
	}
	if (!S_ISDIR(st.st_mode)) {
		host_error(b->esp, "not a directory (--esp wants the ESP's mount point)");
		return EXIT_USAGE;
	}
	e = esp_find_mount(b->root, &b->mount);
	if (e) {
		host_error("/proc/self/mountinfo", "%s", strerror(e));
		return EXIT_USAGE;
	}
	fat = esp_is_fat(b->root, &b->mount, what, sizeof(what));
	if (fat < 0) {
		host_error(b->esp, "statfs: %s", strerror(errno));
		return EXIT_USAGE;
	}
	if (!fat && !b->force) {
		host_error(b->esp, "not a FAT file system (%s): firmware reads an ESP only as FAT; --force to install anyway",
			   what);
		return EXIT_BAD;
	}
	if (!fat)
		printf("%s: not a FAT file system (%s); going on (--force)\n", b->esp, what);
	return 0;
}

/* Which disk and partition the boot entry points at; refuses (before anything is written) when there is none. */
static int entry_target(const struct ib *b, char *disk, size_t disklen, unsigned *part)
{
	char why[PATH_MAX + 128];

	if (!b->mount.found || strcmp(b->mount.root, "/")) {
		host_error(b->esp, "not the mount point of a whole file system, so a boot entry's path would be wrong "
				   "(give the ESP's mount point, or --no-entry)");
		return EXIT_BAD;
	}
	if (esp_partition(&b->mount, disk, disklen, part, why, sizeof(why))) {
		host_error(b->esp, "cannot point a boot entry at it: %s (--no-entry to install without one)", why);
		return EXIT_BAD;
	}
	return 0;
}

static int do_install(struct ib *b)
{
	struct bm_plan plan;
	char disk[PATH_MAX], conf[BM_CONF_MAX], why[PATH_MAX + 128];
	unsigned part = 0;
	int rc, uefi = esp_uefi_system(), num;

	if ((rc = find_module(b)) || (rc = check_module(b)))
		return rc;
	if (bm_conf_text(b->conf, b->check_only, b->os_write, b->vdisk_write, conf, sizeof(conf), why, sizeof(why)))
		return host_usage_error(CMD, "%s", why);
	if (uefi && !b->no_entry && (rc = entry_target(b, disk, sizeof(disk), &part)))
		return rc;
	rc = bm_plan_install(&plan, b->root, b->module_data, b->module_len, conf, b->removable ? b->arch->bootfile : NULL,
			     b->force);
	if (rc)
		return rc;
	rc = bm_apply(&plan);
	if (rc)
		return rc;
	if (b->no_entry) {
		printf("no boot entry (--no-entry)\n");
		return 0;
	}
	if (!uefi) {
		printf("no boot entry: this system did not boot through UEFI (no /sys/firmware/efi)%s\n",
		       b->removable ? "; the firmware finds the removable-media path by itself" : "");
		return 0;
	}
	num = bootentry_find(ENTRY_LABEL, ENTRY_LOADER);
	if (num == -2)
		return EXIT_USAGE;
	if (num >= 0) {
		printf("already in place: boot entry Boot%04X \"%s\" -> %s\n", (unsigned)num, ENTRY_LABEL, ENTRY_LOADER);
		return 0;
	}
	/* recorded first: an entry that exists is never forgotten by --remove */
	num = bootentry_create(disk, part, ENTRY_LOADER, ENTRY_LABEL);
	if (num < 0) {
		if (num == -1)
			host_error(CMD, "efibootmgr created no entry \"%s\" for %s", ENTRY_LABEL, ENTRY_LOADER);
		return EXIT_USAGE;
	}
	rc = bm_record_entry(&plan, (unsigned)num);
	if (rc)
		return rc;
	printf("created boot entry Boot%04X \"%s\" -> %s on %s partition %u\n", (unsigned)num, ENTRY_LABEL,
	       ENTRY_LOADER, disk, part);
	return 0;
}

/* Deletes the recorded boot entries (they go first: a file removal that fails must not leave them dangling). */
static int remove_entries(const struct ib *b, const struct bm_manifest *m)
{
	unsigned i;
	int uefi = esp_uefi_system(), r;

	for (i = 0; i < m->n; i++) {
		if (m->item[i].kind != BM_ENTRY)
			continue;
		if (b->no_entry) {
			printf("left boot entry Boot%04X (--no-entry)\n", m->item[i].num);
			continue;
		}
		if (!uefi) {
			host_error(b->esp, "boot entry Boot%04X was created here, but this system did not boot through UEFI "
					   "(no /sys/firmware/efi): cannot delete it (--no-entry to leave it)",
				   m->item[i].num);
			return EXIT_BAD;
		}
		r = bootentry_exists(ENTRY_LABEL, m->item[i].num);
		if (r < 0)
			return EXIT_USAGE;
		if (!r) {
			printf("already gone: boot entry Boot%04X\n", m->item[i].num);
			continue;
		}
		if (bootentry_delete(m->item[i].num))
			return EXIT_USAGE;
		printf("removed boot entry Boot%04X \"%s\"\n", m->item[i].num, ENTRY_LABEL);
	}
	return 0;
}

static int do_remove(struct ib *b)
{
	struct bm_manifest m;
	int rc, present;

	rc = bm_read(b->root, &m, &present);
	if (rc)
		return rc;
	if (!present) {
		printf("nothing to remove: %s/%s does not exist\n", b->root, BM_MANIFEST);
		return 0;
	}
	rc = remove_entries(b, &m);
	if (rc)
		return rc;
	return bm_remove(b->root, &m);
}

int cmd_install_boot(int argc, char **argv)
{
	struct ib b;
	int rc;

	memset(&b, 0, sizeof(b));
	rc = parse_args(&b, argc, argv);
	if (rc >= 0)
		return rc;
	rc = check_esp(&b);
	if (!rc)
		rc = b.remove ? do_remove(&b) : do_install(&b);
	free(b.module_data);
	if (fflush(stdout) && !rc)
		rc = EXIT_USAGE;
	return rc;
}
