/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_mem.c - core/mem.c (build/core/mem.o, linked into this program under the standard names and compiled with
 * -fno-builtin, so every call below reaches it).  Each result is compared with a reference byte loop written with
 * volatile accesses so the compiler cannot turn it back into a call to the function under test.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "t.h"

#define BUF 512
#define GUARD 0xE7

static void ref_fill(uint8_t *p, size_t n, unsigned seed)
{
	volatile uint8_t *v = p;
	for (size_t i = 0; i < n; i++)
		v[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 3) + 1);
}

static void ref_set(uint8_t *p, int c, size_t n)
{
	volatile uint8_t *v = p;
	for (size_t i = 0; i < n; i++)
		v[i] = (uint8_t)c;
}

/* overlap-safe reference move through a separate temporary */
static void ref_move(uint8_t *d, const uint8_t *s, size_t n)
{
	uint8_t tmp[BUF];
	volatile uint8_t *t = tmp, *vd = d;
	const volatile uint8_t *vs = s;
	for (size_t i = 0; i < n; i++)
		t[i] = vs[i];
	for (size_t i = 0; i < n; i++)
		vd[i] = t[i];
}

static int ref_equal(const uint8_t *a, const uint8_t *b, size_t n, size_t *where)
{
	const volatile uint8_t *x = a, *y = b;
	for (size_t i = 0; i < n; i++) {
		if (x[i] != y[i]) {
			*where = i;
			return 0;
		}
	}
	return 1;
}

/* memcpy: lengths 0..64 and a few long ones, every source and destination misalignment 0..15 */
static void test_memcpy(void)
{
	static uint8_t src[BUF] __attribute__((aligned(64))), dst[BUF] __attribute__((aligned(64))),
		want[BUF] __attribute__((aligned(64)));
	static const size_t longs[] = { 255, 256, 257, 300, 400 };
	char why[VHDX_MSG_LEN + 128] = "";
	int ok = 1, ret_ok = 1;

	for (size_t li = 0; li < 65 + sizeof(longs) / sizeof(longs[0]) && ok; li++) {
		size_t n = li < 65 ? li : longs[li - 65];
		for (size_t so = 0; so < 16 && ok; so++) {
			for (size_t dof = 0; dof < 16 && ok; dof++) {
				size_t where;
				ref_fill(src, BUF, (unsigned)(n + so));
				ref_set(dst, GUARD, BUF);
				ref_set(want, GUARD, BUF);
				ref_move(want + dof, src + so, n);
				void *r = memcpy(dst + dof, src + so, n);
				if (r != dst + dof)
					ret_ok = 0;
				if (!ref_equal(dst, want, BUF, &where)) {
					snprintf(why, sizeof why, "len %zu src+%zu dst+%zu: byte %zu differs", n, so, dof,
						 where);
					ok = 0;
				}
			}
		}
	}
	t_report(ok, why, "memcpy: lengths 0..64 and 255..400, src/dst misalignment 0..15, match a byte loop, guards intact");
	CHECK(ret_ok, "memcpy: returns dst");
}

/* memmove: overlapping in both directions by every distance 1..40, lengths 0..64, misaligned starts */
static void test_memmove(void)
{
	static uint8_t buf[BUF] __attribute__((aligned(64))), want[BUF] __attribute__((aligned(64)));
	char why[2][VHDX_MSG_LEN + 128] = { "", "" };
	int ok[2] = { 1, 1 }, ret_ok = 1, same_ok = 1;

	for (size_t n = 0; n <= 64; n++) {
		for (size_t dist = 1; dist <= 40; dist++) {
			for (size_t base = 64; base < 64 + 9; base++) {
				for (int dir = 0; dir < 2; dir++) {
					/* dir 0: dst above src (backward copy needed); dir 1: dst below src */
					size_t s = dir ? base + dist : base, d = dir ? base : base + dist, where;
					if (!ok[dir])
						continue;
					ref_fill(buf, BUF, (unsigned)(n * 3 + dist));
					ref_move(want, buf, BUF);
					ref_move(want + d, want + s, n);
					void *r = memmove(buf + d, buf + s, n);
					if (r != buf + d)
						ret_ok = 0;
					if (!ref_equal(buf, want, BUF, &where)) {
						snprintf(why[dir], sizeof why[dir], "len %zu src %zu dst %zu: byte %zu differs", n,
							 s, d, where);
						ok[dir] = 0;
					}
				}
			}
		}
	}
	t_report(ok[0], why[0], "memmove: overlapping, dst above src (distances 1..40, lengths 0..64, misaligned)");
	t_report(ok[1], why[1], "memmove: overlapping, dst below src (distances 1..40, lengths 0..64, misaligned)");
	/* word-aligned overlap at distance 8 and 16, long lengths: the word path of memcpy must not be used wrongly */
	for (int dir = 0; dir < 2; dir++) {
		int good = 1;
		for (size_t dist = 8; dist <= 16; dist += 8) {
			size_t s = dir ? 64 + dist : 64, d = dir ? 64 : 64 + dist, n = 300, where;
			ref_fill(buf, BUF, (unsigned)dist);
			ref_move(want, buf, BUF);
			ref_move(want + d, want + s, n);
			memmove(buf + d, buf + s, n);
			if (!ref_equal(buf, want, BUF, &where))
				good = 0;
		}
		CHECK(good, "memmove: aligned overlap by 8 and 16 bytes, 300 bytes, %s", dir ? "dst below src" : "dst above src");
	}
	/* disjoint and identical */
	ref_fill(buf, BUF, 9);
	ref_move(want, buf, BUF);
	if (memmove(buf + 10, buf + 10, 100) != buf + 10)
		same_ok = 0;
	size_t where;
	CHECK(same_ok && ref_equal(buf, want, BUF, &where), "memmove: dst == src leaves the bytes and returns dst");
	ref_move(want + 300, want + 1, 150);
	memmove(buf + 300, buf + 1, 150);
	CHECK(ref_equal(buf, want, BUF, &where), "memmove: disjoint regions (dst above)");
	ref_move(want + 3, want + 301, 150);
	memmove(buf + 3, buf + 301, 150);
	CHECK(ref_equal(buf, want, BUF, &where), "memmove: disjoint regions (dst below)");
	CHECK(ret_ok, "memmove: returns dst");
}

static void test_memset(void)
{
	static uint8_t buf[BUF] __attribute__((aligned(64))), want[BUF] __attribute__((aligned(64)));
	static const int values[] = { 0, 0xFF, 0x5A, 0x1AB, -1, -2 };
	char why[VHDX_MSG_LEN + 128] = "";
	int ok = 1, ret_ok = 1;

	for (size_t vi = 0; vi < sizeof(values) / sizeof(values[0]); vi++) {
		for (size_t n = 0; n <= 64 && ok; n++) {
			for (size_t o = 0; o < 16 && ok; o++) {
				size_t where;
				ref_set(buf, GUARD, BUF);
				ref_set(want, GUARD, BUF);
				ref_set(want + o, values[vi], n);
				if (memset(buf + o, values[vi], n) != buf + o)
					ret_ok = 0;
				if (!ref_equal(buf, want, BUF, &where)) {
					snprintf(why, sizeof why, "value %d len %zu at +%zu: byte %zu differs", values[vi], n,
						 o, where);
					ok = 0;
				}
			}
		}
	}
	t_report(ok, why, "memset: values 0, 0xFF, 0x5A, 0x1AB (low byte used), -1, -2; lengths 0..64; offsets 0..15");
	CHECK(ret_ok, "memset: returns dst");
	ref_set(buf, 1, BUF);
	memset(buf + 3, 0x77, 400);
	int big = buf[2] == 1 && buf[3] == 0x77 && buf[402] == 0x77 && buf[403] == 1;
	CHECK(big, "memset: 400 bytes at an odd offset, neighbours untouched");
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static void test_memcmp(void)
{
	uint8_t a[80], b[80];
	int ok = 1;
	char why[VHDX_MSG_LEN + 128] = "";

	ref_fill(a, sizeof a, 3);
	ref_move(b, a, sizeof b);
	CHECK_EQ_INT(memcmp(a, b, sizeof a), 0, "memcmp: equal buffers give 0");
	CHECK_EQ_INT(memcmp(a, b, 0), 0, "memcmp: length 0 gives 0");
	/* unsigned comparison: 0x80 > 0x7F */
	a[5] = 0x80;
	b[5] = 0x7F;
	CHECK_EQ_INT(sign(memcmp(a, b, sizeof a)), 1, "memcmp: 0x80 vs 0x7F is positive (bytes compared unsigned)");
	CHECK_EQ_INT(sign(memcmp(b, a, sizeof a)), -1, "memcmp: 0x7F vs 0x80 is negative");
	a[5] = 0xFF;
	b[5] = 0x00;
	CHECK_EQ_INT(sign(memcmp(a, b, sizeof a)), 1, "memcmp: 0xFF vs 0x00 is positive");
	CHECK_EQ_INT(sign(memcmp(a, b, 5)), 0, "memcmp: a difference at index n is not looked at");
	/* the first difference decides, whatever comes later */
	ref_move(b, a, sizeof b);
	a[10] = 1;
	b[10] = 2;
	a[11] = 9;
	b[11] = 0;
	CHECK_EQ_INT(sign(memcmp(a, b, sizeof a)), -1, "memcmp: the first differing byte decides");
	/* a difference at every position 0..63 and every misalignment */
	for (size_t n = 1; n <= 64 && ok; n++) {
		for (size_t pos = 0; pos < n && ok; pos++) {
			ref_fill(a, sizeof a, (unsigned)n);
			ref_move(b, a, sizeof b);
			b[1 + pos] = (uint8_t)(a[1 + pos] + 1);
			int s1 = sign(memcmp(a + 1, b + 1, n)), s2 = sign(memcmp(b + 1, a + 1, n));
			int w = a[1 + pos] < b[1 + pos] ? -1 : 1;
			if (s1 != w || s2 != -w) {
				snprintf(why, sizeof why, "len %zu diff at %zu: got %d/%d", n, pos, s1, s2);
				ok = 0;
			}
		}
	}
	t_report(ok, why, "memcmp: a single difference at every position of lengths 1..64 (odd alignment), both orders");
}

int main(void)
{
	test_memcpy();
	test_memmove();
	test_memset();
	test_memcmp();
	return t_done();
}
