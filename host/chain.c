/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * chain.c - opening a differencing image with every parent below it, for info, check and export.
 *
 * The core decides whether a parent is the right one (vhdx_attach_parent); finding it is ours: a `--parent PATH`
 * for that level if given; else, when the caller asks for it (`map --find-parents`), the block device holding the
 * DataWriteGuid the child's locator names (parentscan.c); else the locator's relative_path beside the child, else
 * its absolute_win32_path read as a POSIX path.  Every parent is opened read-only, so nothing here can write one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "json.h"

#define LEVELS (VHDX_CHAIN_MAX_DEPTH + 1) /* the child and its parents */

int host_chain_options(struct host_chain *ch, const char *cmd, int *argc, char **argv)
{
	int o = 1, i;

	memset(ch, 0, sizeof(*ch));
	for (i = 1; i < *argc && strcmp(argv[i], "--"); i++) {
		const char *val = NULL;
		if (!strcmp(argv[i], "--parent")) {
			if (i + 1 >= *argc)
				return host_usage_error(cmd, "option '--parent' needs a value");
			val = argv[++i];
		} else if (!strncmp(argv[i], "--parent=", 9)) {
			val = argv[i] + 9;
		}
		if (!val) {
			argv[o++] = argv[i];
			continue;
		}
		if (ch->nparent_opt == VHDX_CHAIN_MAX_DEPTH)
			return host_usage_error(cmd, "more than %d --parent options", VHDX_CHAIN_MAX_DEPTH);
		ch->parent_opt[ch->nparent_opt++] = val;
	}
	while (i < *argc) /* "--" and what follows are operands */
		argv[o++] = argv[i++];
	*argc = o;
	argv[o] = NULL;
	return -1;
}

/* "\\?\C:\a\b" -> "/a/b"; "..\x\y" -> "../x/y" (a malloc'd copy) */
static char *posix_path(const char *win)
{
	char *p, *s;

	if (!strncmp(win, "\\\\?\\", 4))
		win += 4;
	if (((win[0] | 0x20) >= 'a' && (win[0] | 0x20) <= 'z') && win[1] == ':')
		win += 2;
	s = strdup(win);
	for (p = s; s && *p; p++)
		if (*p == '\\')
			*p = '/';
	return s;
}

/* The parent of the image at `path` with locator loc: tried candidates in `tried` for the message. */
static char *find_parent(const char *path, const struct vhdx_parent_locator *loc, char *tried, size_t cap)
{
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
	char *cand;

	tried[0] = 0;
	if (loc->keys & VHDX_LOC_RELATIVE) {
		char *rel = posix_path(loc->relative_path);
		cand = rel ? malloc(dirlen + strlen(rel) + 1) : NULL;
		if (cand) {
			memcpy(cand, path, dirlen);
			const char *r = rel;
			while (r[0] == '/' || (r[0] == '.' && r[1] == '/')) /* ".\name" names a file beside the child: no "dir/./" */
				r += r[0] == '/' ? 1 : 2;
			strcpy(cand + dirlen, r);
		}
		free(rel);
		if (cand && access(cand, R_OK) == 0)
			return cand;
		snprintf(tried + strlen(tried), cap - strlen(tried), "tried relative_path \"%s\" (%s)", loc->relative_path,
			 cand ? cand : "?");
		free(cand);
	}
	if (loc->keys & VHDX_LOC_ABSOLUTE) {
		cand = posix_path(loc->absolute_win32_path);
		if (cand && cand[0] == '/' && access(cand, R_OK) == 0)
			return cand;
		snprintf(tried + strlen(tried), cap - strlen(tried), "%sabsolute_win32_path \"%s\" (%s)",
			 tried[0] ? ", " : "tried ", loc->absolute_win32_path, cand ? cand : "?");
		free(cand);
	}
	if (!tried[0])
		snprintf(tried, cap, "the Parent Locator has no relative_path or absolute_win32_path");
	return NULL;
}

static int alloc_levels(struct host_chain *ch)
{
	ch->file = calloc(LEVELS, sizeof(*ch->file));
	ch->img = calloc(LEVELS, sizeof(*ch->img));
	ch->path = calloc(LEVELS, sizeof(*ch->path));
	return ch->file && ch->img && ch->path ? 0 : ENOMEM;
}

/* Opens, validates and attaches the parent of level i; 0 or an exit code (reported). */
static int open_parent(struct host_chain *ch, unsigned i)
{
	struct vhdx_image *child = &ch->img[i], *parent = &ch->img[i + 1];
	char tried[3 * VHDX_LOCATOR_PATH_MAX + 256], g[VHDX_GUID_TEXT];
	vhdx_status st;
	int opened, rc;

	vhdx_guid_format(&child->locator->linkage, g);
	if (i == VHDX_CHAIN_MAX_DEPTH) {
		host_error(ch->path[0], "chain: more than %d parents (the deepest supported chain)", VHDX_CHAIN_MAX_DEPTH);
		return EXIT_BAD;
	}
	if (i < ch->nparent_opt) {
		ch->path[i + 1] = strdup(ch->parent_opt[i]);
	} else if (ch->scan) {
		struct host_parent_scan s = *ch->scan;
		s.level = i + 1;
		rc = host_parent_scan(&s, child->locator, &ch->path[i + 1]);
		if (rc)
			return rc;
	} else {
		ch->path[i + 1] = find_parent(ch->path[i], child->locator, tried, sizeof(tried));
		if (!ch->path[i + 1]) {
			host_error(ch->path[i], "parent {%s} not found: %s; name it with --parent PATH", g, tried);
			return EXIT_USAGE;
		}
	}
	if (!ch->path[i + 1]) {
		host_error(ch->path[i], "%s", strerror(ENOMEM));
		return EXIT_USAGE;
	}
	rc = host_image_open(&ch->file[i + 1], parent, ch->path[i + 1], HOST_RDONLY, &opened);
	if (rc) {
		host_error(ch->path[i], "its parent %s (parent_linkage {%s}) is not a sound image", ch->path[i + 1], g);
		return rc;
	}
	ch->n = i + 2;
	st = vhdx_attach_parent(child, parent);
	if (st) {
		rc = host_report(ch->path[i], st, child->msg, NULL);
		if (ch->scan && i >= ch->nparent_opt)
			host_error(ch->path[0], "level %u of the chain: %s, found on the block devices by parent_linkage {%s}, is "
				   "refused as the parent of level %u (above); nothing was written", i + 1, ch->path[i + 1], g, i);
		return rc;
	}
	return 0;
}

int host_chain_open(struct host_chain *ch, const char *path)
{
	int rc, opened;

	if (alloc_levels(ch) || !(ch->path[0] = strdup(path))) {
		host_error(path, "%s", strerror(ENOMEM));
		host_chain_close(ch);
		return EXIT_USAGE;
	}
	rc = host_image_open(&ch->file[0], &ch->img[0], path, HOST_RDONLY, &opened);
	if (rc) {
		host_chain_close(ch);
		return rc;
	}
	ch->n = 1;
	if (ch->nparent_opt && !ch->img[0].has_parent) {
		host_error(path, "--parent given, but File Parameters HasParent is clear: the image has no parent");
		host_chain_close(ch);
		return EXIT_USAGE;
	}
	for (unsigned i = 0; ch->img[i].has_parent; i++) {
		rc = open_parent(ch, i);
		if (rc) {
			host_chain_close(ch);
			return rc;
		}
	}
	return 0;
}

void host_chain_close(struct host_chain *ch)
{
	/* children first: closing a child detaches it from its parent */
	for (unsigned i = 0; i < ch->n; i++)
		host_image_close(&ch->file[i], &ch->img[i]);
	for (unsigned i = 0; ch->path && i < LEVELS; i++)
		free(ch->path[i]);
	free(ch->file);
	free(ch->img);
	free(ch->path);
	ch->file = NULL;
	ch->img = NULL;
	ch->path = NULL;
	ch->n = 0;
}

static void locator_text(const struct vhdx_parent_locator *loc)
{
	char g[VHDX_GUID_TEXT];

	vhdx_guid_format(&loc->linkage, g);
	printf("parent locator: parent_linkage {%s}\n", g);
	if (loc->keys & VHDX_LOC_LINKAGE2) {
		vhdx_guid_format(&loc->linkage2, g);
		printf("parent locator: parent_linkage2 {%s}\n", g);
	}
	if (loc->keys & VHDX_LOC_RELATIVE)
		printf("parent locator: relative_path %s\n", loc->relative_path);
	if (loc->keys & VHDX_LOC_VOLUME)
		printf("parent locator: volume_path %s\n", loc->volume_path);
	if (loc->keys & VHDX_LOC_ABSOLUTE)
		printf("parent locator: absolute_win32_path %s\n", loc->absolute_win32_path);
}

void host_chain_text(const struct host_chain *ch, const struct vhdx_image *img)
{
	char g[VHDX_GUID_TEXT];

	if (img->locator)
		locator_text(img->locator);
	for (unsigned i = 1; ch && i < ch->n; i++) {
		vhdx_guid_format(&ch->img[i].header[ch->img[i].current].data_write_guid, g);
		printf("chain: parent %u: %s (DataWriteGuid %s%s)\n", i, ch->path[i], g,
		       ch->img[i].has_parent ? ", differencing" : "");
	}
}

void host_chain_json(struct json *j, const struct host_chain *ch, const struct vhdx_image *img)
{
	char g[VHDX_GUID_TEXT + 2];

	if (img->locator) {
		const struct vhdx_parent_locator *loc = img->locator;
		json_object(j, "parent_locator");
		vhdx_guid_format(&loc->linkage, g);
		json_string(j, "parent_linkage", g);
		if (loc->keys & VHDX_LOC_LINKAGE2)
			vhdx_guid_format(&loc->linkage2, g);
		json_string(j, "parent_linkage2", loc->keys & VHDX_LOC_LINKAGE2 ? g : NULL);
		json_string(j, "relative_path", loc->keys & VHDX_LOC_RELATIVE ? loc->relative_path : NULL);
		json_string(j, "volume_path", loc->keys & VHDX_LOC_VOLUME ? loc->volume_path : NULL);
		json_string(j, "absolute_win32_path", loc->keys & VHDX_LOC_ABSOLUTE ? loc->absolute_win32_path : NULL);
		json_end(j, '}');
	} else {
		json_null(j, "parent_locator");
	}
	json_array(j, "chain");
	for (unsigned i = 1; ch && i < ch->n; i++) {
		json_object(j, NULL);
		json_string(j, "path", ch->path[i]);
		vhdx_guid_format(&ch->img[i].header[ch->img[i].current].data_write_guid, g);
		json_string(j, "data_write_guid", g);
		vhdx_guid_format(&ch->img[i].disk_id, g);
		json_string(j, "disk_id", g);
		json_bool(j, "has_parent", ch->img[i].has_parent);
		json_end(j, '}');
	}
	json_end(j, ']');
}
