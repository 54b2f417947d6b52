/*
 * vdisk.c - the image's virtual disk as a firmware block device, so that a loader inside the VHDX can boot.
 *
 * A new handle carries EFI_BLOCK_IO_PROTOCOL (revision 3 media: BlockSize = the image's logical sector size,
 * LastBlock from its virtual size, read-only for now) and a device path: the parent's path plus a vendor media
 * node with our GUID and the image's virtual disk ID as data, so two images never share a path.  After a
 * recursive ConnectController the firmware's partition and FAT drivers bind; the next stage is loaded from the
 * first FAT volume below that handle that holds the path.  Reads go through vhdx_read (the BAT, zeros for
 * absent blocks; for a differencing image its parents where it holds nothing, issue 11); any failure is
 * EFI_DEVICE_ERROR, never wrong data.
 */
#include "boot.h"

/* 35D09D52-059D-40A1-8D0B-4C9A929CDCC0: vhdxboot's virtual-disk vendor node */
static EFI_GUID vdisk_vendor_guid = { 0x35d09d52, 0x059d, 0x40a1, { 0x8d, 0x0b, 0x4c, 0x9a, 0x92, 0x9c, 0xdc, 0xc0 } };

#define VDISK_MAGIC 0x6b736964786876ull /* "vhdxdisk" */

struct vdisk {
	EFI_BLOCK_IO_PROTOCOL bio; /* first: This points here */
	EFI_BLOCK_IO_MEDIA media;
	uint64_t magic;
	struct vhdx_image *img;
	EFI_HANDLE handle;
	EFI_DEVICE_PATH *dp;
	uint64_t reads, read_bytes, errors;
};

#pragma pack(1)
struct vendor_node {
	EFI_DEVICE_PATH hdr;
	EFI_GUID guid;
	UINT8 disk_id[16];
};
#pragma pack()

static struct vdisk *from_this(EFI_BLOCK_IO_PROTOCOL *this)
{
	struct vdisk *vd = (struct vdisk *)this;
	return vd && vd->magic == VDISK_MAGIC ? vd : NULL;
}

static EFI_STATUS EFIAPI vd_reset(EFI_BLOCK_IO_PROTOCOL *this, BOOLEAN extended)
{
	(void)extended;
	return from_this(this) ? EFI_SUCCESS : EFI_INVALID_PARAMETER;
}

/* The checks the spec lists for ReadBlocks and WriteBlocks, in its order. */
static EFI_STATUS check_io(struct vdisk *vd, UINT32 media_id, EFI_LBA lba, UINTN size, const void *buf)
{
	if (!vd)
		return EFI_INVALID_PARAMETER;
	if (media_id != vd->media.MediaId)
		return EFI_MEDIA_CHANGED;
	if (size % vd->media.BlockSize)
		return EFI_BAD_BUFFER_SIZE;
	if (!buf)
		return EFI_INVALID_PARAMETER;
	uint64_t n = size / vd->media.BlockSize;
	if (lba > vd->media.LastBlock || (n && n - 1 > vd->media.LastBlock - lba))
		return EFI_INVALID_PARAMETER;
	return EFI_SUCCESS;
}

static EFI_STATUS EFIAPI vd_read(EFI_BLOCK_IO_PROTOCOL *this, UINT32 media_id, EFI_LBA lba, UINTN size, void *buf)
{
	struct vdisk *vd = from_this(this);
	EFI_STATUS st = check_io(vd, media_id, lba, size, buf);
	if (EFI_ERROR(st) || !size)
		return st;
	vhdx_status vs = vhdx_read(vd->img, (uint64_t)lba * vd->media.BlockSize, buf, size);
	if (vs != VHDX_OK) {
		/* never hand out a half-filled buffer as if it were data */
		memset(buf, 0, size);
		if (vd->errors++ < 4)
			con_say("virtual disk: read of %llu bytes at block %llu failed: %s: %s",
				(unsigned long long)size,
				(unsigned long long)lba, vhdx_status_message(vs), vd->img->msg);
		return EFI_DEVICE_ERROR;
	}
	vd->reads++;
	vd->read_bytes += size;
	return EFI_SUCCESS;
}

static EFI_STATUS EFIAPI vd_write(EFI_BLOCK_IO_PROTOCOL *this, UINT32 media_id, EFI_LBA lba, UINTN size, void *buf)
{
	struct vdisk *vd = from_this(this);
	if (!vd)
		return EFI_INVALID_PARAMETER;
	if (vd->media.ReadOnly)
		return EFI_WRITE_PROTECTED;
	EFI_STATUS st = check_io(vd, media_id, lba, size, buf);
	return EFI_ERROR(st) ? st : EFI_WRITE_PROTECTED;
}

static EFI_STATUS EFIAPI vd_flush(EFI_BLOCK_IO_PROTOCOL *this)
{
	return from_this(this) ? EFI_SUCCESS : EFI_INVALID_PARAMETER;
}

EFI_STATUS vdisk_install(struct vdisk **out, struct vhdx_image *img, EFI_HANDLE parent_handle)
{
	*out = NULL;
	uint32_t bs = img->logical_sector_size;
	if ((bs != 512 && bs != 4096) || img->virtual_size < bs || img->virtual_size % bs) {
		con_say("virtual disk: cannot present %u-byte sectors over %llu bytes", bs,
			(unsigned long long)img->virtual_size);
		return EFI_UNSUPPORTED;
	}
	/* issue 11: a differencing image reads through its parents (core/read.c); every level must be attached */
	for (const struct vhdx_image *p = img; p->has_parent; p = p->parent)
		if (!p->parent) {
			char g[VHDX_GUID_TEXT];
			vhdx_guid_format(&p->locator->linkage, g);
			con_say("virtual disk: the parent with DataWriteGuid %s (parent_linkage) is not attached: not presenting a disk that cannot be read",
				g);
			return EFI_UNSUPPORTED;
		}
	struct vdisk *vd = mem_zalloc(sizeof *vd);
	if (!vd)
		return EFI_OUT_OF_RESOURCES;
	vd->magic = VDISK_MAGIC;
	vd->img = img;
	vd->media.MediaId = 1;
	vd->media.RemovableMedia = FALSE;
	vd->media.MediaPresent = TRUE;
	vd->media.LogicalPartition = FALSE;
	vd->media.ReadOnly = TRUE;
	vd->media.WriteCaching = FALSE;
	vd->media.BlockSize = bs;
	vd->media.IoAlign = 0; /* we copy into the caller's buffer: any alignment does */
	vd->media.LastBlock = img->virtual_size / bs - 1;
	vd->media.LowestAlignedLba = 0;
	vd->media.LogicalBlocksPerPhysicalBlock =
		img->physical_sector_size > bs ? img->physical_sector_size / bs : 1;
	vd->media.OptimalTransferLengthGranularity = 0;
	vd->bio.Revision = EFI_BLOCK_IO_PROTOCOL_REVISION3;
	vd->bio.Media = &vd->media;
	vd->bio.Reset = vd_reset;
	vd->bio.ReadBlocks = vd_read;
	vd->bio.WriteBlocks = vd_write;
	vd->bio.FlushBlocks = vd_flush;

	struct vendor_node node;
	node.hdr.Type = MEDIA_DEVICE_PATH;
	node.hdr.SubType = MEDIA_VENDOR_DP;
	node.hdr.Length[0] = (UINT8)sizeof node;
	node.hdr.Length[1] = (UINT8)(sizeof node >> 8);
	node.guid = vdisk_vendor_guid;
	vhdx_guid_store(node.disk_id, &img->disk_id);
	vd->dp = dp_append_node(dp_of(parent_handle), &node.hdr);
	if (!vd->dp) {
		mem_free(vd);
		return EFI_OUT_OF_RESOURCES;
	}

	EFI_STATUS st = g_bs->InstallMultipleProtocolInterfaces(&vd->handle, &g_guid_device_path, vd->dp,
								&g_guid_block_io, &vd->bio, NULL);
	if (EFI_ERROR(st)) {
		con_say("virtual disk: installing the block device: %s", efi_status_name(st));
		mem_free(vd->dp);
		mem_free(vd);
		return st;
	}
	CHAR16 *t = dp_text(vd->dp);
	con_say("virtual disk: %llu MiB, %u-byte sectors, read-only, at %ls",
		(unsigned long long)(img->virtual_size >> 20), bs, t);
	mem_free(t);
	st = g_bs->ConnectController(vd->handle, NULL, NULL, TRUE);
	if (EFI_ERROR(st) && st != EFI_NOT_FOUND)
		con_say("virtual disk: connecting drivers: %s", efi_status_name(st));
	*out = vd;
	return EFI_SUCCESS;
}

/* Every FAT volume below our handle, in handle order; the first that holds the path boots. */
EFI_STATUS vdisk_boot(struct vdisk *vd, const CHAR16 *path, const CHAR16 *args)
{
	EFI_HANDLE *hs = NULL;
	UINTN nh = 0;
	EFI_STATUS st = g_bs->LocateHandleBuffer(ByProtocol, &g_guid_simple_fs, NULL, &nh, &hs);
	if (EFI_ERROR(st))
		nh = 0;
	UINTN volumes = 0;
	EFI_DEVICE_PATH *file_dp = NULL;
	for (UINTN i = 0; i < nh && !file_dp; i++) {
		EFI_DEVICE_PATH *dp = dp_of(hs[i]);
		if (!dp || !dp_is_prefix(vd->dp, dp))
			continue;
		volumes++;
		EFI_FILE_HANDLE root = fs_root(hs[i]), f = NULL;
		if (!root)
			continue;
		if (!EFI_ERROR(root->Open(root, &f, (CHAR16 *)path, EFI_FILE_MODE_READ, 0))) {
			f->Close(f);
			file_dp = dp_append_file(dp, path);
			CHAR16 *t = dp_text(dp);
			con_say("virtual disk: %ls found on %ls", path, t);
			mem_free(t);
		}
		root->Close(root);
	}
	if (hs)
		g_bs->FreePool(hs);
	if (!file_dp) {
		con_say("virtual disk: %ls not found (%llu FAT volume%s inside the image)", path,
			(unsigned long long)volumes,
			volumes == 1 ? "" : "s");
		return EFI_NOT_FOUND;
	}
	st = chainload_dp(file_dp, path, args);
	mem_free(file_dp);
	con_say("virtual disk: %llu reads, %llu KiB", (unsigned long long)vd->reads,
		(unsigned long long)(vd->read_bytes >> 10));
	return st;
}

void vdisk_uninstall(struct vdisk *vd)
{
	if (!vd)
		return;
	g_bs->DisconnectController(vd->handle, NULL, NULL);
	EFI_STATUS st = g_bs->UninstallMultipleProtocolInterfaces(vd->handle, &g_guid_device_path, vd->dp,
								  &g_guid_block_io, &vd->bio, NULL);
	if (EFI_ERROR(st)) {
		/* someone still holds it: leave the memory in place rather than free what the firmware points at */
		con_say("virtual disk: uninstall: %s (left installed)", efi_status_name(st));
		return;
	}
	vd->magic = 0;
	mem_free(vd->dp);
	mem_free(vd);
}
