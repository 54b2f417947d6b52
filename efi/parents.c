/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * parents.c - the parents of a differencing image: found, opened read-only, and attached to the child
 * level by level, before anything is checked against a policy or written.
 *
 * The core decides whether a candidate is the right parent (vhdx_attach_parent: its DataWriteGuid must be the
 * child's parent_linkage or parent_linkage2, its geometry the child's, no loop, no chain deeper than
 * VHDX_CHAIN_MAX_DEPTH); finding candidates is ours:
 *   - an image that is a file (--image) first looks for its parent by the locator's relative_path, from the
 *     child's folder on the same volume (the locator's other paths name Windows volumes and drive letters, which
 *     mean nothing here);
 *   - then every Block I/O device or partition whose content is a VHDX (discover.c) is opened and offered.
 * Every parent is opened for reading only and its struct vhdx_io has no write or flush callback, so no path from
 * the core reaches a parent's medium; the core refuses to write an image that serves as a parent as well.
 */
#include "boot.h"
#include "parentpath.h"

struct parent_level {
	struct backend be;
	int be_open;
	int is_file;
	EFI_HANDLE handle;      /* the device, or the volume holding the file */
	CHAR16 *path;           /* the file's path on that volume (files only) */
	struct vhdx_image img;
	int img_open;
};

struct parents {
	EFI_HANDLE child_device; /* the bottom child's device (NULL: a file): never offered as a parent */
	unsigned n;             /* levels attached */
	struct parent_level *level[VHDX_CHAIN_MAX_DEPTH];
};

/* Where the image being given a parent lies: a device (handle), or a file at path on volume handle. */
struct place {
	EFI_HANDLE handle;
	const CHAR16 *path;     /* NULL: a device */
};

static void level_close(struct parent_level *lv)
{
	if (lv->img_open)
		vhdx_close(&lv->img);
	lv->img_open = 0;
	if (lv->be_open) {
		if (lv->is_file)
			file_backend_close(&lv->be);
		else
			blk_backend_close(&lv->be);
	}
	lv->be_open = 0;
	mem_free(lv->be.name);
	mem_free(lv->path);
	memset(lv, 0, sizeof *lv); /* ready for the next candidate */
}

/* The candidate in lv (its backend open) validated and offered to the core; 0 when it became the parent. */
static EFI_STATUS offer(struct vhdx_image *child, unsigned depth, struct parent_level *lv)
{
	char dw[VHDX_GUID_TEXT], id[VHDX_GUID_TEXT];
	vhdx_status vs = vhdx_open(&lv->img, &lv->be.io);

	if (vs != VHDX_OK) {
		con_say("parent %u: candidate %ls: not a sound VHDX: %s: %s", depth, lv->be.name,
			vhdx_status_message(vs), lv->img.msg);
		return efi_status_of(vs);
	}
	lv->img_open = 1;
	vhdx_guid_format(&lv->img.header[lv->img.current].data_write_guid, dw);
	vhdx_guid_format(&lv->img.disk_id, id);
	vs = vhdx_attach_parent(child, &lv->img);
	if (vs != VHDX_OK) {
		con_say("parent %u: candidate %ls (VirtualDiskId %s, DataWriteGuid %s) refused: %s", depth, lv->be.name,
			id, dw, child->msg);
		return efi_status_of(vs);
	}
	con_say("parent %u: DataWriteGuid %s found: %s %ls (VirtualDiskId %s%s)", depth, dw,
		lv->is_file ? "file" : "device", lv->be.name, id, lv->img.has_parent ? ", itself differencing" : "");
	return EFI_SUCCESS;
}

/* The parent as a file by relative_path on the child's volume; 0 when it became the parent. */
static EFI_STATUS try_relative(struct vhdx_image *child, unsigned depth, const struct place *at,
			       struct parent_level *lv)
{
	const char *why = NULL;
	CHAR16 *path = parent_relative_path(at->path, child->locator->relative_path, &why);

	if (!path) {
		con_say("parent %u: Parent Locator relative_path \"%s\" %s", depth, child->locator->relative_path, why);
		return EFI_NOT_FOUND;
	}
	EFI_STATUS st = file_backend_open_readonly(&lv->be, at->handle, path);
	if (EFI_ERROR(st)) {
		con_say("parent %u: relative_path \"%s\": %ls: %s", depth, child->locator->relative_path, path,
			efi_status_name(st));
		mem_free(path);
		return st;
	}
	lv->be_open = 1;
	lv->is_file = 1;
	lv->handle = at->handle;
	lv->path = path;
	st = offer(child, depth, lv);
	if (EFI_ERROR(st))
		level_close(lv);
	return st;
}

/* Handles already in the chain (the bottom child's device and the parents' devices): never offered again. */
static int in_chain(const struct parents *c, EFI_HANDLE h)
{
	if (c->child_device == h)
		return 1;
	for (unsigned i = 0; i < c->n; i++)
		if (!c->level[i]->is_file && c->level[i]->handle == h)
			return 1;
	return 0;
}

/* Every VHDX device and partition of the firmware, in handle order; 0 when one became the parent. */
static EFI_STATUS try_devices(struct parents *c, struct vhdx_image *child, unsigned depth, struct parent_level *lv,
			      UINTN *searched)
{
	struct found_disk *list = NULL;
	UINTN n = 0;
	EFI_STATUS st = discover_disks(&list, &n);

	*searched = 0;
	if (EFI_ERROR(st)) {
		con_say("parent %u: looking for VHDX devices: %s", depth, efi_status_name(st));
		return st;
	}
	st = EFI_NOT_FOUND;
	for (UINTN i = 0; i < n && EFI_ERROR(st); i++) {
		if (in_chain(c, list[i].handle))
			continue;
		(*searched)++;
		lv->be.name = u16_dup(list[i].text);
		EFI_STATUS os = blk_backend_open(&lv->be, list[i].handle);
		if (EFI_ERROR(os)) {
			con_say("parent %u: candidate %ls: %s", depth, list[i].text, efi_status_name(os));
			level_close(lv);
			continue;
		}
		lv->be_open = 1;
		/* a parent is read only, whatever the medium allows: no write path for the core to take */
		lv->be.io.read_only = 1;
		lv->be.io.write = NULL;
		lv->be.io.flush = NULL;
		lv->be.io.resize = NULL;
		lv->be.ro_reason = "a parent of a differencing image is never written";
		lv->handle = list[i].handle;
		st = offer(child, depth, lv);
		if (EFI_ERROR(st))
			level_close(lv);
	}
	discover_free(list, n);
	return st;
}

/* Finds and attaches the parent of child (which lies at `at`) into lv.  Every outcome is said on the console. */
static EFI_STATUS find_parent(struct parents *c, struct vhdx_image *child, unsigned depth, const struct place *at,
			      struct parent_level *lv)
{
	const struct vhdx_parent_locator *loc = child->locator;
	char want[VHDX_GUID_TEXT], alt[VHDX_GUID_TEXT];
	UINTN searched = 0;
	int have2 = (loc->keys & VHDX_LOC_LINKAGE2) != 0;

	vhdx_guid_format(&loc->linkage, want);
	if (have2)
		vhdx_guid_format(&loc->linkage2, alt);
	con_say("parent %u: looking for DataWriteGuid %s (Parent Locator parent_linkage%s%s%s)", depth, want,
		have2 ? "; or " : "", have2 ? alt : "", have2 ? ", parent_linkage2" : "");
	if (at->path && (loc->keys & VHDX_LOC_RELATIVE) && !EFI_ERROR(try_relative(child, depth, at, lv)))
		return EFI_SUCCESS;
	if (at->path && !(loc->keys & VHDX_LOC_RELATIVE))
		con_say("parent %u: the Parent Locator has no relative_path; searching the devices", depth);
	if (!EFI_ERROR(try_devices(c, child, depth, lv, &searched)))
		return EFI_SUCCESS;
	con_say("parent %u: DataWriteGuid %s (parent_linkage) not found: %llu VHDX device%s searched%s; refusing the image",
		depth, want, (unsigned long long)searched, searched == 1 ? "" : "s",
		at->path && (loc->keys & VHDX_LOC_RELATIVE) ? ", and relative_path on the image's volume" : "");
	return EFI_NOT_FOUND;
}

EFI_STATUS parents_attach(struct parents **out, struct vhdx_image *child, EFI_HANDLE handle, const CHAR16 *file)
{
	struct parents *c = mem_zalloc(sizeof *c);
	struct vhdx_image *cur = child;
	struct place at = { handle, file };

	*out = c;
	if (!c)
		return EFI_OUT_OF_RESOURCES;
	c->child_device = file ? NULL : handle;
	while (cur->has_parent) {
		unsigned depth = c->n + 1;
		if (c->n == VHDX_CHAIN_MAX_DEPTH) {
			con_say("parent %u: the chain has more than %u parents (the deepest supported): refusing the image",
				depth, (unsigned)VHDX_CHAIN_MAX_DEPTH);
			return EFI_UNSUPPORTED;
		}
		struct parent_level *lv = mem_zalloc(sizeof *lv);
		if (!lv)
			return EFI_OUT_OF_RESOURCES;
		EFI_STATUS st = find_parent(c, cur, depth, &at, lv);
		if (EFI_ERROR(st)) {
			mem_free(lv);
			return st;
		}
		c->level[c->n++] = lv;
		cur = &lv->img;
		at.handle = lv->handle;
		at.path = lv->path;
	}
	con_say("chain: %u parent%s attached, read-only; reads the image does not hold fall through to them", c->n,
		c->n == 1 ? "" : "s");
	return EFI_SUCCESS;
}

void parents_release(struct parents **pc)
{
	struct parents *c = *pc;

	if (!c)
		return;
	/* nearest first: closing a level detaches it from the level above */
	for (unsigned i = 0; i < c->n; i++) {
		level_close(c->level[i]);
		mem_free(c->level[i]);
	}
	mem_free(c);
	*pc = NULL;
}
