/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * imgbuild.c - small valid VHDX images in memory (see imgbuild.h).  Independent of the core on purpose: its own
 * bitwise CRC-32C and its own GUID byte layout, so a core bug cannot hide behind a builder sharing it.
 */
#include "imgbuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MiB VHDX_MiB

static uint32_t ib_crc(const uint8_t *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ ((c & 1) ? 0x82F63B78u : 0);
	}
	return ~c;
}

/* checksum of a structure with its checksum field at offset 4 */
static void fix_csum(uint8_t *p, size_t n)
{
	p[4] = p[5] = p[6] = p[7] = 0;
	uint32_t c = ib_crc(p, n);
	p[4] = (uint8_t)c;
	p[5] = (uint8_t)(c >> 8);
	p[6] = (uint8_t)(c >> 16);
	p[7] = (uint8_t)(c >> 24);
}

static void put_guid(uint8_t *p, const struct vhdx_guid *g)
{
	p[0] = (uint8_t)g->data1;
	p[1] = (uint8_t)(g->data1 >> 8);
	p[2] = (uint8_t)(g->data1 >> 16);
	p[3] = (uint8_t)(g->data1 >> 24);
	p[4] = (uint8_t)g->data2;
	p[5] = (uint8_t)(g->data2 >> 8);
	p[6] = (uint8_t)g->data3;
	p[7] = (uint8_t)(g->data3 >> 8);
	memcpy(p + 8, g->data4, 8);
}

struct vhdx_guid ib_guid(unsigned n)
{
	struct vhdx_guid g = { 0x11223300u + n, (uint16_t)(0x4455 + n), (uint16_t)(0x6677 + n),
			       { 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, (uint8_t)n } };
	return g;
}

int ib_grow(struct ib *b, uint64_t size)
{
	if (size <= b->size)
		return 0;
	if (size > b->cap) {
		uint64_t cap = b->cap ? b->cap : MiB;
		while (cap < size)
			cap *= 2;
		uint8_t *nb = realloc(b->buf, (size_t)cap);
		if (!nb)
			return -1;
		memset(nb + b->cap, 0, (size_t)(cap - b->cap));
		b->buf = nb;
		b->cap = cap;
	}
	b->size = size;
	return 0;
}

uint8_t *ib_hdr(struct ib *b, int i)
{
	return b->buf + (i ? VHDX_HEADER2_OFFSET : VHDX_HEADER1_OFFSET);
}

void ib_hdr_fix(struct ib *b, int i)
{
	fix_csum(ib_hdr(b, i), VHDX_HEADER_SIZE);
}

uint8_t *ib_rgn(struct ib *b, int i)
{
	return b->buf + (i ? VHDX_REGION2_OFFSET : VHDX_REGION1_OFFSET);
}

uint8_t *ib_rgn_entry(struct ib *b, int i, unsigned k)
{
	return ib_rgn(b, i) + VHDX_RGN_ENTRIES + (size_t)k * VHDX_RGN_ENTRY_SIZE;
}

void ib_rgn_fix(struct ib *b, int i)
{
	fix_csum(ib_rgn(b, i), VHDX_REGION_SIZE);
}

void ib_rgn_fix_both(struct ib *b)
{
	ib_rgn_fix(b, 0);
	memcpy(ib_rgn(b, 1), ib_rgn(b, 0), VHDX_REGION_SIZE);
}

uint8_t *ib_meta(struct ib *b)
{
	return b->buf + b->meta_off;
}

uint8_t *ib_meta_entry(struct ib *b, unsigned k)
{
	return ib_meta(b) + VHDX_META_ENTRIES + (size_t)k * VHDX_META_ENTRY_SIZE;
}

uint8_t *ib_meta_item(struct ib *b, unsigned k)
{
	return ib_meta(b) + vhdx_le32(ib_meta_entry(b, k) + 16);
}

unsigned ib_meta_add(struct ib *b, const struct vhdx_guid *g, uint32_t off, uint32_t len, uint32_t flags)
{
	unsigned k = b->meta_count++;
	uint8_t *e = ib_meta_entry(b, k);

	put_guid(e, g);
	vhdx_put32(e + 16, off);
	vhdx_put32(e + 20, len);
	vhdx_put32(e + 24, flags);
	vhdx_put32(e + 28, 0);
	vhdx_put16(ib_meta(b) + VHDX_META_COUNT, (uint16_t)b->meta_count);
	return k;
}

void ib_meta_remove(struct ib *b, unsigned k)
{
	if (k >= b->meta_count)
		return;
	memmove(ib_meta_entry(b, k), ib_meta_entry(b, k + 1), (size_t)(b->meta_count - k - 1) * VHDX_META_ENTRY_SIZE);
	b->meta_count--;
	memset(ib_meta_entry(b, b->meta_count), 0, VHDX_META_ENTRY_SIZE);
	vhdx_put16(ib_meta(b) + VHDX_META_COUNT, (uint16_t)b->meta_count);
}

uint64_t ib_bat_index(const struct ib *b, uint64_t block)
{
	return block + block / b->chunk_ratio;
}

uint64_t ib_bat_get(const struct ib *b, uint64_t idx)
{
	return vhdx_le64(b->buf + b->bat_off + idx * 8);
}

void ib_bat_set(struct ib *b, uint64_t idx, uint64_t entry)
{
	vhdx_put64(b->buf + b->bat_off + idx * 8, entry);
}

uint8_t ib_pattern(uint64_t v)
{
	uint64_t x = (v + 1) * 0x9E3779B97F4A7C15ULL;
	return (uint8_t)((x >> 56) ^ (v >> 20) ^ 0x5A);
}

static uint64_t block_bytes(const struct ib *b, uint64_t block)
{
	uint64_t left = b->p.virtual_size - block * b->p.block_size;
	if (left >= b->p.block_size)
		return b->p.block_size;
	return (left + MiB - 1) / MiB * MiB;
}

int ib_place_block(struct ib *b, uint64_t block, uint64_t file_off, unsigned state)
{
	uint64_t len = block_bytes(b, block), v0 = block * b->p.block_size;

	if (ib_grow(b, file_off + len))
		return -1;
	for (uint64_t i = 0; i < len; i++)
		b->buf[file_off + i] = v0 + i < b->p.virtual_size ? ib_pattern(v0 + i) : 0;
	ib_bat_set(b, ib_bat_index(b, block), file_off | state);
	if (file_off + len > b->data_next)
		b->data_next = file_off + len;
	return 0;
}

uint64_t ib_alloc_block(struct ib *b, uint64_t block)
{
	uint64_t off = b->data_next;

	if (ib_place_block(b, block, off, VHDX_BAT_FULLY_PRESENT))
		return 0;
	return off;
}

void ib_expect(const struct ib *b, uint64_t off, void *buf, size_t len)
{
	uint8_t *o = buf;

	while (len) {
		uint64_t blk = off / b->p.block_size, in = off % b->p.block_size, n = b->p.block_size - in;
		uint64_t e = ib_bat_get(b, ib_bat_index(b, blk));
		if (n > len)
			n = len;
		if ((e & 7) == VHDX_BAT_FULLY_PRESENT)
			memcpy(o, b->buf + (e & VHDX_BAT_OFFSET_MASK) + in, (size_t)n);
		else
			memset(o, 0, (size_t)n);
		o += n;
		off += n;
		len -= (size_t)n;
	}
}

int ib_mb(const struct ib *b, struct membackend *mb)
{
	return mb_init_copy(mb, b->buf, b->size);
}

static void put_utf16(uint8_t *p, const char *s)
{
	for (; *s; s++, p += 2)
		vhdx_put16(p, (uint16_t)(uint8_t)*s);
}

void ib_free(struct ib *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

int ib_build(struct ib *b, const struct ib_params *pp)
{
	static const struct vhdx_guid g_bat = VHDX_GUID_BAT, g_meta = VHDX_GUID_METADATA, g_fp = VHDX_GUID_FILE_PARAMS,
				      g_vds = VHDX_GUID_VDISK_SIZE, g_p83 = VHDX_GUID_PAGE83,
				      g_lss = VHDX_GUID_LOGICAL_SECTOR, g_pss = VHDX_GUID_PHYSICAL_SECTOR,
				      g_loc = VHDX_GUID_PARENT_LOCATOR, g_type = VHDX_GUID_PARENT_TYPE;
	struct ib_params p = pp ? *pp : (struct ib_params){ 0 };
	uint64_t pb, cr, need, batlen;

	memset(b, 0, sizeof(*b));
	if (!p.virtual_size)
		p.virtual_size = 8 * MiB;
	if (!p.block_size)
		p.block_size = (uint32_t)MiB;
	if (!p.lss)
		p.lss = 512;
	if (!p.pss)
		p.pss = 4096;
	if (!p.log_length && !p.no_log)
		p.log_length = (uint32_t)MiB;
	if (p.no_log)
		p.log_length = 0;
	b->p = p;

	cr = (VHDX_CHUNK_SECTORS * p.lss) / p.block_size;
	pb = (p.virtual_size + p.block_size - 1) / p.block_size;
	need = p.has_parent ? (pb + cr - 1) / cr * (cr + 1) : pb + (pb - 1) / cr;
	batlen = p.bat_length ? p.bat_length : (need * 8 + MiB - 1) / MiB * MiB;
	b->chunk_ratio = cr;
	b->payload_blocks = pb;
	b->bat_entries = need;

	b->log_off = MiB;
	b->log_len = p.log_length;
	b->meta_off = MiB + p.log_length;
	b->meta_len = (uint32_t)MiB;
	b->bat_off = b->meta_off + b->meta_len;
	b->bat_len = (uint32_t)batlen;
	b->data_next = b->bat_off + b->bat_len;
	if (ib_grow(b, b->data_next))
		return -1;

	/* identifier */
	vhdx_put64(b->buf, VHDX_IDENT_SIGNATURE);
	put_utf16(b->buf + VHDX_IDENT_CREATOR, "imgbuild");

	/* headers */
	for (int i = 0; i < 2; i++) {
		/* the core's own serialiser (header.c): one copy of the field layout, which sets the checksum too */
		struct vhdx_header h = { 0 };
		h.sequence = i ? IB_SEQ2 : IB_SEQ1;
		h.file_write_guid = ib_guid(1);
		h.data_write_guid = ib_guid(2);
		h.log_version = 0;
		h.version = 1;
		h.log_length = p.log_length;
		h.log_offset = MiB;
		vhdx_header_serialize(ib_hdr(b, i), &h);
	}

	/* region tables */
	{
		uint8_t *t = ib_rgn(b, 0), *e;
		vhdx_put32(t, VHDX_RGN_SIGNATURE);
		vhdx_put32(t + VHDX_RGN_COUNT, 2);
		e = ib_rgn_entry(b, 0, 0);
		put_guid(e, &g_bat);
		vhdx_put64(e + 16, b->bat_off);
		vhdx_put32(e + 24, b->bat_len);
		vhdx_put32(e + 28, VHDX_RGN_REQUIRED);
		e = ib_rgn_entry(b, 0, 1);
		put_guid(e, &g_meta);
		vhdx_put64(e + 16, b->meta_off);
		vhdx_put32(e + 24, b->meta_len);
		vhdx_put32(e + 28, VHDX_RGN_REQUIRED);
		ib_rgn_fix_both(b);
	}

	/* metadata */
	{
		uint8_t *m = ib_meta(b), *it = m + VHDX_META_TABLE_SIZE;
		const uint32_t base = VHDX_META_TABLE_SIZE, req = VHDX_META_IS_REQUIRED,
			       vreq = VHDX_META_IS_REQUIRED | VHDX_META_IS_VDISK;
		struct vhdx_guid id = ib_guid(3);
		vhdx_put64(m, VHDX_META_SIGNATURE);
		ib_meta_add(b, &g_fp, base + 0, 8, req);
		ib_meta_add(b, &g_vds, base + 8, 8, vreq);
		ib_meta_add(b, &g_p83, base + 16, 16, vreq);
		ib_meta_add(b, &g_lss, base + 32, 4, vreq);
		ib_meta_add(b, &g_pss, base + 36, 4, vreq);
		vhdx_put32(it + 0, p.block_size);
		vhdx_put32(it + 4, (p.leave_allocated ? VHDX_FP_LEAVE_ALLOCATED : 0) |
					   (p.has_parent ? VHDX_FP_HAS_PARENT : 0));
		vhdx_put64(it + 8, p.virtual_size);
		put_guid(it + 16, &id);
		vhdx_put32(it + 32, p.lss);
		vhdx_put32(it + 36, p.pss);
		if (p.has_parent) {
			/* type, reserved, count 1, one entry: key "parent_linkage", value a GUID in braces */
			static const char key[] = "parent_linkage", val[] = "{11223344-5566-7788-99AA-BBCCDDEEFF00}";
			uint8_t *l = it + 64;
			uint32_t ko = 20 + 12, kl = 2 * (uint32_t)strlen(key), vo = ko + kl,
				 vl = 2 * (uint32_t)strlen(val);
			put_guid(l, &g_type);
			vhdx_put16(l + 18, 1);
			vhdx_put32(l + 20, ko);
			vhdx_put32(l + 24, vo);
			vhdx_put16(l + 28, (uint16_t)kl);
			vhdx_put16(l + 30, (uint16_t)vl);
			put_utf16(l + ko, key);
			put_utf16(l + vo, val);
			ib_meta_add(b, &g_loc, base + 64, vo + vl, req);
		}
	}
	return 0;
}

void ib_set_log_guid(struct ib *b, const struct vhdx_guid *g)
{
	for (int i = 0; i < 2; i++) {
		put_guid(ib_hdr(b, i) + VHDX_HDR_LOG_GUID, g);
		ib_hdr_fix(b, i);
	}
}

uint32_t ib_log_entry(struct ib *b, uint32_t pos, uint64_t seq, uint32_t tail, const struct vhdx_guid *log_guid,
		      const struct ib_desc *d, unsigned n, uint64_t flushed, uint64_t last)
{
	const uint32_t S = VHDX_LOG_SECTOR;
	uint32_t dsecs = (VHDX_LOG_HEADER_SIZE + n * VHDX_LOG_DESC_SIZE + S - 1) / S, ndata = 0, nsec, sectors;
	uint8_t *e;

	for (unsigned i = 0; i < n; i++)
		ndata += !d[i].zero;
	nsec = dsecs + ndata;
	e = calloc(nsec, S);
	if (!e)
		return 0;
	vhdx_put32(e, VHDX_LOG_ENTRY_SIGNATURE);
	vhdx_put32(e + 8, nsec * S);
	vhdx_put32(e + 12, tail);
	vhdx_put64(e + 16, seq);
	vhdx_put32(e + 24, n);
	put_guid(e + 32, log_guid);
	vhdx_put64(e + 48, flushed ? flushed : b->size);
	vhdx_put64(e + 56, last ? last : b->size);
	for (unsigned i = 0, k = 0; i < n; i++) {
		uint8_t *o = e + VHDX_LOG_HEADER_SIZE + i * VHDX_LOG_DESC_SIZE;
		if (d[i].zero) {
			vhdx_put32(o, VHDX_LOG_ZERO_SIGNATURE);
			vhdx_put64(o + 8, d[i].length);
		} else {
			uint8_t *ds = e + (size_t)(dsecs + k++) * S;
			vhdx_put32(o, VHDX_LOG_DESC_SIGNATURE);
			memcpy(o + 4, d[i].data + S - 4, 4); /* trailing bytes */
			memcpy(o + 8, d[i].data, 8);         /* leading bytes */
			memcpy(ds, d[i].data, S);
			vhdx_put32(ds, VHDX_LOG_DATA_SIGNATURE);
			vhdx_put32(ds + 4, (uint32_t)(seq >> 32));
			vhdx_put32(ds + S - 4, (uint32_t)seq);
		}
		vhdx_put64(o + 16, d[i].offset);
		vhdx_put64(o + 24, seq);
	}
	fix_csum(e, (size_t)nsec * S);
	sectors = b->log_len / S;
	for (uint32_t k = 0; k < nsec; k++)
		memcpy(b->buf + b->log_off + (size_t)((pos + k) % sectors) * S, e + (size_t)k * S, S);
	free(e);
	return nsec;
}

static char reason[1024];

static int has(const char *hay, const char *frag)
{
	return !frag || strstr(hay, frag) != NULL;
}

const char *ib_refused(const struct ib *b, vhdx_status want, const char *frag1, const char *frag2)
{
	static struct vhdx_image img;
	struct membackend mb;
	vhdx_status st;

	if (ib_mb(b, &mb))
		return "cannot set up the backend";
	memset(&img, 0, sizeof img);
	st = vhdx_open(&img, mb_io(&mb));
	if (st == VHDX_OK)
		vhdx_close(&img);
	reason[0] = 0;
	if (st != want)
		snprintf(reason, sizeof reason, "status %d (%s), expected %d (%s); msg \"%s\"", (int)st,
			 vhdx_status_message(st), (int)want, vhdx_status_message(want), img.msg);
	else if (!has(img.msg, frag1) || !has(img.msg, frag2))
		snprintf(reason, sizeof reason, "msg \"%s\" lacks \"%s\"", img.msg, has(img.msg, frag1) ? frag2 : frag1);
	else if (mb.writes || mb.flushes || mb.resizes)
		snprintf(reason, sizeof reason, "the backend saw %u writes, %u flushes, %u resizes", mb.writes, mb.flushes,
			 mb.resizes);
	else if (mb.alloc_bytes_live)
		snprintf(reason, sizeof reason, "%zu bytes still allocated after the refusal", mb.alloc_bytes_live);
	mb_free(&mb);
	return reason[0] ? reason : NULL;
}

const char *ib_opened(const struct ib *b, struct vhdx_image *img, struct membackend *mb)
{
	vhdx_status st;

	if (ib_mb(b, mb))
		return "cannot set up the backend";
	memset(img, 0, sizeof *img);
	st = vhdx_open(img, mb_io(mb));
	reason[0] = 0;
	if (st != VHDX_OK)
		snprintf(reason, sizeof reason, "status %d (%s): %s", (int)st, vhdx_status_message(st), img->msg);
	else if (mb->writes || mb->flushes || mb->resizes)
		snprintf(reason, sizeof reason, "open wrote: %u writes, %u flushes, %u resizes", mb->writes, mb->flushes,
			 mb->resizes);
	return reason[0] ? reason : NULL;
}

unsigned ib_warned(const struct vhdx_image *img, const char *frag)
{
	for (unsigned i = 0; i < img->warnings && i < VHDX_MAX_WARNINGS; i++)
		if (strstr(img->warning[i], frag))
			return i + 1;
	return 0;
}

void ib_set_data_write_guid(struct ib *b, const struct vhdx_guid *g)
{
	for (int i = 0; i < 2; i++) {
		vhdx_guid_store(ib_hdr(b, i) + VHDX_HDR_DATA_WRITE, g);
		ib_hdr_fix(b, i);
	}
}

void ib_set_parent_linkage(struct ib *b, const struct vhdx_guid *g)
{
	uint8_t *it = NULL;
	char text[VHDX_GUID_TEXT];

	for (unsigned k = 0; k < b->meta_count; k++) {
		struct vhdx_guid e, loc = VHDX_GUID_PARENT_LOCATOR;
		vhdx_guid_load(&e, ib_meta_entry(b, k));
		if (vhdx_guid_equal(&e, &loc))
			it = ib_meta_item(b, k);
	}
	vhdx_guid_format(g, text);
	/* the first entry's value offset (bytes 24..27 of the item), past its "{" */
	for (int c = 0; c < VHDX_GUID_TEXT - 1; c++)
		vhdx_put16(it + vhdx_le32(it + 24) + 2 + 2 * c, (uint8_t)text[c]);
}
