/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * statusmap.c - the core's vhdx_status as the EFI_STATUS the module returns to its caller (a boot manager or the
 * shell), chosen so that the firmware's own name for the status says roughly what went wrong.
 */
#include "boot.h"

EFI_STATUS efi_status_of(vhdx_status st)
{
	switch (st) {
	case VHDX_OK:
		return EFI_SUCCESS;
	case VHDX_E_IO:
		return EFI_DEVICE_ERROR;
	case VHDX_E_NOMEM:
		return EFI_OUT_OF_RESOURCES;
	case VHDX_E_ARG:
		return EFI_INVALID_PARAMETER;
	case VHDX_E_CORRUPT:
		return EFI_VOLUME_CORRUPTED;
	case VHDX_E_UNSUPPORTED:
		return EFI_UNSUPPORTED;
	case VHDX_E_READONLY:
		return EFI_WRITE_PROTECTED;
	case VHDX_E_LOG_PENDING:
		return EFI_NOT_READY;
	case VHDX_E_SEQUENCE:
		return EFI_VOLUME_FULL;
	case VHDX_E_RANGE:
		return EFI_END_OF_MEDIA;
	default:
		return EFI_ABORTED;
	}
}
