/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * random.c - random bytes for the new FileWriteGuid: EFI_RNG_PROTOCOL (the firmware's default algorithm) on every
 * architecture, else the CPU's own instruction where the CPU says it exists (RDRAND on x86, RNDR on aarch64:
 * hwrng_*.c).  Nothing weaker: without either source the caller writes nothing.
 */
#include "boot.h"

/* EFI_NOT_READY: the source has no entropy yet; give it a moment, a bounded number of times */
#define RNG_NOT_READY_TRIES 20
#define RNG_NOT_READY_STALL_US (10 * 1000)

static EFI_STATUS from_rng_protocol(uint8_t *out, UINTN len)
{
	EFI_RNG_PROTOCOL *rng = NULL;
	EFI_STATUS st = g_bs->LocateProtocol(&g_guid_rng, NULL, (void **)&rng);
	if (EFI_ERROR(st) || !rng)
		return EFI_NOT_FOUND;
	for (int tries = 0; tries < RNG_NOT_READY_TRIES; tries++) {
		st = rng->GetRNG(rng, NULL, len, out);
		if (st != EFI_NOT_READY)
			break;
		g_bs->Stall(RNG_NOT_READY_STALL_US);
	}
	return st;
}

EFI_STATUS random_get(uint8_t *out, UINTN len, const char **source)
{
	EFI_STATUS st = from_rng_protocol(out, len);
	if (!EFI_ERROR(st)) {
		*source = "EFI_RNG_PROTOCOL";
		return EFI_SUCCESS;
	}
	if (st != EFI_NOT_FOUND)
		con_say("EFI_RNG_PROTOCOL failed: %s; trying " EFIARCH_HWRNG, efi_status_name(st));
	st = hwrng_get(out, len);
	if (!EFI_ERROR(st)) {
		*source = EFIARCH_HWRNG;
		return EFI_SUCCESS;
	}
	*source = st == EFI_UNSUPPORTED ? "none (no EFI_RNG_PROTOCOL, no " EFIARCH_HWRNG ")"
					: "none (" EFIARCH_HWRNG " failed)";
	memset(out, 0, len);
	return EFI_NOT_FOUND;
}
