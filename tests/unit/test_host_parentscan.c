/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_host_parentscan.c - host/parentscan.c (`vhdx map --find-parents`): a parent found among "devices" by its
 * DataWriteGuid.  The devices are image files in a temporary directory, which serves as both the listing
 * (/sys/class/block) and the nodes (/dev): the scan sees names and opens them read-only, as it does real devices.
 * Cases: found among a decoy (same VirtualDiskId, another DataWriteGuid), a file that is not a VHDX and an empty
 * one; found by parent_linkage2; missing (exit 3, the message names the level, the GUID and the decoy); the same
 * image twice (the first by name); two devices with the DataWriteGuid and another FileWriteGuid, or another BAT
 * (refused, both named); no listing (an I/O error).  Every file is byte-identical afterwards.
 */
#include <fcntl.h>
#include <unistd.h>

#include "../../host/host.h"
#include "imgbuild.h"
#include "t.h"

#define MAX_FILES 8

static char dir[64];
static struct {
	char name[32];
	uint8_t *bytes;
	uint64_t size;
} files[MAX_FILES];
static unsigned nfiles;
static char said[4096]; /* what the last scan wrote to stderr */

static void put(const char *name, const uint8_t *bytes, uint64_t size)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f) {
		if (size)
			fwrite(bytes, 1, size, f);
		fclose(f);
	}
	snprintf(files[nfiles].name, sizeof files[nfiles].name, "%s", name);
	files[nfiles].bytes = malloc(size ? size : 1);
	if (files[nfiles].bytes && size)
		memcpy(files[nfiles].bytes, bytes, size);
	files[nfiles].size = size;
	nfiles++;
}

static void put_ib(const char *name, const struct ib *b)
{
	put(name, b->buf, b->size);
}

static void drop_all(void)
{
	char path[512];
	for (unsigned i = 0; i < nfiles; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
		unlink(path);
		free(files[i].bytes);
	}
	nfiles = 0;
}

/* every file the scan could see holds the bytes it was given */
static int unchanged(void)
{
	char path[512];
	for (unsigned i = 0; i < nfiles; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
		FILE *f = fopen(path, "rb");
		if (!f)
			return 0;
		uint8_t *buf = malloc(files[i].size + 1);
		size_t n = buf ? fread(buf, 1, files[i].size + 1, f) : 0;
		fclose(f);
		int same = buf && n == files[i].size && !memcmp(buf, files[i].bytes, n);
		free(buf);
		if (!same)
			return 0;
	}
	return 1;
}

/* host_parent_scan over the directory, stderr kept in `said` */
static int scan(const char *listing, const struct vhdx_parent_locator *loc, unsigned level, char **out)
{
	char errfile[96];
	struct host_parent_scan s = { .sys_block = listing, .dev_dir = dir, .child_name = "CHILD", .level = level, .notes = 1 };
	snprintf(errfile, sizeof errfile, "%s.err", dir);
	fflush(stderr);
	int saved = dup(2), fd = open(errfile, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	dup2(fd, 2);
	int rc = host_parent_scan(&s, loc, out);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	FILE *f = fopen(errfile, "rb");
	size_t n = f ? fread(said, 1, sizeof said - 1, f) : 0;
	said[n] = 0;
	if (f)
		fclose(f);
	unlink(errfile);
	return rc;
}

static char *dev(const char *name)
{
	static char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return p;
}

/* a parent image with DataWriteGuid ib_guid(dw) and one block present */
static int parent(struct ib *b, unsigned dw)
{
	struct vhdx_guid g = ib_guid(dw);
	if (ib_build(b, NULL) || !ib_alloc_block(b, 2))
		return -1;
	ib_set_data_write_guid(b, &g);
	return 0;
}

static void locator(struct vhdx_parent_locator *loc, unsigned linkage)
{
	memset(loc, 0, sizeof *loc);
	loc->keys = VHDX_LOC_LINKAGE;
	loc->linkage = ib_guid(linkage);
}

static void found_among_others(void)
{
	struct ib p, decoy;
	struct vhdx_parent_locator loc;
	char *out = NULL, g[VHDX_GUID_TEXT];
	static const uint8_t text[] = "not an image";

	if (!CHECK(!parent(&p, 1) && !parent(&decoy, 3), "images built"))
		return;
	put_ib("vda", &decoy);
	put_ib("vdb", &p);
	put("vdc", text, sizeof text);
	put("vdd", text, 0);
	locator(&loc, 1);
	int rc = scan(dir, &loc, 1, &out);
	CHECK_EQ_INT(rc, 0, "found: exit 0 with a decoy, a file that is not a VHDX and an empty one beside it");
	CHECK(out && !strcmp(out, dev("vdb")), "found: the device with the DataWriteGuid (%s)", out ? out : "none");
	CHECK(said[0] == 0, "found: nothing said (%s)", said);
	free(out);
	out = NULL;

	/* parent_linkage2 */
	loc.linkage = ib_guid(9);
	loc.linkage2 = ib_guid(1);
	loc.keys |= VHDX_LOC_LINKAGE2;
	rc = scan(dir, &loc, 2, &out);
	CHECK(rc == 0 && out && !strcmp(out, dev("vdb")), "found by parent_linkage2 (exit %d)", rc);
	free(out);
	out = NULL;

	/* missing: only the decoy */
	locator(&loc, 1);
	/* the listing is the directory: the right parent is moved out of it */
	char away[96];
	snprintf(away, sizeof away, "%s.away", dir);
	rename(dev("vdb"), away);
	rc = scan(dir, &loc, 2, &out);
	vhdx_guid_format(&loc.linkage, g);
	CHECK_EQ_INT(rc, HOST_EXIT_NO_PARENT, "missing: exit 3");
	CHECK(out == NULL, "missing: no path");
	CHECK_STR_CONTAINS(said, "level 2 of the chain (the parent of level 1): no block device holds DataWriteGuid {",
			   "missing: the level named");
	CHECK_STR_CONTAINS(said, g, "missing: the GUID named");
	CHECK_STR_CONTAINS(said, "(parent_linkage)", "missing: which key it is");
	CHECK_STR_CONTAINS(said, dev("vda"), "missing: the decoy named among the devices looked at");
	CHECK_STR_CONTAINS(said, "nothing was written", "missing: says nothing was written");
	rename(away, dev("vdb"));
	CHECK(unchanged(), "found, missing: every file byte-identical");
	drop_all();
	ib_free(&p);
	ib_free(&decoy);
}

static void copies(void)
{
	struct ib p, other;
	struct vhdx_parent_locator loc;
	char *out = NULL;

	if (!CHECK(!parent(&p, 1), "copies: image built"))
		return;
	locator(&loc, 1);
	put_ib("sdb", &p);
	put_ib("sda", &p);
	int rc = scan(dir, &loc, 1, &out);
	CHECK(rc == 0 && out && !strcmp(out, dev("sda")), "same image twice: the first by name (exit %d, %s)", rc,
	      out ? out : "none");
	CHECK_STR_CONTAINS(said, "holds the same image as", "same image twice: said");
	free(out);
	out = NULL;
	drop_all();

	/* the DataWriteGuid on two devices, another FileWriteGuid on one: refused, both named */
	if (!CHECK(!parent(&other, 1), "copies: second image built"))
		return;
	struct vhdx_guid fw = ib_guid(77);
	vhdx_guid_store(ib_hdr(&other, 1) + VHDX_HDR_FILE_WRITE, &fw);
	ib_hdr_fix(&other, 1);
	put_ib("sda", &p);
	put_ib("sdb", &other);
	rc = scan(dir, &loc, 1, &out);
	CHECK_EQ_INT(rc, EXIT_BAD, "another FileWriteGuid: refused, exit 1");
	CHECK(out == NULL, "another FileWriteGuid: no path");
	CHECK_STR_CONTAINS(said, "2 block devices hold DataWriteGuid", "another FileWriteGuid: the count and the GUID");
	CHECK_STR_CONTAINS(said, "content differs", "another FileWriteGuid: why");
	CHECK(strstr(said, dev("sda")) && strstr(said, dev("sdb")), "another FileWriteGuid: both devices named");
	CHECK(unchanged(), "another FileWriteGuid: every file byte-identical");
	drop_all();
	ib_free(&other);

	/* the same FileWriteGuid but another BAT (a block more): refused */
	if (!CHECK(!parent(&other, 1) && ib_alloc_block(&other, 5), "copies: third image built"))
		return;
	put_ib("sda", &p);
	put_ib("sdb", &other);
	rc = scan(dir, &loc, 1, &out);
	CHECK(rc == EXIT_BAD && out == NULL && strstr(said, "BAT CRC-32C"), "another BAT: refused (exit %d: %s)", rc,
	      said);
	CHECK(unchanged(), "another BAT: every file byte-identical");
	drop_all();
	ib_free(&other);
	ib_free(&p);
}

static void no_listing(void)
{
	struct vhdx_parent_locator loc;
	char *out = NULL, none[96];

	locator(&loc, 1);
	snprintf(none, sizeof none, "%s/none", dir);
	int rc = scan(none, &loc, 1, &out);
	CHECK(rc == EXIT_USAGE && out == NULL && strstr(said, "looking through"), "no listing: an I/O error named (%s)",
	      said);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/test_host_parentscan.XXXXXX");
	if (!CHECK(mkdtemp(dir) != NULL, "a temporary directory"))
		return t_done();
	found_among_others();
	copies();
	no_listing();
	CHECK(rmdir(dir) == 0, "the temporary directory is left empty");
	return t_done();
}
