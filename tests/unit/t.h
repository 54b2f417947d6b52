/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t.h - a tiny unit-test harness.  Every check prints one line, `ok - NAME` or `not ok - NAME: reason`, the protocol
 * tests/run.sh counts.  A test program ends with `return t_done();` (exit 1 if anything failed).
 *
 *   CHECK(cond, "name %d", i)                 any condition; the name is a printf format
 *   CHECK_EQ_U64(got, want, "name")           unsigned 64-bit equality, reason shows both values
 *   CHECK_EQ_INT(got, want, "name")           signed equality
 *   CHECK_EQ_HEX(got, want, "name")           like CHECK_EQ_U64, values printed in hex
 *   CHECK_STR_EQ(got, want, "name")           string equality
 *   CHECK_STR_CONTAINS(hay, needle, "name")   hay contains needle (case-sensitive)
 *   CHECK_MEM_EQ(a, b, len, "name")           memcmp equality, reason shows the first differing offset
 *   CHECK_STATUS(got, want, "name")           vhdx_status equality, reason shows both statuses' messages
 *   T_SKIP("name", "why")                     prints `ok - name # skip why`
 *   T_NOTE("fmt", ...)                        a free-form "# ..." line
 *
 * The name arguments are printf formats followed by their arguments.  Checks return the truth of the condition,
 * so a test can stop early: `if (!CHECK(p != NULL, "alloc")) return t_done();`.
 */
#ifndef T_H
#define T_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhdx.h"

static unsigned t_passed __attribute__((unused));
static unsigned t_failed __attribute__((unused));

__attribute__((format(printf, 3, 0), unused)) static int t_vreport(int pass, const char *reason,
                                                                       const char *fmt, va_list ap)
{
	char name[512];
	vsnprintf(name, sizeof name, fmt, ap);
	/* the protocol is line based: keep names on one line */
	for (char *p = name; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (pass) {
		t_passed++;
		printf("ok - %s\n", name);
	} else {
		t_failed++;
		printf("not ok - %s: %s\n", name, reason && *reason ? reason : "failed");
	}
	fflush(stdout);
	return pass;
}

__attribute__((format(printf, 3, 4), unused)) static int t_report(int pass, const char *reason, const char *fmt,
                                                                      ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = t_vreport(pass, reason, fmt, ap);
	va_end(ap);
	return r;
}

/* formats a reason into a static buffer */
__attribute__((format(printf, 1, 2), unused)) static const char *t_why(const char *fmt, ...)
{
	static char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return buf;
}

#define CHECK(cond, ...) t_report(!!(cond), "condition false: " #cond, __VA_ARGS__)

#define CHECK_EQ_U64(got, want, ...)                                                                             \
	__extension__({                                                                                          \
		uint64_t t_g_ = (uint64_t)(got), t_w_ = (uint64_t)(want);                                         \
		t_report(t_g_ == t_w_, t_why("%s = %" PRIu64 ", expected %" PRIu64, #got, t_g_, t_w_), __VA_ARGS__); \
	})

#define CHECK_EQ_HEX(got, want, ...)                                                                             \
	__extension__({                                                                                          \
		uint64_t t_g_ = (uint64_t)(got), t_w_ = (uint64_t)(want);                                         \
		t_report(t_g_ == t_w_, t_why("%s = 0x%" PRIx64 ", expected 0x%" PRIx64, #got, t_g_, t_w_),         \
		         __VA_ARGS__);                                                                            \
	})

#define CHECK_EQ_INT(got, want, ...)                                                                             \
	__extension__({                                                                                          \
		long long t_g_ = (long long)(got), t_w_ = (long long)(want);                                      \
		t_report(t_g_ == t_w_, t_why("%s = %lld, expected %lld", #got, t_g_, t_w_), __VA_ARGS__);          \
	})

#define CHECK_STR_EQ(got, want, ...)                                                                             \
	__extension__({                                                                                          \
		const char *t_g_ = (got), *t_w_ = (want);                                                         \
		int t_ok_ = t_g_ && t_w_ && strcmp(t_g_, t_w_) == 0;                                              \
		t_report(t_ok_, t_why("%s = \"%s\", expected \"%s\"", #got, t_g_ ? t_g_ : "(null)",                \
		                      t_w_ ? t_w_ : "(null)"),                                                     \
		         __VA_ARGS__);                                                                            \
	})

#define CHECK_STR_CONTAINS(hay, needle, ...)                                                                     \
	__extension__({                                                                                          \
		const char *t_h_ = (hay), *t_n_ = (needle);                                                       \
		int t_ok_ = t_h_ && t_n_ && strstr(t_h_, t_n_) != NULL;                                           \
		t_report(t_ok_, t_why("%s = \"%s\" lacks \"%s\"", #hay, t_h_ ? t_h_ : "(null)",                    \
		                      t_n_ ? t_n_ : "(null)"),                                                     \
		         __VA_ARGS__);                                                                            \
	})

#define CHECK_MEM_EQ(a, b, len, ...)                                                                             \
	__extension__({                                                                                          \
		const unsigned char *t_a_ = (const unsigned char *)(a), *t_b_ = (const unsigned char *)(b);       \
		size_t t_l_ = (len), t_i_ = 0;                                                                    \
		while (t_i_ < t_l_ && t_a_[t_i_] == t_b_[t_i_])                                                   \
			t_i_++;                                                                                   \
		t_report(t_i_ == t_l_,                                                                            \
		         t_why("first difference at byte %zu of %zu (0x%02x vs 0x%02x)", t_i_, t_l_,              \
		               t_i_ < t_l_ ? t_a_[t_i_] : 0, t_i_ < t_l_ ? t_b_[t_i_] : 0),                       \
		         __VA_ARGS__);                                                                            \
	})

#define CHECK_STATUS(got, want, ...)                                                                             \
	__extension__({                                                                                          \
		vhdx_status t_g_ = (got), t_w_ = (want);                                                          \
		t_report(t_g_ == t_w_,                                                                            \
		         t_why("status %d (%s), expected %d (%s)", (int)t_g_, vhdx_status_message(t_g_), (int)t_w_, \
		               vhdx_status_message(t_w_)),                                                        \
		         __VA_ARGS__);                                                                            \
	})

#define T_SKIP(name, why)                                                                                        \
	do {                                                                                                     \
		t_passed++;                                                                                       \
		printf("ok - %s # skip %s\n", (name), (why));                                                    \
		fflush(stdout);                                                                                   \
	} while (0)

#define T_NOTE(...)                                                                                              \
	do {                                                                                                     \
		printf("# ");                                                                                     \
		printf(__VA_ARGS__);                                                                              \
		printf("\n");                                                                                     \
		fflush(stdout);                                                                                   \
	} while (0)

/* prints a summary comment; exit status for main */
__attribute__((unused)) static int t_done(void)
{
	printf("# %u passed, %u failed (this program)\n", t_passed, t_failed);
	fflush(stdout);
	return t_failed ? 1 : 0;
}

#endif
