/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tcg2.h - EFI_TCG2_PROTOCOL, as the TCG EFI Protocol Specification (family 2.0, revision 1.22) defines it.
 * gnu-efi 3.0.15 has no TCG2 definitions, so the module (efi/measure.c) and the test application that reads the
 * event log back (tests/tools/payload/tcglog.c) share these.  Names carry a VHDX_ prefix so a later gnu-efi that
 * defines the real ones does not collide.  The event structures are packed; the capability structure is not.
 */
#ifndef VHDXBOOT_TCG2_H
#define VHDXBOOT_TCG2_H

#include <efi.h>

#define VHDX_TCG2_PROTOCOL_GUID                                                                                    \
	{ 0x607f766c, 0x7455, 0x42be, { 0x93, 0x0b, 0xe4, 0xd7, 0x6d, 0xb2, 0x72, 0x0f } }

#define VHDX_TCG2_EVENT_LOG_FORMAT_TCG_2 0x00000002 /* crypto-agile log */
#define VHDX_TCG2_EVENT_HEADER_VERSION 1
#define VHDX_EV_NO_ACTION 0x00000003u
#define VHDX_TPM_ALG_SHA1 0x0004
#define VHDX_TPM_ALG_SHA256 0x000B
#define VHDX_TPM_ALG_SHA384 0x000C
#define VHDX_TPM_ALG_SHA512 0x000D
#define VHDX_TPM_ALG_SM3_256 0x0012

/* naturally aligned, as EDK2 declares it (Size is 36 on x86_64): not packed */
typedef struct {
	UINT8 Major;
	UINT8 Minor;
} VHDX_TCG2_VERSION;

typedef struct {
	UINT8 Size;
	VHDX_TCG2_VERSION StructureVersion;
	VHDX_TCG2_VERSION ProtocolVersion;
	UINT32 HashAlgorithmBitmap;
	UINT32 SupportedEventLogs;
	BOOLEAN TPMPresentFlag;
	UINT16 MaxCommandSize;
	UINT16 MaxResponseSize;
	UINT32 ManufacturerID;
	UINT32 NumberOfPcrBanks;
	UINT32 ActivePcrBanks;
} VHDX_TCG2_BOOT_SERVICE_CAPABILITY;

#pragma pack(push, 1)
typedef struct {
	UINT32 HeaderSize; /* sizeof this header: 14 */
	UINT16 HeaderVersion;
	UINT32 PCRIndex;
	UINT32 EventType;
} VHDX_TCG2_EVENT_HEADER;

typedef struct {
	UINT32 Size; /* the whole structure: 4 + header + event data */
	VHDX_TCG2_EVENT_HEADER Header;
	UINT8 Event[];
} VHDX_TCG2_EVENT;
#pragma pack(pop)

typedef struct vhdx_tcg2_protocol VHDX_TCG2_PROTOCOL;
struct vhdx_tcg2_protocol {
	EFI_STATUS(EFIAPI *GetCapability)(VHDX_TCG2_PROTOCOL *This, VHDX_TCG2_BOOT_SERVICE_CAPABILITY *Capability);
	EFI_STATUS(EFIAPI *GetEventLog)(VHDX_TCG2_PROTOCOL *This, UINT32 EventLogFormat,
					EFI_PHYSICAL_ADDRESS *EventLogLocation, EFI_PHYSICAL_ADDRESS *EventLogLastEntry,
					BOOLEAN *EventLogTruncated);
	EFI_STATUS(EFIAPI *HashLogExtendEvent)(VHDX_TCG2_PROTOCOL *This, UINT64 Flags, EFI_PHYSICAL_ADDRESS DataToHash,
					       UINT64 DataToHashLen, VHDX_TCG2_EVENT *EfiTcgEvent);
	EFI_STATUS(EFIAPI *SubmitCommand)(VHDX_TCG2_PROTOCOL *This, UINT32 InputParameterBlockSize,
					  UINT8 *InputParameterBlock, UINT32 OutputParameterBlockSize,
					  UINT8 *OutputParameterBlock);
	void *GetActivePcrBanks;
	void *SetActivePcrBanks;
	void *GetResultOfSetActivePcrBanks;
};

#endif
