/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hwrngfill.c - bytes from a CPU's 64-bit random instruction (hwrng_x86.c: RDRAND, hwrng_aa64.c: RNDR), shared by
 * both so the check for a stuck generator is written once.  Kept apart from random.c, which calls hwrng_get: the
 * instruction files call this, and neither calls back.
 */
#include "boot.h"

/* a generator returning the same value this many times in a row is stuck, whatever its flags say */
#define HWRNG_MAX_REPEATS 2

EFI_STATUS hwrng_fill(uint8_t *out, UINTN len, int (*next)(uint64_t *v))
{
	uint64_t prev = 0;
	int same = 0;
	for (UINTN i = 0; i < len; i += 8) {
		uint64_t v;
		if (next(&v))
			return EFI_DEVICE_ERROR;
		/* some broken parts return the same value (all ones) forever and still report success */
		if (i && v == prev && ++same >= HWRNG_MAX_REPEATS)
			return EFI_DEVICE_ERROR;
		prev = v;
		for (UINTN j = 0; j < 8 && i + j < len; j++)
			out[i + j] = (uint8_t)(v >> (8 * j));
	}
	return EFI_SUCCESS;
}
