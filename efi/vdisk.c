/* vdisk.c - placeholder until the virtual Block I/O device lands (issue 4). */
#include "boot.h"

struct vdisk {
	int unused;
};

EFI_STATUS vdisk_install(struct vdisk **out, struct vhdx_image *img, EFI_HANDLE parent_handle)
{
	(void)img;
	(void)parent_handle;
	*out = NULL;
	con_say("booting from inside the image is not available yet");
	return EFI_UNSUPPORTED;
}

EFI_STATUS vdisk_boot(struct vdisk *vd, const CHAR16 *path, const CHAR16 *args)
{
	(void)vd;
	(void)path;
	(void)args;
	return EFI_UNSUPPORTED;
}

void vdisk_uninstall(struct vdisk *vd)
{
	(void)vd;
}
