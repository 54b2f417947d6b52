/*
 * ntfs.c - placeholder for the NTFS locator, so that the branch bringing FAT32, exFAT and ext4 links on its own.
 * The real locator replaces this file whole; the probe (fs.c) already recognises NTFS.
 */
#include "fsutil.h"

vhdx_status vhdx_ntfs_locate(const struct vhdx_io *part, const char *path, struct vhdx_fs_file *out)
{
	(void)part;
	(void)path;
	vhdx_fsu_reset(out, VHDX_FS_NTFS);
	return vhdx_fsu_fail(out, VHDX_E_UNSUPPORTED, "NTFS locator not built in");
}
