/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_options.c - the boot module's option logic on the host (efi/optparse.c, disksel.c, ucs2.c, pinparse.c with
 * tests/unit/optshim.c in place of the firmware): the tokenizer, command-line tokens, raw LoadOptions, the config
 * file in ASCII and UTF-16LE, key=value handling, the --disk selection; malformed input of each; no leaks.
 * The keys with rules of their own (the pins, os-write, vdisk-write, a parent's path) are test_options_keys.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optshim.h"
#include "t.h"

/* ASCII view of a CHAR16 string (static ring) */
static const char *a8(const uint16_t *s)
{
	static char ring[8][512];
	static unsigned next;
	char *d = ring[next++ % 8];
	size_t i = 0;
	if (!s)
		return "(null)";
	for (; s[i] && i < 511; i++)
		d[i] = s[i] < 0x80 ? (char)s[i] : '?';
	d[i] = 0;
	return d;
}

/* -------- tokenizer -------- */

static void tokenizer(void)
{
	static const struct {
		const char *in;
		size_t len; /* 0: the whole string */
		const char *want;
	} cases[] = {
		{ "a b  c", 0, "a|b|c" },
		{ "  lead trail  ", 0, "lead|trail" },
		{ "\"two words\" x", 0, "two words|x" },
		{ "a\"b c\"d", 0, "ab cd" },
		{ "^\"q^\" ^^", 0, "\"q\"|^" },
		{ "trailing^", 0, "trailing^" },
		{ "\"unterminated quote", 0, "unterminated quote" },
		{ "", 0, "" },
		{ " \t\r\n ", 0, "" },
		{ "abc def", 5, "abc|d" },
		{ "\"\" x", 0, "|x" },
		{ "tab\tsep\nnl", 0, "tab|sep|nl" },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		uint16_t *in = opt_u16(cases[c].in), *tok[OPT_MAX_TOKENS];
		size_t len = cases[c].len ? cases[c].len : u16_len(in);
		size_t n = opt_tokenize(in, len, tok, OPT_MAX_TOKENS);
		char got[512] = "";
		for (size_t i = 0; i < n; i++) {
			if (i)
				strcat(got, "|");
			strcat(got, a8(tok[i]));
			mem_free(tok[i]);
		}
		CHECK_STR_EQ(got, cases[c].want, "tokenize \"%s\" (%zu units)", cases[c].in, len);
	}

	/* an embedded NUL ends the line */
	uint16_t nul[] = { 'a', ' ', 'b', 0, 'c', 'd', 0 }, *tok[OPT_MAX_TOKENS];
	size_t n = opt_tokenize(nul, 6, tok, OPT_MAX_TOKENS);
	CHECK_EQ_U64(n, 2, "tokenize: a NUL inside the buffer ends the text");
	for (size_t i = 0; i < n; i++)
		mem_free(tok[i]);

	/* more tokens than the table holds: the first 64 */
	char many[400] = "";
	for (int i = 0; i < 80; i++)
		strcat(many, "x ");
	n = opt_tokenize(opt_u16(many), u16_len(opt_u16(many)), tok, OPT_MAX_TOKENS);
	CHECK_EQ_U64(n, OPT_MAX_TOKENS, "tokenize: 80 tokens are cut at the table size");
	for (size_t i = 0; i < n; i++)
		mem_free(tok[i]);

	/* no memory for the third token: two tokens, nothing leaked */
	opt_shim_reset();
	opt_fail_alloc = 3;
	n = opt_tokenize(opt_u16("a b c d"), 7, tok, OPT_MAX_TOKENS);
	CHECK_EQ_U64(n, 2, "tokenize: an allocation failure stops at the tokens made so far");
	for (size_t i = 0; i < n; i++)
		mem_free(tok[i]);
	opt_shim_reset();
	CHECK_EQ_INT((int)opt_live, 0, "tokenize: nothing leaked");
}

static void text_or_binary(void)
{
	uint16_t bin[] = { 0x0001, 0x0203, 0 }, hi[] = { 'a', 0x80, 0 }, ok[] = { 'a', '\t', 'b', 0, 1 };
	CHECK(opt_looks_like_text(opt_u16("next=x"), 6), "looks like text: printable ASCII");
	CHECK(!opt_looks_like_text(opt_u16(""), 0), "looks like text: empty is not text");
	CHECK(!opt_looks_like_text(bin, 2), "looks like text: control units are binary");
	CHECK(!opt_looks_like_text(hi, 2), "looks like text: a unit above 0x7e is binary");
	CHECK(opt_looks_like_text(ok, 5), "looks like text: tab allowed, the text ends at its NUL");
	CHECK(!opt_looks_like_text(opt_u16("abc"), 0), "looks like text: zero units");
}

/* -------- command-line tokens -------- */

struct want {
	int rc;
	const char *next, *disk, *image, *args;
	int check, onerr, list, help, noconf;
	const char *msg; /* the message expected on refusal (exact) */
};

static void check_opts(const char *name, struct boot_options *o, int rc, const struct want *w)
{
	CHECK_EQ_INT(rc, w->rc, "%s: result", name);
	if (w->rc) {
		CHECK_STR_EQ(opt_last, w->msg, "%s: message", name);
		return;
	}
	CHECK_STR_EQ(o->next ? a8(o->next) : "", w->next ? w->next : "", "%s: next", name);
	CHECK_STR_EQ(o->disk ? a8(o->disk) : "", w->disk ? w->disk : "", "%s: disk", name);
	CHECK_STR_EQ(o->image ? a8(o->image) : "", w->image ? w->image : "", "%s: image", name);
	CHECK_STR_EQ(o->child_args ? a8(o->child_args) : "", w->args ? w->args : "", "%s: args", name);
	CHECK(o->check_only == w->check && o->on_error == w->onerr && o->list == w->list && o->help == w->help &&
		      o->no_config == w->noconf,
	      "%s: flags check %d on-error %d list %d help %d no-config %d", name, o->check_only, o->on_error, o->list,
	      o->help, o->no_config);
	CHECK_STR_EQ(opt_said, "", "%s: no message", name);
}

static void tokens(void)
{
	static const struct {
		const char *argv[6];
		struct want w;
	} cases[] = {
		{ { "--next", "\\EFI\\x.efi" }, { .next = "\\EFI\\x.efi" } },
		{ { "--next=\\a" }, { .next = "\\a" } },
		{ { "next=\\a" }, { .next = "\\a" } },
		{ { "---next=\\a" }, { .next = "\\a" } },
		{ { "--next", "x", "--next", "y" }, { .next = "y" } },
		{ { "--next", "--disk" }, { .next = "--disk" } },
		{ { "--image", "\\v.vhdx", "--disk", "2" }, { .image = "\\v.vhdx", .disk = "2" } },
		{ { "check-only" }, { .check = 1 } },
		{ { "--check-only=no" }, { .check = 0 } },
		{ { "--check-only=YES" }, { .check = 1 } },
		{ { "--list", "--no-config", "--help" }, { .list = 1, .noconf = 1, .help = 1 } },
		{ { "-h" }, { .help = 1 } },
		{ { "-?" }, { .help = 1 } },
		{ { "/?" }, { .help = 1 } },
		{ { "--on-error", "continue" }, { .onerr = ON_ERROR_CONTINUE } },
		{ { "on-error=STOP" }, { .onerr = ON_ERROR_STOP } },
		{ { "--", "a b", "", "c" }, { .args = "\"a b\" \"\" c" } },
		{ { "--next=x", "--", "--next=y" }, { .next = "x", .args = "--next=y" } },
		{ { "--" }, { .args = "" } },
		{ { "--check-only=maybe" }, { -1, .msg = "command line: \"check-only\" takes yes or no, not \"maybe\"" } },
		{ { "--disk" }, { -1, .msg = "option \"--disk\" needs a value" } },
		{ { "--disk=" }, { -1, .msg = "command line: \"disk\" needs a value" } },
		{ { "disk" }, { -1, .msg = "command line: \"disk\" needs a value" } },
		{ { "--bogus" }, { -1, .msg = "unknown option \"--bogus\" (try --help)" } },
		{ { "--NEXT=x" }, { -1, .msg = "unknown option \"--NEXT=x\" (try --help)" } },
		{ { "-" }, { -1, .msg = "unknown option \"-\" (try --help)" } },
		{ { "=x" }, { -1, .msg = "unknown option \"=x\" (try --help)" } },
		{ { "--on-error=sometimes" }, { -1, .msg = "command line: on-error is stop or continue, not \"sometimes\"" } },
		{ { "--on-error=" }, { -1, .msg = "command line: \"on-error\" needs a value" } },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct boot_options o = { 0 };
		uint16_t *tok[6];
		size_t n = 0;
		char name[128] = "tokens:";
		for (; n < 6 && cases[c].argv[n]; n++) {
			tok[n] = opt_u16(cases[c].argv[n]);
			strcat(name, " ");
			strcat(name, cases[c].argv[n]);
		}
		opt_shim_reset();
		int rc = opt_parse_tokens(&o, tok, n);
		check_opts(name, &o, rc, &cases[c].w);
		opt_free(&o);
		CHECK_EQ_INT((int)opt_live, 0, "%s: nothing leaked", name);
	}

	/* the command line pins what it gave against the config file */
	struct boot_options o = { 0 };
	uint16_t *t[] = { opt_u16("--next=cli"), opt_u16("--check-only=no") };
	char conf[] = "next = file\ncheck-only = yes\ndisk = 1\n";
	opt_shim_reset();
	CHECK_EQ_INT(opt_parse_tokens(&o, t, 2), 0, "precedence: command line parses");
	CHECK_EQ_INT(opt_parse_config(&o, conf, strlen(conf)), 0, "precedence: config parses");
	CHECK_STR_EQ(a8(o.next), "cli", "precedence: next from the command line wins");
	CHECK_EQ_INT(o.check_only, 0, "precedence: check-only from the command line wins");
	CHECK_STR_EQ(a8(o.disk), "1", "precedence: disk, unset on the command line, comes from the file");
	CHECK(o.set == (OPT_NEXT | OPT_CHECK), "precedence: set names what the command line gave (%#x)", o.set);
	opt_free(&o);
}

/* -------- raw LoadOptions -------- */

static void load_options(void)
{
	static const struct {
		const char *text;
		struct want w;
	} cases[] = {
		{ "\\EFI\\vhdxboot\\vhdxboot.efi next=\\a check-only", { .next = "\\a", .check = 1 } },
		{ "next=\\a", { .next = "\\a" } },
		{ "vhdxboot.efi", { 0 } },
		{ "vhdxboot.efi --disk \"PciRoot(0x0)/Pci(0x1,0x0) x\"", { .disk = "PciRoot(0x0)/Pci(0x1,0x0) x" } },
		{ "prog -- child \"arg two\"", { .args = "child \"arg two\"" } },
		{ "prog --bogus", { -1, .msg = "unknown option \"--bogus\" (try --help)" } },
		{ "prog next", { -1, .msg = "command line: \"next\" needs a value" } },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct boot_options o = { 0 };
		char name[160];
		snprintf(name, sizeof name, "LoadOptions \"%s\"", cases[c].text);
		uint16_t *u = opt_u16(cases[c].text);
		opt_shim_reset();
		int rc = opt_parse_load_options(&o, u, (u16_len(u) + 1) * sizeof(uint16_t));
		check_opts(name, &o, rc, &cases[c].w);
		opt_free(&o);
		CHECK_EQ_INT((int)opt_live, 0, "%s: nothing leaked", name);
	}

	/* binary data (OVMF's own entries), odd sizes, nothing at all: ignored, nothing set */
	static const uint8_t binary[] = { 0x4e, 0xac, 0x08, 0x81, 0x11, 0x9f, 0x59, 0x4d, 0x85, 0x0e };
	static const uint8_t odd[] = { 'n', 0, 'e', 0, 'x' };
	struct {
		const char *name;
		const void *p;
		size_t n;
	} raw[] = { { "binary GUID", binary, sizeof binary }, { "one byte", odd, 1 }, { "NULL", NULL, 8 },
		    { "zero bytes", odd, 0 } };
	for (size_t c = 0; c < sizeof raw / sizeof raw[0]; c++) {
		struct boot_options o = { 0 };
		opt_shim_reset();
		int rc = opt_parse_load_options(&o, raw[c].p, raw[c].n);
		CHECK(rc == 0 && !o.next && !o.set && !opt_said[0], "LoadOptions %s: ignored, nothing set", raw[c].name);
	}
	/* an odd byte count: the last byte does not make a unit ("ne" then half an 'x') */
	struct boot_options o = { 0 };
	opt_shim_reset();
	CHECK_EQ_INT(opt_parse_load_options(&o, odd, sizeof odd), 0, "LoadOptions odd size: parses");
	CHECK(o.next == NULL && o.set == 0, "LoadOptions odd size: \"ne\" is taken for the program's own name");
	opt_free(&o);
}

/* -------- vhdxboot.conf -------- */

static void config(void)
{
	static const struct {
		const char *name, *text;
		struct want w;
	} cases[] = {
		{ "keys and a comment", "next = \\a\n# comment\ncheck-only\n", { .next = "\\a", .check = 1 } },
		{ "blanks and trailing comment", "  disk=1  # pick the first\n", { .disk = "1" } },
		{ "CRLF", "next = \\a\r\nimage = \\v.vhdx\r\n", { .next = "\\a", .image = "\\v.vhdx" } },
		{ "no final newline", "on-error = continue", { .onerr = ON_ERROR_CONTINUE } },
		{ "args keeps its spaces", "args = --foo \"bar baz\"\n", { .args = "--foo \"bar baz\"" } },
		{ "value with =", "next = vhdx:\\a=b\n", { .next = "vhdx:\\a=b" } },
		{ "empty file", "", { 0 } },
		{ "only comments", "#\n   # x = y\n\n", { 0 } },
		{ "unknown key", "bogus = 1\n", { -1, .msg = "vhdxboot.conf line 1: unknown key \"bogus\"" } },
		{ "empty key", "\n\n = x\n", { -1, .msg = "vhdxboot.conf line 3: unknown key \"\"" } },
		{ "missing value", "\n\nnext =\n", { -1, .msg = "vhdxboot.conf line 3: \"next\" needs a value" } },
		{ "bad flag", "check-only = perhaps\n",
		  { -1, .msg = "vhdxboot.conf line 1: \"check-only\" takes yes or no, not \"perhaps\"" } },
		{ "bad on-error", "on-error = later\n",
		  { -1, .msg = "vhdxboot.conf line 1: on-error is stop or continue, not \"later\"" } },
		{ "stops at the first error", "next = a\nbogus\nnext = b\n",
		  { -1, .msg = "vhdxboot.conf line 2: unknown key \"bogus\"" } },
		/* bytes are units one to one (no UTF-8 decoding): firmware paths are ASCII */
		{ "non-ASCII bytes", "next = \\caf\xc3\xa9\n", { .next = "\\caf??" } },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct boot_options o = { 0 };
		char name[96], buf[256];
		snprintf(name, sizeof name, "config, %s", cases[c].name);
		size_t n = strlen(cases[c].text);
		memcpy(buf, cases[c].text, n);
		opt_shim_reset();
		n = opt_config_narrow(buf, n);
		int rc = opt_parse_config(&o, buf, n);
		check_opts(name, &o, rc, &cases[c].w);
		opt_free(&o);
		CHECK_EQ_INT((int)opt_live, 0, "%s: nothing leaked", name);
	}
}

/* UTF-16LE with a BOM: narrowed to ASCII ('?' for the rest), then the same parser. */
static void config_utf16(void)
{
	const char *text = "next = \\a\r\ncheck-only\r\n";
	uint8_t buf[128];
	size_t n = 0;
	buf[n++] = 0xff;
	buf[n++] = 0xfe;
	for (const char *p = text; *p; p++) {
		buf[n++] = (uint8_t)*p;
		buf[n++] = 0;
	}
	struct boot_options o = { 0 };
	opt_shim_reset();
	size_t m = opt_config_narrow((char *)buf, n);
	CHECK_EQ_U64(m, strlen(text), "UTF-16LE: narrowed to one byte a unit");
	CHECK_EQ_INT(opt_parse_config(&o, (char *)buf, m), 0, "UTF-16LE: parses");
	CHECK(o.next && !strcmp(a8(o.next), "\\a") && o.check_only, "UTF-16LE: next and check-only read");
	opt_free(&o);

	/* a unit above 0x7f becomes '?', so an unknown key is reported readably */
	uint8_t bad[] = { 0xff, 0xfe, 0xe9, 0x00, ' ', 0, '=', 0, '1', 0 };
	m = opt_config_narrow((char *)bad, sizeof bad);
	opt_shim_reset();
	CHECK_EQ_INT(opt_parse_config(&o, (char *)bad, m), -1, "UTF-16LE: non-ASCII key refused");
	CHECK_STR_EQ(opt_last, "vhdxboot.conf line 1: unknown key \"?\"", "UTF-16LE: the key shows as '?'");
	opt_free(&o);

	/* odd length: the half unit at the end is dropped; a BOM alone is an empty file */
	uint8_t odd[] = { 0xff, 0xfe, 'l', 0, 'i', 0, 's', 0, 't', 0, '\n' };
	m = opt_config_narrow((char *)odd, sizeof odd);
	CHECK_EQ_U64(m, 4, "UTF-16LE odd length: four units");
	opt_shim_reset();
	CHECK(opt_parse_config(&o, (char *)odd, m) == 0 && o.list == 1, "UTF-16LE odd length: \"list\" read");
	uint8_t bom[] = { 0xff, 0xfe };
	CHECK_EQ_U64(opt_config_narrow((char *)bom, 2), 0, "UTF-16LE: a BOM alone is empty");
	uint8_t be[] = { 0xfe, 0xff, 0, 'x' };
	CHECK_EQ_U64(opt_config_narrow((char *)be, 4), 4, "a big-endian BOM is not UTF-16LE: left as bytes");
	opt_free(&o);
}

/* -------- --disk -------- */

struct disk {
	void *handle;
	const uint16_t *text;
	int other;
};

static void disk(void)
{
	static const char *const names[] = { "PciRoot(0x0)/Pci(0x1,0x0)/Sata(0x0,0xFFFF,0x0)",
					     "PciRoot(0x0)/Pci(0x2,0x0)/NVMe(0x1,00-00-00-00-00-00-00-00)",
					     "PciRoot(0x0)/Pci(0x1,0x0)/Sata(0x1,0xFFFF,0x0)", "A/B", "A/B/C" };
	uint16_t store[5][80];
	struct disk d[5];
	for (int i = 0; i < 5; i++) {
		size_t k = 0;
		for (; names[i][k]; k++)
			store[i][k] = (uint8_t)names[i][k];
		store[i][k] = 0;
		d[i].text = store[i];
		d[i].handle = NULL;
		d[i].other = i;
	}
	static const struct {
		const char *sel;
		size_t n;
		enum disk_choice want;
		size_t pick, hits;
	} cases[] = {
		{ "auto", 1, DISK_PICKED, 0, 0 },
		{ "AUTO", 1, DISK_PICKED, 0, 0 },
		{ "auto", 0, DISK_NONE, 0, 0 },
		{ "auto", 3, DISK_SEVERAL, 3, 0 },
		{ "1", 3, DISK_PICKED, 1, 0 },
		{ "0x2", 3, DISK_PICKED, 2, 0 },
		{ "3", 3, DISK_INDEX_RANGE, 3, 0 },
		{ "0", 0, DISK_INDEX_RANGE, 0, 0 },
		{ "18446744073709551616", 3, DISK_MATCHES, 3, 0 },
		{ "pciroot(0x0)/pci(0x1,0x0)/sata(0x1,0xffff,0x0)", 3, DISK_PICKED, 2, 1 },
		{ "PciRoot(0x0)/Pci(0x2", 3, DISK_PICKED, 1, 1 },
		{ "PciRoot(0x0)/Pci(0x1", 3, DISK_MATCHES, 3, 2 },
		{ "PciRoot(0x0)/Pci(0x1,0x0)/Sata(0x0,0xFFFF,0x0)/more", 3, DISK_MATCHES, 3, 0 },
		{ "nothing", 3, DISK_MATCHES, 3, 0 },
		{ "", 3, DISK_MATCHES, 3, 3 },
		{ "a/b", 5, DISK_PICKED, 3, 1 },
		{ "A/B/", 5, DISK_PICKED, 4, 1 },
		{ "0x", 3, DISK_MATCHES, 3, 0 },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		size_t pick = 99, hits = 99;
		enum disk_choice got = disk_select(opt_u16(cases[c].sel), &d[0].text, sizeof d[0], cases[c].n, &pick,
						   &hits);
		CHECK(got == cases[c].want && pick == cases[c].pick && hits == cases[c].hits,
		      "--disk \"%s\" over %zu devices: choice %d pick %zu hits %zu (want %d %zu %zu)", cases[c].sel,
		      cases[c].n, (int)got, pick, hits, (int)cases[c].want, cases[c].pick, cases[c].hits);
	}
}

int main(void)
{
	tokenizer();
	text_or_binary();
	tokens();
	load_options();
	config();
	config_utf16();
	disk();
	CHECK_EQ_INT((int)opt_live, 0, "no allocation outlives the tests");
	return t_done();
}
