/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_options_keys.c - the boot module's keys with rules of their own, on the host like test_options.c: the pins
 * and os-write (pinparse.c, with which source wins), vdisk-write, os-write = expand, and a parent's path from the
 * child's folder (parentpath.c); malformed values of each with their messages; no leaks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parentpath.h"
#include "optshim.h"
#include "t.h"

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
	pins();
	vdisk_write();
	os_write_expand();
	chain_paths();
	CHECK_EQ_INT((int)opt_live, 0, "no allocation outlives the tests");
	return t_done();
}
