/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * handoff.c - the handoff variable's bytes (layout in handoff.h): one encoder for the boot module, one decoder for
 * the tool, so the layout lives in one place.  No I/O: the callers set and read the EFI variable themselves.
 */
#include "handoff.h"
#include "internal.h"

/* field offsets of the version-1 fixed part */
enum {
	OFF_VERSION = 0,
	OFF_FIXED_SIZE = 2,
	OFF_FLAGS = 4,
	OFF_DISK_ID = 8,
	OFF_DATA_WRITE_GUID = 24,
	OFF_FILE_WRITE_GUID = 40,
	OFF_PARTITION_GUID = 56,
	OFF_OFFSET = 72,
	OFF_VIRTUAL_SIZE = 80,
	OFF_SEQUENCE = 88,
	OFF_PARTITION_NUMBER = 96,
	OFF_SECTOR_SIZE = 100,
	OFF_DEVICE_SIZE = 104,
};
_Static_assert(OFF_DEVICE_SIZE + 8 == VHDX_HANDOFF_FIXED_SIZE, "the version-1 fields fill the fixed part");

/* Code units of the path before its NUL, or VHDX_HANDOFF_PATH_MAX when there is none. */
static size_t path_units(const uint16_t *path)
{
	size_t n = 0;
	while (n < VHDX_HANDOFF_PATH_MAX && path[n])
		n++;
	return n;
}

vhdx_status vhdx_handoff_encode(const struct vhdx_handoff *h, uint8_t *buf, size_t cap, size_t *len)
{
	size_t units = 0;
	if (h->flags & VHDX_HANDOFF_FILE) {
		units = path_units(h->path);
		if (units == VHDX_HANDOFF_PATH_MAX)
			return VHDX_E_ARG;
		units++; /* the NUL goes out too */
	}
	*len = VHDX_HANDOFF_FIXED_SIZE + 2 * units;
	if (cap < *len)
		return VHDX_E_RANGE;
	memset(buf, 0, VHDX_HANDOFF_FIXED_SIZE);
	vhdx_put16(buf + OFF_VERSION, VHDX_HANDOFF_VERSION);
	vhdx_put16(buf + OFF_FIXED_SIZE, VHDX_HANDOFF_FIXED_SIZE);
	vhdx_put32(buf + OFF_FLAGS, h->flags);
	vhdx_guid_store(buf + OFF_DISK_ID, &h->disk_id);
	vhdx_guid_store(buf + OFF_DATA_WRITE_GUID, &h->data_write_guid);
	vhdx_guid_store(buf + OFF_FILE_WRITE_GUID, &h->file_write_guid);
	vhdx_guid_store(buf + OFF_PARTITION_GUID, &h->partition_guid);
	vhdx_put64(buf + OFF_OFFSET, h->offset);
	vhdx_put64(buf + OFF_VIRTUAL_SIZE, h->virtual_size);
	vhdx_put64(buf + OFF_SEQUENCE, h->sequence);
	vhdx_put32(buf + OFF_PARTITION_NUMBER, h->partition_number);
	vhdx_put32(buf + OFF_SECTOR_SIZE, h->logical_sector_size);
	vhdx_put64(buf + OFF_DEVICE_SIZE, h->device_size);
	for (size_t i = 0; i < units; i++)
		vhdx_put16(buf + VHDX_HANDOFF_FIXED_SIZE + 2 * i, h->path[i]);
	return VHDX_OK;
}

/* The FILE path from the len bytes at p into h->path.  0, or -1 with msg. */
static int decode_path(const uint8_t *p, size_t len, size_t at, struct vhdx_handoff *h, char *msg)
{
	for (size_t i = 0; 2 * i + 1 < len; i++) {
		if (i == VHDX_HANDOFF_PATH_MAX) {
			vhdx_fmt(msg, VHDX_MSG_LEN, "handoff: file path at byte %llu: longer than %u UTF-16 units",
				 (unsigned long long)at, VHDX_HANDOFF_PATH_MAX - 1);
			return -1;
		}
		h->path[i] = vhdx_le16(p + 2 * i);
		if (!h->path[i])
			return 0;
	}
	vhdx_fmt(msg, VHDX_MSG_LEN, "handoff: file path at byte %llu: no NUL terminator in its %llu bytes",
		 (unsigned long long)at, (unsigned long long)len);
	return -1;
}

vhdx_status vhdx_handoff_decode(const uint8_t *buf, size_t len, struct vhdx_handoff *h, char msg[VHDX_MSG_LEN])
{
	memset(h, 0, sizeof *h);
	msg[0] = 0;
	if (len < VHDX_HANDOFF_FIXED_SIZE) {
		vhdx_fmt(msg, VHDX_MSG_LEN, "handoff: %llu bytes: shorter than the version-%u fixed part (%u bytes)",
			 (unsigned long long)len, VHDX_HANDOFF_VERSION, VHDX_HANDOFF_FIXED_SIZE);
		return VHDX_E_CORRUPT;
	}
	unsigned version = vhdx_le16(buf + OFF_VERSION), fixed = vhdx_le16(buf + OFF_FIXED_SIZE);
	if (version != VHDX_HANDOFF_VERSION) {
		vhdx_fmt(msg, VHDX_MSG_LEN, "handoff: version %u: this reader knows version %u", version,
			 VHDX_HANDOFF_VERSION);
		return VHDX_E_CORRUPT;
	}
	if (fixed < VHDX_HANDOFF_FIXED_SIZE || fixed > len) {
		vhdx_fmt(msg, VHDX_MSG_LEN, "handoff: fixed-part size %u: version %u needs %u..%llu (the bytes given)",
			 fixed, VHDX_HANDOFF_VERSION, VHDX_HANDOFF_FIXED_SIZE, (unsigned long long)len);
		return VHDX_E_CORRUPT;
	}
	h->flags = vhdx_le32(buf + OFF_FLAGS);
	vhdx_guid_load(&h->disk_id, buf + OFF_DISK_ID);
	vhdx_guid_load(&h->data_write_guid, buf + OFF_DATA_WRITE_GUID);
	vhdx_guid_load(&h->file_write_guid, buf + OFF_FILE_WRITE_GUID);
	vhdx_guid_load(&h->partition_guid, buf + OFF_PARTITION_GUID);
	h->offset = vhdx_le64(buf + OFF_OFFSET);
	h->virtual_size = vhdx_le64(buf + OFF_VIRTUAL_SIZE);
	h->sequence = vhdx_le64(buf + OFF_SEQUENCE);
	h->partition_number = vhdx_le32(buf + OFF_PARTITION_NUMBER);
	h->logical_sector_size = vhdx_le32(buf + OFF_SECTOR_SIZE);
	h->device_size = vhdx_le64(buf + OFF_DEVICE_SIZE);
	if ((h->flags & VHDX_HANDOFF_FILE) && decode_path(buf + fixed, len - fixed, fixed, h, msg))
		return VHDX_E_CORRUPT;
	return VHDX_OK;
}
