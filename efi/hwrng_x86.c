/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hwrng_x86.c - RDRAND on x86_64 and ia32, the fallback random source of random.c when the firmware has no
 * EFI_RNG_PROTOCOL.  Used only when CPUID says the instruction exists; a failing or stuck generator is an error,
 * never a reason to return weaker bytes.
 */
#include "boot.h"

#if defined(__x86_64__) || defined(__i386__)

#define CPUID_LEAF_FEATURES 1
#define CPUID_ECX_RDRAND (1u << 30)
/* Intel's guidance: retry a handful of times; the carry flag says whether the value is good */
#define RDRAND_RETRIES 10

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *c)
{
	uint32_t b, d;
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(b), "=c"(*c), "=d"(d) : "a"(leaf), "c"(0));
}

static int cpu_has_rdrand(void)
{
	uint32_t a, c;
	cpuid(0, &a, &c);
	if (a < CPUID_LEAF_FEATURES)
		return 0;
	cpuid(CPUID_LEAF_FEATURES, &a, &c);
	return (c & CPUID_ECX_RDRAND) != 0;
}

/* one native word (64 bits on x86_64, 32 on ia32); 0 on success */
static int rdrand_word(UINTN *v)
{
	for (int i = 0; i < RDRAND_RETRIES; i++) {
		unsigned char ok;
		UINTN x;
		__asm__ volatile("rdrand %0; setc %1" : "=r"(x), "=qm"(ok) : : "cc");
		if (ok) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

static int rdrand64(uint64_t *v)
{
	uint64_t acc = 0;
	for (unsigned got = 0; got < 64; got += 8 * sizeof(UINTN)) {
		UINTN w;
		if (rdrand_word(&w))
			return -1;
		acc |= (uint64_t)w << got;
	}
	*v = acc;
	return 0;
}

EFI_STATUS hwrng_get(uint8_t *out, UINTN len)
{
	if (!cpu_has_rdrand())
		return EFI_UNSUPPORTED;
	return hwrng_fill(out, len, rdrand64);
}

#endif
