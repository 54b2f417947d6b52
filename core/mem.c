/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mem.c - the four memory functions.  Firmware has no libc, yet the compiler emits calls to these for struct
 * copies and zeroing, so the core carries its own under the standard names.  The host build leaves this file out
 * of the core library and uses libc's.
 */
#include "internal.h"

#define WORD sizeof(uintptr_t)
#define MISALIGNED(p) ((uintptr_t)(p) & (WORD - 1))

void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	/*
	 * Word-sized copies once both are aligned, which bytes first bring about when they are equally misaligned:
	 * in firmware, whole virtual-disk blocks land here (into a caller's buffer at any address), and under emulation
	 * a byte loop costs several times a word loop.
	 */
	if (MISALIGNED(d) == MISALIGNED(s)) {
		for (; n && MISALIGNED(d); n--)
			*d++ = *s++;
		for (; n >= WORD; n -= WORD) {
			*(uintptr_t *)(void *)d = *(const uintptr_t *)(const void *)s;
			d += WORD;
			s += WORD;
		}
	}
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (d == s || n == 0)
		return dst;
	if (d < s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;
	uintptr_t w = (uintptr_t)-1 / 0xFF * (uint8_t)c; /* the byte in every byte of a word */

	/* words in the middle: absent blocks of a virtual disk are zero-filled here, a block at a time */
	for (; n && MISALIGNED(d); n--)
		*d++ = (uint8_t)c;
	for (; n >= WORD; n -= WORD, d += WORD)
		*(uintptr_t *)(void *)d = w;
	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (; n; n--, x++, y++) {
		if (*x != *y)
			return *x < *y ? -1 : 1;
	}
	return 0;
}
