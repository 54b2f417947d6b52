/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sha256cpu.h - what the SHA-256 compression paths share: the round constants (FIPS 180-4, 4.2.2) and the
 * paths' entry points, for core/sha256.c (the portable path and the dispatcher), core/sha256_x86.c (SHA-NI) and
 * core/sha256_armv8.c (the ARMv8 SHA-2 instructions).  Core-internal: outside the core the path is chosen with
 * vhdx_sha256_set_impl (core/vhdx.h), never called directly.
 * The table is static in this header, not a shared symbol, so the CPU paths call and reference nothing in the
 * dispatcher's file (tests/shape/layers.sh refuses a cycle).  The vector paths load it four words at a time.
 */
#ifndef VHDX_SHA256CPU_H
#define VHDX_SHA256CPU_H

#include <stdint.h>

static const uint32_t vhdx_sha256_k[64] __attribute__((aligned(16), unused)) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* Each compresses n whole 64-byte blocks at p (any alignment) into the state h (FIPS 180-4, 6.2.2). */
void vhdx_sha256_blocks_portable(uint32_t h[8], const uint8_t *p, size_t n);
void vhdx_sha256_blocks_shani(uint32_t h[8], const uint8_t *p, size_t n); /* only if vhdx_sha256_have_shani() */
void vhdx_sha256_blocks_armv8(uint32_t h[8], const uint8_t *p, size_t n); /* only if vhdx_sha256_have_armv8() */
/* The CPU paths' run-time detection: 1 when the instructions are there (read once, then remembered). */
int vhdx_sha256_have_shani(void);
int vhdx_sha256_have_armv8(void);

#endif
