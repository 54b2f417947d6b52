/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sha256bench.c - SHA-256 throughput of the core (core/sha256.c) over the bytes of a file held in memory, for
 * comparison with `sha256sum` on the same file (tests/bench/sha256.sh).
 *
 * Usage: sha256bench FILE [reps]     (default 5 repetitions; the median is reported)
 * Output: "sha256 core <MB/s> MB/s (median of N, best B MB/s) digest=<hex>" for the path the core picks, then
 * "sha256 path <name> <MB/s> MB/s (...) digest=<hex>" for every path this CPU has (portable, sha-ni, armv8),
 * forced with vhdx_sha256_set_impl; by CPU time (the bench machine is shared, so wall time would measure the
 * neighbours).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vhdx.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: sha256bench FILE [reps]\n");
		return 2;
	}
	int reps = argc > 2 ? atoi(argv[2]) : 5;
	if (reps < 1 || reps > 100)
		reps = 5;
	FILE *f = fopen(argv[1], "rb");
	if (!f || fseek(f, 0, SEEK_END)) {
		perror(argv[1]);
		return 2;
	}
	long len = ftell(f);
	rewind(f);
	uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "sha256bench: %s: cannot read %ld bytes\n", argv[1], len);
		return 2;
	}
	fclose(f);
	double *t = calloc((size_t)reps, sizeof *t);
	static const enum vhdx_sha256_impl paths[] = { VHDX_SHA256_AUTO, VHDX_SHA256_PORTABLE, VHDX_SHA256_SHANI,
						       VHDX_SHA256_ARMV8 };
	for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
		if (vhdx_sha256_set_impl(paths[p]))
			continue; /* not on this CPU */
		uint8_t d[VHDX_SHA256_SIZE];
		for (int i = 0; i < reps; i++) {
			double t0 = now();
			vhdx_sha256(buf, (size_t)len, d);
			t[i] = now() - t0;
		}
		qsort(t, (size_t)reps, sizeof *t, cmp_double);
		char hex[VHDX_SHA256_HEX], label[40];
		vhdx_sha256_hex(d, hex);
		snprintf(label, sizeof label, p ? "path %s" : "core", vhdx_sha256_impl_name(vhdx_sha256_get_impl()));
		printf("sha256 %s %.0f MB/s (median of %d, best %.0f MB/s) digest=%s\n", label,
		       (double)len / t[reps / 2] / 1e6, reps, (double)len / t[0] / 1e6, hex);
	}
	free(t);
	free(buf);
	return 0;
}
