/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vdisk.c - the image's virtual disk as a firmware block device, so that a loader inside the VHDX can boot.
 *
 * A new handle carries EFI_BLOCK_IO_PROTOCOL (revision 3 media: BlockSize = the image's logical sector size,
 * LastBlock from its virtual size) and a device path: the parent's path plus a vendor media node with our GUID
 * and the image's virtual disk ID as data, so two images never share a path.  After a recursive
 * ConnectController the firmware's partition and FAT drivers bind; the next stage is loaded from the first FAT
 * volume below that handle that holds the path.  Reads go through vhdx_read (the BAT, zeros for absent blocks;
 * for a differencing image its parents where it holds nothing); any failure is EFI_DEVICE_ERROR, never
 * wrong data.
 *
 * Writes (vdisk-write = yes; systemd-boot renames its boot-counting entries and refreshes its random seed on the
 * ESP inside the image).  Whether the device is writable at all is decided once, before it is installed
 * (vdisk_writable below), and Media.ReadOnly says so.  On a writable device:
 *   - the first write of the boot first gives the image a new DataWriteGuid (vhdx_prepare_write_data: the format's
 *     rule before the first user-visible change; its header writes are flushed before any data byte), and the
 *     handoff variable is set again so the OS sees the GUIDs the image has now;
 *   - data goes in place into FULLY_PRESENT blocks (core/datawrite.c: no metadata changes, so no log is needed,
 *     and a crash leaves a valid file whose sectors are old or new, as on a real disk);
 *   - a write that touches any block that is not FULLY_PRESENT (absent, zero, unmapped, or PARTIALLY_PRESENT in a
 *     differencing image) is refused whole, EFI_WRITE_PROTECTED, with a console line naming the block and its
 *     state: making a block present is a BAT change that this path does not make;
 *   - every write is flushed before it returns (Media.WriteCaching is FALSE); FlushBlocks flushes the backend too.
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
	uint64_t writes, write_bytes, refused;
	int renewed;      /* this boot's DataWriteGuid renewal was written: data may follow */
	int renew_failed; /* it failed: every write is refused (nothing more is tried on this image) */
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

/*
 * When may the disk be written?  Only when all of these hold; otherwise it is read-only (Media.ReadOnly) and the
 * console says why:
 *   - vdisk-write = yes (default no: the image changes only when its owner asked for it);
 *   - vhdxboot itself wrote this boot's session update: not check-only, the medium is writable, a random source
 *     gave real randomness, the image validated and matched its policy, a pending log was replayed;
 *   - no require-sha256 or require-data-write-guid pin: they say the content must stay what was sealed, and any
 *     write (it changes the DataWriteGuid) would make the next boot refuse the image;
 *   - not a differencing image: its blocks are mostly its parent's (which is never written), so the file system
 *     inside could only be written in patches.
 * A TPM measurement (PCR 9) records the image as validated, before the loader writes; the next boot measures the
 * new DataWriteGuid and content, so a secret sealed to PCR 9 also wants vdisk-write = no.
 */
int vdisk_writable(const struct boot_options *o, const struct vhdx_image *img, int updated)
{
	const char *why = NULL;
	if (!o->vdisk_write)
		why = "vdisk-write = no";
	else if (!updated)
		why = "vhdxboot wrote nothing this boot (check-only, read-only medium, no random source or a refusal)";
	else if (o->policy.have & (POLICY_SHA256 | POLICY_DATA_WRITE))
		why = "require-sha256/require-data-write-guid pin the content, which a write would change";
	else if (img->has_parent)
		why = "a differencing image (its parent is never written)";
	if (why && o->vdisk_write)
		con_say("virtual disk: vdisk-write = yes, but read-only: %s", why);
	return why == NULL;
}

/* The format's rule before the first user-visible write: a new DataWriteGuid, on the medium before the data. */
static EFI_STATUS renew_data_guid(struct vdisk *vd)
{
	struct vhdx_image *img = vd->img;
	uint8_t rnd[VHDX_PREPARE_RANDOM];
	const char *source = NULL;
	char before[VHDX_GUID_TEXT], after[VHDX_GUID_TEXT];

	vhdx_guid_format(&img->header[img->current].data_write_guid, before);
	if (EFI_ERROR(random_get(rnd, sizeof rnd, &source))) {
		con_say("virtual disk: no random source (%s): refusing writes (DataWriteGuid needs real randomness)",
			source);
		vd->renew_failed = 1;
		return EFI_WRITE_PROTECTED;
	}
	struct vhdx_prepare_report rep;
	vhdx_status vs = vhdx_prepare_write_data(img, rnd, &rep);
	memset(rnd, 0, sizeof rnd);
	if (vs != VHDX_OK) {
		con_say("virtual disk: session update (data) before the first write failed: %s: %s; refusing writes",
			vhdx_status_message(vs), img->msg);
		vd->renew_failed = 1;
		return EFI_DEVICE_ERROR;
	}
	vd->renewed = 1;
	vhdx_guid_format(&img->header[img->current].data_write_guid, after);
	con_say("virtual disk: first write: DataWriteGuid %s -> %s, sequence %llu -> %llu (random from %s)", before,
		after, (unsigned long long)rep.sequence_before,
		(unsigned long long)img->header[img->current].sequence, source);
	handoff_refresh(img);
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
	if (EFI_ERROR(st) || !size)
		return st;
	if (vd->renew_failed)
		return EFI_WRITE_PROTECTED;
	uint64_t off = (uint64_t)lba * vd->media.BlockSize;
	struct vhdx_write_refusal why;
	/* the blocks are checked before the DataWriteGuid changes: a refused write leaves every byte as it was */
	vhdx_status vs = vhdx_write(vd->img, off, buf, size, &why);
	if (vs == VHDX_E_STATE && !vd->renewed) {
		st = renew_data_guid(vd);
		if (EFI_ERROR(st))
			return st;
		vs = vhdx_write(vd->img, off, buf, size, &why);
	}
	if (vs != VHDX_OK) {
		EFI_STATUS ret = why.refused || vs == VHDX_E_READONLY ? EFI_WRITE_PROTECTED : EFI_DEVICE_ERROR;
		uint64_t *count = why.refused ? &vd->refused : &vd->errors;
		if ((*count)++ < 8) /* the first few say why; the summary counts the rest */
			con_say("virtual disk: write of %llu bytes at block %llu refused (%s): %s",
				(unsigned long long)size, (unsigned long long)lba, efi_status_name(ret),
				vd->img->msg);
		return ret;
	}
	/*
	 * Media.WriteCaching is FALSE: a write is durable when it returns.  The backend may cache (a VHDX file goes
	 * through the outer volume's FAT driver, which keeps dirty sectors until a flush, and nothing flushes them
	 * once the OS has called ExitBootServices), so every write is flushed; loaders write a few sectors per boot.
	 */
	vs = vhdx_write_flush(vd->img);
	if (vs != VHDX_OK) {
		if (vd->errors++ < 8)
			con_say("virtual disk: flush after the write at block %llu: %s: %s", (unsigned long long)lba,
				vhdx_status_message(vs), vd->img->msg);
		return EFI_DEVICE_ERROR;
	}
	vd->writes++;
	vd->write_bytes += size;
	return EFI_SUCCESS;
}

static EFI_STATUS EFIAPI vd_flush(EFI_BLOCK_IO_PROTOCOL *this)
{
	struct vdisk *vd = from_this(this);
	if (!vd)
		return EFI_INVALID_PARAMETER;
	if (vd->media.ReadOnly || !vd->renewed)
		return EFI_SUCCESS; /* nothing of ours was written */
	vhdx_status vs = vhdx_write_flush(vd->img);
	if (vs != VHDX_OK) {
		con_say("virtual disk: flush: %s: %s", vhdx_status_message(vs), vd->img->msg);
		return EFI_DEVICE_ERROR;
	}
	return EFI_SUCCESS;
}

EFI_STATUS vdisk_install(struct vdisk **out, struct vhdx_image *img, EFI_HANDLE parent_handle, int writable)
{
	*out = NULL;
	uint32_t bs = img->logical_sector_size;
	if ((bs != 512 && bs != 4096) || img->virtual_size < bs || img->virtual_size % bs) {
		con_say("virtual disk: cannot present %u-byte sectors over %llu bytes", bs,
			(unsigned long long)img->virtual_size);
		return EFI_UNSUPPORTED;
	}
	/* a differencing image reads through its parents (core/read.c); every level must be attached */
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
	vd->media.ReadOnly = writable ? FALSE : TRUE;
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
	con_say("virtual disk: %llu MiB, %u-byte sectors, %s, at %ls",
		(unsigned long long)(img->virtual_size >> 20), bs,
		writable ? "writable (present blocks, in place)" : "read-only", t);
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
	con_say("virtual disk: %llu reads, %llu KiB; %llu writes, %llu KiB; %llu writes refused",
		(unsigned long long)vd->reads, (unsigned long long)(vd->read_bytes >> 10),
		(unsigned long long)vd->writes, (unsigned long long)(vd->write_bytes >> 10),
		(unsigned long long)vd->refused);
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
