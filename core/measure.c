/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * measure.c - the bytes of the measurement event (layout documented in vhdx.h).
 *
 * They are built here, in the core, so that the boot module (which extends the TPM with them) and `vhdx seal`
 * (which predicts the event's digest for a verifier) cannot disagree.  Only what identifies the image and its
 * content goes in: FileWriteGuid and the sequence number change at every boot's session update and would make the
 * measurement useless as an identity.
 */
#include "internal.h"

static const uint8_t measure_signature[8] = { 'V', 'H', 'D', 'X', 'I', 'M', 'G', 0 };

enum {
	EV_SIGNATURE = 0,
	EV_VERSION = 8,
	EV_FLAGS = 10,
	EV_SIZE = 12,
	EV_DISK_ID = 16,
	EV_VIRTUAL_SIZE = 32,
	EV_BLOCK_SIZE = 40,
	EV_LOGICAL_SECTOR = 44,
	EV_PHYSICAL_SECTOR = 48,
	EV_RESERVED = 52,
	EV_DATA_WRITE_GUID = 56,
	EV_CONTENT_SHA256 = 72,
	EV_END = EV_CONTENT_SHA256 + VHDX_SHA256_SIZE
};
_Static_assert(EV_END == VHDX_MEASURE_EVENT_SIZE, "the measurement event layout and its size disagree");

void vhdx_measure_event(const struct vhdx_image *img, const uint8_t *content_sha256,
			uint8_t out[VHDX_MEASURE_EVENT_SIZE])
{
	memset(out, 0, VHDX_MEASURE_EVENT_SIZE);
	memcpy(out + EV_SIGNATURE, measure_signature, sizeof measure_signature);
	vhdx_put16(out + EV_VERSION, VHDX_MEASURE_VERSION);
	vhdx_put16(out + EV_FLAGS, content_sha256 ? VHDX_MEASURE_HAS_SHA256 : 0);
	vhdx_put32(out + EV_SIZE, VHDX_MEASURE_EVENT_SIZE);
	vhdx_guid_store(out + EV_DISK_ID, &img->disk_id);
	vhdx_put64(out + EV_VIRTUAL_SIZE, img->virtual_size);
	vhdx_put32(out + EV_BLOCK_SIZE, img->block_size);
	vhdx_put32(out + EV_LOGICAL_SECTOR, img->logical_sector_size);
	vhdx_put32(out + EV_PHYSICAL_SECTOR, img->physical_sector_size);
	vhdx_put32(out + EV_RESERVED, 0);
	vhdx_guid_store(out + EV_DATA_WRITE_GUID, &img->header[img->current].data_write_guid);
	if (content_sha256)
		memcpy(out + EV_CONTENT_SHA256, content_sha256, VHDX_SHA256_SIZE);
}
