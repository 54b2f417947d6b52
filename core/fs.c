/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fs.c - which file system a partition holds, and the dispatch to its locator.
 *
 * The probe reads the first 4 KiB once and asks each locator's own superblock check (the same one its lookup
 * makes), so a partition the probe names is one the locator accepts as far as its first sectors go.  Two answers
 * are a refusal: a volume reformatted without wiping the old signature must not be read as the wrong one.
 */
#include "fsutil.h"

#define PROBE_BYTES 4096u
#define NTFS_OEM "NTFS    "

/*
 * NTFS is recognised here rather than by its locator: the OEM ID, the boot signature and a sane BPB (sector size
 * a power of two 256..4096, sectors per cluster a power of two or a negative shift, no FAT-only fields set).
 */
static int ntfs_recognise(const uint8_t *b, size_t len)
{
	uint32_t bps, spc;

	if (len < 512 || memcmp(b + 3, NTFS_OEM, 8) || b[510] != 0x55 || b[511] != 0xAA)
		return 0;
	bps = vhdx_le16(b + 11);
	spc = b[13];
	if (bps < 256 || bps > 4096 || (bps & (bps - 1)))
		return 0;
	if (spc <= 0x80 ? (spc == 0 || (spc & (spc - 1))) : (256u - spc) > 31)
		return 0;
	return !vhdx_le16(b + 14) && !b[16] && !vhdx_le16(b + 17) && !vhdx_le16(b + 19) && !vhdx_le16(b + 22);
}

const char *vhdx_fs_kind_name(enum vhdx_fs_kind kind)
{
	switch (kind) {
	case VHDX_FS_FAT:
		return "fat32";
	case VHDX_FS_EXFAT:
		return "exfat";
	case VHDX_FS_NTFS:
		return "ntfs";
	case VHDX_FS_EXT4:
		return "ext4";
	default:
		return "unknown";
	}
}

vhdx_status vhdx_fs_probe(const struct vhdx_io *part, enum vhdx_fs_kind *kind, char msg[256])
{
	static const struct {
		enum vhdx_fs_kind kind;
		int (*test)(const uint8_t *first, size_t len);
	} tests[] = {
		{ VHDX_FS_EXFAT, vhdx_exfat_recognise },
		{ VHDX_FS_NTFS, ntfs_recognise },
		{ VHDX_FS_FAT, vhdx_fat_recognise },
		{ VHDX_FS_EXT4, vhdx_ext4_recognise },
	};
	uint8_t first[PROBE_BYTES];
	size_t len = part->size < PROBE_BYTES ? (size_t)part->size : PROBE_BYTES;
	unsigned hits = 0;

	*kind = VHDX_FS_UNKNOWN;
	msg[0] = 0;
	memset(first, 0, sizeof(first));
	if (len && part->read(part->ctx, 0, first, len)) {
		vhdx_fmt(msg, 256, "partition: reading its first %zu bytes failed", len);
		return VHDX_E_IO;
	}
	for (unsigned i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (!tests[i].test(first, len))
			continue;
		if (hits++)
			vhdx_fmt(msg, 256, "partition: its first sectors are both a %s and a %s volume; refusing to guess",
				 vhdx_fs_kind_name(*kind), vhdx_fs_kind_name(tests[i].kind));
		else
			*kind = tests[i].kind;
	}
	if (hits > 1) {
		*kind = VHDX_FS_UNKNOWN;
		return VHDX_OK;
	}
	if (!hits)
		vhdx_fmt(msg, 256, "partition: %zu bytes hold no FAT32, exFAT, NTFS or ext4 boot sector or superblock", len);
	return VHDX_OK;
}

vhdx_status vhdx_fs_locate(const struct vhdx_io *part, const char *path, struct vhdx_fs_file *out)
{
	enum vhdx_fs_kind kind;
	vhdx_status st;

	vhdx_fsu_reset(out, VHDX_FS_UNKNOWN);
	if (!path || (out->extent_max && !out->extents))
		return vhdx_fsu_fail(out, VHDX_E_ARG, "locate: no path, or extent_max %u with no extents array",
				     out->extent_max);
	st = vhdx_fs_probe(part, &kind, out->msg);
	if (st)
		return st;
	switch (kind) {
	case VHDX_FS_FAT:
		st = vhdx_fat_locate(part, path, out);
		break;
	case VHDX_FS_EXFAT:
		st = vhdx_exfat_locate(part, path, out);
		break;
	case VHDX_FS_NTFS:
		st = vhdx_ntfs_locate(part, path, out);
		break;
	case VHDX_FS_EXT4:
		st = vhdx_ext4_locate(part, path, out);
		break;
	default:
		return VHDX_E_UNSUPPORTED;
	}
	/* the probe's read counts too: the figures are what the whole lookup cost */
	out->reads++;
	out->bytes_read += part->size < PROBE_BYTES ? part->size : PROBE_BYTES;
	return st;
}
