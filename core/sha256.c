/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sha256.c - SHA-256 as FIPS 180-4 defines it (sections 4.1.2, 4.2.2, 5.1.1, 5.3.3, 6.2), written for the
 * freestanding core: no tables beyond the 64 round constants, no allocation, any alignment of the input.
 * The boot module hashes whole virtual disks with it (require-sha256) and the measurement event, so the host tool
 * and the firmware must produce the same bytes from the same code.  The block compression has three paths: the
 * portable C below, the x86 SHA extensions (core/sha256_x86.c) and the ARMv8 SHA-2 instructions
 * (core/sha256_armv8.c), picked at run time; padding, buffering and the length are this file's alone.
 */
#include "internal.h"
#include "sha256cpu.h"

/* The first 32 bits of the fractional parts of the square roots of the first 8 primes (FIPS 180-4, 5.3.3). */
static const uint32_t initial_h[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#define SHA256_LENGTH_FIELD 8 /* the message length in bits, big-endian, closes the padding */

static inline uint32_t rotr(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * The portable path: one 512-bit block at a time (FIPS 180-4, 6.2.2).  The whole 64-word message schedule is
 * expanded first (256 bytes of stack), so the 64 rounds run without a branch; the round itself is written out
 * once and the loop unrolled by eight with the working variables rotating through the macro arguments instead
 * of being shifted by copies.
 */
#define SIGMA0(x) (rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22))
#define SIGMA1(x) (rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25))
#define SMALL0(x) (rotr(x, 7) ^ rotr(x, 18) ^ ((x) >> 3))
#define SMALL1(x) (rotr(x, 17) ^ rotr(x, 19) ^ ((x) >> 10))
#define ROUND(a, b, c, d, e, f, g, h, t)                                                                           \
	do {                                                                                                       \
		uint32_t t1 = (h) + SIGMA1(e) + (((e) & (f)) ^ (~(e) & (g))) + vhdx_sha256_k[t] + w[t];                \
		uint32_t t2 = SIGMA0(a) + (((a) & (b)) ^ ((a) & (c)) ^ ((b) & (c)));                             \
		(d) += t1;                                                                                         \
		(h) = t1 + t2;                                                                                     \
	} while (0)

/* The 64 rounds over an expanded schedule w. */
static void rounds(uint32_t h[8], const uint32_t w[64])
{
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
	for (unsigned t = 0; t < 64; t += 8) {
		ROUND(a, b, c, d, e, f, g, k, t);
		ROUND(k, a, b, c, d, e, f, g, t + 1);
		ROUND(g, k, a, b, c, d, e, f, t + 2);
		ROUND(f, g, k, a, b, c, d, e, t + 3);
		ROUND(e, f, g, k, a, b, c, d, t + 4);
		ROUND(d, e, f, g, k, a, b, c, t + 5);
		ROUND(c, d, e, f, g, k, a, b, t + 6);
		ROUND(b, c, d, e, f, g, k, a, t + 7);
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += k;
}

static void compress(uint32_t h[8], const uint8_t *block)
{
	uint32_t w[64];
	for (unsigned t = 0; t < 16; t++)
		w[t] = load_be32(block + 4 * t);
	for (unsigned t = 16; t < 64; t++)
		w[t] = SMALL1(w[t - 2]) + w[t - 7] + SMALL0(w[t - 15]) + w[t - 16];
	rounds(h, w);
}

void vhdx_sha256_blocks_portable(uint32_t h[8], const uint8_t *p, size_t n)
{
	for (; n; n--, p += VHDX_SHA256_BLOCK)
		compress(h, p);
}

/*
 * The path in use: chosen at the first hash from what the CPU reports (as vhdx_crc32c does), or forced by
 * vhdx_sha256_set_impl.  Every path computes the same function; the tests hold them to each other.
 */
static int impl = -1; /* enum vhdx_sha256_impl, -1 until chosen */

static int impl_available(enum vhdx_sha256_impl which)
{
	switch (which) {
	case VHDX_SHA256_PORTABLE: return 1;
	case VHDX_SHA256_SHANI: return vhdx_sha256_have_shani();
	case VHDX_SHA256_ARMV8: return vhdx_sha256_have_armv8();
	default: return 0;
	}
}

static enum vhdx_sha256_impl best_impl(void)
{
	if (vhdx_sha256_have_shani())
		return VHDX_SHA256_SHANI;
	if (vhdx_sha256_have_armv8())
		return VHDX_SHA256_ARMV8;
	return VHDX_SHA256_PORTABLE;
}

enum vhdx_sha256_impl vhdx_sha256_get_impl(void)
{
	if (impl < 0)
		impl = (int)best_impl();
	return (enum vhdx_sha256_impl)impl;
}

int vhdx_sha256_set_impl(enum vhdx_sha256_impl which)
{
	if (which == VHDX_SHA256_AUTO)
		which = best_impl();
	if (!impl_available(which))
		return -1;
	impl = (int)which;
	return 0;
}

const char *vhdx_sha256_impl_name(enum vhdx_sha256_impl which)
{
	switch (which) {
	case VHDX_SHA256_AUTO: return "auto";
	case VHDX_SHA256_PORTABLE: return "portable";
	case VHDX_SHA256_SHANI: return "sha-ni";
	case VHDX_SHA256_ARMV8: return "armv8";
	}
	return "unknown";
}

static void blocks(uint32_t h[8], const uint8_t *p, size_t n)
{
	switch (vhdx_sha256_get_impl()) {
	case VHDX_SHA256_SHANI: vhdx_sha256_blocks_shani(h, p, n); break;
	case VHDX_SHA256_ARMV8: vhdx_sha256_blocks_armv8(h, p, n); break;
	default: vhdx_sha256_blocks_portable(h, p, n); break;
	}
}

/* A block of zeros has an all-zero message schedule (sigma0 and sigma1 of zero are zero), so the portable path
 * skips the expansion for it: the unread blocks of a sparse disk hash about a third faster. */
static const uint32_t zero_schedule[64];
static const uint8_t zero_blocks[16 * VHDX_SHA256_BLOCK];

static void zero_blocks_hash(uint32_t h[8], uint64_t n)
{
	if (vhdx_sha256_get_impl() == VHDX_SHA256_PORTABLE) {
		for (; n; n--)
			rounds(h, zero_schedule);
		return;
	}
	for (uint64_t step = sizeof zero_blocks / VHDX_SHA256_BLOCK; n; n -= step) {
		if (step > n)
			step = n;
		blocks(h, zero_blocks, (size_t)step);
	}
}

void vhdx_sha256_zeros(struct vhdx_sha256 *c, uint64_t n)
{
	if (c->fill) { /* top up the waiting block first */
		size_t take = VHDX_SHA256_BLOCK - c->fill;
		if (take > n) {
			vhdx_sha256_update(c, zero_blocks, (size_t)n);
			return;
		}
		vhdx_sha256_update(c, zero_blocks, take);
		n -= take;
	}
	c->bytes += n / VHDX_SHA256_BLOCK * VHDX_SHA256_BLOCK;
	zero_blocks_hash(c->h, n / VHDX_SHA256_BLOCK);
	vhdx_sha256_update(c, zero_blocks, (size_t)(n % VHDX_SHA256_BLOCK));
}

void vhdx_sha256_init(struct vhdx_sha256 *c)
{
	memcpy(c->h, initial_h, sizeof c->h);
	c->bytes = 0;
	c->fill = 0;
}

void vhdx_sha256_update(struct vhdx_sha256 *c, const void *data, size_t len)
{
	const uint8_t *p = data;

	c->bytes += len;
	if (c->fill) {
		size_t take = VHDX_SHA256_BLOCK - c->fill;
		if (take > len)
			take = len;
		memcpy(c->buf + c->fill, p, take);
		c->fill += take;
		p += take;
		len -= take;
		if (c->fill < VHDX_SHA256_BLOCK)
			return;
		blocks(c->h, c->buf, 1);
		c->fill = 0;
	}
	/* whole blocks straight from the caller's buffer, in one call: no copy, no dispatch per block */
	if (len >= VHDX_SHA256_BLOCK) {
		size_t whole = len / VHDX_SHA256_BLOCK;
		blocks(c->h, p, whole);
		p += whole * VHDX_SHA256_BLOCK;
		len -= whole * VHDX_SHA256_BLOCK;
	}
	if (len) {
		memcpy(c->buf, p, len);
		c->fill = len;
	}
}

/* Padding (FIPS 180-4, 5.1.1): a 1 bit, zeros up to 56 bytes mod 64, then the length in bits, big-endian. */
void vhdx_sha256_final(struct vhdx_sha256 *c, uint8_t out[VHDX_SHA256_SIZE])
{
	uint64_t bits = c->bytes * 8;

	c->buf[c->fill++] = 0x80;
	if (c->fill > VHDX_SHA256_BLOCK - SHA256_LENGTH_FIELD) {
		memset(c->buf + c->fill, 0, VHDX_SHA256_BLOCK - c->fill);
		blocks(c->h, c->buf, 1);
		c->fill = 0;
	}
	memset(c->buf + c->fill, 0, VHDX_SHA256_BLOCK - SHA256_LENGTH_FIELD - c->fill);
	store_be32(c->buf + VHDX_SHA256_BLOCK - 8, (uint32_t)(bits >> 32));
	store_be32(c->buf + VHDX_SHA256_BLOCK - 4, (uint32_t)bits);
	blocks(c->h, c->buf, 1);
	for (unsigned i = 0; i < 8; i++)
		store_be32(out + 4 * i, c->h[i]);
	/* the state says something about the message: leave none of it behind */
	memset(c, 0, sizeof *c);
}

void vhdx_sha256(const void *data, size_t len, uint8_t out[VHDX_SHA256_SIZE])
{
	struct vhdx_sha256 c;
	vhdx_sha256_init(&c);
	vhdx_sha256_update(&c, data, len);
	vhdx_sha256_final(&c, out);
}

void vhdx_sha256_hex(const uint8_t digest[VHDX_SHA256_SIZE], char out[VHDX_SHA256_HEX])
{
	static const char hex[] = "0123456789abcdef";
	for (unsigned i = 0; i < VHDX_SHA256_SIZE; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[2 * VHDX_SHA256_SIZE] = 0;
}

int vhdx_sha256_parse_hex(const char *text, size_t len, uint8_t out[VHDX_SHA256_SIZE])
{
	if (len != 2 * VHDX_SHA256_SIZE)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char ch = text[i];
		unsigned v;
		if (ch >= '0' && ch <= '9')
			v = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v = (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			v = (unsigned)(ch - 'A' + 10);
		else
			return -1;
		if (i & 1)
			out[i / 2] = (uint8_t)(out[i / 2] | v);
		else
			out[i / 2] = (uint8_t)(v << 4);
	}
	return 0;
}
