/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * devpath.c - device paths: walk, measure, append a file path or a node, compare prefixes, and text for
 * messages (through the firmware's EFI_DEVICE_PATH_TO_TEXT_PROTOCOL when it has one).
 */
#include "boot.h"

static UINTN node_len(const EFI_DEVICE_PATH *n)
{
	return (UINTN)n->Length[0] | ((UINTN)n->Length[1] << 8);
}

static int node_is_end(const EFI_DEVICE_PATH *n)
{
	return (n->Type & 0x7f) == END_DEVICE_PATH_TYPE && n->SubType == END_ENTIRE_DEVICE_PATH_SUBTYPE;
}

static const EFI_DEVICE_PATH *node_next(const EFI_DEVICE_PATH *n)
{
	return (const EFI_DEVICE_PATH *)((const UINT8 *)n + node_len(n));
}

static void set_end(EFI_DEVICE_PATH *n)
{
	n->Type = END_DEVICE_PATH_TYPE;
	n->SubType = END_ENTIRE_DEVICE_PATH_SUBTYPE;
	n->Length[0] = sizeof(EFI_DEVICE_PATH);
	n->Length[1] = 0;
}

EFI_DEVICE_PATH *dp_of(EFI_HANDLE h)
{
	EFI_DEVICE_PATH *dp = NULL;
	if (EFI_ERROR(g_bs->HandleProtocol(h, &g_guid_device_path, (void **)&dp)))
		return NULL;
	return dp;
}

/* Size without the final end node; a malformed node (length < 4) ends the walk. */
static UINTN dp_body(const EFI_DEVICE_PATH *dp)
{
	const EFI_DEVICE_PATH *n = dp;
	if (!dp)
		return 0;
	while (!node_is_end(n) && node_len(n) >= sizeof(EFI_DEVICE_PATH))
		n = node_next(n);
	return (UINTN)((const UINT8 *)n - (const UINT8 *)dp);
}

UINTN dp_size(const EFI_DEVICE_PATH *dp)
{
	return dp_body(dp) + sizeof(EFI_DEVICE_PATH);
}

EFI_DEVICE_PATH *dp_append_node(const EFI_DEVICE_PATH *dp, const EFI_DEVICE_PATH *node)
{
	UINTN a = dp_body(dp), b = node_len(node);
	UINT8 *p = mem_alloc(a + b + sizeof(EFI_DEVICE_PATH));
	if (!p)
		return NULL;
	if (a)
		memcpy(p, dp, a);
	memcpy(p + a, node, b);
	set_end((EFI_DEVICE_PATH *)(p + a + b));
	return (EFI_DEVICE_PATH *)p;
}

/* One file-path media node holding the whole path (FAT drivers accept that form). */
EFI_DEVICE_PATH *dp_append_file(const EFI_DEVICE_PATH *dp, const CHAR16 *path)
{
	UINTN chars = u16_len(path) + 1;
	UINTN len = sizeof(EFI_DEVICE_PATH) + chars * sizeof(CHAR16);
	if (len > 0xffff)
		return NULL;
	EFI_DEVICE_PATH *node = mem_alloc(len);
	if (!node)
		return NULL;
	node->Type = MEDIA_DEVICE_PATH;
	node->SubType = MEDIA_FILEPATH_DP;
	node->Length[0] = (UINT8)len;
	node->Length[1] = (UINT8)(len >> 8);
	CHAR16 *d = (CHAR16 *)((UINT8 *)node + sizeof(EFI_DEVICE_PATH));
	for (UINTN i = 0; i < chars; i++)
		d[i] = path[i] == L'/' ? L'\\' : path[i];
	EFI_DEVICE_PATH *r = dp_append_node(dp, node);
	mem_free(node);
	return r;
}

CHAR16 *dp_text(const EFI_DEVICE_PATH *dp)
{
	EFI_DEVICE_PATH_TO_TEXT_PROTOCOL *tt = NULL;
	if (!dp)
		return u16_dup(L"(no device path)");
	if (!EFI_ERROR(g_bs->LocateProtocol(&g_guid_dp_to_text, NULL, (void **)&tt)) && tt) {
		CHAR16 *t = tt->ConvertDevicePathToText(dp, FALSE, FALSE);
		if (t) {
			/* the firmware's pool string is ours to free with FreePool, as mem_free does */
			return t;
		}
	}
	/* no text protocol: a coarse "Type(Sub)/..." rendering is better than nothing */
	char buf[256];
	size_t n = 0;
	for (const EFI_DEVICE_PATH *p = dp; !node_is_end(p) && node_len(p) >= 4 && n < sizeof buf - 16;
	     p = node_next(p))
		n += fmt(buf + n, sizeof buf - n, "%s%u(%u)", n ? "/" : "", p->Type, p->SubType);
	return u16_from_ascii(buf, n);
}

/* The directory part of the file-path nodes of an image's FilePath: "\EFI\BOOT\" for "\EFI\BOOT\X.EFI". */
CHAR16 *dp_dir_of_file(const EFI_DEVICE_PATH *dp)
{
	CHAR16 *out = mem_zalloc(512 * sizeof(CHAR16));
	UINTN n = 0;
	if (!out)
		return NULL;
	for (const EFI_DEVICE_PATH *p = dp; p && !node_is_end(p) && node_len(p) >= 4; p = node_next(p)) {
		if (p->Type != MEDIA_DEVICE_PATH || p->SubType != MEDIA_FILEPATH_DP)
			continue;
		const CHAR16 *s = (const CHAR16 *)((const UINT8 *)p + sizeof(EFI_DEVICE_PATH));
		UINTN chars = (node_len(p) - sizeof(EFI_DEVICE_PATH)) / sizeof(CHAR16);
		if (n && out[n - 1] != L'\\' && n < 510)
			out[n++] = L'\\';
		for (UINTN i = 0; i < chars && s[i] && n < 510; i++)
			out[n++] = s[i] == L'/' ? L'\\' : s[i];
	}
	while (n && out[n - 1] != L'\\')
		n--;
	if (!n)
		out[n++] = L'\\';
	out[n] = 0;
	return out;
}

int dp_is_prefix(const EFI_DEVICE_PATH *prefix, const EFI_DEVICE_PATH *dp)
{
	UINTN a = dp_body(prefix), b = dp_body(dp);
	return a <= b && memcmp(prefix, dp, a) == 0;
}
