/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * crc32c_armv8.c - CRC-32C with the ARMv8 CRC32 instructions (crc32cb/crc32cx), for aarch64 firmware and hosts.
 *
 * The instructions are optional in ARMv8.0 (mandatory from ARMv8.1), so their presence is read at run time from
 * ID_AA64ISAR0_EL1.CRC32.  The core is freestanding, so there is no getauxval(): the register is read with `mrs`,
 * which firmware (EL1/EL2) may do directly and which Linux (since 4.11) and QEMU's user mode emulate for EL0
 * programs.  Only this function is compiled with the CRC extension, so the rest of the core still runs on any
 * ARMv8.0 CPU.
 */
#include "internal.h"

#if defined(__aarch64__)

/* ID_AA64ISAR0_EL1 bits 19:16: 0 = no CRC32 instructions, 1 = CRC32 and CRC32C present */
#define ISAR0_CRC32_SHIFT 16
#define ISAR0_FIELD_MASK 0xFu

#if defined(__clang__)
#define CRC_TARGET __attribute__((target("crc")))
#define CRC32C_BYTE(c, v) __builtin_arm_crc32cb((c), (v))
#define CRC32C_DWORD(c, v) __builtin_arm_crc32cd((c), (v))
#else
#define CRC_TARGET __attribute__((target("+crc")))
#define CRC32C_BYTE(c, v) __builtin_aarch64_crc32cb((c), (v))
#define CRC32C_DWORD(c, v) __builtin_aarch64_crc32cx((c), (v))
#endif

static int have_armv8 = -1;

int vhdx_crc32c_have_armv8(void)
{
	if (have_armv8 < 0) {
		uint64_t isar0;
		__asm__ volatile("mrs %0, id_aa64isar0_el1" : "=r"(isar0));
		have_armv8 = ((isar0 >> ISAR0_CRC32_SHIFT) & ISAR0_FIELD_MASK) >= 1;
	}
	return have_armv8;
}

CRC_TARGET uint32_t vhdx_crc32c_armv8(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t c = ~crc;

	while (len && ((uintptr_t)p & 7)) {
		c = CRC32C_BYTE(c, *p++);
		len--;
	}
	/* four doublewords a round: the loop overhead, not the instruction, is what limits a one-word loop */
	for (; len >= 32; len -= 32, p += 32) {
		c = CRC32C_DWORD(c, vhdx_le64(p));
		c = CRC32C_DWORD(c, vhdx_le64(p + 8));
		c = CRC32C_DWORD(c, vhdx_le64(p + 16));
		c = CRC32C_DWORD(c, vhdx_le64(p + 24));
	}
	for (; len >= 8; len -= 8, p += 8)
		c = CRC32C_DWORD(c, vhdx_le64(p));
	while (len--)
		c = CRC32C_BYTE(c, *p++);
	return ~c;
}

#else /* not aarch64: the name exists everywhere, so callers need no #if; it is never chosen here */

int vhdx_crc32c_have_armv8(void)
{
	return 0;
}

/*
 * Bit at a time, so this file calls nothing in crc32c.c (the dispatcher calls here: a call back would be a cycle
 * between the two files, which tests/shape/layers.sh refuses).  Slow, but never chosen where it is compiled.
 */
uint32_t vhdx_crc32c_armv8(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t c = ~crc;

	while (len--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
	}
	return ~c;
}

#endif
