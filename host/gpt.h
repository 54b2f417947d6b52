/* SPDX-License-Identifier: BSD-2-Clause */
/* gpt.h - a GPT (inside a virtual disk, or on a real one): partitions by index, by PARTUUID, by Discoverable
 * Partitions type. */
#ifndef HOST_GPT_H
#define HOST_GPT_H

#include <stddef.h>
#include <stdint.h>

#include "vhdx.h"

struct host_gpt_part {
	unsigned index;             /* 1-based, as Linux numbers partitions */
	struct vhdx_guid type, uuid;
	uint64_t first_lba, last_lba;
	uint64_t attributes;
	char name[37];              /* the UTF-16LE name squeezed to ASCII ('?' for others) */
};

struct host_gpt {
	uint32_t sector;            /* the virtual disk's logical sector size */
	int used_backup;            /* the primary header or array was damaged; the backup at the disk's end was used */
	unsigned count;             /* used entries */
	struct host_gpt_part *part; /* malloc'ed, count entries, in table order */
};

/* A disk to read a GPT from: its logical sector size, its size in bytes, and how to read it. */
struct host_gpt_disk {
	uint32_t sector;
	uint64_t size;
	/* len bytes at byte offset off into buf: 0, or -1 with why set */
	int (*read)(void *ctx, uint64_t off, void *buf, size_t len, char *why, size_t whylen);
	void *ctx;
};

/*
 * Reads a GPT the way the UEFI specification defines it: the primary header (its CRC-32, MyLBA, usable range,
 * entry size and count) and its entry array (CRC-32), else the backup header at the last sector.  Returns 0, or -1
 * with msg naming the structure, field and value.  Free with host_gpt_free.
 */
int host_gpt_read_disk(const struct host_gpt_disk *disk, struct host_gpt *gpt, char *msg, size_t msglen);

/* The same for the open image's virtual disk, read through vhdx_read. */
int host_gpt_read(struct vhdx_image *img, struct host_gpt *gpt, char *msg, size_t msglen);
void host_gpt_free(struct host_gpt *gpt);

/*
 * One partition: "N" (the index), a PARTUUID, or "root", "usr", "esp" by the Discoverable Partitions
 * Specification type for the architecture this tool was built for (the first such partition; a second one is
 * ambiguous and refused).  Returns NULL with msg set when none (or several) match.
 */
const struct host_gpt_part *host_gpt_select(const struct host_gpt *gpt, const char *sel, char *msg, size_t msglen);

/* The bytes of partition sel (as host_gpt_select) in the virtual disk: 0, or an exit code after a message naming
 * path (a damaged primary GPT is a warning: the backup serves). */
int host_gpt_partition(struct vhdx_image *img, const char *path, const char *sel, uint64_t *off, uint64_t *len);

#endif
