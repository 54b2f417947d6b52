/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sha256_armv8.c - SHA-256 compression with the ARMv8 SHA-2 instructions (sha256h, sha256h2, sha256su0,
 * sha256su1), for aarch64 firmware and hosts.
 *
 * The instructions are optional (the Cryptographic Extension), so their presence is read at run time from
 * ID_AA64ISAR0_EL1.SHA2 with `mrs`, as core/crc32c_armv8.c does for CRC32: firmware may read the register
 * directly, and Linux (since 4.11) and QEMU's user mode emulate it for EL0 programs.  Only this file's
 * compression function is compiled with the extension, so the rest of the core still runs on any ARMv8.0 CPU.
 * arm_neon.h is the compiler's own header (it includes nothing from a C library), so the freestanding core may
 * use it.
 *
 * The state is two vectors, {A,B,C,D} and {E,F,G,H}; sha256h/sha256h2 do four rounds from four message words
 * plus round constants; su0 adds sigma0 of the schedule, su1 the words seven back and sigma1.
 */
#include "internal.h"
#include "sha256cpu.h"

#if defined(__aarch64__)
#include <arm_neon.h>

/* ID_AA64ISAR0_EL1 bits 15:12: 0 = no SHA-2 instructions, 1 = SHA-256, 2 = SHA-256 and SHA-512 */
#define ISAR0_SHA2_SHIFT 12
#define ISAR0_FIELD_MASK 0xFu

#if defined(__clang__)
#define SHA2_TARGET __attribute__((target("sha2")))
#else
/* +crypto, not +sha2: arm_neon.h declares the intrinsics under +crypto, and GCC inlines them only into a
 * function whose extensions include theirs */
#define SHA2_TARGET __attribute__((target("arch=armv8-a+crypto")))
#endif

static int have_armv8 = -1;

int vhdx_sha256_have_armv8(void)
{
	if (have_armv8 < 0) {
		uint64_t isar0;
		__asm__ volatile("mrs %0, id_aa64isar0_el1" : "=r"(isar0));
		have_armv8 = ((isar0 >> ISAR0_SHA2_SHIFT) & ISAR0_FIELD_MASK) >= 1;
	}
	return have_armv8;
}

SHA2_TARGET void vhdx_sha256_blocks_armv8(uint32_t h[8], const uint8_t *p, size_t n)
{
	uint32x4_t abcd = vld1q_u32(h), efgh = vld1q_u32(h + 4);

	for (; n; n--, p += VHDX_SHA256_BLOCK) {
		uint32x4_t abcd0 = abcd, efgh0 = efgh, m[4];
		for (int g = 0; g < 4; g++) /* the message is big-endian: reverse the bytes of each word */
			m[g] = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(p + 16 * g)));
		/* sixteen groups of four rounds; group g >= 4 first makes its words from the four groups before */
#pragma GCC unroll 16
		for (int g = 0; g < 16; g++) {
			if (g >= 4)
				m[g & 3] = vsha256su1q_u32(vsha256su0q_u32(m[g & 3], m[(g + 1) & 3]), m[(g + 2) & 3],
							   m[(g + 3) & 3]);
			uint32x4_t wk = vaddq_u32(m[g & 3], vld1q_u32(vhdx_sha256_k + 4 * g));
			uint32x4_t abcd_before = abcd;
			abcd = vsha256hq_u32(abcd, efgh, wk);
			efgh = vsha256h2q_u32(efgh, abcd_before, wk);
		}
		abcd = vaddq_u32(abcd, abcd0);
		efgh = vaddq_u32(efgh, efgh0);
	}
	vst1q_u32(h, abcd);
	vst1q_u32(h + 4, efgh);
}

#else /* not aarch64: the names exist everywhere, so callers need no #if; never chosen here */

int vhdx_sha256_have_armv8(void)
{
	return 0;
}

void vhdx_sha256_blocks_armv8(uint32_t h[8], const uint8_t *p, size_t n)
{
	(void)h;
	(void)p;
	(void)n;
}

#endif
