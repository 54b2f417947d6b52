/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * parent.c - the Parent Locator of a differencing image, and attaching an opened parent to its child.
 *
 * The locator is a table of key/value pairs in UTF-16LE with no checksum, so every offset and length is checked
 * against the item before a byte of it is looked at.  The core only needs parent_linkage (which parent is the
 * right one); the paths are decoded to UTF-8 for the platform, which is the one that finds files and devices.
 */
#include "internal.h"

#define LOC_HEADER 20     /* type GUID, u16 reserved, u16 count */
#define LOC_COUNT 18
#define LOC_ENTRY 12      /* u32 key offset, u32 value offset, u16 key length, u16 value length */
#define LOC_E_KEY_OFF 0
#define LOC_E_VALUE_OFF 4
#define LOC_E_KEY_LEN 8
#define LOC_E_VALUE_LEN 10
#define KEY_MAX 32        /* bytes of ASCII: longer keys are none of the five */
#define GUID_BRACED 38    /* "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" */

static const struct {
	const char *name;
	unsigned bit;
} keys[] = {
	{ "parent_linkage", VHDX_LOC_LINKAGE },     { "parent_linkage2", VHDX_LOC_LINKAGE2 },
	{ "relative_path", VHDX_LOC_RELATIVE },     { "volume_path", VHDX_LOC_VOLUME },
	{ "absolute_win32_path", VHDX_LOC_ABSOLUTE },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static int str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/*
 * UTF-16LE (len bytes) to NUL-terminated UTF-8 in out (cap bytes).  Returns 0, -1 for a broken surrogate pair or
 * an embedded NUL (the locator's strings have no terminator, so a NUL inside is damage), -2 when it does not fit.
 */
static int utf16_to_utf8(const uint8_t *p, uint32_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (uint32_t i = 0; i < len; i += 2) {
		uint32_t c = vhdx_le16(p + i), n;
		if (c == 0)
			return -1;
		if (c >= 0xD800 && c < 0xDC00) {
			uint32_t lo = i + 3 < len ? vhdx_le16(p + i + 2) : 0;
			if (lo < 0xDC00 || lo >= 0xE000)
				return -1;
			c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
			i += 2;
		} else if (c >= 0xDC00 && c < 0xE000) {
			return -1;
		}
		n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
		if (o + n + 1 > cap)
			return -2;
		if (n == 1) {
			out[o++] = (char)c;
			continue;
		}
		out[o++] = (char)((n == 2 ? 0xC0 : n == 3 ? 0xE0 : 0xF0) | (c >> (6 * (n - 1))));
		for (uint32_t k = n - 1; k > 0; k--)
			out[o++] = (char)(0x80 | ((c >> (6 * (k - 1))) & 0x3F));
	}
	out[o] = 0;
	return 0;
}

/*
 * "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}", either case (the spec says lowercase, its example is uppercase).  The
 * locator's form is always braced; vhdx_guid_parse (guidparse.c) also takes the bare form, so the braces and the
 * length are checked here.
 */
static int parse_braced_guid(const char *s, struct vhdx_guid *g)
{
	for (int i = 0; i < GUID_BRACED; i++)
		if (!s[i])
			return -1;
	if (s[0] != '{' || s[GUID_BRACED] != 0)
		return -1;
	return vhdx_guid_parse(s, GUID_BRACED, g);
}

static char *path_slot(struct vhdx_parent_locator *loc, unsigned bit)
{
	return bit == VHDX_LOC_RELATIVE ? loc->relative_path :
	       bit == VHDX_LOC_VOLUME   ? loc->volume_path :
					  loc->absolute_win32_path;
}

/* One entry: bounds, key, value.  `name` receives the key's ASCII form for messages. */
static vhdx_status parse_entry(struct vhdx_image *img, const uint8_t *item, uint32_t len, uint32_t i,
			       struct vhdx_parent_locator *loc)
{
	const uint8_t *e = item + LOC_HEADER + i * LOC_ENTRY;
	uint64_t ko = vhdx_le32(e + LOC_E_KEY_OFF), vo = vhdx_le32(e + LOC_E_VALUE_OFF);
	uint64_t kl = vhdx_le16(e + LOC_E_KEY_LEN), vl = vhdx_le16(e + LOC_E_VALUE_LEN);
	char key[KEY_MAX], value[VHDX_LOCATOR_PATH_MAX];
	unsigned bit = 0;
	int r;

	if (kl == 0 || vl == 0 || ko + kl > len || vo + vl > len)
		return vhdx_fail(img, VHDX_E_CORRUPT,
				 "metadata: Parent Locator entry %u (key %llu+%llu, value %llu+%llu) lies outside its %u bytes",
				 i, (unsigned long long)ko, (unsigned long long)kl, (unsigned long long)vo,
				 (unsigned long long)vl, len);
	if (kl % 2 || vl % 2)
		return vhdx_fail(img, VHDX_E_CORRUPT,
				 "metadata: Parent Locator entry %u: key length %llu or value length %llu is odd (UTF-16)", i,
				 (unsigned long long)kl, (unsigned long long)vl);
	if (ko < LOC_HEADER + (uint64_t)vhdx_le16(item + LOC_COUNT) * LOC_ENTRY ||
	    vo < LOC_HEADER + (uint64_t)vhdx_le16(item + LOC_COUNT) * LOC_ENTRY)
		return vhdx_fail(img, VHDX_E_CORRUPT,
				 "metadata: Parent Locator entry %u: key offset %llu or value offset %llu lies in the entry table",
				 i, (unsigned long long)ko, (unsigned long long)vo);
	r = utf16_to_utf8(item + ko, (uint32_t)kl, key, sizeof(key));
	if (r == -1)
		return vhdx_fail(img, VHDX_E_CORRUPT, "metadata: Parent Locator entry %u: key at %llu is not valid UTF-16",
				 i, (unsigned long long)ko);
	for (size_t k = 0; r == 0 && k < NKEYS; k++)
		if (str_eq(key, keys[k].name))
			bit = keys[k].bit;
	if (!bit) { /* other keys may exist (the format allows extensions): counted, not interpreted */
		loc->unknown_keys++;
		return VHDX_OK;
	}
	if (loc->keys & bit)
		return vhdx_fail(img, VHDX_E_CORRUPT, "metadata: Parent Locator entry %u: a second %s key", i, key);
	loc->keys |= bit;
	r = utf16_to_utf8(item + vo, (uint32_t)vl, value, sizeof(value));
	if (r == -1)
		return vhdx_fail(img, VHDX_E_CORRUPT, "metadata: Parent Locator %s: value at %llu is not valid UTF-16",
				 key, (unsigned long long)vo);
	if (r == -2)
		return vhdx_fail(img, VHDX_E_UNSUPPORTED,
				 "metadata: Parent Locator %s: value of %llu bytes is longer than %u bytes of UTF-8",
				 key, (unsigned long long)vl,
				 (unsigned)VHDX_LOCATOR_PATH_MAX - 1);
	if (bit == VHDX_LOC_LINKAGE || bit == VHDX_LOC_LINKAGE2) {
		if (parse_braced_guid(value, bit == VHDX_LOC_LINKAGE ? &loc->linkage : &loc->linkage2))
			return vhdx_fail(img, VHDX_E_CORRUPT,
					 "metadata: Parent Locator %s: value \"%s\" is not a GUID in braces", key, value);
		return VHDX_OK;
	}
	memcpy(path_slot(loc, bit), value, sizeof(value));
	return VHDX_OK;
}

vhdx_status vhdx_locator_parse(struct vhdx_image *img, const uint8_t *item, uint32_t len,
			       struct vhdx_parent_locator *loc)
{
	static const struct vhdx_guid type = VHDX_GUID_PARENT_TYPE;
	struct vhdx_guid g;
	uint32_t count;
	vhdx_status st;

	memset(loc, 0, sizeof(*loc));
	if (len < LOC_HEADER)
		return vhdx_fail(img, VHDX_E_CORRUPT, "metadata: Parent Locator length %u is below 20", len);
	vhdx_guid_load(&g, item);
	if (!vhdx_guid_equal(&g, &type))
		return vhdx_fail(img, VHDX_E_UNSUPPORTED, "metadata: Parent Locator type %s is not the VHDX locator",
				 VHDX_GUID_STR(&g));
	count = vhdx_le16(item + LOC_COUNT);
	if (LOC_HEADER + (uint64_t)count * LOC_ENTRY > len)
		return vhdx_fail(img, VHDX_E_CORRUPT, "metadata: Parent Locator entry count %u does not fit its %u bytes",
				 count, len);
	for (uint32_t i = 0; i < count; i++)
		if ((st = parse_entry(img, item, len, i, loc)))
			return st;
	/* the paths are the platform's business (and it says when none is usable); the linkage is the core's */
	if (!(loc->keys & VHDX_LOC_LINKAGE))
		return vhdx_fail(img, VHDX_E_CORRUPT, "metadata: Parent Locator has no parent_linkage key (%u entries)",
				 count);
	return VHDX_OK;
}

/* The images of the chain so far, from the bottom child up to the top parent; n of them. */
static unsigned chain_list(struct vhdx_image *child, struct vhdx_image *parent, struct vhdx_image **list,
			   unsigned cap)
{
	struct vhdx_image *bottom = child;
	unsigned n = 0;

	for (unsigned k = 0; bottom->child && k < cap; k++)
		bottom = bottom->child;
	for (struct vhdx_image *p = bottom; p && n < cap; p = p == child ? parent : p->parent)
		list[n++] = p;
	return n;
}

static int same_image(const struct vhdx_image *a, const struct vhdx_image *b)
{
	return a == b || (vhdx_guid_equal(&a->disk_id, &b->disk_id) &&
			  vhdx_guid_equal(&a->header[a->current].data_write_guid, &b->header[b->current].data_write_guid));
}

vhdx_status vhdx_attach_parent(struct vhdx_image *child, struct vhdx_image *parent)
{
	/* room for one more than allowed, so that a chain one too deep is seen as such */
	struct vhdx_image *list[VHDX_CHAIN_MAX_DEPTH + 3];
	const struct vhdx_guid *dw;
	unsigned n;

	if (!child || !child->validated)
		return child ? vhdx_fail(child, VHDX_E_STATE, "attach: the child image was not opened and validated") :
			       VHDX_E_ARG;
	if (!parent || !parent->validated)
		return vhdx_fail(child, VHDX_E_ARG, "attach: the parent image was not opened and validated");
	if (!child->has_parent || !child->locator)
		return vhdx_fail(child, VHDX_E_ARG, "attach: File Parameters HasParent is clear: the image has no parent");
	if (child->parent)
		return vhdx_fail(child, VHDX_E_ARG, "attach: a parent is attached already");
	if (parent->child)
		return vhdx_fail(child, VHDX_E_ARG, "attach: the parent serves another child already");
	if (!parent->io->read_only)
		return vhdx_fail(child, VHDX_E_ARG, "attach: the parent's backend is writable; a parent is opened read-only");
	dw = &parent->header[parent->current].data_write_guid;
	if (!vhdx_guid_equal(dw, &child->locator->linkage) &&
	    !((child->locator->keys & VHDX_LOC_LINKAGE2) && vhdx_guid_equal(dw, &child->locator->linkage2)))
		return vhdx_fail(child, VHDX_E_CORRUPT,
				 "parent: DataWriteGuid %s is not the child's Parent Locator parent_linkage %s",
				 VHDX_GUID_STR(dw),
				 VHDX_GUID_STR(&child->locator->linkage));
	if (parent->virtual_size != child->virtual_size)
		return vhdx_fail(child, VHDX_E_UNSUPPORTED,
				 "parent %s: Virtual Disk Size %llu differs from the child's %llu", VHDX_GUID_STR(dw),
				 (unsigned long long)parent->virtual_size,
				 (unsigned long long)child->virtual_size);
	if (parent->logical_sector_size != child->logical_sector_size)
		return vhdx_fail(child, VHDX_E_UNSUPPORTED,
				 "parent %s: Logical Sector Size %u differs from the child's %u", VHDX_GUID_STR(dw),
				 parent->logical_sector_size, child->logical_sector_size);
	/* a loop first: walking a loop fills the list, which would otherwise read as too deep */
	n = chain_list(child, parent, list, VHDX_CHAIN_MAX_DEPTH + 3);
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++)
			if (same_image(list[i], list[j]))
				return vhdx_fail(child, VHDX_E_CORRUPT,
						 "parent %s: the chain is a loop: VirtualDiskId %s appears twice",
						 VHDX_GUID_STR(dw),
						 VHDX_GUID_STR(&list[j]->disk_id));
	if (n > VHDX_CHAIN_MAX_DEPTH + 1)
		return vhdx_fail(child, VHDX_E_UNSUPPORTED, "parent %s: the chain would hold more than %u parents",
				 VHDX_GUID_STR(dw),
				 (unsigned)VHDX_CHAIN_MAX_DEPTH);
	child->parent = parent;
	parent->child = child;
	return VHDX_OK;
}

/* UTF-8 (NUL-terminated) to UTF-16LE at out; returns the bytes written, or -1 if invalid or beyond cap. */
static long utf8_to_utf16(const char *s, uint8_t *out, uint32_t cap)
{
	const uint8_t *p = (const uint8_t *)s;
	uint32_t o = 0;

	while (*p) {
		uint32_t c = *p, n = c < 0x80 ? 0 : c >= 0xF0 && c < 0xF5 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 ? 1 : 9;
		if (n == 9 || (c >= 0x80 && c < 0xC2) || c >= 0xF5)
			return -1;
		c = n ? c & (0x3F >> n) : c;
		for (uint32_t k = 1; k <= n; k++) {
			if ((p[k] & 0xC0) != 0x80)
				return -1;
			c = c << 6 | (p[k] & 0x3F);
		}
		p += n + 1;
		if ((c >= 0xD800 && c < 0xE000) || c > 0x10FFFF || (n == 2 && c < 0x800) || (n == 3 && c < 0x10000))
			return -1;
		if (o + (c >= 0x10000 ? 4 : 2) > cap)
			return -1;
		if (c >= 0x10000) {
			vhdx_put16(out + o, (uint16_t)(0xD800 + ((c - 0x10000) >> 10)));
			vhdx_put16(out + o + 2, (uint16_t)(0xDC00 + ((c - 0x10000) & 0x3FF)));
			o += 4;
		} else {
			vhdx_put16(out + o, (uint16_t)c);
			o += 2;
		}
	}
	return o;
}

uint32_t vhdx_locator_build(uint8_t *out, uint32_t cap, const struct vhdx_guid *linkage, const char *relative_path,
			    const char *volume_path, const char *absolute_win32_path)
{
	static const struct vhdx_guid type = VHDX_GUID_PARENT_TYPE;
	char guid[GUID_BRACED + 1], text[VHDX_GUID_TEXT];
	const char *kv[8];
	uint32_t n = 0, pos, count;

	/* the spec asks for lowercase in braces */
	vhdx_guid_format(linkage, text);
	guid[0] = '{';
	for (int i = 0; i < VHDX_GUID_TEXT - 1; i++)
		guid[i + 1] = text[i] >= 'A' && text[i] <= 'F' ? (char)(text[i] - 'A' + 'a') : text[i];
	guid[GUID_BRACED - 1] = '}';
	guid[GUID_BRACED] = 0;
	kv[n++] = "parent_linkage", kv[n++] = guid;
	if (relative_path && *relative_path)
		kv[n++] = "relative_path", kv[n++] = relative_path;
	if (volume_path && *volume_path)
		kv[n++] = "volume_path", kv[n++] = volume_path;
	if (absolute_win32_path && *absolute_win32_path)
		kv[n++] = "absolute_win32_path", kv[n++] = absolute_win32_path;
	count = n / 2;
	pos = LOC_HEADER + count * LOC_ENTRY;
	if (cap < pos)
		return 0;
	memset(out, 0, pos);
	vhdx_guid_store(out, &type);
	vhdx_put16(out + LOC_COUNT, (uint16_t)count);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *e = out + LOC_HEADER + (i / 2) * LOC_ENTRY;
		long len = utf8_to_utf16(kv[i], out + pos, cap - pos);
		if (len <= 0 || len > 0xFFFF)
			return 0;
		vhdx_put32(e + (i % 2) * 4, pos);
		vhdx_put16(e + 8 + (i % 2) * 2, (uint16_t)len);
		pos += (uint32_t)len;
	}
	return pos;
}
