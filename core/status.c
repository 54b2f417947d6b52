/* SPDX-License-Identifier: BSD-2-Clause */
/* status.c - one message per status, and the failure/warning bookkeeping of an image. */
#include "internal.h"

static const char *const messages[VHDX_STATUS_COUNT] = {
	[VHDX_OK] = "success",
	[VHDX_E_IO] = "I/O error",
	[VHDX_E_NOMEM] = "out of memory",
	[VHDX_E_ARG] = "invalid argument",
	[VHDX_E_CORRUPT] = "image is corrupt",
	[VHDX_E_UNSUPPORTED] = "image uses an unsupported feature",
	[VHDX_E_READONLY] = "image is on read-only media",
	[VHDX_E_LOG_PENDING] = "image has a log that must be replayed",
	[VHDX_E_SEQUENCE] = "header sequence number cannot be raised",
	[VHDX_E_RANGE] = "access beyond the end of the virtual disk",
	[VHDX_E_STATE] = "image is not open and validated",
	[VHDX_E_NOTFOUND] = "not found",
};

const char *vhdx_status_message(vhdx_status st)
{
	if ((unsigned)st >= VHDX_STATUS_COUNT)
		return "unknown status";
	return messages[st];
}

vhdx_status vhdx_fail(struct vhdx_image *img, vhdx_status st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vhdx_vfmt(img->msg, sizeof(img->msg), fmt, ap);
	va_end(ap);
	return st;
}

void vhdx_warn(struct vhdx_image *img, const char *fmt, ...)
{
	va_list ap;

	if (img->warnings >= VHDX_MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	vhdx_vfmt(img->warning[img->warnings], VHDX_MSG_LEN, fmt, ap);
	va_end(ap);
	img->warnings++;
}
