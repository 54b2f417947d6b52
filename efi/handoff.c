/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * handoff.c - sets the handoff variable that tells the operating system which VHDX it was booted from.
 *
 * The layout and its encoding are core/handoff.h's; this file adds what only the firmware knows: where the image
 * lies (the GPT partition from the holder's device path, or a whole disk) and the SetVariable call.  The variable
 * is volatile with boot-service and runtime access, so Linux sees it under efivarfs until the next reset.
 */
#include "boot.h"
#include "handoff.h"

static EFI_GUID handoff_vendor = VHDX_HANDOFF_VENDOR;
#define HANDOFF_NAME_W L"" VHDX_HANDOFF_NAME
#define HANDOFF_ATTRS (EFI_VARIABLE_BOOTSERVICE_ACCESS | EFI_VARIABLE_RUNTIME_ACCESS)

#define HD_SIGNATURE_GUID 0x02 /* HARDDRIVE_DEVICE_PATH.SignatureType of a GPT partition */
#define HD_NODE_LENGTH 42      /* the UEFI spec's length of the node; gnu-efi's struct is padded to 48 */

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

/* What the variable says about img, held by holder (a file on it when file is set). */
static void describe(struct vhdx_handoff *h, const struct vhdx_image *img, EFI_HANDLE holder, const CHAR16 *file,
		     int os_write, int updated)
{
	const struct vhdx_header *hdr = &img->header[img->current];
	if (os_write && !updated)
		con_say("handoff: os-write = yes, but vhdxboot wrote nothing this boot: telling the OS read-only");
	if (os_write && updated)
		h->flags |= VHDX_HANDOFF_OS_WRITE | (os_write == OS_WRITE_EXPAND ? VHDX_HANDOFF_EXPAND : 0);
	if (updated)
		h->flags |= VHDX_HANDOFF_UPDATED;
	const HARDDRIVE_DEVICE_PATH *hd = hd_node(dp_of(holder));
	if (hd && hd->SignatureType == HD_SIGNATURE_GUID) {
		h->flags |= VHDX_HANDOFF_PARTITION;
		vhdx_guid_load(&h->partition_guid, hd->Signature);
		h->partition_number = hd->PartitionNumber;
	}
	if (file) {
		h->flags |= VHDX_HANDOFF_FILE;
		for (UINTN i = 0; i < VHDX_HANDOFF_PATH_MAX && (i == 0 || file[i - 1]); i++)
			h->path[i] = file[i];
	}
	h->disk_id = img->disk_id;
	h->data_write_guid = hdr->data_write_guid;
	h->file_write_guid = hdr->file_write_guid;
	h->offset = 0; /* vhdxboot finds an image only at the start of a device (or as a whole file) */
	h->virtual_size = img->virtual_size;
	h->sequence = hdr->sequence;
	h->logical_sector_size = img->logical_sector_size;
	h->device_size = img->io ? img->io->size : 0;
}

/* What the last handoff_publish was given, so that handoff_refresh can say the same with the GUIDs of now. */
static struct {
	const struct vhdx_image *img;
	EFI_HANDLE holder;
	const CHAR16 *file;
	int os_write, updated;
} published;

void handoff_publish(const struct vhdx_image *img, EFI_HANDLE holder, const CHAR16 *file, int os_write, int updated)
{
	published.img = img;
	published.holder = holder;
	published.file = file;
	published.os_write = os_write;
	published.updated = updated;
	struct vhdx_handoff *h = mem_zalloc(sizeof *h);
	uint8_t *v = mem_alloc(VHDX_HANDOFF_MAX);
	size_t size = 0;
	if (!h || !v) {
		mem_free(h);
		mem_free(v);
		con_say("handoff: no memory for the %ls variable; the OS will not find the image by itself",
			HANDOFF_NAME_W);
		return;
	}
	describe(h, img, holder, file, os_write, updated);
	uint32_t flags = h->flags;
	vhdx_status vs = vhdx_handoff_encode(h, v, VHDX_HANDOFF_MAX, &size);
	mem_free(h);
	if (vs != VHDX_OK) {
		mem_free(v);
		con_say("handoff: the image file's path is longer than %u characters; the OS will not find the image "
			"by itself", VHDX_HANDOFF_PATH_MAX - 1);
		return;
	}
	EFI_STATUS st = g_st->RuntimeServices->SetVariable(HANDOFF_NAME_W, &handoff_vendor, HANDOFF_ATTRS, size, v);
	mem_free(v);
	if (EFI_ERROR(st)) {
		con_say("handoff: setting %ls: %s; the OS will not find the image by itself", HANDOFF_NAME_W,
			efi_status_name(st));
		return;
	}
	char id[VHDX_GUID_TEXT];
	vhdx_guid_format(&img->disk_id, id);
	con_say("handoff: %ls = disk %s, %s, OS %s", HANDOFF_NAME_W, id,
		file ? "a file" : (flags & VHDX_HANDOFF_PARTITION) ? "on a GPT partition" : "a whole disk",
		!(flags & VHDX_HANDOFF_OS_WRITE) ? "read-only" : (flags & VHDX_HANDOFF_EXPAND) ? "may expand and write"
											   : "may write");
}

/*
 * The virtual disk's first write of a boot (vdisk.c) gives the image a new DataWriteGuid and FileWriteGuid after
 * the variable was set; the initramfs refuses to map an image whose DataWriteGuid is not the one published, so the
 * variable is set again with the GUIDs the image has now.
 */
void handoff_refresh(const struct vhdx_image *img)
{
	if (published.img == img)
		handoff_publish(img, published.holder, published.file, published.os_write, published.updated);
}

void handoff_clear(void)
{
	published.img = NULL;
	/* Deleting a variable that is not there answers EFI_NOT_FOUND, which is fine. */
	g_st->RuntimeServices->SetVariable(HANDOFF_NAME_W, &handoff_vendor, HANDOFF_ATTRS, 0, NULL);
}
