/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_options.c - the boot module's option logic on the host (efi/optparse.c, disksel.c, ucs2.c, pinparse.c with
 * tests/unit/optshim.c in place of the firmware): the tokenizer, command-line tokens, raw LoadOptions, the config
 * file in ASCII and UTF-16LE, key=value handling, the --disk selection; malformed input of each; no leaks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parentpath.h"
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

/* -------- os-write and the pins (pinparse.c) -------- */

static void pins(void)
{
	static const char guid[] = "12345678-9abc-def0-1122-334455667788";
	static const char sha[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	char cl1[96], cl3[96];
	snprintf(cl1, sizeof cl1, "--require-disk-id=%s", guid);
	snprintf(cl3, sizeof cl3, "--require-sha256=%s", sha);
	struct boot_options o = { 0 };
	uint16_t *t[] = { opt_u16(cl1), opt_u16("os-write"), opt_u16(cl3), opt_u16("--on-mismatch"), opt_u16("warn") };
	opt_shim_reset();
	CHECK_EQ_INT(opt_parse_tokens(&o, t, 5), 0, "pins: command line parses");
	CHECK_EQ_INT(o.os_write, 1, "pins: os-write as a bare word is yes");
	CHECK(o.policy.have == (POLICY_DISK_ID | POLICY_SHA256), "pins: disk id and sha256 pinned (have %#x)",
	      o.policy.have);
	char g[VHDX_GUID_TEXT];
	vhdx_guid_format(&o.policy.disk_id, g);
	CHECK(strcasecmp(g, guid) == 0, "pins: the disk id reads back (%s)", g);
	CHECK(o.policy.sha256[0] == 0x00 && o.policy.sha256[1] == 0x11 && o.policy.sha256[31] == 0xff,
	      "pins: the digest's bytes in order");
	CHECK_EQ_INT(o.policy.warn_only, 1, "pins: on-mismatch = warn");
	CHECK(o.set == (OPT_REQ_DISK | OPT_OSWRITE | OPT_REQ_SHA | OPT_ONMISMATCH), "pins: set bits (%#x)", o.set);

	/* the config file cannot undo what the command line pinned; what it adds still counts */
	char conf[] = "on-mismatch = stop\nos-write = no\nrequire-data-write-guid = 12345678-9abc-def0-1122-334455667799\n";
	CHECK_EQ_INT(opt_parse_config(&o, conf, strlen(conf)), 0, "pins: config parses");
	CHECK(o.policy.warn_only == 1 && o.os_write == 1, "pins: the command line's on-mismatch and os-write win");
	CHECK(o.policy.have & POLICY_DATA_WRITE, "pins: the file's data-write pin is added");
	opt_free(&o);

	static const struct {
		const char *tok, *msg;
	} bad[] = {
		{ "--require-disk-id=12345678-9abc-def0-1122-33445566778", "command line: require-disk-id: "
		  "\"12345678-9abc-def0-1122-33445566778\" is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)" },
		{ "require-sha256=abc", "command line: require-sha256: \"abc\" is not 64 hex digits" },
		{ "on-mismatch=maybe", "command line: on-mismatch is stop or warn, not \"maybe\"" },
		{ "require-data-write-guid=", "command line: \"require-data-write-guid\" needs a value" },
		{ "os-write=perhaps", "command line: \"os-write\" takes yes, no or expand, not \"perhaps\"" },
	};
	for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
		struct boot_options b = { 0 };
		uint16_t *bt[] = { opt_u16(bad[c].tok) };
		opt_shim_reset();
		CHECK_EQ_INT(opt_parse_tokens(&b, bt, 1), OPT_INVALID, "pins: \"%s\" refused", bad[c].tok);
		CHECK_STR_EQ(opt_last, bad[c].msg, "pins: \"%s\": message", bad[c].tok);
		CHECK(b.policy.have == 0, "pins: \"%s\": nothing pinned", bad[c].tok);
		opt_free(&b);
	}

	/* once an embedded policy is in force, other sources are ignored and say so */
	struct boot_options e = { 0 };
	e.policy.embedded = 1;
	uint16_t *et[] = { opt_u16(cl1) };
	opt_shim_reset();
	CHECK_EQ_INT(opt_parse_tokens(&e, et, 1), 0, "pins: under an embedded policy the key still parses");
	CHECK(e.policy.have == 0, "pins: under an embedded policy the command line pins nothing");
	CHECK_STR_EQ(opt_last, "command line: require-disk-id ignored: the embedded policy is in force",
		     "pins: under an embedded policy: message");
	opt_free(&e);
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

/* -------- a parent's path from the child's folder and the locator's relative_path (parentpath.c) -------- */

static void chain_paths(void)
{
	static const struct {
		const char *child, *rel, *want; /* want NULL: refused, with a reason containing `why` */
		const char *why;
	} cases[] = {
		{ "\\vm\\child.vhdx", "..\\base\\parent.vhdx", "\\base\\parent.vhdx", NULL },
		{ "\\vm\\child.vhdx", ".\\parent.vhdx", "\\vm\\parent.vhdx", NULL },
		{ "\\vm\\child.vhdx", "parent.vhdx", "\\vm\\parent.vhdx", NULL },
		{ "vm\\child.vhdx", "parent.vhdx", "\\vm\\parent.vhdx", NULL },          /* no leading separator */
		{ "child.vhdx", ".\\p.vhdx", "\\p.vhdx", NULL },                       /* child in the root */
		{ "\\a\\b\\c\\child.vhdx", "..\\..\\x\\.\\y\\\\p.vhdx", "\\a\\x\\y\\p.vhdx", NULL },
		{ "/a/child.vhdx", "../b/p.vhdx", "\\b\\p.vhdx", NULL },                /* forward slashes taken too */
		{ "\\vm\\child.vhdx", "..\\..\\p.vhdx", NULL, "above the root" },
		{ "child.vhdx", "..\\p.vhdx", NULL, "above the root" },
		{ "\\vm\\child.vhdx", "base\\", NULL, "folder" },
		{ "\\vm\\child.vhdx", "base\\..", NULL, "folder" },
		{ "\\vm\\child.vhdx", ".", NULL, "folder" },
		{ "\\vm\\child.vhdx", "", NULL, "folder" },
		{ "\\vm\\child.vhdx", "p\xC3\xA9.vhdx", "\\vm\\p\xC3\xA9.vhdx", NULL }, /* BMP: one unit */
		{ "\\vm\\child.vhdx", "p\xF0\x9F\x98\x80.vhdx", "\\vm\\p\xF0\x9F\x98\x80.vhdx", NULL }, /* a pair */
		{ "\\vm\\child.vhdx", "p\xC3.vhdx", NULL, "UTF-8" },                   /* truncated sequence */
		{ "\\vm\\child.vhdx", "p\xC0\xAF.vhdx", NULL, "UTF-8" },               /* overlong "/" */
		{ "\\vm\\child.vhdx", "p\xED\xA0\x80.vhdx", NULL, "UTF-8" },           /* a surrogate */
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		const char *why = NULL;
		uint16_t *child = opt_u16(cases[c].child); /* a static ring: not freed */
		uint16_t *got = parent_relative_path(child, cases[c].rel, &why);
		if (!cases[c].want) {
			CHECK(!got && why && strstr(why, cases[c].why), "relative_path \"%s\" from \"%s\": refused (%s)",
			      cases[c].rel, cases[c].child, why ? why : "no reason");
		} else {
			/* the expected path as UTF-16: decoded by the same rules from its UTF-8 spelling */
			char text[256];
			size_t o = 0;
			for (size_t i = 0; got && got[i] && o + 4 < sizeof text; i++) {
				uint32_t u = got[i];
				if (u >= 0xD800 && u < 0xDC00 && got[i + 1])
					u = 0x10000 + ((u - 0xD800) << 10) + (got[++i] - 0xDC00);
				if (u < 0x80) {
					text[o++] = (char)u;
				} else if (u < 0x800) {
					text[o++] = (char)(0xC0 | u >> 6), text[o++] = (char)(0x80 | (u & 0x3F));
				} else if (u < 0x10000) {
					text[o++] = (char)(0xE0 | u >> 12), text[o++] = (char)(0x80 | ((u >> 6) & 0x3F));
					text[o++] = (char)(0x80 | (u & 0x3F));
				} else {
					text[o++] = (char)(0xF0 | u >> 18), text[o++] = (char)(0x80 | ((u >> 12) & 0x3F));
					text[o++] = (char)(0x80 | ((u >> 6) & 0x3F)), text[o++] = (char)(0x80 | (u & 0x3F));
				}
			}
			text[o] = 0;
			CHECK(got && !strcmp(text, cases[c].want), "relative_path \"%s\" from \"%s\": \"%s\" (want \"%s\"%s%s)",
			      cases[c].rel, cases[c].child, got ? text : "(refused)", cases[c].want, why ? ": " : "",
			      why ? why : "");
		}
		mem_free(got);
	}
	/* out of memory at each allocation: refused with a reason, nothing leaked */
	for (long k = 1; k <= 2; k++) {
		const char *why = NULL;
		uint16_t *child = opt_u16("\\vm\\child.vhdx"); /* a static ring: not freed */
		opt_shim_reset();
		opt_fail_alloc = k;
		uint16_t *got = parent_relative_path(child, "..\\p.vhdx", &why);
		opt_fail_alloc = 0;
		CHECK(!got && why && strstr(why, "memory"), "allocation %ld failing: refused (%s)", k, why ? why : "-");
		mem_free(got);
	}
}

/* -------- vdisk-write: the loader inside may write the virtual disk (vdisk.c's rule decides at boot) -------- */

static void vdisk_write(void)
{
	struct boot_options o = { 0 };
	char none[] = "next = vhdx:\n";
	opt_shim_reset();
	CHECK_EQ_INT(opt_parse_config(&o, none, strlen(none)), 0, "vdisk-write: a config without it parses");
	CHECK_EQ_INT(o.vdisk_write, 0, "vdisk-write: default no");
	opt_free(&o);

	struct boot_options c = { 0 };
	char conf[] = "vdisk-write = yes\n";
	opt_shim_reset();
	CHECK_EQ_INT(opt_parse_config(&c, conf, strlen(conf)), 0, "vdisk-write: config parses");
	CHECK_EQ_INT(c.vdisk_write, 1, "vdisk-write = yes in the file");
	opt_free(&c);

	/* the command line pins it against the file, both ways */
	struct boot_options p = { 0 };
	uint16_t *t[] = { opt_u16("--vdisk-write=no") };
	char on[] = "vdisk-write = on\n";
	opt_shim_reset();
	CHECK_EQ_INT(opt_parse_tokens(&p, t, 1), 0, "vdisk-write: command line parses");
	CHECK_EQ_INT(opt_parse_config(&p, on, strlen(on)), 0, "vdisk-write: config parses after it");
	CHECK_EQ_INT(p.vdisk_write, 0, "vdisk-write: the command line's no wins over the file's on");
	CHECK(p.set == OPT_VDISKWRITE, "vdisk-write: set bit (%#x)", p.set);
	opt_free(&p);

	struct boot_options w = { 0 };
	uint16_t *bare[] = { opt_u16("vdisk-write") };
	opt_shim_reset();
	CHECK_EQ_INT(opt_parse_tokens(&w, bare, 1), 0, "vdisk-write: bare word parses");
	CHECK_EQ_INT(w.vdisk_write, 1, "vdisk-write: a bare word is yes");
	opt_free(&w);

	struct boot_options b = { 0 };
	uint16_t *bt[] = { opt_u16("vdisk-write=sometimes") };
	opt_shim_reset();
	CHECK_EQ_INT(opt_parse_tokens(&b, bt, 1), OPT_INVALID, "vdisk-write: a bad value is refused");
	CHECK_STR_EQ(opt_last, "command line: \"vdisk-write\" takes yes or no, not \"sometimes\"",
		     "vdisk-write: the message names key and value");
	CHECK_EQ_INT(b.vdisk_write, 0, "vdisk-write: a refused value leaves it no");
	opt_free(&b);
}

/* -------- os-write = expand -------- */

static void os_write_expand(void)
{
	static const struct {
		const char *tok;
		int want;
	} cases[] = {
		{ "os-write=expand", OS_WRITE_EXPAND }, { "--os-write=EXPAND", OS_WRITE_EXPAND },
		{ "os-write=yes", OS_WRITE_YES },       { "--os-write", OS_WRITE_YES },
		{ "os-write=no", OS_WRITE_NO },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct boot_options o = { 0 };
		uint16_t *t[] = { opt_u16(cases[c].tok), opt_u16("--next=vhdx:") };
		opt_shim_reset();
		CHECK_EQ_INT(opt_parse_tokens(&o, t, 2), 0, "os-write: \"%s\" parses", cases[c].tok);
		CHECK_EQ_INT(o.os_write, cases[c].want, "os-write: \"%s\"", cases[c].tok);
		CHECK(o.next != NULL, "os-write: \"%s\" takes no value from the next token", cases[c].tok);
		opt_free(&o);
	}
	/* the config file says expand; the command line's "no" wins over it */
	struct boot_options o = { 0 };
	char conf[] = "os-write = expand\n";
	opt_shim_reset();
	CHECK_EQ_INT(opt_parse_config(&o, conf, strlen(conf)), 0, "os-write: config expand parses");
	CHECK_EQ_INT(o.os_write, OS_WRITE_EXPAND, "os-write: config expand");
	struct boot_options p = { 0 };
	uint16_t *t[] = { opt_u16("os-write=no") };
	CHECK_EQ_INT(opt_parse_tokens(&p, t, 1), 0, "os-write: command line no parses");
	CHECK_EQ_INT(opt_parse_config(&p, conf, strlen(conf)), 0, "os-write: config after the command line parses");
	CHECK_EQ_INT(p.os_write, OS_WRITE_NO, "os-write: the command line's no wins over the file's expand");
	char bad[] = "os-write = expanded\n";
	struct boot_options b = { 0 };
	opt_shim_reset();
	CHECK_EQ_INT(opt_parse_config(&b, bad, strlen(bad)), OPT_INVALID, "os-write: \"expanded\" refused");
	CHECK_STR_EQ(opt_last, "vhdxboot.conf line 1: \"os-write\" takes yes, no or expand, not \"expanded\"",
		     "os-write: \"expanded\": message");
	opt_free(&o);
	opt_free(&p);
	opt_free(&b);
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
	pins();
	vdisk_write();
	os_write_expand();
	chain_paths();
	CHECK_EQ_INT((int)opt_live, 0, "no allocation outlives the tests");
	return t_done();
}
