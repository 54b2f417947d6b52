/*
 * handoff.c - tells the operating system which VHDX it was booted from.
 *
 * The virtual Block I/O device (vdisk.c) dies at ExitBootServices, so a Linux installed inside the image cannot
 * find its root on its own.  Before the next stage starts, a volatile variable (boot-service and runtime access,
 * so Linux sees it under efivarfs) names the image: its VirtualDiskId and the GUIDs after this boot's update,
 * where it lies (the GPT partition that holds it, or a whole disk) and whether the OS may write to it.  The
 * initramfs (initramfs/scripts/local-top/vhdx) reads it, finds the device and maps the virtual disk.
 *
 * Layout (version 1, little-endian, MS-layout GUIDs as the VHDX and the GPT store them), documented in README.md:
 *   0 u16 version   2 u16 size of this fixed part   4 u32 flags
 *   8 VirtualDiskId   24 DataWriteGuid   40 FileWriteGuid   56 partition GUID (zero: whole disk)
 *   72 u64 byte offset of the VHDX on that partition/disk   80 u64 virtual size   88 u64 header sequence
 *   96 u32 partition number (0: whole disk)   100 u32 logical sector size   104 u64 size of the device or file
 *   112 (HANDOFF_FLAG_FILE only) the file's path on its FAT volume, UTF-16LE, NUL-terminated
 */
#include "boot.h"

/* 13C0A24A-244B-4711-800A-241C56517353: vhdxboot's handoff variable vendor GUID */
static EFI_GUID handoff_vendor_guid = { 0x13c0a24a, 0x244b, 0x4711,
					{ 0x80, 0x0a, 0x24, 0x1c, 0x56, 0x51, 0x73, 0x53 } };
#define HANDOFF_NAME L"VhdxbootImage"
#define HANDOFF_VERSION 1
#define HANDOFF_FIXED_SIZE 112
#define HANDOFF_ATTRS (EFI_VARIABLE_BOOTSERVICE_ACCESS | EFI_VARIABLE_RUNTIME_ACCESS)

enum {
	HANDOFF_FLAG_OS_WRITE = 1u << 0,     /* the OS may write to the image (os-write = yes and vhdxboot could) */
	HANDOFF_FLAG_PARTITION = 1u << 1,    /* the image lies on the GPT partition named by the partition GUID */
	HANDOFF_FLAG_FILE = 1u << 2,         /* the image is a file on a FAT volume; its path follows */
	HANDOFF_FLAG_UPDATED = 1u << 3,      /* vhdxboot did the session update on this boot */
	HANDOFF_FLAG_EXPAND = 1u << 4        /* os-write = expand: allocate the absent blocks, then write */
};

#define HD_SIGNATURE_GUID 0x02 /* HARDDRIVE_DEVICE_PATH.SignatureType of a GPT partition */
#define HD_NODE_LENGTH 42      /* the UEFI spec's length of the node; gnu-efi's struct is padded to 48 */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* The last hard-drive media node of a device path, or NULL for a whole disk. */
static const HARDDRIVE_DEVICE_PATH *hd_node(const EFI_DEVICE_PATH *dp)
{
	const HARDDRIVE_DEVICE_PATH *hd = NULL;
	while (dp && !(dp->Type == END_DEVICE_PATH_TYPE && dp->SubType == END_ENTIRE_DEVICE_PATH_SUBTYPE)) {
		UINTN len = (UINTN)dp->Length[0] | ((UINTN)dp->Length[1] << 8);
		if (len < sizeof(EFI_DEVICE_PATH))
			break; /* a malformed path: stop rather than loop */
		if (dp->Type == MEDIA_DEVICE_PATH && dp->SubType == MEDIA_HARDDRIVE_DP && len >= HD_NODE_LENGTH)
			hd = (const HARDDRIVE_DEVICE_PATH *)dp;
		dp = (const EFI_DEVICE_PATH *)((const UINT8 *)dp + len);
	}
	return hd;
}

void handoff_publish(const struct vhdx_image *img, EFI_HANDLE holder, const CHAR16 *file, int os_write, int updated)
{
	UINTN path_bytes = file ? (u16_len(file) + 1) * sizeof(CHAR16) : 0;
	UINTN size = HANDOFF_FIXED_SIZE + path_bytes;
	uint8_t *v = mem_zalloc(size);
	if (!v) {
		con_say("handoff: no memory for the %ls variable; the OS will not find the image by itself", HANDOFF_NAME);
		return;
	}
	const struct vhdx_header *h = &img->header[img->current];
	uint32_t flags = 0;
	if (os_write && !updated)
		con_say("handoff: os-write = yes, but vhdxboot wrote nothing this boot: telling the OS read-only");
	if (os_write && updated)
		flags |= HANDOFF_FLAG_OS_WRITE | (os_write == OS_WRITE_EXPAND ? HANDOFF_FLAG_EXPAND : 0);
	if (updated)
		flags |= HANDOFF_FLAG_UPDATED;
	const HARDDRIVE_DEVICE_PATH *hd = hd_node(dp_of(holder));
	if (hd && hd->SignatureType == HD_SIGNATURE_GUID) {
		flags |= HANDOFF_FLAG_PARTITION;
		memcpy(v + 56, hd->Signature, 16);
		put32(v + 96, hd->PartitionNumber);
	}
	if (file)
		flags |= HANDOFF_FLAG_FILE;
	put16(v + 0, HANDOFF_VERSION);
	put16(v + 2, HANDOFF_FIXED_SIZE);
	put32(v + 4, flags);
	vhdx_guid_store(v + 8, &img->disk_id);
	vhdx_guid_store(v + 24, &h->data_write_guid);
	vhdx_guid_store(v + 40, &h->file_write_guid);
	put64(v + 72, 0); /* vhdxboot finds an image only at the start of a device (or as a whole file) */
	put64(v + 80, img->virtual_size);
	put64(v + 88, h->sequence);
	put32(v + 100, img->logical_sector_size);
	put64(v + 104, img->io ? img->io->size : 0);
	for (UINTN i = 0; file && file[i]; i++)
		put16(v + HANDOFF_FIXED_SIZE + 2 * i, file[i]);

	EFI_STATUS st = g_st->RuntimeServices->SetVariable(HANDOFF_NAME, &handoff_vendor_guid, HANDOFF_ATTRS, size, v);
	mem_free(v);
	char id[VHDX_GUID_TEXT];
	vhdx_guid_format(&img->disk_id, id);
	if (EFI_ERROR(st)) {
		con_say("handoff: setting %ls: %s; the OS will not find the image by itself", HANDOFF_NAME,
			efi_status_name(st));
		return;
	}
	con_say("handoff: %ls = disk %s, %s, OS %s", HANDOFF_NAME, id,
		file ? "a file" : (flags & HANDOFF_FLAG_PARTITION) ? "on a GPT partition" : "a whole disk",
		!(flags & HANDOFF_FLAG_OS_WRITE) ? "read-only" : (flags & HANDOFF_FLAG_EXPAND) ? "may expand and write"
											 : "may write");
}

void handoff_clear(void)
{
	/* Deleting a variable that is not there answers EFI_NOT_FOUND, which is fine. */
	g_st->RuntimeServices->SetVariable(HANDOFF_NAME, &handoff_vendor_guid, HANDOFF_ATTRS, 0, NULL);
}
