/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_host_bootmanifest.c - host/bootmanifest.c: what `vhdx install-boot` writes on an ESP and its record,
 * EFI/vhdxboot/installed, in a temporary directory standing for the ESP.  An install is planned, applied and read
 * back item by item; a second plan finds everything in place; a foreign boot loader is refused without force and
 * kept aside with it; --remove's counterpart puts the ESP back as it was; a damaged record is refused.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../host/host.h"
#include "../../host/installboot.h"
#include "t.h"

#define PE_AT 64
#define SBAT_AT 128

/* A minimal PE/COFF image with one section, .sbat, holding text: what efibin.c reads to tell whose it is. */
static size_t pe_with_sbat(uint8_t *buf, size_t cap, const char *text)
{
	size_t n = strlen(text);
	memset(buf, 0, cap);
	buf[0] = 'M', buf[1] = 'Z';
	buf[0x3c] = PE_AT;
	memcpy(buf + PE_AT, "PE\0\0", 4);
	buf[PE_AT + 4] = 0x64, buf[PE_AT + 5] = 0x86; /* x64 */
	buf[PE_AT + 6] = 1;                            /* one section; no optional header */
	uint8_t *sh = buf + PE_AT + 4 + 20;
	memcpy(sh, ".sbat\0\0\0", 8);
	sh[8] = (uint8_t)n;                            /* VirtualSize */
	sh[16] = (uint8_t)n;                           /* SizeOfRawData */
	sh[20] = SBAT_AT;                              /* PointerToRawData */
	memcpy(buf + SBAT_AT, text, n);
	return SBAT_AT + n;
}

static uint8_t module[512], foreign[512];
static size_t module_len, foreign_len;
static const char conf[] = "next = \\EFI\\debian\\grubx64.efi\n";
static char root[64];

static int file_is(const char *rel, const void *data, size_t len)
{
	char path[256], buf[1024];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	return n == len && !memcmp(buf, data, len);
}

static int exists(const char *rel)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	return access(path, F_OK) == 0;
}

static void put(const char *rel, const void *data, size_t len)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
}

static int dir_empty(void)
{
	DIR *d = opendir(root);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	return d && n == 0;
}

/* The record as "kind path" lines, for one comparison with what is expected. */
static void record_text(const struct bm_manifest *m, char *out, size_t outlen)
{
	static const char *const kinds[] = { "dir", "file", "saved", "entry" };
	size_t used = 0;
	out[0] = 0;
	for (unsigned i = 0; i < m->n && used < outlen; i++) {
		if (m->item[i].kind == BM_ENTRY)
			used += (size_t)snprintf(out + used, outlen - used, "entry %04X;", m->item[i].num);
		else
			used += (size_t)snprintf(out + used, outlen - used, "%s %s;", kinds[m->item[i].kind],
						 m->item[i].path);
	}
}

static void round_trip(void)
{
	static struct bm_plan p;
	static struct bm_manifest m;
	char text[2048];
	int present = -1;

	CHECK_EQ_INT(bm_read(root, &m, &present), 0, "manifest: an ESP without a record reads");
	CHECK(present == 0 && m.n == 0, "manifest: ... as no record");

	CHECK_EQ_INT(bm_plan_install(&p, root, module, module_len, conf, "BOOTX64.EFI", 0), 0, "manifest: plan");
	CHECK(p.nt == 4 && p.t[0].state == BM_T_MISSING && p.t[3].state == BM_T_MISSING,
	      "manifest: plan: four files, all missing");
	CHECK(p.mk_efi && p.mk_ours && p.mk_boot && !p.mk_saved, "manifest: plan: EFI, EFI/vhdxboot, EFI/BOOT made");
	CHECK(dir_empty(), "manifest: planning writes nothing");
	CHECK_EQ_INT(bm_apply(&p), 0, "manifest: apply");
	CHECK_EQ_INT(bm_record_entry(&p, 0x0007), 0, "manifest: a boot entry recorded");
	CHECK(file_is("EFI/vhdxboot/vhdxboot.efi", module, module_len) &&
	      file_is("EFI/BOOT/BOOTX64.EFI", module, module_len), "manifest: the module in both places");
	CHECK(file_is("EFI/vhdxboot/vhdxboot.conf", conf, strlen(conf)) &&
	      file_is("EFI/BOOT/vhdxboot.conf", conf, strlen(conf)), "manifest: the conf beside both");

	CHECK_EQ_INT(bm_read(root, &m, &present), 0, "manifest: the record reads back");
	record_text(&m, text, sizeof text);
	CHECK_STR_EQ(text,
		     "dir EFI;dir EFI/vhdxboot;dir EFI/BOOT;file EFI/vhdxboot/vhdxboot.efi;"
		     "file EFI/vhdxboot/vhdxboot.conf;file EFI/BOOT/BOOTX64.EFI;file EFI/BOOT/vhdxboot.conf;entry 0007;",
		     "manifest: the record holds every item, in the order they came to be");

	CHECK_EQ_INT(bm_plan_install(&p, root, module, module_len, conf, "BOOTX64.EFI", 0), 0, "manifest: plan again");
	int same = 1;
	for (unsigned i = 0; i < p.nt; i++)
		same &= p.t[i].state == BM_T_SAME;
	CHECK(same && !p.mk_efi && !p.mk_ours && !p.mk_boot, "manifest: plan again: everything already in place");

	CHECK_EQ_INT(bm_remove(root, &m), 0, "manifest: remove");
	CHECK(dir_empty(), "manifest: remove leaves the ESP as it was (empty)");
}

static void foreign_loader(void)
{
	static struct bm_plan p;
	static struct bm_manifest m;
	char path[256], text[2048];
	int present;

	snprintf(path, sizeof path, "%s/EFI", root);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/EFI/BOOT", root);
	mkdir(path, 0755);
	put("EFI/BOOT/BOOTX64.EFI", foreign, foreign_len);

	CHECK_EQ_INT(bm_plan_install(&p, root, module, module_len, conf, "BOOTX64.EFI", 0), EXIT_BAD,
		     "manifest: another boot loader at EFI/BOOT/BOOTX64.EFI: refused without --force");
	CHECK(!exists("EFI/vhdxboot") && file_is("EFI/BOOT/BOOTX64.EFI", foreign, foreign_len),
	      "manifest: ... nothing written");
	CHECK_EQ_INT(bm_plan_install(&p, root, module, module_len, conf, "BOOTX64.EFI", 1), 0,
		     "manifest: with --force: planned");
	CHECK(p.t[2].state == BM_T_SAVE_REPLACE && p.mk_saved && !p.mk_efi && !p.mk_boot,
	      "manifest: with --force: the loader to be kept aside, EFI/vhdxboot/saved made");
	CHECK_EQ_INT(bm_apply(&p), 0, "manifest: with --force: applied");
	CHECK(file_is("EFI/vhdxboot/saved/EFI_BOOT_BOOTX64.EFI", foreign, foreign_len) &&
	      file_is("EFI/BOOT/BOOTX64.EFI", module, module_len), "manifest: the loader kept in saved/, ours in place");
	CHECK_EQ_INT(bm_read(root, &m, &present), 0, "manifest: with --force: the record reads back");
	record_text(&m, text, sizeof text);
	CHECK_STR_EQ(text,
		     "dir EFI/vhdxboot;dir EFI/vhdxboot/saved;file EFI/vhdxboot/vhdxboot.efi;"
		     "file EFI/vhdxboot/vhdxboot.conf;saved EFI/BOOT/BOOTX64.EFI;file EFI/BOOT/BOOTX64.EFI;"
		     "file EFI/BOOT/vhdxboot.conf;",
		     "manifest: with --force: only what was created, the kept loader before its replacement");
	CHECK_EQ_INT(bm_remove(root, &m), 0, "manifest: with --force: remove");
	CHECK(file_is("EFI/BOOT/BOOTX64.EFI", foreign, foreign_len) && !exists("EFI/vhdxboot") &&
	      !exists("EFI/BOOT/vhdxboot.conf"), "manifest: remove puts the other loader back and takes ours away");
	snprintf(path, sizeof path, "%s/EFI/BOOT/BOOTX64.EFI", root);
	unlink(path);
	snprintf(path, sizeof path, "%s/EFI/BOOT", root);
	rmdir(path);
	snprintf(path, sizeof path, "%s/EFI", root);
	rmdir(path);
}

static void damaged_record(void)
{
	static struct bm_manifest m;
	char path[256];
	int present;

	snprintf(path, sizeof path, "%s/EFI", root);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/EFI/vhdxboot", root);
	mkdir(path, 0755);
	static const char *const bad[] = { "file /etc/passwd\n", "file EFI/../../etc/passwd\n", "entry 7\n",
					   "delete EFI\n", "EFI\n" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		put(BM_MANIFEST, bad[i], strlen(bad[i]));
		CHECK_EQ_INT(bm_read(root, &m, &present), EXIT_BAD, "manifest: the damaged line \"%.*s\" is refused",
			     (int)strlen(bad[i]) - 1, bad[i]);
	}
	snprintf(path, sizeof path, "%s/%s", root, BM_MANIFEST);
	unlink(path);
	snprintf(path, sizeof path, "%s/EFI/vhdxboot", root);
	rmdir(path);
	snprintf(path, sizeof path, "%s/EFI", root);
	rmdir(path);
}

int main(void)
{
	snprintf(root, sizeof root, "/tmp/test_host_bootmanifest.XXXXXX");
	if (!CHECK(mkdtemp(root) != NULL, "manifest: a temporary ESP directory"))
		return t_done();
	module_len = pe_with_sbat(module, sizeof module, "sbat,1,SBAT Version,sbat,1,https://example.org/sbat\n"
				  "vhdxboot,1,vhdxboot,vhdxboot,1,https://example.org/vhdxboot\n");
	foreign_len = pe_with_sbat(foreign, sizeof foreign, "sbat,1,SBAT Version,sbat,1,https://example.org/sbat\n"
				   "grub,3,Free Software Foundation,grub,2.06,https://www.gnu.org/software/grub/\n");
	round_trip();
	foreign_loader();
	damaged_record();
	CHECK(rmdir(root) == 0, "manifest: the temporary ESP is left empty");
	return t_done();
}
