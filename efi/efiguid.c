/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * efiguid.c - the protocol and file-information GUIDs the module asks the firmware for, defined once: a protocol
 * lookup takes a pointer to an EFI_GUID, so each one is an object rather than a macro expanded in every file.
 */
#include "boot.h"

EFI_GUID g_guid_loaded_image = EFI_LOADED_IMAGE_PROTOCOL_GUID;
EFI_GUID g_guid_device_path = EFI_DEVICE_PATH_PROTOCOL_GUID;
EFI_GUID g_guid_block_io = EFI_BLOCK_IO_PROTOCOL_GUID;
EFI_GUID g_guid_simple_fs = EFI_SIMPLE_FILE_SYSTEM_PROTOCOL_GUID;
EFI_GUID g_guid_file_info = EFI_FILE_INFO_ID;
EFI_GUID g_guid_fs_info = EFI_FILE_SYSTEM_INFO_ID;
EFI_GUID g_guid_rng = EFI_RNG_PROTOCOL_GUID;
EFI_GUID g_guid_shell_params = EFI_SHELL_PARAMETERS_PROTOCOL_GUID;
EFI_GUID g_guid_dp_to_text = EFI_DEVICE_PATH_TO_TEXT_PROTOCOL_GUID;
