/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * gpt.c - the GUID partition table, of a virtual disk (read through vhdx_read) or of a real disk (`vhdx find`
 * reads a partition's PARTUUID from its parent disk).
 *
 * `vhdx map --partition` needs one partition's range of the virtual disk.  The GPT is read the way the UEFI
 * specification defines it: header at LBA 1 with a CRC-32 (IEEE, not the VHDX's CRC-32C) over HeaderSize bytes,
 * an entry array with its own CRC-32; a damaged primary falls back to the backup header in the last sector.
 * Every bound is checked before it is used, so a hostile table is refused rather than followed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpt.h"
#include "host.h"
#include "le.h"

#define GPT_SIGNATURE "EFI PART"
#define GPT_SIGNATURE_LEN 8
#define GPT_PRIMARY_LBA 1
#define GPT_HEADER_MIN 92              /* the UEFI header's defined size */
#define GPT_ENTRY_MIN 128
#define GPT_ARRAY_MAX (4u << 20)       /* far beyond any real table (128 x 128 bytes = 16 KiB is usual) */
#define GPT_NAME_CHARS 36
#define CRC32_POLY 0xEDB88320u         /* IEEE 802.3, reflected */

/* GPT header fields (UEFI specification, "GPT Header"): byte offsets */
enum {
	GPT_HDR_SIGNATURE = 0,
	GPT_HDR_SIZE = 12,          /* HeaderSize: bytes the CRC covers */
	GPT_HDR_CRC32 = 16,         /* HeaderCRC32, computed with this field zero */
	GPT_HDR_MY_LBA = 24,
	GPT_HDR_FIRST_USABLE = 40,
	GPT_HDR_LAST_USABLE = 48,
	GPT_HDR_ENTRY_LBA = 72,     /* PartitionEntryLBA */
	GPT_HDR_ENTRY_COUNT = 80,   /* NumberOfPartitionEntries */
	GPT_HDR_ENTRY_SIZE = 84,    /* SizeOfPartitionEntry */
	GPT_HDR_ENTRY_CRC32 = 88,   /* PartitionEntryArrayCRC32 */
};

/* GPT partition entry fields: byte offsets */
enum {
	GPT_ENT_TYPE = 0,
	GPT_ENT_UUID = 16,
	GPT_ENT_FIRST_LBA = 32,
	GPT_ENT_LAST_LBA = 40,
	GPT_ENT_ATTRIBUTES = 48,
	GPT_ENT_NAME = 56,          /* UTF-16LE, GPT_NAME_CHARS units */
};

/* Discoverable Partitions Specification type GUIDs (UAPI group), checked against the specification's table. */
#if defined(__x86_64__)
#define DPS_ROOT "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
#define DPS_USR "8484680C-9521-48C6-9C11-B0720656F69E"
#elif defined(__aarch64__)
#define DPS_ROOT "B921B045-1DF0-41C3-AF44-4C6F280D3FAE"
#define DPS_USR "B0E01050-EE5F-4390-949A-9101B17104E9"
#elif defined(__i386__)
#define DPS_ROOT "44479540-F297-41B2-9AF7-D131D5F0458A"
#define DPS_USR "75250D76-8CC6-458E-BD66-BD47CC81A812"
#else
#error "no Discoverable Partitions root/usr types for this architecture"
#endif
#define DPS_ESP "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"

static uint32_t crc32_ieee(const uint8_t *p, size_t len)
{
	uint32_t c = 0xFFFFFFFFu;

	while (len--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (CRC32_POLY & (0u - (c & 1u)));
	}
	return c ^ 0xFFFFFFFFu;
}

/* One header copy at lba, with its entry array, into gpt.  0, or -1 with msg. */
static int read_copy(const struct host_gpt_disk *disk, uint64_t lba, struct host_gpt *gpt, char *msg, size_t msglen)
{
	uint32_t ss = disk->sector;
	uint64_t last = disk->size / ss - 1;
	const char *which = lba == GPT_PRIMARY_LBA ? "primary" : "backup";
	uint8_t *hdr = malloc(ss), *arr = NULL;
	char why[256];
	int rc = -1;

	if (!hdr) {
		snprintf(msg, msglen, "GPT: out of memory");
		return -1;
	}
	if (disk->read(disk->ctx, lba * ss, hdr, ss, why, sizeof(why))) {
		snprintf(msg, msglen, "GPT %s header (LBA %llu): %s", which, (unsigned long long)lba, why);
		goto out;
	}
	if (memcmp(hdr + GPT_HDR_SIGNATURE, GPT_SIGNATURE, GPT_SIGNATURE_LEN)) {
		snprintf(msg, msglen, "GPT %s header (LBA %llu): no \"EFI PART\" signature", which, (unsigned long long)lba);
		goto out;
	}
	uint32_t hsize = host_le32(hdr + GPT_HDR_SIZE), hcrc = host_le32(hdr + GPT_HDR_CRC32);
	if (hsize < GPT_HEADER_MIN || hsize > ss) {
		snprintf(msg, msglen, "GPT %s header: HeaderSize %u outside %u..%u", which, hsize, GPT_HEADER_MIN, ss);
		goto out;
	}
	memset(hdr + GPT_HDR_CRC32, 0, 4);
	uint32_t calc = crc32_ieee(hdr, hsize);
	if (calc != hcrc) {
		snprintf(msg, msglen, "GPT %s header: HeaderCRC32 0x%08x, computed 0x%08x", which, hcrc, calc);
		goto out;
	}
	uint64_t my = host_le64(hdr + GPT_HDR_MY_LBA), elba = host_le64(hdr + GPT_HDR_ENTRY_LBA);
	uint64_t first = host_le64(hdr + GPT_HDR_FIRST_USABLE), lastu = host_le64(hdr + GPT_HDR_LAST_USABLE);
	uint32_t count = host_le32(hdr + GPT_HDR_ENTRY_COUNT), esize = host_le32(hdr + GPT_HDR_ENTRY_SIZE);
	uint32_t acrc = host_le32(hdr + GPT_HDR_ENTRY_CRC32);
	if (my != lba) {
		snprintf(msg, msglen, "GPT %s header: MyLBA %llu, expected %llu", which, (unsigned long long)my,
			 (unsigned long long)lba);
		goto out;
	}
	if (first > lastu || lastu > last) {
		snprintf(msg, msglen, "GPT %s header: usable LBAs %llu..%llu outside the disk (last LBA %llu)", which,
			 (unsigned long long)first, (unsigned long long)lastu, (unsigned long long)last);
		goto out;
	}
	if (esize < GPT_ENTRY_MIN || (esize & (esize - 1)) || (uint64_t)count * esize > GPT_ARRAY_MAX) {
		snprintf(msg, msglen, "GPT %s header: %u entries of %u bytes (a power of two >= %u, at most %u bytes)",
			 which, count, esize, GPT_ENTRY_MIN, GPT_ARRAY_MAX);
		goto out;
	}
	size_t alen = (size_t)count * esize;
	uint64_t asectors = (alen + ss - 1) / ss;
	if (elba <= GPT_PRIMARY_LBA || elba > last || asectors > last - elba + 1) {
		snprintf(msg, msglen, "GPT %s header: PartitionEntryLBA %llu (%llu sectors) outside the disk", which,
			 (unsigned long long)elba, (unsigned long long)asectors);
		goto out;
	}
	arr = malloc(alen ? alen : 1);
	if (!arr) {
		snprintf(msg, msglen, "GPT: out of memory for %zu bytes of entries", alen);
		goto out;
	}
	if (disk->read(disk->ctx, elba * ss, arr, alen, why, sizeof(why))) {
		snprintf(msg, msglen, "GPT %s entry array: %s", which, why);
		goto out;
	}
	calc = crc32_ieee(arr, alen);
	if (calc != acrc) {
		snprintf(msg, msglen, "GPT %s entry array: PartitionEntryArrayCRC32 0x%08x, computed 0x%08x", which, acrc,
			 calc);
		goto out;
	}
	gpt->part = calloc(count ? count : 1, sizeof(*gpt->part));
	if (!gpt->part) {
		snprintf(msg, msglen, "GPT: out of memory");
		goto out;
	}
	gpt->count = 0;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *e = arr + (size_t)i * esize;
		struct host_gpt_part *p = &gpt->part[gpt->count];
		vhdx_guid_load(&p->type, e + GPT_ENT_TYPE);
		if (vhdx_guid_is_zero(&p->type))
			continue; /* unused entry */
		vhdx_guid_load(&p->uuid, e + GPT_ENT_UUID);
		p->first_lba = host_le64(e + GPT_ENT_FIRST_LBA);
		p->last_lba = host_le64(e + GPT_ENT_LAST_LBA);
		p->attributes = host_le64(e + GPT_ENT_ATTRIBUTES);
		p->index = i + 1;
		if (p->first_lba > p->last_lba || p->first_lba < first || p->last_lba > lastu) {
			snprintf(msg, msglen, "GPT %s entry %u: LBAs %llu..%llu outside the usable %llu..%llu", which, i + 1,
				 (unsigned long long)p->first_lba, (unsigned long long)p->last_lba,
				 (unsigned long long)first, (unsigned long long)lastu);
			free(gpt->part);
			gpt->part = NULL;
			goto out;
		}
		for (unsigned k = 0; k < GPT_NAME_CHARS; k++) {
			unsigned c = host_le16(e + GPT_ENT_NAME + 2 * k);
			if (!c)
				break;
			p->name[k] = c >= 0x20 && c < 0x7F ? (char)c : '?';
		}
		gpt->count++;
	}
	gpt->sector = ss;
	rc = 0;
out:
	free(hdr);
	free(arr);
	return rc;
}

int host_gpt_read_disk(const struct host_gpt_disk *disk, struct host_gpt *gpt, char *msg, size_t msglen)
{
	char first[256];
	uint32_t ss = disk->sector;

	memset(gpt, 0, sizeof(*gpt));
	if (!ss || disk->size / ss < 3) {
		snprintf(msg, msglen, "GPT: the disk (%llu bytes, %u-byte sectors) is too small to hold one",
			 (unsigned long long)disk->size, ss);
		return -1;
	}
	if (!read_copy(disk, GPT_PRIMARY_LBA, gpt, first, sizeof(first)))
		return 0;
	if (!read_copy(disk, disk->size / ss - 1, gpt, msg, msglen)) {
		gpt->used_backup = 1;
		return 0;
	}
	/* the primary's reason is the one a user can act on; the backup's would mostly repeat it */
	snprintf(msg, msglen, "%s (the backup is no better)", first);
	return -1;
}

static int image_read(void *ctx, uint64_t off, void *buf, size_t len, char *why, size_t whylen)
{
	struct vhdx_image *img = ctx;

	if (!vhdx_read(img, off, buf, len))
		return 0;
	snprintf(why, whylen, "%s", img->msg);
	return -1;
}

int host_gpt_read(struct vhdx_image *img, struct host_gpt *gpt, char *msg, size_t msglen)
{
	struct host_gpt_disk disk = { img->logical_sector_size, img->virtual_size, image_read, img };

	return host_gpt_read_disk(&disk, gpt, msg, msglen);
}

void host_gpt_free(struct host_gpt *gpt)
{
	free(gpt->part);
	gpt->part = NULL;
	gpt->count = 0;
}

const struct host_gpt_part *host_gpt_select(const struct host_gpt *gpt, const char *sel, char *msg, size_t msglen)
{
	const struct host_gpt_part *hit = NULL;
	struct vhdx_guid want;
	const char *type_text = NULL;
	char *end;

	if (!strcmp(sel, "root"))
		type_text = DPS_ROOT;
	else if (!strcmp(sel, "usr"))
		type_text = DPS_USR;
	else if (!strcmp(sel, "esp"))
		type_text = DPS_ESP;
	if (type_text) {
		vhdx_guid_parse(type_text, strlen(type_text), &want);
		for (unsigned i = 0; i < gpt->count; i++) {
			if (!vhdx_guid_equal(&gpt->part[i].type, &want))
				continue;
			if (hit) {
				snprintf(msg, msglen, "partition '%s': both %u and %u have type %s; name one by number", sel,
					 hit->index, gpt->part[i].index, type_text);
				return NULL;
			}
			hit = &gpt->part[i];
		}
		if (!hit)
			snprintf(msg, msglen, "partition '%s': no partition of type %s in the GPT", sel, type_text);
		return hit;
	}
	if (!vhdx_guid_parse(sel, strlen(sel), &want)) {
		for (unsigned i = 0; i < gpt->count; i++)
			if (vhdx_guid_equal(&gpt->part[i].uuid, &want))
				return &gpt->part[i];
		snprintf(msg, msglen, "partition '%s': no partition with that PARTUUID", sel);
		return NULL;
	}
	unsigned long n = strtoul(sel, &end, 10);
	if (*sel < '0' || *sel > '9' || *end) {
		snprintf(msg, msglen, "partition '%s': not a number, a PARTUUID, root, usr or esp", sel);
		return NULL;
	}
	for (unsigned i = 0; i < gpt->count; i++)
		if (gpt->part[i].index == n)
			return &gpt->part[i];
	snprintf(msg, msglen, "partition %lu: no such partition in the GPT (%u used entries)", n, gpt->count);
	return NULL;
}

int host_gpt_partition(struct vhdx_image *img, const char *path, const char *sel, uint64_t *off, uint64_t *len)
{
	struct host_gpt gpt;
	const struct host_gpt_part *p;
	char msg[320];

	if (host_gpt_read(img, &gpt, msg, sizeof(msg))) {
		host_error(path, "%s", msg);
		return EXIT_BAD;
	}
	if (gpt.used_backup)
		host_error(path, "warning: the primary GPT is damaged; using the backup");
	p = host_gpt_select(&gpt, sel, msg, sizeof(msg));
	if (p) {
		*off = p->first_lba * gpt.sector;
		*len = (p->last_lba + 1 - p->first_lba) * gpt.sector;
	}
	host_gpt_free(&gpt);
	if (!p) {
		host_error(path, "%s", msg);
		return EXIT_BAD;
	}
	return 0;
}
