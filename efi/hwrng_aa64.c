/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hwrng_aa64.c - RNDR on aarch64 (FEAT_RNG), the fallback random source of random.c when the firmware has no
 * EFI_RNG_PROTOCOL.  Used only when ID_AA64ISAR0_EL1.RNDR says the instruction exists (reading an ID register is
 * allowed at EL1 and EL2, where firmware runs); a failing or stuck generator is an error, never a reason to
 * return weaker bytes.
 */
#include "boot.h"

#if defined(__aarch64__)

/* ID_AA64ISAR0_EL1 bits 63:60: 0 = no RNDR, 1 = RNDR and RNDRRS implemented */
#define ISAR0_RNDR_SHIFT 60
#define ISAR0_FIELD_MASK 0xFu
/* RNDR reports a transient failure (NZCV = 0100, value 0) when the entropy source is busy: retry a few times */
#define RNDR_RETRIES 10

static int cpu_has_rndr(void)
{
	uint64_t isar0;
	__asm__ volatile("mrs %0, id_aa64isar0_el1" : "=r"(isar0));
	return ((isar0 >> ISAR0_RNDR_SHIFT) & ISAR0_FIELD_MASK) >= 1;
}

static int rndr64(uint64_t *v)
{
	for (int i = 0; i < RNDR_RETRIES; i++) {
		uint64_t x, failed;
		/* s3_3_c2_c4_0 is RNDR; spelled as the system register encoding so any assembler takes it */
		__asm__ volatile("mrs %0, s3_3_c2_c4_0\n\tcset %1, eq" : "=r"(x), "=r"(failed) : : "cc");
		if (!failed) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

EFI_STATUS hwrng_get(uint8_t *out, UINTN len)
{
	if (!cpu_has_rndr())
		return EFI_UNSUPPORTED;
	return hwrng_fill(out, len, rndr64);
}

#endif
