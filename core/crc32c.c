/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * crc32c.c - CRC-32C (Castagnoli, reflected 0x82F63B78).  A slicing-by-16 table path for any CPU and an SSE4.2
 * path picked at run time, because header and log checksums are on the boot path and the BAT scan is not the
 * only thing a 16 TiB image makes slow.
 */
#include "internal.h"

#define CRC32C_POLY 0x82F63B78U

static uint32_t table[16][256];
static int table_ready;

static void make_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ ((c & 1) ? CRC32C_POLY : 0);
		table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++) {
		for (int t = 1; t < 16; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xFF];
	}
	table_ready = 1;
}

uint32_t vhdx_crc32c_portable(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t c = ~crc;

	if (!table_ready)
		make_table();
	while (len && ((uintptr_t)p & 7)) {
		c = (c >> 8) ^ table[0][(c ^ *p++) & 0xFF];
		len--;
	}
	while (len >= 16) {
		uint32_t w0 = c ^ vhdx_le32(p), w1 = vhdx_le32(p + 4), w2 = vhdx_le32(p + 8), w3 = vhdx_le32(p + 12);
		c = table[15][w0 & 0xFF] ^ table[14][(w0 >> 8) & 0xFF] ^ table[13][(w0 >> 16) & 0xFF] ^
		    table[12][w0 >> 24] ^ table[11][w1 & 0xFF] ^ table[10][(w1 >> 8) & 0xFF] ^
		    table[9][(w1 >> 16) & 0xFF] ^ table[8][w1 >> 24] ^ table[7][w2 & 0xFF] ^
		    table[6][(w2 >> 8) & 0xFF] ^ table[5][(w2 >> 16) & 0xFF] ^ table[4][w2 >> 24] ^
		    table[3][w3 & 0xFF] ^ table[2][(w3 >> 8) & 0xFF] ^ table[1][(w3 >> 16) & 0xFF] ^ table[0][w3 >> 24];
		p += 16;
		len -= 16;
	}
	while (len--)
		c = (c >> 8) ^ table[0][(c ^ *p++) & 0xFF];
	return ~c;
}

#if defined(__x86_64__) || defined(__i386__)
static int have_sse42 = -1;

static void cpuid1(uint32_t *ecx)
{
	uint32_t a = 1, b, c = 0, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	*ecx = c;
}

int vhdx_crc32c_have_sse42(void)
{
	if (have_sse42 < 0) {
		uint32_t ecx;
		cpuid1(&ecx);
		have_sse42 = (ecx >> 20) & 1;
	}
	return have_sse42;
}

/*
 * The crc32 instruction has a latency of about three cycles but issues every cycle, so three independent streams
 * over three equal stripes run about three times faster than one.  The stripes' results are joined with the
 * "advance over STRIPE zero bytes" operator, which is linear and so tabulated once from 32 basis vectors.
 */
#if defined(__x86_64__) /* the striped loop needs the 64-bit crc32; 32-bit builds take the plain loop */
#define STRIPE 4096
static uint32_t shift_table[4][256];
static int shift_ready;

__attribute__((target("sse4.2"))) static uint32_t zeros_sse42(uint32_t c, size_t len)
{
	uint64_t c64 = c;

	for (; len >= 8; len -= 8)
		c64 = __builtin_ia32_crc32di(c64, 0);
	return (uint32_t)c64;
}

static void make_shift_table(void)
{
	uint32_t basis[32];

	for (int j = 0; j < 32; j++)
		basis[j] = zeros_sse42(1u << j, STRIPE);
	for (int k = 0; k < 4; k++) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t v = 0;
			for (int j = 0; j < 8; j++)
				if (i & (1u << j))
					v ^= basis[8 * k + j];
			shift_table[k][i] = v;
		}
	}
	shift_ready = 1;
}

static uint32_t shift(uint32_t c)
{
	return shift_table[0][c & 0xFF] ^ shift_table[1][(c >> 8) & 0xFF] ^ shift_table[2][(c >> 16) & 0xFF] ^
	       shift_table[3][c >> 24];
}
#endif

__attribute__((target("sse4.2"))) uint32_t vhdx_crc32c_sse42(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t c = ~crc;

	while (len && ((uintptr_t)p & 7)) {
		c = __builtin_ia32_crc32qi(c, *p++);
		len--;
	}
#if defined(__x86_64__)
	if (len >= 3 * STRIPE && !shift_ready)
		make_shift_table();
	for (; len >= 3 * STRIPE; len -= 3 * STRIPE, p += 3 * STRIPE) {
		uint64_t a = c, b = 0, d = 0;
		for (size_t i = 0; i < STRIPE; i += 8) {
			a = __builtin_ia32_crc32di(a, vhdx_le64(p + i));
			b = __builtin_ia32_crc32di(b, vhdx_le64(p + STRIPE + i));
			d = __builtin_ia32_crc32di(d, vhdx_le64(p + 2 * STRIPE + i));
		}
		c = shift(shift((uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)d;
	}
	{
		uint64_t c64 = c;
		while (len >= 8) {
			c64 = __builtin_ia32_crc32di(c64, vhdx_le64(p));
			p += 8;
			len -= 8;
		}
		c = (uint32_t)c64;
	}
#else
	while (len >= 4) {
		c = __builtin_ia32_crc32si(c, vhdx_le32(p));
		p += 4;
		len -= 4;
	}
#endif
	while (len--)
		c = __builtin_ia32_crc32qi(c, *p++);
	return ~c;
}
#else
int vhdx_crc32c_have_sse42(void)
{
	return 0;
}

uint32_t vhdx_crc32c_sse42(uint32_t crc, const void *buf, size_t len)
{
	return vhdx_crc32c_portable(crc, buf, len);
}
#endif

uint32_t vhdx_crc32c(uint32_t crc, const void *buf, size_t len)
{
	if (vhdx_crc32c_have_sse42())
		return vhdx_crc32c_sse42(crc, buf, len);
	if (vhdx_crc32c_have_armv8())
		return vhdx_crc32c_armv8(crc, buf, len);
	return vhdx_crc32c_portable(crc, buf, len);
}

uint32_t vhdx_struct_crc(const void *buf, size_t len, size_t csum_off)
{
	static const uint8_t zero[4];
	uint32_t c = vhdx_crc32c(0, buf, csum_off);

	c = vhdx_crc32c(c, zero, 4);
	return vhdx_crc32c(c, (const uint8_t *)buf + csum_off + 4, len - csum_off - 4);
}
