/* SPDX-License-Identifier: BSD-2-Clause */
/* imageopen.c - opening and closing an image for a subcommand, with the failure reported the one way (cli.c). */
#include <string.h>

#include "host.h"

int host_image_open(struct host_file *f, struct vhdx_image *img, const char *path, int mode, int *opened)
{
	vhdx_status st;
	int e;

	memset(img, 0, sizeof(*img));
	*opened = 0;
	e = host_file_open(f, path, mode);
	if (e)
		return host_open_failed(path, e);
	*opened = 1;
	st = vhdx_open(img, &f->io);
	if (st) {
		e = host_report(path, st, img->msg, f);
		vhdx_close(img);
		host_file_close(f);
		return e;
	}
	return 0;
}

void host_image_close(struct host_file *f, struct vhdx_image *img)
{
	vhdx_close(img);
	host_file_close(f);
}

void host_print_warnings(const char *name, const struct vhdx_image *img)
{
	unsigned i;

	for (i = 0; i < img->warnings && i < VHDX_MAX_WARNINGS; i++)
		host_error(name, "warning: %s", img->warning[i]);
}
