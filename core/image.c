/* SPDX-License-Identifier: BSD-2-Clause */
/* image.c - opening an image is validating all of it, in the order the structures depend on each other. */
#include "internal.h"

#define SCRATCH (64 * 1024)

static vhdx_status check_identifier(struct vhdx_image *img, uint8_t *buf)
{
	uint64_t sig;
	size_t o = 0;
	vhdx_status st;

	if (img->io->size < VHDX_HEADER_AREA)
		return vhdx_fail(img, VHDX_E_CORRUPT, "file identifier: the file has %llu bytes, less than the 1 MiB header area",
				 (unsigned long long)img->io->size);
	st = vhdx_pread(img, VHDX_IDENT_OFFSET, buf, VHDX_IDENT_CREATOR + VHDX_IDENT_CREATOR_LEN, "file identifier");
	if (st)
		return st;
	sig = vhdx_le64(buf);
	if (sig != VHDX_IDENT_SIGNATURE)
		return vhdx_fail(img, VHDX_E_CORRUPT, "file identifier: signature 0x%llx is not \"vhdxfile\"",
				 (unsigned long long)sig);
	/* The creator is informational only; keep a printable ASCII rendering. */
	for (size_t i = 0; i < VHDX_IDENT_CREATOR_LEN / 2 && o + 1 < sizeof(img->creator); i++) {
		uint16_t ch = vhdx_le16(buf + VHDX_IDENT_CREATOR + 2 * i);
		if (ch == 0)
			break;
		img->creator[o++] = (ch >= 0x20 && ch < 0x7F) ? (char)ch : '?';
	}
	img->creator[o] = 0;
	return VHDX_OK;
}

vhdx_status vhdx_open(struct vhdx_image *img, struct vhdx_io *io)
{
	uint8_t *scratch;
	vhdx_status st;

	if (!img)
		return VHDX_E_ARG;
	memset(img, 0, sizeof(*img));
	img->io = io;
	if (!io || !io->read || !io->alloc || !io->free)
		return vhdx_fail(img, VHDX_E_ARG, "open: the I/O backend lacks read, alloc or free");
	img->file_size = io->size;
	scratch = io->alloc(io->ctx, SCRATCH);
	if (!scratch)
		return vhdx_fail(img, VHDX_E_NOMEM, "open: no memory for a %u-byte scratch buffer", SCRATCH);

	st = check_identifier(img, scratch);
	if (!st)
		st = vhdx_headers_load(img, scratch);
	if (!st)
		st = vhdx_header_check_current(img);
	if (!st)
		st = vhdx_log_find(img); /* from here on, reads see the file as the log will leave it */
	if (!st)
		st = vhdx_regions_load(img, scratch);
	if (!st)
		st = vhdx_metadata_load(img, scratch);
	if (!st)
		st = vhdx_bat_geometry(img);
	if (!st)
		st = vhdx_bat_scan(img);
	io->free(io->ctx, scratch, SCRATCH);
	if (!st) {
		img->batwin_cap = VHDX_BAT_WINDOW;
		img->batwin = io->alloc(io->ctx, VHDX_BAT_WINDOW * sizeof(uint64_t));
		if (!img->batwin)
			st = vhdx_fail(img, VHDX_E_NOMEM, "open: no memory for the BAT window");
	}
	if (st) {
		if (img->locator) /* a failed open leaves nothing allocated */
			io->free(io->ctx, img->locator, sizeof(*img->locator));
		img->locator = 0;
		return st;
	}
	img->validated = 1;
	return VHDX_OK;
}

void vhdx_close(struct vhdx_image *img)
{
	if (!img || !img->io)
		return;
	if (img->batwin)
		img->io->free(img->io->ctx, img->batwin, img->batwin_cap * sizeof(uint64_t));
	img->batwin = 0;
	if (img->locator) /* a differencing image's Parent Locator */
		img->io->free(img->io->ctx, img->locator, sizeof(*img->locator));
	img->locator = 0;
	if (img->parent && img->parent->child == img)
		img->parent->child = 0;
	img->parent = 0;
	img->batwin_count = 0;
	img->validated = 0;
}
