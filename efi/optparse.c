/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * optparse.c - the options themselves, without the firmware (see optparse.h): the command line (UEFI Shell
 * arguments, or a boot entry's LoadOptions when they are text) and vhdxboot.conf.  The command line wins over the
 * file.
 *
 *   --next PATH        next stage on our own volume; "vhdx:PATH" (or "vhdx:") inside the image's virtual disk
 *   --disk SEL         auto | an index from --list | device-path text (a prefix match)
 *   --image PATH       the VHDX is a file: our volume first, then every other FAT volume
 *   --check-only       validate, write nothing
 *   --on-error MODE    stop (default: no chainload after a refusal) | continue
 *   --list, --help, --no-config
 *   -- ARGS...         everything after "--" becomes the next stage's LoadOptions
 * Every option also reads as "--key=value" and as "key=value" (flags as a bare word), so a boot entry can say
 * "next=\EFI\x\y.efi check-only".  The config file has "key = value" lines, "#" comments, and "args = ..." for
 * the next stage's options.
 */
#include "optparse.h"

/* How a key's value is stored: the table below says where, so a key is handled by its name alone. */
enum kind { K_STR, K_FLAG, K_ONERR, K_PIN, K_OSWRITE /* a flag that also takes "expand" */ };
struct key {
	const char *name;
	enum kind kind;
	unsigned bit;  /* OPT_* when the command line can pin it against the config file, else 0 */
	size_t field;  /* offset in struct boot_options: uint16_t * for K_STR, int for K_FLAG/K_ONERR, PIN_KEY_* for K_PIN */
};
#define FIELD(f) offsetof(struct boot_options, f)
static const struct key keys[] = {
	{ "next", K_STR, OPT_NEXT, FIELD(next) },           { "disk", K_STR, OPT_DISK, FIELD(disk) },
	{ "image", K_STR, OPT_IMAGE, FIELD(image) },        { "on-error", K_ONERR, OPT_ONERR, FIELD(on_error) },
	{ "args", K_STR, OPT_ARGS, FIELD(child_args) },     { "check-only", K_FLAG, OPT_CHECK, FIELD(check_only) },
	{ "list", K_FLAG, 0, FIELD(list) },                 { "help", K_FLAG, 0, FIELD(help) },
	{ "no-config", K_FLAG, 0, FIELD(no_config) },
	{ "os-write", K_OSWRITE, OPT_OSWRITE, FIELD(os_write) }, /* the OS booted from inside may write (or expand) */
	/* the loader inside (systemd-boot's boot counting) may write the virtual disk: vdisk.c's rule */
	{ "vdisk-write", K_FLAG, OPT_VDISKWRITE, FIELD(vdisk_write) },
	/* the pins, parsed by pinparse.c into o->policy */
	{ "require-disk-id", K_PIN, OPT_REQ_DISK, PIN_KEY_DISK },
	{ "require-data-write-guid", K_PIN, OPT_REQ_DATA, PIN_KEY_DATA },
	{ "require-sha256", K_PIN, OPT_REQ_SHA, PIN_KEY_SHA },
	{ "on-mismatch", K_PIN, OPT_ONMISMATCH, PIN_KEY_ONMISMATCH },
};

static const struct key *key_find(const uint16_t *k, size_t n)
{
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		size_t l = 0;
		while (keys[i].name[l])
			l++;
		if (l == n && u16_ncmp_ascii(k, keys[i].name, n) == 0)
			return &keys[i];
	}
	return NULL;
}

/* Kinds that stand alone as a bare word ("check-only", "--os-write"): a missing value means yes. */
static int bare_word_kind(enum kind k)
{
	return k == K_FLAG || k == K_OSWRITE;
}

static int parse_bool(const uint16_t *v, int *out)
{
	if (!v || u16_ieq_ascii(v, "1") || u16_ieq_ascii(v, "yes") || u16_ieq_ascii(v, "true") ||
	    u16_ieq_ascii(v, "on")) {
		*out = 1;
		return 0;
	}
	if (u16_ieq_ascii(v, "0") || u16_ieq_ascii(v, "no") || u16_ieq_ascii(v, "false") || u16_ieq_ascii(v, "off")) {
		*out = 0;
		return 0;
	}
	return -1;
}

/* Sets one key.  From the config file (cli == 0) a key the command line already gave is left alone. */
static int apply(struct boot_options *o, const struct key *k, const uint16_t *value, int cli, const char *where)
{
	char *field = (char *)o + k->field;
	int flag = 0;

	if (!cli && (o->set & k->bit))
		return OPT_OK;
	if (!bare_word_kind(k->kind) && (!value || !*value)) {
		con_say("%s: \"%s\" needs a value", where, k->name);
		return OPT_INVALID;
	}
	if (k->kind == K_FLAG && parse_bool(value, &flag)) {
		con_say("%s: \"%s\" takes yes or no, not \"%ls\"", where, k->name, value);
		return OPT_INVALID;
	}
	switch (k->kind) {
	case K_STR: {
		uint16_t **s = (uint16_t **)(void *)field;
		mem_free(*s);
		*s = u16_dup(value);
		break;
	}
	case K_ONERR:
		if (u16_ieq_ascii(value, "stop"))
			*(int *)(void *)field = ON_ERROR_STOP;
		else if (u16_ieq_ascii(value, "continue"))
			*(int *)(void *)field = ON_ERROR_CONTINUE;
		else {
			con_say("%s: on-error is stop or continue, not \"%ls\"", where, value);
			return OPT_INVALID;
		}
		break;
	case K_FLAG:
		*(int *)(void *)field = flag;
		break;
	case K_OSWRITE: /* yes/no as a flag; "expand": the OS allocates absent blocks first, then writes */
		if (value && u16_ieq_ascii(value, "expand")) {
			*(int *)(void *)field = OS_WRITE_EXPAND;
		} else if (parse_bool(value, &flag)) {
			con_say("%s: \"%s\" takes yes, no or expand, not \"%ls\"", where, k->name, value);
			return OPT_INVALID;
		} else {
			*(int *)(void *)field = flag ? OS_WRITE_YES : OS_WRITE_NO;
		}
		break;
	case K_PIN:
		if (policy_set(&o->policy, (int)k->field, value, where, 0) != OPT_OK)
			return OPT_INVALID;
		break;
	}
	if (cli)
		o->set |= k->bit;
	return OPT_OK;
}

static int is_space(uint16_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

size_t opt_tokenize(const uint16_t *s, size_t len, uint16_t **tok, size_t max)
{
	size_t n = 0, i = 0;
	while (n < max) {
		while (i < len && s[i] && is_space(s[i]))
			i++;
		if (i >= len || !s[i])
			break;
		uint16_t *t = mem_alloc((len - i + 1) * sizeof(uint16_t));
		if (!t)
			break;
		size_t k = 0;
		int quoted = 0;
		while (i < len && s[i] && (quoted || !is_space(s[i]))) {
			if (s[i] == '^' && i + 1 < len && s[i + 1]) {
				t[k++] = s[i + 1];
				i += 2;
				continue;
			}
			if (s[i] == '"')
				quoted = !quoted;
			else
				t[k++] = s[i];
			i++;
		}
		t[k] = 0;
		tok[n++] = t;
	}
	return n;
}

int opt_looks_like_text(const uint16_t *s, size_t chars)
{
	size_t i = 0;
	for (; i < chars && s[i]; i++)
		if (!((s[i] >= 0x20 && s[i] < 0x7f) || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
			return 0;
	return i > 0;
}

/* Does the token read as one of our options (so it is not the program name)? */
static int is_option_token(const uint16_t *t)
{
	if (t[0] == '-')
		return 1;
	size_t n = 0;
	while (t[n] && t[n] != '=')
		n++;
	return key_find(t, n) != NULL;
}

/* The tokens after "--" as one LoadOptions string; tokens with spaces (or empty ones) are quoted again. */
static uint16_t *join(uint16_t **tok, size_t n)
{
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += u16_len(tok[i]) + 3;
	uint16_t *s = mem_alloc(len * sizeof(uint16_t)), *p = s;
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int q = 0;
		for (const uint16_t *c = tok[i]; *c; c++)
			q |= is_space(*c);
		if (!*tok[i])
			q = 1;
		if (i)
			*p++ = ' ';
		if (q)
			*p++ = '"';
		for (const uint16_t *c = tok[i]; *c; c++)
			*p++ = *c;
		if (q)
			*p++ = '"';
	}
	*p = 0;
	return s;
}

int opt_parse_tokens(struct boot_options *o, uint16_t **tok, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint16_t *t = tok[i];
		if (u16_eq_ascii(t, "--")) {
			mem_free(o->child_args);
			o->child_args = join(tok + i + 1, n - i - 1);
			o->set |= OPT_ARGS;
			return OPT_OK;
		}
		if (u16_eq_ascii(t, "-h") || u16_eq_ascii(t, "-?") || u16_eq_ascii(t, "/?")) {
			o->help = 1;
			continue;
		}
		const uint16_t *k = t;
		while (*k == '-')
			k++;
		size_t kl = 0;
		while (k[kl] && k[kl] != '=')
			kl++;
		const struct key *key = key_find(k, kl);
		if (!key) {
			con_say("unknown option \"%ls\" (try --help)", t);
			return OPT_INVALID;
		}
		const uint16_t *value = NULL;
		if (k[kl] == '=')
			value = k + kl + 1;
		else if (!bare_word_kind(key->kind) && t[0] == '-') {
			if (i + 1 >= n) {
				con_say("option \"%ls\" needs a value", t);
				return OPT_INVALID;
			}
			value = tok[++i];
		}
		if (apply(o, key, value, 1, "command line"))
			return OPT_INVALID;
	}
	return OPT_OK;
}

int opt_parse_load_options(struct boot_options *o, const void *data, size_t bytes)
{
	const uint16_t *s = data;
	size_t chars = bytes / sizeof(uint16_t), n, first = 0;
	uint16_t *tok[OPT_MAX_TOKENS];

	if (!data || !chars || !opt_looks_like_text(s, chars))
		return OPT_OK;
	n = opt_tokenize(s, chars, tok, OPT_MAX_TOKENS);
	/* a boot manager may or may not put the program's own path first */
	if (n && !is_option_token(tok[0]))
		first = 1;
	int st = opt_parse_tokens(o, tok + first, n - first);
	for (size_t i = 0; i < n; i++)
		mem_free(tok[i]);
	return st;
}

size_t opt_config_narrow(char *text, size_t size)
{
	if (size < 2 || (uint8_t)text[0] != 0xff || (uint8_t)text[1] != 0xfe)
		return size;
	/* little-endian units read bytewise: the file need not be aligned, and the host need not be little-endian */
	size_t chars = (size - 2) / 2;
	for (size_t i = 0; i < chars; i++) {
		unsigned w = (uint8_t)text[2 + 2 * i] | (unsigned)(uint8_t)text[3 + 2 * i] << 8;
		text[i] = w < 0x80 ? (char)w : '?';
	}
	return chars;
}

static int is_ws8(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* One "key = value" line between a and b (comment and blanks already cut); line counts from 1. */
static int config_line(struct boot_options *o, const char *a, const char *b, size_t line)
{
	const char *eq = a;
	while (eq < b && *eq != '=')
		eq++;
	const char *ke = eq;
	while (ke > a && is_ws8(ke[-1]))
		ke--;
	const char *v = eq < b ? eq + 1 : b;
	while (v < b && is_ws8(*v))
		v++;
	uint16_t *key = u16_from_ascii(a, (size_t)(ke - a));
	uint16_t *val = eq < b ? u16_from_ascii(v, (size_t)(b - v)) : NULL;
	char where[64];
	fmt(where, sizeof where, "%s line %llu", VHDXBOOT_CONF_NAME, (unsigned long long)line);
	int st = OPT_OK;
	const struct key *k = key ? key_find(key, u16_len(key)) : NULL;
	if (!k) {
		static const uint16_t unknown[] = { '?', 0 };
		con_say("%s: unknown key \"%ls\"", where, key ? key : unknown);
		st = OPT_INVALID;
	} else {
		st = apply(o, k, val, 0, where);
	}
	mem_free(key);
	mem_free(val);
	return st;
}

int opt_parse_config(struct boot_options *o, char *text, size_t size)
{
	size_t line = 0;
	const char *p = text, *end = text + size;
	while (p < end) {
		const char *eol = p;
		while (eol < end && *eol != '\n')
			eol++;
		line++;
		const char *a = p, *b = eol;
		p = eol + 1;
		const char *hash = a;
		while (hash < b && *hash != '#')
			hash++;
		b = hash;
		while (a < b && is_ws8(*a))
			a++;
		while (b > a && is_ws8(b[-1]))
			b--;
		if (a == b)
			continue;
		if (config_line(o, a, b, line))
			return OPT_INVALID;
	}
	return OPT_OK;
}

void opt_free(struct boot_options *o)
{
	mem_free(o->next);
	mem_free(o->disk);
	mem_free(o->image);
	mem_free(o->child_args);
	o->next = o->disk = o->image = o->child_args = NULL;
}
