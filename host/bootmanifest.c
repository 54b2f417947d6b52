/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bootmanifest.c - the files `vhdx install-boot` puts on an ESP, and their record DIR/EFI/vhdxboot/installed.
 *
 * The record lists, in the order they came to be, the directories and files install-boot created, the files it
 * moved aside (to EFI/vhdxboot/saved/) and the boot entries it made.  It is written before the things it names,
 * so an interrupted run leaves nothing --remove does not know about.  A record naming anything outside the few
 * paths install-boot ever writes is refused as damaged: --remove never deletes what a stray line points at.
 * A file is ours when the record says we wrote it; an EFI binary also when its .sbat names vhdxboot.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "esp.h"
#include "host.h"
#include "installboot.h"

#define DIR_EFI "EFI"
#define DIR_OURS "EFI/vhdxboot"
#define DIR_SAVED "EFI/vhdxboot/saved"
#define DIR_BOOT "EFI/BOOT"
#define FILE_MODULE "EFI/vhdxboot/vhdxboot.efi"
#define FILE_CONF "EFI/vhdxboot/vhdxboot.conf"
#define FILE_BOOT_CONF "EFI/BOOT/vhdxboot.conf"
#define TMP_SUFFIX ".new"
#define FILE_MAX (16u << 20)
#define RECORD_HEADER "# vhdx install-boot: what it created on this ESP; `vhdx install-boot --remove` takes it away\n"

static const char *const known_dirs[] = { DIR_EFI, DIR_OURS, DIR_SAVED, DIR_BOOT };
static const char *const known_files[] = { FILE_MODULE, FILE_CONF, FILE_BOOT_CONF, "EFI/BOOT/BOOTX64.EFI",
					   "EFI/BOOT/BOOTIA32.EFI", "EFI/BOOT/BOOTAA64.EFI" };
static const char *const kind_names[] = { [BM_DIR] = "dir", [BM_FILE] = "file", [BM_SAVED] = "saved",
					  [BM_ENTRY] = "entry" };

static int in_list(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return 1;
	return 0;
}

#define IN(s, list) in_list((s), (list), sizeof(list) / sizeof((list)[0]))

static void full(char *out, const char *root, const char *rel)
{
	snprintf(out, PATH_MAX, "%.*s/%s", PATH_MAX - BM_PATH_MAX - 32, root, rel);
}

/* Where the file that was at rel is kept: EFI/vhdxboot/saved/ with the path flattened (EFI_BOOT_BOOTX64.EFI). */
static void saved_path(char *out, const char *root, const char *rel)
{
	char flat[BM_PATH_MAX], *c;

	snprintf(flat, sizeof(flat), "%s", rel);
	for (c = flat; *c; c++)
		if (*c == '/')
			*c = '_';
	snprintf(out, PATH_MAX, "%.*s/" DIR_SAVED "/%s", PATH_MAX - 2 * BM_PATH_MAX, root, flat);
}

static int is_binary(const char *rel)
{
	size_t n = strlen(rel);

	return n > 4 && !strcasecmp(rel + n - 4, ".efi");
}

static int has(const struct bm_manifest *m, enum bm_kind kind, const char *path)
{
	unsigned i;

	for (i = 0; i < m->n; i++)
		if (m->item[i].kind == kind && !strcmp(m->item[i].path, path))
			return 1;
	return 0;
}

/* Appends an item unless the record has it; 0 or -1 when full. */
static int add(struct bm_manifest *m, enum bm_kind kind, const char *path, unsigned num)
{
	unsigned i;

	for (i = 0; i < m->n; i++)
		if (m->item[i].kind == kind && !strcmp(m->item[i].path, path) && m->item[i].num == num)
			return 0;
	if (m->n == BM_MAX_ITEMS)
		return -1;
	m->item[m->n].kind = kind;
	snprintf(m->item[m->n].path, BM_PATH_MAX, "%s", path);
	m->item[m->n].num = num;
	m->n++;
	return 0;
}

static int parse_line(struct bm_manifest *m, char *line, char *why, size_t whylen)
{
	char *sp = strchr(line, ' '), *arg, *end;
	enum bm_kind k;
	unsigned long num = 0;

	if (!sp) {
		snprintf(why, whylen, "\"%s\" is not \"KIND PATH\"", line);
		return -1;
	}
	*sp = 0;
	arg = sp + 1;
	for (k = BM_DIR; k <= BM_ENTRY; k++)
		if (!strcmp(line, kind_names[k]))
			break;
	if (k > BM_ENTRY) {
		snprintf(why, whylen, "unknown kind \"%s\" (dir, file, saved or entry)", line);
		return -1;
	}
	if (k == BM_ENTRY) {
		errno = 0;
		num = strtoul(arg, &end, 16);
		if (strlen(arg) != 4 || *end || errno) {
			snprintf(why, whylen, "boot entry \"%s\" is not four hex digits", arg);
			return -1;
		}
		arg = "";
	} else if (k == BM_DIR ? !IN(arg, known_dirs) : !IN(arg, known_files)) {
		snprintf(why, whylen, "%s \"%s\" is not a path vhdx install-boot writes", line, arg);
		return -1;
	}
	if (add(m, k, arg, (unsigned)num)) {
		snprintf(why, whylen, "more than %d items", BM_MAX_ITEMS);
		return -1;
	}
	return 0;
}

int bm_read(const char *root, struct bm_manifest *m, int *present)
{
	char path[PATH_MAX], line[256], why[640];
	unsigned lineno = 0;
	FILE *f;

	memset(m, 0, sizeof(*m));
	full(path, root, BM_MANIFEST);
	f = fopen(path, "r");
	*present = f != NULL;
	if (!f)
		return errno == ENOENT ? 0 : (host_error(path, "%s", strerror(errno)), EXIT_USAGE);
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		if (parse_line(m, line, why, sizeof(why))) {
			fclose(f);
			host_error(path, "line %u: %s: a damaged record; nothing done", lineno, why);
			return EXIT_BAD;
		}
	}
	fclose(f);
	return 0;
}

/* Writes data to path through a temporary file renamed over it, both flushed: a power cut leaves old or new. */
static int write_file(const char *path, const void *data, size_t len)
{
	char tmp[PATH_MAX + 8], dir[PATH_MAX], *slash;
	int fd, e = 0, dfd;

	snprintf(tmp, sizeof(tmp), "%s" TMP_SUFFIX, path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		host_error(tmp, "%s", strerror(errno));
		return EXIT_USAGE;
	}
	e = host_write_all(fd, data, len, -1);
	if (!e && fsync(fd))
		e = errno;
	if (close(fd) && !e)
		e = errno;
	if (!e && rename(tmp, path))
		e = errno;
	if (e) {
		unlink(tmp);
		host_error(path, "%s", strerror(e));
		return EXIT_USAGE;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

static int write_record(const struct bm_plan *p)
{
	char path[PATH_MAX], text[BM_MAX_ITEMS * (BM_PATH_MAX + 16) + sizeof(RECORD_HEADER)];
	size_t used = 0;
	unsigned i;

	used += (size_t)snprintf(text, sizeof(text), "%s", RECORD_HEADER);
	for (i = 0; i < p->m.n; i++) {
		const struct bm_item *it = &p->m.item[i];

		if (it->kind == BM_ENTRY)
			used += (size_t)snprintf(text + used, sizeof(text) - used, "entry %04X\n", it->num);
		else
			used += (size_t)snprintf(text + used, sizeof(text) - used, "%s %s\n", kind_names[it->kind], it->path);
	}
	full(path, p->root, BM_MANIFEST);
	return write_file(path, text, used);
}

static int exists(const char *root, const char *rel)
{
	char path[PATH_MAX];
	struct stat st;

	full(path, root, rel);
	return stat(path, &st) == 0;
}

/* What to do with one target file, given what is there now. */
static int classify(struct bm_plan *p, struct bm_target *t, int force)
{
	char path[PATH_MAX], spath[PATH_MAX];
	unsigned char *old = NULL;
	struct efi_binary eb;
	struct stat st;
	int recorded = has(&p->m, BM_FILE, t->rel), ours, foreign, r;
	char why[160];
	FILE *f;
	size_t n;

	full(path, p->root, t->rel);
	if (lstat(path, &st)) {
		if (errno != ENOENT) {
			host_error(path, "%s", strerror(errno));
			return EXIT_USAGE;
		}
		t->state = BM_T_MISSING;
		return 0;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > FILE_MAX) {
		host_error(path, "exists and is not a regular file of at most 16 MiB; not replaced");
		return EXIT_BAD;
	}
	f = fopen(path, "rb");
	old = malloc((size_t)st.st_size + 1);
	n = f && old ? fread(old, 1, (size_t)st.st_size + 1, f) : 0;
	r = !f || !old || ferror(f) ? errno ? errno : EIO : 0;
	if (f)
		fclose(f);
	if (r) {
		free(old);
		host_error(path, "%s", strerror(r));
		return EXIT_USAGE;
	}
	if (n == t->len && !memcmp(old, t->data, n)) {
		free(old);
		t->state = BM_T_SAME;
		return 0;
	}
	ours = is_binary(t->rel) && !efibin_inspect(old, n, &eb, why, sizeof(why)) && eb.ours;
	free(old);
	/* a binary of ours we recorded that someone replaced is theirs now */
	foreign = is_binary(t->rel) ? !ours : !recorded;
	if (!foreign) {
		t->state = recorded ? BM_T_REPLACE : BM_T_SAVE_REPLACE;
		return 0;
	}
	if (!force) {
		host_error(path, "exists and is not vhdxboot's (%s); not replaced (--force replaces it and keeps it in %s/)",
			   is_binary(t->rel) ? "no .sbat line for vhdxboot" : "not written by vhdx install-boot", DIR_SAVED);
		return EXIT_BAD;
	}
	saved_path(spath, p->root, t->rel);
	if (has(&p->m, BM_SAVED, t->rel) && !access(spath, F_OK)) {
		host_error(path, "exists and is not vhdxboot's, and %s already holds the file that was there first; "
				 "not replaced", spath);
		return EXIT_BAD;
	}
	t->state = BM_T_SAVE_REPLACE;
	return 0;
}

static void target(struct bm_plan *p, const char *rel, const void *data, size_t len)
{
	struct bm_target *t = &p->t[p->nt++];

	snprintf(t->rel, sizeof(t->rel), "%s", rel);
	t->data = data;
	t->len = len;
}

int bm_plan_install(struct bm_plan *p, const char *root, const void *module, size_t module_len, const char *conf,
		    const char *bootfile, int force)
{
	char rel[BM_PATH_MAX];
	int present, rc;
	unsigned i;

	memset(p, 0, sizeof(*p));
	p->root = root;
	rc = bm_read(root, &p->m, &present);
	if (rc)
		return rc;
	target(p, FILE_MODULE, module, module_len);
	target(p, FILE_CONF, conf, strlen(conf));
	if (bootfile) {
		snprintf(rel, sizeof(rel), DIR_BOOT "/%s", bootfile);
		target(p, rel, module, module_len);
		target(p, FILE_BOOT_CONF, conf, strlen(conf));
	}
	for (i = 0; i < p->nt; i++) {
		rc = classify(p, &p->t[i], force);
		if (rc)
			return rc;
		p->mk_saved |= p->t[i].state == BM_T_SAVE_REPLACE;
	}
	p->mk_efi = !exists(root, DIR_EFI);
	p->mk_ours = !exists(root, DIR_OURS);
	p->mk_boot = bootfile && !exists(root, DIR_BOOT);
	p->mk_saved = p->mk_saved && !exists(root, DIR_SAVED);
	return 0;
}

static int make_dir(const struct bm_plan *p, const char *rel)
{
	char path[PATH_MAX];

	full(path, p->root, rel);
	if (mkdir(path, 0755) && errno != EEXIST) {
		host_error(path, "%s", strerror(errno));
		return EXIT_USAGE;
	}
	return 0;
}

/* Records everything the plan will create, in the order it comes to be. */
static int record_plan(struct bm_plan *p)
{
	unsigned i;
	int full_ = 0;

	full_ |= p->mk_efi && add(&p->m, BM_DIR, DIR_EFI, 0);
	full_ |= p->mk_ours && add(&p->m, BM_DIR, DIR_OURS, 0);
	full_ |= p->mk_boot && add(&p->m, BM_DIR, DIR_BOOT, 0);
	full_ |= p->mk_saved && add(&p->m, BM_DIR, DIR_SAVED, 0);
	for (i = 0; i < p->nt; i++) {
		if (p->t[i].state == BM_T_SAVE_REPLACE)
			full_ |= add(&p->m, BM_SAVED, p->t[i].rel, 0);
		if (p->t[i].state != BM_T_SAME)
			full_ |= add(&p->m, BM_FILE, p->t[i].rel, 0);
	}
	if (full_) {
		host_error(p->root, "the record %s would exceed %d items", BM_MANIFEST, BM_MAX_ITEMS);
		return EXIT_BAD;
	}
	return write_record(p);
}

int bm_apply(struct bm_plan *p)
{
	char path[PATH_MAX], spath[PATH_MAX];
	unsigned i;
	int rc;

	if ((p->mk_efi && (rc = make_dir(p, DIR_EFI))) || (p->mk_ours && (rc = make_dir(p, DIR_OURS))))
		return rc;
	if ((rc = record_plan(p)))
		return rc;
	if ((p->mk_boot && (rc = make_dir(p, DIR_BOOT))) || (p->mk_saved && (rc = make_dir(p, DIR_SAVED))))
		return rc;
	for (i = 0; i < p->nt; i++) {
		const struct bm_target *t = &p->t[i];

		full(path, p->root, t->rel);
		if (t->state == BM_T_SAME) {
			printf("already in place: %s\n", path);
			continue;
		}
		if (t->state == BM_T_SAVE_REPLACE) {
			saved_path(spath, p->root, t->rel);
			if (rename(path, spath)) {
				host_error(path, "cannot move it to %s: %s", spath, strerror(errno));
				return EXIT_USAGE;
			}
			printf("moved %s to %s\n", path, spath);
		}
		if ((rc = write_file(path, t->data, t->len)))
			return rc;
		printf("%s %s\n", t->state == BM_T_MISSING ? "installed" : "updated", path);
	}
	return 0;
}

int bm_record_entry(struct bm_plan *p, unsigned num)
{
	if (add(&p->m, BM_ENTRY, "", num)) {
		host_error(p->root, "the record %s would exceed %d items", BM_MANIFEST, BM_MAX_ITEMS);
		return EXIT_BAD;
	}
	return write_record(p);
}

/* A file of the record: removed unless it is an EFI binary that is no longer ours. */
static int remove_file(const char *root, const char *rel)
{
	char path[PATH_MAX], why[160];
	unsigned char *data;
	struct efi_binary eb;
	size_t len;
	int e;

	full(path, root, rel);
	if (access(path, F_OK)) {
		printf("already gone: %s\n", path);
		return 0;
	}
	if (is_binary(rel)) {
		FILE *f = fopen(path, "rb");

		data = malloc(FILE_MAX + 1);
		len = f && data ? fread(data, 1, FILE_MAX + 1, f) : 0;
		e = !f || !data || ferror(f);
		if (f)
			fclose(f);
		if (!e && (efibin_inspect(data, len, &eb, why, sizeof(why)) || !eb.ours)) {
			free(data);
			printf("kept %s: it is no longer vhdxboot\n", path);
			return 0;
		}
		free(data);
		if (e) {
			host_error(path, "cannot read it to see whether it is still vhdxboot");
			return EXIT_USAGE;
		}
	}
	if (unlink(path)) {
		host_error(path, "%s", strerror(errno));
		return EXIT_USAGE;
	}
	printf("removed %s\n", path);
	return 0;
}

static int restore_saved(const char *root, const char *rel)
{
	char path[PATH_MAX], spath[PATH_MAX], dir[PATH_MAX], *slash;

	full(path, root, rel);
	saved_path(spath, root, rel);
	if (access(spath, F_OK)) {
		printf("nothing to put back at %s: %s is gone\n", path, spath);
		return 0;
	}
	if (!access(path, F_OK)) {
		printf("kept %s: %s exists\n", spath, path);
		return 0;
	}
	/* its directory may have gone with an earlier, interrupted --remove */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		if (mkdir(dir, 0755) == 0)
			printf("made %s again to put the file back (not recorded: --remove leaves it)\n", dir);
	}
	if (rename(spath, path)) {
		host_error(path, "cannot put back %s: %s", spath, strerror(errno));
		return EXIT_USAGE;
	}
	printf("put back %s\n", path);
	return 0;
}

int bm_remove(const char *root, const struct bm_manifest *m)
{
	char path[PATH_MAX];
	unsigned i;
	int rc = 0;

	/* every file first, then what they replaced: a saved copy may be recorded after the file that later replaced
	 * it (a run that found our file missing, then one that moved a foreign file aside) */
	for (i = m->n; i-- > 0 && !rc;)
		if (m->item[i].kind == BM_FILE)
			rc = remove_file(root, m->item[i].path);
	for (i = m->n; i-- > 0 && !rc;)
		if (m->item[i].kind == BM_SAVED)
			rc = restore_saved(root, m->item[i].path);
	if (rc)
		return rc;
	full(path, root, BM_MANIFEST);
	if (unlink(path)) {
		host_error(path, "%s", strerror(errno));
		return EXIT_USAGE;
	}
	for (i = m->n; i-- > 0;) {
		if (m->item[i].kind != BM_DIR)
			continue;
		full(path, root, m->item[i].path);
		if (!rmdir(path))
			printf("removed %s\n", path);
		else if (errno == ENOENT)
			printf("already gone: %s\n", path);
		else if (errno == ENOTEMPTY || errno == EEXIST)
			printf("kept %s: not empty\n", path);
		else {
			host_error(path, "%s", strerror(errno));
			return EXIT_USAGE;
		}
	}
	return 0;
}
