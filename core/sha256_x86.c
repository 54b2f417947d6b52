/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sha256_x86.c - SHA-256 compression with the x86 SHA extensions (sha256rnds2, sha256msg1, sha256msg2), for
 * x86_64 and ia32 firmware and hosts.
 *
 * The extensions are optional (CPUID leaf 7, EBX bit 29), so their presence is read at run time, as for the
 * CRC-32C instruction in core/crc32c.c.  The core is freestanding, so the CPUID is inline assembly (no cpuid.h)
 * and the vector operations are the compiler's builtins (no immintrin.h, which pulls in the C library's
 * stdlib.h); only this file's compression function is compiled for SHA and SSE4.1, so the rest of the core
 * still runs on any x86 CPU.  On ia32 the same code runs in the eight XMM registers the 32-bit mode has.
 *
 * The instructions keep the state as two vectors, {A,B,E,F} and {C,D,G,H}; sha256rnds2 does two rounds from
 * the low two words of its third operand (message word + round constant), so four rounds are two calls with
 * the upper pair moved down in between.  The message schedule runs four words at a time beside the rounds:
 * msg1 adds sigma0, the words seven back come from a byte shift across two vectors, msg2 adds sigma1.
 */
#include "internal.h"
#include "sha256cpu.h"

#if defined(__x86_64__) || defined(__i386__)

/* CPUID.(EAX=7,ECX=0):EBX bit 29 = SHA; CPUID.1:ECX bit 9 = SSSE3 (pshufb, palignr), bit 19 = SSE4.1 (pblendw) */
#define CPUID_LEAF_FEATURES 1
#define CPUID_LEAF_EXTENDED 7
#define CPUID1_ECX_SSSE3 (1u << 9)
#define CPUID1_ECX_SSE41 (1u << 19)
#define CPUID7_EBX_SHA (1u << 29)

static int have_shani = -1;

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	uint32_t a = leaf, b, c = sub, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	r[0] = a;
	r[1] = b;
	r[2] = c;
	r[3] = d;
}

int vhdx_sha256_have_shani(void)
{
	if (have_shani < 0) {
		uint32_t r0[4], r1[4], r7[4];
		cpuid(0, 0, r0); /* EAX: the highest basic leaf; leaf 7 is only meaningful if it is there */
		if (r0[0] < CPUID_LEAF_EXTENDED) {
			have_shani = 0;
			return 0;
		}
		cpuid(CPUID_LEAF_FEATURES, 0, r1);
		cpuid(CPUID_LEAF_EXTENDED, 0, r7);
		have_shani = (r7[1] & CPUID7_EBX_SHA) && (r1[2] & CPUID1_ECX_SSSE3) && (r1[2] & CPUID1_ECX_SSE41);
	}
	return have_shani;
}

typedef int v4si __attribute__((vector_size(16)));
typedef int v4si_u __attribute__((vector_size(16), aligned(1), may_alias)); /* any alignment of the input */
typedef long long v2di __attribute__((vector_size(16)));
typedef short v8hi __attribute__((vector_size(16)));
typedef char v16qi __attribute__((vector_size(16)));

/* Macros, not functions: a vector argument or result would make the 32-bit ABI depend on SSE being enabled. */
#define SHUF32(v, imm) __builtin_ia32_pshufd((v), (imm))
#define BLEND16(a, b, imm) ((v4si)__builtin_ia32_pblendw128((v8hi)(a), (v8hi)(b), (imm)))
#define BSWAP32(v, mask) ((v4si)__builtin_ia32_pshufb128((v16qi)(v), (mask)))
#if defined(__clang__)
#define ALIGNR(a, b, bytes) ((v4si)__builtin_ia32_palignr128((v16qi)(a), (v16qi)(b), (bytes)))
#else
#define ALIGNR(a, b, bytes) ((v4si)__builtin_ia32_palignr128((v2di)(a), (v2di)(b), 8 * (bytes))) /* bit count */
#endif

/* pshufd immediates: 0xB1 swaps the words of each pair, 0x1B reverses all four, 0x0E moves the upper pair down */
#define SWAP_PAIRS 0xB1
#define REVERSE 0x1B
#define UPPER_DOWN 0x0E
#define HIGH_HALF 0xF0 /* pblendw: the upper four 16-bit lanes from the second operand */

__attribute__((target("sha,sse4.1"))) void vhdx_sha256_blocks_shani(uint32_t h[8], const uint8_t *p, size_t n)
{
	/* pshufb mask: reverse the bytes of each 32-bit word (the message is big-endian) */
	const v16qi be = { 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12 };
	v4si dcba = *(const v4si_u *)h, hgfe = *(const v4si_u *)(h + 4);
	v4si cdab = SHUF32(dcba, SWAP_PAIRS);
	v4si efgh = SHUF32(hgfe, REVERSE);
	v4si abef = ALIGNR(cdab, efgh, 8);
	v4si cdgh = BLEND16(efgh, cdab, HIGH_HALF);

	for (; n; n--, p += VHDX_SHA256_BLOCK) {
		v4si abef0 = abef, cdgh0 = cdgh, m[4];
		for (int g = 0; g < 4; g++)
			m[g] = BSWAP32(*(const v4si_u *)(p + 16 * g), be);
		/* sixteen groups of four rounds; group g >= 4 first makes its words from the four groups before */
#pragma GCC unroll 16
		for (int g = 0; g < 16; g++) {
			if (g >= 4) {
				v4si w = __builtin_ia32_sha256msg1(m[g & 3], m[(g + 1) & 3]);
				w += ALIGNR(m[(g + 3) & 3], m[(g + 2) & 3], 4);
				m[g & 3] = __builtin_ia32_sha256msg2(w, m[(g + 3) & 3]);
			}
			v4si wk = m[g & 3] + *(const v4si *)(vhdx_sha256_k + 4 * g);
			cdgh = __builtin_ia32_sha256rnds2(cdgh, abef, wk);
			abef = __builtin_ia32_sha256rnds2(abef, cdgh, SHUF32(wk, UPPER_DOWN));
		}
		abef += abef0;
		cdgh += cdgh0;
	}

	v4si feba = SHUF32(abef, REVERSE);
	v4si dchg = SHUF32(cdgh, SWAP_PAIRS);
	*(v4si_u *)h = BLEND16(feba, dchg, HIGH_HALF);
	*(v4si_u *)(h + 4) = ALIGNR(dchg, feba, 8);
}

#else /* not x86: the names exist everywhere, so callers need no #if; never chosen here */

int vhdx_sha256_have_shani(void)
{
	return 0;
}

void vhdx_sha256_blocks_shani(uint32_t h[8], const uint8_t *p, size_t n)
{
	(void)h;
	(void)p;
	(void)n;
}

#endif
