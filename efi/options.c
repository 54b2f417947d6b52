/*
 * options.c - what the module is told: the command line (UEFI Shell arguments, or a boot entry's LoadOptions when
 * they are text) and vhdxboot.conf beside the application.  The command line wins over the file.
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
#include "boot.h"

#define MAX_TOKENS 64

enum kind { K_STR, K_FLAG };
static const struct {
	const char *name;
	enum kind kind;
	unsigned bit;
} keys[] = {
	{ "next", K_STR, OPT_NEXT },          { "disk", K_STR, OPT_DISK },
	{ "image", K_STR, OPT_IMAGE },        { "on-error", K_STR, OPT_ONERR },
	{ "args", K_STR, OPT_ARGS },          { "check-only", K_FLAG, OPT_CHECK },
	{ "list", K_FLAG, 0 },                { "help", K_FLAG, 0 },
	{ "no-config", K_FLAG, 0 },
	{ "os-write", K_FLAG, OPT_OSWRITE }, /* issue 10: the OS booted from inside may write the image */
	/* issue 12: policy keys (efi/policy.c); from index FIRST_POLICY_KEY on, in policy.c's order */
	{ "require-disk-id", K_STR, OPT_REQ_DISK },   { "require-data-write-guid", K_STR, OPT_REQ_DATA },
	{ "require-sha256", K_STR, OPT_REQ_SHA },     { "on-mismatch", K_STR, OPT_ONMISMATCH },
};
#define FIRST_POLICY_KEY 10

static int key_index(const CHAR16 *k, UINTN n)
{
	for (UINTN i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		UINTN l = 0;
		while (keys[i].name[l])
			l++;
		if (l == n && u16_ncmp_ascii(k, keys[i].name, n) == 0)
			return (int)i;
	}
	return -1;
}

static int parse_bool(const CHAR16 *v, int *out)
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
static EFI_STATUS apply(struct boot_options *o, int ki, const CHAR16 *value, int cli, const char *where)
{
	const char *name = keys[ki].name;
	unsigned bit = keys[ki].bit;
	if (!cli && (o->set & bit))
		return EFI_SUCCESS;
	if (keys[ki].kind == K_STR && (!value || !*value)) {
		con_say("%s: \"%s\" needs a value", where, name);
		return EFI_INVALID_PARAMETER;
	}
	int flag = 0;
	if (keys[ki].kind == K_FLAG && parse_bool(value, &flag)) {
		con_say("%s: \"%s\" takes yes or no, not \"%ls\"", where, name, value);
		return EFI_INVALID_PARAMETER;
	}
	switch (ki) {
	case 0:
		mem_free(o->next);
		o->next = u16_dup(value);
		break;
	case 1:
		mem_free(o->disk);
		o->disk = u16_dup(value);
		break;
	case 2:
		mem_free(o->image);
		o->image = u16_dup(value);
		break;
	case 3:
		if (u16_ieq_ascii(value, "stop"))
			o->on_error = ON_ERROR_STOP;
		else if (u16_ieq_ascii(value, "continue"))
			o->on_error = ON_ERROR_CONTINUE;
		else {
			con_say("%s: on-error is stop or continue, not \"%ls\"", where, value);
			return EFI_INVALID_PARAMETER;
		}
		break;
	case 4:
		mem_free(o->child_args);
		o->child_args = u16_dup(value);
		break;
	case 5:
		o->check_only = flag;
		break;
	case 6:
		o->list = flag;
		break;
	case 7:
		o->help = flag;
		break;
	case 8:
		o->no_config = flag;
		break;
	case 9:
		o->os_write = flag;
		break;
	default: {
		EFI_STATUS pst = policy_set(&o->policy, ki - FIRST_POLICY_KEY, value, where, 0);
		if (EFI_ERROR(pst))
			return pst;
		break;
	}
	}
	if (cli)
		o->set |= bit;
	return EFI_SUCCESS;
}

static int is_space(CHAR16 c)
{
	return c == L' ' || c == L'\t' || c == L'\r' || c == L'\n';
}

/* Splits a command line into pool-allocated tokens; double quotes group, ^ escapes (as in the UEFI Shell). */
static UINTN tokenize(const CHAR16 *s, UINTN len, CHAR16 **tok, UINTN max)
{
	UINTN n = 0, i = 0;
	while (n < max) {
		while (i < len && s[i] && is_space(s[i]))
			i++;
		if (i >= len || !s[i])
			break;
		CHAR16 *t = mem_alloc((len - i + 1) * sizeof(CHAR16));
		if (!t)
			break;
		UINTN k = 0;
		int quoted = 0;
		while (i < len && s[i] && (quoted || !is_space(s[i]))) {
			if (s[i] == L'^' && i + 1 < len && s[i + 1]) {
				t[k++] = s[i + 1];
				i += 2;
				continue;
			}
			if (s[i] == L'"')
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

/* A boot entry's LoadOptions may be binary (OVMF marks its own entries with a GUID): only printable text counts. */
static int looks_like_text(const CHAR16 *s, UINTN chars)
{
	UINTN i = 0;
	for (; i < chars && s[i]; i++)
		if (!((s[i] >= 0x20 && s[i] < 0x7f) || s[i] == L'\t' || s[i] == L'\r' || s[i] == L'\n'))
			return 0;
	return i > 0;
}

/* Does the token read as one of our options (so it is not the program name)? */
static int is_option_token(const CHAR16 *t)
{
	if (t[0] == L'-')
		return 1;
	UINTN n = 0;
	while (t[n] && t[n] != L'=')
		n++;
	return key_index(t, n) >= 0;
}

static CHAR16 *join(CHAR16 **tok, UINTN n)
{
	UINTN len = 1;
	for (UINTN i = 0; i < n; i++)
		len += u16_len(tok[i]) + 3;
	CHAR16 *s = mem_alloc(len * sizeof(CHAR16)), *p = s;
	if (!s)
		return NULL;
	for (UINTN i = 0; i < n; i++) {
		int q = 0;
		for (const CHAR16 *c = tok[i]; *c; c++)
			q |= is_space(*c);
		if (!*tok[i])
			q = 1;
		if (i)
			*p++ = L' ';
		if (q)
			*p++ = L'"';
		for (const CHAR16 *c = tok[i]; *c; c++)
			*p++ = *c;
		if (q)
			*p++ = L'"';
	}
	*p = 0;
	return s;
}

static EFI_STATUS parse_tokens(struct boot_options *o, CHAR16 **tok, UINTN n)
{
	for (UINTN i = 0; i < n; i++) {
		CHAR16 *t = tok[i];
		if (u16_eq_ascii(t, "--")) {
			mem_free(o->child_args);
			o->child_args = join(tok + i + 1, n - i - 1);
			o->set |= OPT_ARGS;
			return EFI_SUCCESS;
		}
		if (u16_eq_ascii(t, "-h") || u16_eq_ascii(t, "-?") || u16_eq_ascii(t, "/?")) {
			o->help = 1;
			continue;
		}
		const CHAR16 *k = t;
		while (*k == L'-')
			k++;
		UINTN kl = 0;
		while (k[kl] && k[kl] != L'=')
			kl++;
		int ki = key_index(k, kl);
		if (ki < 0) {
			con_say("unknown option \"%ls\" (try --help)", t);
			return EFI_INVALID_PARAMETER;
		}
		const CHAR16 *value = NULL;
		if (k[kl] == L'=')
			value = k + kl + 1;
		else if (keys[ki].kind == K_STR && t[0] == L'-') {
			if (i + 1 >= n) {
				con_say("option \"%ls\" needs a value", t);
				return EFI_INVALID_PARAMETER;
			}
			value = tok[++i];
		}
		EFI_STATUS st = apply(o, ki, value, 1, "command line");
		if (EFI_ERROR(st))
			return st;
	}
	return EFI_SUCCESS;
}

EFI_STATUS options_parse_cmdline(struct boot_options *o)
{
	CHAR16 *tok[MAX_TOKENS];
	UINTN n = 0, first = 0;
	EFI_SHELL_PARAMETERS_PROTOCOL *sp = NULL;

	if (!EFI_ERROR(g_bs->HandleProtocol(g_image, &g_guid_shell_params, (void **)&sp)) && sp && sp->Argc) {
		/* started by the UEFI Shell: Argv[0] is our own name */
		for (UINTN i = 1; i < sp->Argc && n < MAX_TOKENS; i++)
			tok[n++] = u16_dup(sp->Argv[i]);
	} else if (g_loaded->LoadOptions && g_loaded->LoadOptionsSize >= sizeof(CHAR16)) {
		const CHAR16 *s = g_loaded->LoadOptions;
		UINTN chars = g_loaded->LoadOptionsSize / sizeof(CHAR16);
		if (!looks_like_text(s, chars))
			return EFI_SUCCESS;
		n = tokenize(s, chars, tok, MAX_TOKENS);
		/* a boot manager may or may not put the program's own path first */
		if (n && !is_option_token(tok[0]))
			first = 1;
	}
	EFI_STATUS st = parse_tokens(o, tok + first, n - first);
	for (UINTN i = 0; i < n; i++)
		mem_free(tok[i]);
	return st;
}

static int is_ws8(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The config text as ASCII/UTF-8 bytes (UTF-16LE with a BOM is narrowed first; other characters become '?'). */
static EFI_STATUS parse_config(struct boot_options *o, char *text, UINTN size)
{
	UINTN line = 0;
	char *p = text, *end = text + size;
	while (p < end) {
		char *eol = p;
		while (eol < end && *eol != '\n')
			eol++;
		line++;
		char *a = p, *b = eol;
		p = eol + 1;
		char *hash = a;
		while (hash < b && *hash != '#')
			hash++;
		b = hash;
		while (a < b && is_ws8(*a))
			a++;
		while (b > a && is_ws8(b[-1]))
			b--;
		if (a == b)
			continue;
		char *eq = a;
		while (eq < b && *eq != '=')
			eq++;
		char *ke = eq;
		while (ke > a && is_ws8(ke[-1]))
			ke--;
		char *v = eq < b ? eq + 1 : b;
		while (v < b && is_ws8(*v))
			v++;
		CHAR16 *key = u16_from_ascii(a, (UINTN)(ke - a));
		CHAR16 *val = eq < b ? u16_from_ascii(v, (UINTN)(b - v)) : NULL;
		char where[64];
		fmt(where, sizeof where, "%ls line %lu", VHDXBOOT_CONF, (uint64_t)line);
		EFI_STATUS st = EFI_SUCCESS;
		int ki = key ? key_index(key, u16_len(key)) : -1;
		if (ki < 0) {
			con_say("%s: unknown key \"%ls\"", where, key ? key : L"?");
			st = EFI_INVALID_PARAMETER;
		} else {
			st = apply(o, ki, val, 0, where);
		}
		mem_free(key);
		mem_free(val);
		if (EFI_ERROR(st))
			return st;
	}
	return EFI_SUCCESS;
}

EFI_STATUS options_read_config(struct boot_options *o)
{
	if (o->no_config)
		return EFI_SUCCESS;
	EFI_FILE_HANDLE root = fs_root(g_loaded->DeviceHandle);
	if (!root)
		return EFI_SUCCESS; /* loaded from something without a file system: no config */
	CHAR16 *dir = dp_dir_of_file(g_loaded->FilePath);
	CHAR16 path[600];
	UINTN n = 0;
	for (const CHAR16 *s = dir ? dir : L"\\"; *s && n < 500; s++)
		path[n++] = *s;
	for (const CHAR16 *s = VHDXBOOT_CONF; *s; s++)
		path[n++] = *s;
	path[n] = 0;
	mem_free(dir);

	void *data = NULL;
	UINTN size = 0;
	EFI_STATUS st = fs_read_whole(root, path, &data, &size, 64 * 1024);
	root->Close(root);
	if (st == EFI_NOT_FOUND)
		return EFI_SUCCESS;
	if (EFI_ERROR(st)) {
		con_say("cannot read %ls: %r", path, st);
		return st;
	}
	char *text = data;
	if (size >= 2 && (UINT8)text[0] == 0xff && (UINT8)text[1] == 0xfe) {
		const CHAR16 *w = (const CHAR16 *)(text + 2);
		UINTN chars = (size - 2) / 2;
		for (UINTN i = 0; i < chars; i++)
			text[i] = w[i] < 0x80 ? (char)w[i] : '?';
		size = chars;
	}
	con_say("config %ls", path);
	st = parse_config(o, text, size);
	mem_free(data);
	return st;
}

void options_usage(void)
{
	con_print("usage: vhdxboot.efi [options] [-- options for the next stage]\n"
		  "  --next PATH       next stage on this volume; vhdx:PATH inside the image (vhdx: alone:\n"
		  "                    " EFIARCH_REMOVABLE_A " of its virtual disk)\n"
		  "  --disk SEL        auto (the one VHDX found) | index from --list | device-path text\n"
		  "  --image PATH      the VHDX is a file on this volume (else on another FAT volume)\n"
		  "  --check-only      validate, write nothing\n"
		  "  --os-write        (with next=vhdx:) tell the OS booted from inside that it may write the image\n"
		  "  --on-error MODE   stop (default) or continue to the next stage after a refusal\n"
		  "  --list            list the VHDX devices found and exit\n"
		  "  --no-config       ignore vhdxboot.conf\n"
		  "  --help            this text\n"
		  "  --require-disk-id GUID         pin the VirtualDiskId (vhdx seal prints the pins)\n"
		  "  --require-data-write-guid GUID pin the DataWriteGuid\n"
		  "  --require-sha256 HEX           pin the SHA-256 of the whole virtual disk\n"
		  "  --on-mismatch MODE             stop (default) or warn when a pin does not match\n"
		  "Also key=value (next=..., check-only).  vhdxboot.conf beside the application takes the\n"
		  "same keys as \"key = value\" lines, and \"args = ...\" for the next stage; the command line wins.\n");
}
