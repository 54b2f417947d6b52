/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * parentscan.c - `vhdx map --find-parents`: the parent of a differencing image found among the block devices by its
 * DataWriteGuid, as vhdxboot finds it among the firmware's Block I/O devices (efi/parents.c).
 *
 * In the initramfs nothing names a parent: the Parent Locator's paths name Windows volumes and files, and device
 * names are not stable.  The format gives the key instead: the parent's DataWriteGuid is the child's
 * parent_linkage (or parent_linkage2).  Every entry of /sys/class/block is opened read-only, as `vhdx find` opens
 * them; those that start with the VHDX signature and validate are compared by that GUID.  Whether the one found is
 * really the parent (geometry, loops) is the core's decision afterwards (vhdx_attach_parent).
 *
 * One image can be seen on two devices (a disk through two paths, a loop device over the same file, a copy): they
 * count as one when their FileWriteGuid (new at every write of the file) and their BAT (where each block lies: what
 * the table points at) are the same, and the first by name is used.  Devices holding the DataWriteGuid with
 * differing content are a refusal: the table would point at one of them, and which one was meant cannot be told.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

#define VHDX_SIGNATURE "vhdxfile"
#define SCAN_MAX_MATCH 16  /* devices holding the DataWriteGuid wanted that are compared */
#define SCAN_MAX_LISTED 8  /* other VHDX devices named in a "not found" message */
#define BAT_READ_CHUNK (64 * 1024)

/* A device that holds a VHDX that validates. */
struct scan_seen {
	char dev[PATH_MAX];
	struct vhdx_guid dwg, fwg, disk_id;
	uint32_t bat_crc; /* CRC-32C of the BAT region's bytes */
	int bat_read;     /* the BAT region could be read (else the device never counts as the same image) */
};

/* CRC-32C of the BAT region as the file holds it; 0 when a read fails. */
static int bat_crc(struct host_file *f, const struct vhdx_image *img, uint32_t *crc)
{
	static uint8_t buf[BAT_READ_CHUNK];
	uint32_t c = 0;

	for (uint64_t at = 0; at < img->bat_length;) {
		size_t n = img->bat_length - at < sizeof(buf) ? (size_t)(img->bat_length - at) : sizeof(buf);
		if (f->io.read(f->io.ctx, img->bat_offset + at, buf, n))
			return 0;
		c = vhdx_crc32c(c, buf, n);
		at += n;
	}
	*crc = c;
	return 1;
}

/* Opens dev_dir/name read-only; 1 and *s filled when it holds a VHDX that validates. */
static int look(const char *dev_dir, const char *name, struct scan_seen *s)
{
	struct host_file f;
	struct vhdx_image img;
	char sig[8];
	int ok = 0;

	memset(s, 0, sizeof(*s));
	snprintf(s->dev, sizeof(s->dev), "%s/%s", dev_dir, name);
	if (host_raw_open(&f, s->dev, HOST_RDONLY))
		return 0;
	if (f.io.size < sizeof(sig) || f.io.read(f.io.ctx, 0, sig, sizeof(sig)) || memcmp(sig, VHDX_SIGNATURE, 8)) {
		host_raw_close(&f);
		return 0;
	}
	memset(&img, 0, sizeof(img));
	if (vhdx_open(&img, &f.io) == VHDX_OK) {
		s->dwg = img.header[img.current].data_write_guid;
		s->fwg = img.header[img.current].file_write_guid;
		s->disk_id = img.disk_id;
		s->bat_read = bat_crc(&f, &img, &s->bat_crc);
		ok = 1;
	}
	vhdx_close(&img);
	host_raw_close(&f);
	return ok;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of sys_block, sorted (so the first of several copies is always the same one).  NULL on failure. */
static char **list_devices(const char *sys_block, unsigned *n)
{
	DIR *d = opendir(sys_block);
	char **names = NULL;
	unsigned cap = 0;
	struct dirent *e;

	*n = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (*n == cap) {
			char **more = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*names));
			if (!more)
				break;
			names = more;
		}
		if (!(names[*n] = strdup(e->d_name)))
			break;
		(*n)++;
	}
	closedir(d);
	if (!names)
		names = calloc(1, sizeof(*names));
	if (names)
		qsort(names, *n, sizeof(*names), by_name);
	return names;
}

static int is_wanted(const struct vhdx_parent_locator *loc, const struct vhdx_guid *g)
{
	return vhdx_guid_equal(g, &loc->linkage) || ((loc->keys & VHDX_LOC_LINKAGE2) && vhdx_guid_equal(g, &loc->linkage2));
}

static int same_content(const struct scan_seen *a, const struct scan_seen *b)
{
	return a->bat_read && b->bat_read && a->bat_crc == b->bat_crc && vhdx_guid_equal(&a->fwg, &b->fwg);
}

/* "DataWriteGuid {G} (parent_linkage[, or {G2}, parent_linkage2])" */
static void wanted_text(const struct vhdx_parent_locator *loc, char *out, size_t len)
{
	char g[VHDX_GUID_TEXT], g2[VHDX_GUID_TEXT];

	vhdx_guid_format(&loc->linkage, g);
	if (loc->keys & VHDX_LOC_LINKAGE2) {
		vhdx_guid_format(&loc->linkage2, g2);
		snprintf(out, len, "DataWriteGuid {%s} (parent_linkage; or {%s}, parent_linkage2)", g, g2);
	} else {
		snprintf(out, len, "DataWriteGuid {%s} (parent_linkage)", g);
	}
}

/* None holds it: the message lists the VHDX devices that were looked at, so a decoy or an old copy is visible. */
static int report_missing(const struct host_parent_scan *s, const char *want, const struct scan_seen *other,
			  unsigned nother, unsigned total)
{
	char list[SCAN_MAX_LISTED * (PATH_MAX / 8 + 120)], dw[VHDX_GUID_TEXT], id[VHDX_GUID_TEXT];
	size_t n = 0;

	list[0] = 0;
	for (unsigned i = 0; i < nother && n < sizeof(list); i++) {
		vhdx_guid_format(&other[i].dwg, dw);
		vhdx_guid_format(&other[i].disk_id, id);
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s %s (VirtualDiskId {%s}, DataWriteGuid {%s})",
				      i ? "," : ":", other[i].dev, id, dw);
	}
	if (total > nother && n < sizeof(list))
		snprintf(list + n, sizeof(list) - n, ", and %u more", total - nother);
	host_error(s->child_name, "level %u of the chain (the parent of level %u): no block device holds %s; %u VHDX "
		   "device%s looked at, none with it%s; nothing was written", s->level, s->level - 1, want, total,
		   total == 1 ? "" : "s", list);
	return HOST_EXIT_NO_PARENT;
}

/* Several devices hold it and their content differs: refused, every one named. */
static int report_differing(const struct host_parent_scan *s, const char *want, const struct scan_seen *m, unsigned n)
{
	char list[SCAN_MAX_MATCH * (PATH_MAX / 8 + 100)], fw[VHDX_GUID_TEXT];
	size_t len = 0;

	list[0] = 0;
	for (unsigned i = 0; i < n && len < sizeof(list); i++) {
		vhdx_guid_format(&m[i].fwg, fw);
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s %s (FileWriteGuid {%s}, BAT CRC-32C 0x%08x%s)",
					i ? "," : ":", m[i].dev, fw, m[i].bat_crc, m[i].bat_read ? "" : ", unreadable");
	}
	host_error(s->child_name, "level %u of the chain (the parent of level %u): %u block devices hold %s and their "
		   "content differs%s; refusing to guess which is the parent; nothing was written", s->level,
		   s->level - 1, n, want, list);
	return EXIT_BAD;
}

int host_parent_scan(const struct host_parent_scan *s, const struct vhdx_parent_locator *loc, char **out)
{
	struct scan_seen *match = calloc(SCAN_MAX_MATCH, sizeof(*match));
	struct scan_seen *other = calloc(SCAN_MAX_LISTED, sizeof(*other));
	struct scan_seen cur;
	char want[160];
	unsigned ndev = 0, nmatch = 0, nother = 0, total_other = 0, total_match = 0;
	char **names = list_devices(s->sys_block, &ndev);
	int e = errno, rc = EXIT_USAGE;

	*out = NULL;
	wanted_text(loc, want, sizeof(want));
	if (!names || !match || !other) {
		host_error(s->child_name, "level %u of the chain: looking through %s: %s", s->level, s->sys_block,
			   strerror(names ? ENOMEM : e));
		goto done;
	}
	for (unsigned i = 0; i < ndev; i++) {
		if (!look(s->dev_dir, names[i], &cur))
			continue;
		if (!is_wanted(loc, &cur.dwg)) {
			if (nother < SCAN_MAX_LISTED)
				other[nother++] = cur;
			total_other++;
			continue;
		}
		if (nmatch < SCAN_MAX_MATCH)
			match[nmatch++] = cur;
		total_match++;
	}
	if (!total_match) {
		rc = report_missing(s, want, other, nother, total_other);
		goto done;
	}
	for (unsigned i = 1; i < nmatch; i++)
		if (!same_content(&match[0], &match[i])) {
			rc = report_differing(s, want, match, nmatch);
			goto done;
		}
	if (total_match > nmatch) {
		host_error(s->child_name, "level %u of the chain: more than %u block devices hold %s; refusing to guess; "
			   "nothing was written", s->level, SCAN_MAX_MATCH, want);
		rc = EXIT_BAD;
		goto done;
	}
	if (s->notes && nmatch > 1)
		for (unsigned i = 1; i < nmatch; i++)
			fprintf(stderr, "vhdx: %s: level %u: %s holds the same image as %s (FileWriteGuid and BAT the same); "
				"using %s\n", s->child_name, s->level, match[i].dev, match[0].dev, match[0].dev);
	*out = strdup(match[0].dev);
	rc = *out ? EXIT_SOUND : EXIT_USAGE;
	if (!*out)
		host_error(s->child_name, "%s", strerror(ENOMEM));
done:
	for (unsigned i = 0; names && i < ndev; i++)
		free(names[i]);
	free(names);
	free(match);
	free(other);
	return rc;
}
