/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ucs2.h - CHAR16 strings (UTF-16 code units) without the firmware: ucs2.c compiles for the boot module and for
 * the host tests (tests/unit/test_options.c, tests/fuzz/fuzz_options.c), so it names them uint16_t, which is what
 * gnu-efi's CHAR16 is.  Memory comes from mem_alloc/mem_free: memory.c in firmware, the test shim on the host.
 */
#ifndef VHDXBOOT_UCS2_H
#define VHDXBOOT_UCS2_H

#include <stddef.h>
#include <stdint.h>

void *mem_alloc(size_t len);
void mem_free(void *p);

size_t u16_len(const uint16_t *s);
uint16_t *u16_dup(const uint16_t *s);
uint16_t *u16_from_ascii(const char *s, size_t n);
int u16_cmp(const uint16_t *a, const uint16_t *b);
int u16_icmp(const uint16_t *a, const uint16_t *b);
int u16_nicmp(const uint16_t *a, const uint16_t *b, size_t n); /* the first n units, case-insensitively (ASCII) */
int u16_ncmp_ascii(const uint16_t *a, const char *b, size_t n);
int u16_eq_ascii(const uint16_t *a, const char *b);
int u16_ieq_ascii(const uint16_t *a, const char *b);
int u16_to_u64(const uint16_t *s, uint64_t *out);

#endif
