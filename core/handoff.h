/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * handoff.h - the handoff variable: how vhdxboot tells the operating system which VHDX it was booted from.
 *
 * The virtual Block I/O device of a boot from inside an image dies at ExitBootServices, so an OS installed inside
 * the image cannot find its root on its own.  Before the next stage starts, the boot module sets a volatile EFI
 * variable (VHDX_HANDOFF_NAME under VHDX_HANDOFF_VENDOR) naming the image; on Linux, `vhdx handoff` reads it back
 * from efivarfs for the initramfs.  Writer (efi/handoff.c) and reader (host/handoff.c) both go through this one
 * definition, so the two cannot drift apart.
 *
 * Byte layout, version 1: all integers little-endian, GUIDs in the MS layout the VHDX and the GPT store:
 *     0 u16 version (1)          2 u16 size of the fixed part (112)     4 u32 flags (enum vhdx_handoff_flag)
 *     8 VirtualDiskId           24 DataWriteGuid                       40 FileWriteGuid
 *    56 partition GUID (zero: a whole disk)                            72 u64 byte offset of the VHDX there
 *    80 u64 virtual size        88 u64 header sequence                 96 u32 partition number (0: whole disk)
 *   100 u32 logical sector size                                       104 u64 size of the device or file
 *   112 with VHDX_HANDOFF_FILE only: the file's path on its volume, UTF-16LE, NUL-terminated
 * A reader takes a fixed part longer than 112 bytes (fields appended later) and reads the path after it.
 */
#ifndef VHDX_HANDOFF_H
#define VHDX_HANDOFF_H

#include <stddef.h>
#include <stdint.h>

#include "vhdx.h"

#define VHDX_HANDOFF_NAME "VhdxbootImage"
#define VHDX_HANDOFF_VENDOR_TEXT "13c0a24a-244b-4711-800a-241c56517353"
#define VHDX_HANDOFF_VENDOR { 0x13c0a24a, 0x244b, 0x4711, { 0x80, 0x0a, 0x24, 0x1c, 0x56, 0x51, 0x73, 0x53 } }

#define VHDX_HANDOFF_VERSION 1
#define VHDX_HANDOFF_FIXED_SIZE 112
#define VHDX_HANDOFF_PATH_MAX 1024 /* UTF-16 code units of the file path, its NUL included */
#define VHDX_HANDOFF_MAX (VHDX_HANDOFF_FIXED_SIZE + 2 * VHDX_HANDOFF_PATH_MAX) /* largest encoding */

/* The flags word, one bit each.  A new request takes the next free bit here; readers keep bits they do not know
 * in .flags and act on none of them, so an older reader still reads a newer writer's variable. */
enum vhdx_handoff_flag {
	VHDX_HANDOFF_OS_WRITE = 1u << 0,  /* the OS may write to the image (os-write = yes, and vhdxboot could) */
	VHDX_HANDOFF_PARTITION = 1u << 1, /* the image lies on the GPT partition named by partition_guid */
	VHDX_HANDOFF_FILE = 1u << 2,      /* the image is a file on a volume; .path holds its path */
	VHDX_HANDOFF_UPDATED = 1u << 3,   /* vhdxboot did the session update on this boot */
	VHDX_HANDOFF_EXPAND = 1u << 4,    /* os-write = expand: allocate the absent blocks, then write */
};

struct vhdx_handoff {
	uint32_t flags; /* enum vhdx_handoff_flag bits */
	struct vhdx_guid disk_id, data_write_guid, file_write_guid;
	struct vhdx_guid partition_guid; /* zero: a whole disk */
	uint64_t offset;                 /* bytes from the start of the partition or disk to the VHDX */
	uint64_t virtual_size;
	uint64_t sequence;               /* the header sequence number after this boot's update */
	uint32_t partition_number;       /* 1-based; 0: a whole disk */
	uint32_t logical_sector_size;
	uint64_t device_size;            /* of the device or file holding the image */
	uint16_t path[VHDX_HANDOFF_PATH_MAX]; /* with VHDX_HANDOFF_FILE: NUL-terminated; else ignored */
};

/*
 * Writes h's version-1 encoding into buf (cap bytes) and its length into *len.  VHDX_E_ARG when the FILE path has
 * no NUL within VHDX_HANDOFF_PATH_MAX units, VHDX_E_RANGE when cap is too small (*len then says how much is needed).
 */
vhdx_status vhdx_handoff_encode(const struct vhdx_handoff *h, uint8_t *buf, size_t cap, size_t *len);

/*
 * Reads an encoding (len bytes) into *h.  VHDX_E_CORRUPT, with msg naming the field and its value, when the input
 * is shorter than the fixed part, of another version, has a fixed-part size below 112 or beyond the input, or
 * (FILE set) a path that is not NUL-terminated within the input or is longer than VHDX_HANDOFF_PATH_MAX units.
 */
vhdx_status vhdx_handoff_decode(const uint8_t *buf, size_t len, struct vhdx_handoff *h, char msg[VHDX_MSG_LEN]);

#endif
