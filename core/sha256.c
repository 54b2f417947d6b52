/*
 * sha256.c - SHA-256 as FIPS 180-4 defines it (sections 4.1.2, 4.2.2, 5.1.1, 5.3.3, 6.2), written for the
 * freestanding core: no tables beyond the 64 round constants, no allocation, any alignment of the input.
 * The boot module hashes whole virtual disks with it (require-sha256) and the measurement event, so the host tool
 * and the firmware must produce the same bytes from the same code.
 */
#include "internal.h"

/* The first 32 bits of the fractional parts of the cube roots of the first 64 primes (FIPS 180-4, 4.2.2). */
static const uint32_t round_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

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
 * One 512-bit block (FIPS 180-4, 6.2.2).  The whole 64-word message schedule is expanded first (256 bytes of
 * stack), so the 64 rounds run without a branch; the round itself is written out once and the loop unrolled by
 * eight with the working variables rotating through the macro arguments instead of being shifted by copies.
 */
#define SIGMA0(x) (rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22))
#define SIGMA1(x) (rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25))
#define SMALL0(x) (rotr(x, 7) ^ rotr(x, 18) ^ ((x) >> 3))
#define SMALL1(x) (rotr(x, 17) ^ rotr(x, 19) ^ ((x) >> 10))
#define ROUND(a, b, c, d, e, f, g, h, t)                                                                           \
	do {                                                                                                       \
		uint32_t t1 = (h) + SIGMA1(e) + (((e) & (f)) ^ (~(e) & (g))) + round_k[t] + w[t];                \
		uint32_t t2 = SIGMA0(a) + (((a) & (b)) ^ ((a) & (c)) ^ ((b) & (c)));                             \
		(d) += t1;                                                                                         \
		(h) = t1 + t2;                                                                                     \
	} while (0)

static void compress(uint32_t h[8], const uint8_t block[VHDX_SHA256_BLOCK])
{
	uint32_t w[64];
	for (unsigned t = 0; t < 16; t++)
		w[t] = load_be32(block + 4 * t);
	for (unsigned t = 16; t < 64; t++)
		w[t] = SMALL1(w[t - 2]) + w[t - 7] + SMALL0(w[t - 15]) + w[t - 16];

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
		compress(c->h, c->buf);
		c->fill = 0;
	}
	/* whole blocks straight from the caller's buffer: no copy on the bulk path */
	for (; len >= VHDX_SHA256_BLOCK; p += VHDX_SHA256_BLOCK, len -= VHDX_SHA256_BLOCK)
		compress(c->h, p);
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
		compress(c->h, c->buf);
		c->fill = 0;
	}
	memset(c->buf + c->fill, 0, VHDX_SHA256_BLOCK - SHA256_LENGTH_FIELD - c->fill);
	store_be32(c->buf + VHDX_SHA256_BLOCK - 8, (uint32_t)(bits >> 32));
	store_be32(c->buf + VHDX_SHA256_BLOCK - 4, (uint32_t)bits);
	compress(c->h, c->buf);
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
