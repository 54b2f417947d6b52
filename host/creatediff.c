/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * creatediff.c - `vhdx create --parent PARENT CHILD`: the child's geometry comes from the parent, and its Parent
 * Locator names the parent three ways: parent_linkage (the parent's DataWriteGuid, which is what makes it the
 * right parent), relative_path from the child's directory (what Hyper-V and libvhdi look at first) and
 * absolute_win32_path, the parent's absolute POSIX path with backslashes (there is no drive letter to give).
 * volume_path is left out: a \\?\Volume{GUID} name has no meaning here.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

/* The directory holding path, made absolute and canonical (malloc'd), or NULL. */
static char *abs_dir(const char *path)
{
	char *copy = strdup(path), *slash, *r;

	if (!copy)
		return NULL;
	slash = strrchr(copy, '/');
	if (!slash)
		r = realpath(".", NULL);
	else if (slash == copy)
		r = realpath("/", NULL);
	else {
		*slash = 0;
		r = realpath(copy, NULL);
	}
	free(copy);
	return r;
}

/* "..\..\a\parent.vhdx": from directory `from` to file `to` (both absolute, canonical), backslash-separated. */
static char *relative(const char *from, const char *to)
{
	size_t common = 0, i, ups = 0;
	char *out, *p;

	for (i = 0; from[i] && from[i] == to[i]; i++)
		if (from[i] == '/')
			common = i;
	if (!from[i] && to[i] == '/')
		common = i; /* `from` is a prefix directory of `to` */
	if (!strcmp(from, "/"))
		common = 0;
	for (i = common; from[i]; i++)
		if (from[i] == '/' && from[i + 1])
			ups++;
	if (from[common] == 0 && common > 0)
		ups = 0;
	out = malloc(ups * 3 + strlen(to) + 3);
	if (!out)
		return NULL;
	p = out;
	if (!ups) {
		*p++ = '.';
		*p++ = '\\';
	}
	for (i = 0; i < ups; i++, p += 3)
		memcpy(p, "..\\", 3);
	strcpy(p, to + common + 1);
	for (; *p; p++)
		if (*p == '/')
			*p = '\\';
	return out;
}

int host_create_parent(struct vhdx_create_params *p, const char *parent, const char *image, int have_size,
		       uint8_t **locator)
{
	struct host_file f;
	struct vhdx_image img;
	char *dir = NULL, *target = NULL, *rel = NULL, *abs = NULL;
	int rc, opened;

	*locator = NULL;
	if (p->fixed) {
		host_error(image, "a differencing image (--parent) cannot be --fixed");
		return EXIT_USAGE;
	}
	rc = host_image_open(&f, &img, parent, HOST_RDONLY, &opened);
	if (rc)
		return rc;
	/* Replaying the parent's log gives it a new DataWriteGuid, which would orphan a child linked to the old one. */
	if (img.log_pending) {
		host_error(parent, "a log is pending (header %d LogGuid is set): run `vhdx replay %s` before making a child "
			   "of it; nothing was written", img.current + 1, parent);
		host_image_close(&f, &img);
		return EXIT_BAD;
	}
	if (have_size && p->virtual_size != img.virtual_size) {
		host_error(image, "SIZE %" PRIu64 " differs from the parent's virtual size %" PRIu64, p->virtual_size,
			   img.virtual_size);
		host_image_close(&f, &img);
		return EXIT_USAGE;
	}
	if (p->logical_sector_size && p->logical_sector_size != img.logical_sector_size) {
		host_error(image, "--logical-sector %" PRIu32 " differs from the parent's %" PRIu32,
			   p->logical_sector_size, img.logical_sector_size);
		host_image_close(&f, &img);
		return EXIT_USAGE;
	}
	p->virtual_size = img.virtual_size;
	p->logical_sector_size = img.logical_sector_size;
	if (!p->physical_sector_size)
		p->physical_sector_size = img.physical_sector_size;
	if (!p->block_size)
		p->block_size = img.block_size;

	dir = abs_dir(image);
	target = realpath(parent, NULL);
	rel = dir && target ? relative(dir, target) : NULL;
	abs = target ? strdup(target) : NULL;
	*locator = malloc(VHDX_LOCATOR_BUILD_MAX);
	rc = EXIT_USAGE;
	if (!dir || !target || !rel || !abs || !*locator) {
		host_error(image, "resolving the paths to the parent %s: %s", parent, strerror(errno ? errno : ENOMEM));
	} else {
		for (char *q = abs; *q; q++)
			if (*q == '/')
				*q = '\\';
		p->parent_locator_len = vhdx_locator_build(*locator, VHDX_LOCATOR_BUILD_MAX,
							   &img.header[img.current].data_write_guid, rel, NULL, abs);
		p->parent_locator = *locator;
		if (p->parent_locator_len)
			rc = 0;
		else
			host_error(image, "the paths to the parent (%s, %s) do not fit a Parent Locator of %u bytes", rel,
				   abs, (unsigned)VHDX_LOCATOR_BUILD_MAX);
	}
	if (rc) {
		free(*locator);
		*locator = NULL;
	}
	free(dir);
	free(target);
	free(rel);
	free(abs);
	host_image_close(&f, &img);
	return rc;
}
