/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * crcbench.c - CRC-32C throughput of the core's portable path and of its hardware paths (SSE4.2 on x86, the ARMv8
 * CRC32 instructions on aarch64) over a 64 MiB buffer.
 *
 * Usage: crcbench [MiB] [reps]     (defaults 64 MiB, 9 repetitions; the median is reported)
 * Output, one line per path:  crc32c <path> <GB/s> GB/s (median of N, best B GB/s) crc=<value>
 *                             crc32c <path> unavailable (...)     for a hardware path this CPU lacks
 * Exit 1 if a known answer is wrong or two paths disagree.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vhdx.h"

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

/* the hardware paths; each says at run time whether this CPU has it */
static const struct {
	const char *name;
	int (*have)(void);
	crc_fn fn;
	const char *lacking;
} hw[] = {
	{ "sse42", vhdx_crc32c_have_sse42, vhdx_crc32c_sse42, "no SSE4.2 on this CPU" },
	{ "armv8", vhdx_crc32c_have_armv8, vhdx_crc32c_armv8, "no ARMv8 CRC32 instructions on this CPU" },
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static uint32_t run(const char *name, crc_fn fn, const uint8_t *buf, size_t len, int reps)
{
	double *t = calloc((size_t)reps, sizeof *t);
	uint32_t crc = 0;

	if (!t)
		exit(2);
	crc = fn(0, buf, len); /* warm-up: page in, settle the clock */
	for (int i = 0; i < reps; i++) {
		double t0 = now();
		uint32_t c = fn(0, buf, len);
		t[i] = now() - t0;
		if (c != crc) {
			printf("crc32c %s: results differ between runs\n", name);
			exit(1);
		}
	}
	qsort(t, (size_t)reps, sizeof *t, cmp_double);
	printf("crc32c %s %.2f GB/s (median of %d, best %.2f GB/s) crc=%08x\n", name, (double)len / t[reps / 2] / 1e9,
	       reps, (double)len / t[0] / 1e9, crc);
	free(t);
	return crc;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 64;
	int reps = argc > 2 ? atoi(argv[2]) : 9;
	size_t len = mib << 20;
	uint8_t *buf;
	uint64_t x = 0x9E3779B97F4A7C15ULL;
	int bad = 0;

	if (mib == 0 || reps < 1) {
		fprintf(stderr, "usage: crcbench [MiB] [reps]\n");
		return 2;
	}
	buf = aligned_alloc(64, len);
	if (!buf)
		return 2;
	for (size_t i = 0; i < len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + i, &x, 8);
	}
	/* known answers (and an unaligned tail) before timing anything */
	if (vhdx_crc32c_portable(0, "123456789", 9) != 0xE3069283U) {
		printf("crc32c portable: wrong known answer\n");
		bad = 1;
	}
	for (size_t i = 0; i < sizeof hw / sizeof hw[0]; i++) {
		if (!hw[i].have())
			continue;
		if (hw[i].fn(0, "123456789", 9) != 0xE3069283U) {
			printf("crc32c %s: wrong known answer\n", hw[i].name);
			bad = 1;
		}
		if (hw[i].fn(0, buf + 3, 100003) != vhdx_crc32c_portable(0, buf + 3, 100003)) {
			printf("crc32c: portable and %s disagree on an unaligned buffer\n", hw[i].name);
			bad = 1;
		}
	}
	uint32_t p = run("portable", vhdx_crc32c_portable, buf, len, reps);
	for (size_t i = 0; i < sizeof hw / sizeof hw[0]; i++) {
		if (!hw[i].have()) {
			printf("crc32c %s unavailable (%s)\n", hw[i].name, hw[i].lacking);
			continue;
		}
		uint32_t h = run(hw[i].name, hw[i].fn, buf, len, reps);
		if (h != p) {
			printf("crc32c: portable %08x and %s %08x disagree\n", p, hw[i].name, h);
			bad = 1;
		}
	}
	free(buf);
	return bad;
}
