/* SPDX-License-Identifier: BSD-2-Clause */
/* format.h - on-disk constants of MS-VHDX 1.0.  Offsets are byte offsets from the start of each structure. */
#ifndef VHDX_FORMAT_H
#define VHDX_FORMAT_H

#define VHDX_KiB 1024ULL
#define VHDX_MiB (1024ULL * 1024ULL)
#define VHDX_TiB (VHDX_MiB * VHDX_MiB)

/* file layout */
#define VHDX_IDENT_OFFSET 0ULL
#define VHDX_IDENT_SIGNATURE 0x656C696678646876ULL /* "vhdxfile" */
#define VHDX_IDENT_CREATOR 8
#define VHDX_IDENT_CREATOR_LEN 512
#define VHDX_HEADER1_OFFSET (64 * VHDX_KiB)
#define VHDX_HEADER2_OFFSET (128 * VHDX_KiB)
#define VHDX_HEADER_SIZE 4096
#define VHDX_REGION1_OFFSET (192 * VHDX_KiB)
#define VHDX_REGION2_OFFSET (256 * VHDX_KiB)
#define VHDX_REGION_SIZE (64 * 1024)
#define VHDX_HEADER_AREA VHDX_MiB /* the first MiB holds only the above */

/* header */
#define VHDX_HDR_SIGNATURE 0x64616568U /* "head" */
#define VHDX_HDR_SIG 0
#define VHDX_HDR_CHECKSUM 4
#define VHDX_HDR_SEQUENCE 8
#define VHDX_HDR_FILE_WRITE 16
#define VHDX_HDR_DATA_WRITE 32
#define VHDX_HDR_LOG_GUID 48
#define VHDX_HDR_LOG_VERSION 64
#define VHDX_HDR_VERSION 66
#define VHDX_HDR_LOG_LENGTH 68
#define VHDX_HDR_LOG_OFFSET 72

/* region table */
#define VHDX_RGN_SIGNATURE 0x69676572U /* "regi" */
#define VHDX_RGN_CHECKSUM 4
#define VHDX_RGN_COUNT 8
#define VHDX_RGN_ENTRIES 16
#define VHDX_RGN_ENTRY_SIZE 32
#define VHDX_RGN_MAX_ENTRIES 2047
/* one region table entry: GUID, then these */
#define VHDX_RGNE_FILE_OFFSET 16
#define VHDX_RGNE_LENGTH 24
#define VHDX_RGNE_FLAGS 28
#define VHDX_RGN_REQUIRED 1U

/* metadata */
#define VHDX_META_SIGNATURE 0x617461646174656DULL /* "metadata" */
#define VHDX_META_COUNT 10
#define VHDX_META_ENTRIES 32
#define VHDX_META_ENTRY_SIZE 32
/* one metadata table entry: item GUID, then these */
#define VHDX_METAE_OFFSET 16
#define VHDX_METAE_LENGTH 20
#define VHDX_METAE_FLAGS 24
#define VHDX_META_MAX_ENTRIES 2047
#define VHDX_META_TABLE_SIZE (64 * 1024)
#define VHDX_META_MAX_ITEM VHDX_MiB
#define VHDX_META_IS_USER 1U
#define VHDX_META_IS_VDISK 2U
#define VHDX_META_IS_REQUIRED 4U
#define VHDX_FP_LEAVE_ALLOCATED 1U
#define VHDX_FP_HAS_PARENT 2U
#define VHDX_MAX_VIRTUAL_SIZE (64 * VHDX_TiB)
#define VHDX_MIN_BLOCK VHDX_MiB
#define VHDX_MAX_BLOCK (256 * VHDX_MiB)

/* BAT */
#define VHDX_BAT_ENTRY_SIZE 8 /* bytes of one BAT entry */
#define VHDX_BAT_STATE_MASK 7ULL
#define VHDX_BAT_OFFSET_MASK 0xFFFFFFFFFFF00000ULL
#define VHDX_BAT_RESERVED_MASK 0x00000000000FFFF8ULL
#define VHDX_CHUNK_SECTORS (1ULL << 23) /* sectors one sector bitmap block covers (a count of sectors, not bytes) */

/* log */
#define VHDX_LOG_ENTRY_SIGNATURE 0x65676F6CU /* "loge" */
#define VHDX_LOG_DESC_SIGNATURE 0x63736564U  /* "desc" */
#define VHDX_LOG_ZERO_SIGNATURE 0x6F72657AU  /* "zero" */
#define VHDX_LOG_DATA_SIGNATURE 0x61746164U  /* "data" */
#define VHDX_LOG_SECTOR 4096
#define VHDX_LOG_HEADER_SIZE 64
#define VHDX_LOG_DESC_SIZE 32
/* log entry header fields (offsets inside the entry's first sector) */
#define VHDX_LOGE_SIG 0
#define VHDX_LOGE_CHECKSUM 4
#define VHDX_LOGE_LENGTH 8
#define VHDX_LOGE_TAIL 12
#define VHDX_LOGE_SEQUENCE 16
#define VHDX_LOGE_DESC_COUNT 24
#define VHDX_LOGE_LOG_GUID 32
#define VHDX_LOGE_FLUSHED 48
#define VHDX_LOGE_LAST 56
/* log descriptor fields (zero and data descriptors share the layout; a data descriptor keeps the sector's
 * trailing 4 bytes at 4 and its leading 8 bytes at 8, where a zero descriptor has its length) */
#define VHDX_LOGD_SIG 0
#define VHDX_LOGD_TRAILING 4
#define VHDX_LOGD_LEADING 8
#define VHDX_LOGD_ZERO_LENGTH 8
#define VHDX_LOGD_FILE_OFFSET 16
#define VHDX_LOGD_SEQUENCE 24
/* log data sector fields: the sequence number's high half after the signature, its low half at the end */
#define VHDX_LOGS_SIG 0
#define VHDX_LOGS_SEQ_HIGH 4
#define VHDX_LOGS_SEQ_LOW (VHDX_LOG_SECTOR - 4)
#define VHDX_LOGS_DATA 8 /* 4084 bytes of data between the two halves */

/* well-known GUIDs, as {data1, data2, data3, {data4}} */
#define VHDX_GUID_BAT { 0x2DC27766, 0xF623, 0x4200, { 0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08 } }
#define VHDX_GUID_METADATA { 0x8B7CA206, 0x4790, 0x4B9A, { 0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E } }
#define VHDX_GUID_FILE_PARAMS { 0xCAA16737, 0xFA36, 0x4D43, { 0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B } }
#define VHDX_GUID_VDISK_SIZE { 0x2FA54224, 0xCD1B, 0x4876, { 0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8 } }
#define VHDX_GUID_PAGE83 { 0xBECA12AB, 0xB2E6, 0x4523, { 0x93, 0xEF, 0xC3, 0x09, 0xE0, 0x00, 0xC7, 0x46 } }
#define VHDX_GUID_LOGICAL_SECTOR { 0x8141BF1D, 0xA96F, 0x4709, { 0xBA, 0x47, 0xF2, 0x33, 0xA8, 0xFA, 0xAB, 0x5F } }
#define VHDX_GUID_PHYSICAL_SECTOR { 0xCDA348C7, 0x445D, 0x4471, { 0x9C, 0xC9, 0xE9, 0x88, 0x52, 0x51, 0xC5, 0x56 } }
#define VHDX_GUID_PARENT_LOCATOR { 0xA8D35F2D, 0xB30B, 0x454D, { 0xAB, 0xF7, 0xD3, 0xD8, 0x48, 0x34, 0xAB, 0x0C } }
#define VHDX_GUID_PARENT_TYPE { 0xB04AEFB7, 0xD19E, 0x4A81, { 0xB7, 0x89, 0x25, 0xB8, 0xE9, 0x44, 0x59, 0x13 } }

#endif
