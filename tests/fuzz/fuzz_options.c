/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_options.c - libFuzzer harness for the boot module's option logic (efi/optparse.c, efi/disksel.c,
 * efi/ucs2.c, built for the host with tests/unit/optshim.c in place of the firmware).
 *
 * The first byte picks the parser, the rest is its input:
 *   0  raw LoadOptions bytes (binary or UTF-16 text: tokenizer, program-name rule, key=value, "--")
 *   1  vhdxboot.conf bytes (ASCII, or UTF-16LE with a BOM)
 *   2  --disk: a selection, then device-path texts, separated by '\n' (ASCII, widened to CHAR16)
 *   3  the tokenizer alone over UTF-16 units, with a length shorter than the buffer
 * Whatever the input: no crash or sanitizer report, nothing left allocated after opt_free, a refusal always comes
 * with a message, the same input parsed twice gives the same options, and --disk's choice is consistent with its
 * pick (a picked index is below the count; "hits" counted only for device-path text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optshim.h"

#define CHECK_OR_DIE(cond, what)                                                                                 \
	do {                                                                                                     \
		if (!(cond)) {                                                                                   \
			fprintf(stderr, "FUZZ CHECK FAILED: %s:%d: %s\n", __FILE__, __LINE__, what);               \
			abort();                                                                                 \
		}                                                                                                \
	} while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int same_str(const uint16_t *a, const uint16_t *b)
{
	if (!a || !b)
		return a == b;
	return u16_cmp(a, b) == 0;
}

static int same(const struct boot_options *a, const struct boot_options *b)
{
	return same_str(a->next, b->next) && same_str(a->disk, b->disk) && same_str(a->image, b->image) &&
	       same_str(a->child_args, b->child_args) && a->check_only == b->check_only && a->on_error == b->on_error &&
	       a->list == b->list && a->help == b->help && a->no_config == b->no_config && a->set == b->set;
}

/* Parses twice (the config parser narrows in place, so each run gets its own copy). */
static void parse(int mode, const uint8_t *data, size_t size)
{
	struct boot_options o[2];
	int rc[2];

	for (int r = 0; r < 2; r++) {
		char *copy = malloc(size ? size : 1);
		CHECK_OR_DIE(copy != NULL, "no memory for the input copy");
		memcpy(copy, data, size);
		memset(&o[r], 0, sizeof o[r]);
		opt_shim_reset();
		if (mode == 0) {
			rc[r] = opt_parse_load_options(&o[r], copy, size);
		} else {
			size_t n = opt_config_narrow(copy, size);
			CHECK_OR_DIE(n <= size, "narrowing grew the text");
			rc[r] = opt_parse_config(&o[r], copy, n);
		}
		free(copy);
		CHECK_OR_DIE(rc[r] == OPT_OK || rc[r] == OPT_INVALID, "result is OK or INVALID");
		CHECK_OR_DIE(rc[r] == OPT_OK || opt_last[0], "a refusal comes with a message");
		CHECK_OR_DIE(memchr(opt_said, 0, sizeof opt_said) != NULL, "messages are terminated");
		CHECK_OR_DIE(o[r].on_error == ON_ERROR_STOP || o[r].on_error == ON_ERROR_CONTINUE, "on-error value");
		CHECK_OR_DIE(!(o[r].set & OPT_ARGS) || o[r].child_args, "--/args set without a string");
	}
	CHECK_OR_DIE(rc[0] == rc[1] && same(&o[0], &o[1]), "the same input parsed twice differs");
	opt_free(&o[0]);
	opt_free(&o[1]);
	CHECK_OR_DIE(opt_live == 0, "allocations outlive opt_free");
}

static void disk(const uint8_t *data, size_t size)
{
	enum { MAXD = 16 };
	uint16_t *buf = calloc(size + 1, sizeof(uint16_t)), *text[MAXD], *sel;
	size_t n = 0, pick, hits;

	CHECK_OR_DIE(buf != NULL, "no memory");
	for (size_t i = 0; i < size; i++)
		buf[i] = data[i] == '\n' ? 0 : data[i];
	sel = buf;
	for (size_t i = 0; i < size && n < MAXD; i++)
		if (buf[i] == 0)
			text[n++] = buf + i + 1;
	enum disk_choice c = disk_select(sel, (const uint16_t *const *)text, sizeof text[0], n, &pick, &hits);
	CHECK_OR_DIE(c == DISK_PICKED ? pick < n : pick == n, "pick agrees with the choice");
	CHECK_OR_DIE(c != DISK_PICKED || hits <= 1, "a picked device matched once at most");
	CHECK_OR_DIE(c != DISK_MATCHES || hits != 1, "a text matching one device is picked");
	CHECK_OR_DIE(hits <= n, "more hits than devices");
	if (c == DISK_PICKED && hits == 1) {
		size_t l = u16_len(sel);
		CHECK_OR_DIE(u16_len(text[pick]) >= l && !u16_nicmp(text[pick], sel, l), "the pick starts with the text");
	}
	free(buf);
}

static void tokens(const uint8_t *data, size_t size)
{
	size_t units = size / 2, len = units ? data[0] % (units + 1) : 0;
	uint16_t *s = malloc((units ? units : 1) * sizeof(uint16_t)), *tok[OPT_MAX_TOKENS];

	CHECK_OR_DIE(s != NULL, "no memory");
	for (size_t i = 0; i < units; i++)
		s[i] = (uint16_t)(data[2 * i] | data[2 * i + 1] << 8);
	opt_shim_reset();
	size_t n = opt_tokenize(s, len, tok, OPT_MAX_TOKENS);
	CHECK_OR_DIE(n <= OPT_MAX_TOKENS, "too many tokens");
	for (size_t i = 0; i < n; i++) {
		CHECK_OR_DIE(u16_len(tok[i]) <= len, "a token longer than the text");
		mem_free(tok[i]);
	}
	CHECK_OR_DIE(opt_live == 0, "tokens leaked");
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
	case 1:
		parse(data[0] & 3, data + 1, size - 1);
		break;
	case 2:
		disk(data + 1, size - 1);
		break;
	case 3:
		tokens(data + 1, size - 1);
		break;
	}
	return 0;
}
