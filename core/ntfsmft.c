/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntfsmft.c - the boot sector's geometry, MFT records (read through the $MFT's own runs, update sequence
 * verified) and the walk over a record's attributes, every length checked against the record.
 */
#include "ntfs.h"

#define BOOT_OEM 3
#define BOOT_BYTES_PER_SECTOR 0x0b
#define BOOT_SECTORS_PER_CLUSTER 0x0d
#define BOOT_TOTAL_SECTORS 0x28
#define BOOT_MFT_LCN 0x30
#define BOOT_CLUSTERS_PER_RECORD 0x40
#define BOOT_CLUSTERS_PER_INDEX 0x44
#define BOOT_SIGNATURE 0x1fe
#define MAX_CLUSTER (2u << 20) /* 2 MiB: the largest cluster Windows formats */
#define MAX_BLOCK (64u << 10)  /* records and index blocks */

#define REC_SEQUENCE 0x10
#define REC_ATTRS_OFFSET 0x14
#define REC_FLAGS 0x16
#define REC_BYTES_IN_USE 0x18
#define REC_BASE 0x20
#define REC_HEADER_MIN 0x30
#define REC_IN_USE 0x0001u

static int pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static uint32_t log2_32(uint32_t x)
{
	uint32_t b = 0;

	while (x > 1) {
		x >>= 1;
		b++;
	}
	return b;
}

/* The boot sector's clusters-per-record byte: positive counts clusters, negative is a power of two in bytes. */
static vhdx_status block_size(struct ntfs_vol *v, uint8_t raw, const char *field, uint32_t *out)
{
	int8_t c = (int8_t)raw;
	uint64_t size;

	if (c > 0)
		size = (uint64_t)c * v->cluster_size;
	else if (c < 0 && -c < 32)
		size = 1ull << -c;
	else
		size = 0;
	if (!pow2(size) || size < NTFS_FIXUP_STRIDE || size > MAX_BLOCK)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS boot sector: %s 0x%02x gives %llu bytes (512..65536, a power of two)",
				      field, raw, (unsigned long long)size);
	*out = (uint32_t)size;
	return VHDX_OK;
}

vhdx_status vhdx_ntfs_boot(struct ntfs_vol *v, const uint8_t *bs)
{
	uint32_t bps = vhdx_le16(bs + BOOT_BYTES_PER_SECTOR);
	uint8_t spc = bs[BOOT_SECTORS_PER_CLUSTER];
	uint64_t total = vhdx_le64(bs + BOOT_TOTAL_SECTORS), spc_n, vol_bytes;
	vhdx_status st;

	if (memcmp(bs + BOOT_OEM, "NTFS    ", 8) != 0)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS boot sector: OEM ID is not \"NTFS    \"");
	if (vhdx_le16(bs + BOOT_SIGNATURE) != 0xaa55)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS boot sector: signature 0x%04x, expected 0xaa55",
				      vhdx_le16(bs + BOOT_SIGNATURE));
	if (!pow2(bps) || bps < 256 || bps > 4096)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS boot sector: bytes_per_sector %u (256..4096, a power of two)",
				      bps);
	/* above 128 the byte is a negative exponent: 0xf4 is 2^12 sectors (large clusters) */
	spc_n = spc <= 0x80 ? spc : (256 - spc < 32 ? 1ull << (256 - spc) : 0);
	if (!pow2(spc_n) || spc_n * bps > MAX_CLUSTER)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
				      "NTFS boot sector: sectors_per_cluster 0x%02x (with %u-byte sectors, clusters of 512 bytes..2 MiB)",
				      spc, bps);
	v->sector_size = bps;
	v->cluster_size = (uint32_t)(spc_n * bps);
	v->cluster_bits = log2_32(v->cluster_size);
	if ((st = block_size(v, bs[BOOT_CLUSTERS_PER_RECORD], "clusters_per_mft_record", &v->record_size)) ||
	    (st = block_size(v, bs[BOOT_CLUSTERS_PER_INDEX], "clusters_per_index_block", &v->index_size)))
		return st;
	if (vhdx_mul_overflow(total, bps, &vol_bytes) || vol_bytes > v->io->size)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
				      "NTFS boot sector: total_sectors %llu (x %u bytes) exceed the partition (%llu bytes)",
				      (unsigned long long)total, bps, (unsigned long long)v->io->size);
	v->clusters = vol_bytes >> v->cluster_bits;
	v->mft_lcn = vhdx_le64(bs + BOOT_MFT_LCN);
	if (v->mft_lcn == 0 || v->mft_lcn >= v->clusters)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS boot sector: mft_lcn %llu outside the volume (%llu clusters)",
				      (unsigned long long)v->mft_lcn, (unsigned long long)v->clusters);
	return VHDX_OK;
}

vhdx_status vhdx_ntfs_fixup(struct ntfs_vol *v, uint8_t *b, uint32_t len, const char *magic, const char *what,
			    uint64_t num)
{
	uint32_t usa_ofs = vhdx_le16(b + 4), usa_count = vhdx_le16(b + 6), blocks = len / NTFS_FIXUP_STRIDE;
	uint16_t usn;

	if (memcmp(b, magic, 4) != 0)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS %s %llu: magic %02x %02x %02x %02x, expected \"%s\"",
				      what, (unsigned long long)num, b[0], b[1], b[2], b[3], magic);
	/* the array must lie before the first protected word, and hold one entry per 512 bytes plus the number */
	if (len % NTFS_FIXUP_STRIDE || usa_count != blocks + 1 || (usa_ofs & 1) || usa_ofs < 8 ||
	    usa_ofs + 2 * usa_count > NTFS_FIXUP_STRIDE - 2)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
				      "NTFS %s %llu: update sequence offset %u count %u (a %u-byte block needs %u)", what,
				      (unsigned long long)num, usa_ofs, usa_count, len, blocks + 1);
	usn = vhdx_le16(b + usa_ofs);
	for (uint32_t i = 1; i <= blocks; i++) {
		uint8_t *end = b + i * NTFS_FIXUP_STRIDE - 2;

		if (vhdx_le16(end) != usn)
			return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
					      "NTFS %s %llu: update sequence: 512-byte block %u ends with 0x%04x, the sequence number is 0x%04x (a torn write)",
					      what, (unsigned long long)num, i - 1, vhdx_le16(end), usn);
		end[0] = b[usa_ofs + 2 * i];
		end[1] = b[usa_ofs + 2 * i + 1];
	}
	return VHDX_OK;
}

vhdx_status vhdx_ntfs_record(struct ntfs_vol *v, uint64_t rec, uint16_t seq, uint8_t *buf)
{
	vhdx_status st;

	if (rec >= v->mft_records)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS MFT record %llu: beyond the $MFT's %llu records",
				      (unsigned long long)rec, (unsigned long long)v->mft_records);
	if (++v->record_reads > NTFS_MAX_RECORD_READS)
		return vhdx_ntfs_fail(v, VHDX_E_UNSUPPORTED, "NTFS lookup: more than %u MFT record reads",
				      NTFS_MAX_RECORD_READS);
	if ((st = vhdx_ntfs_runs_read(v, &v->mft, rec * v->record_size, buf, v->record_size, "$MFT data")) ||
	    (st = vhdx_ntfs_fixup(v, buf, v->record_size, "FILE", "MFT record", rec)))
		return st;
	return vhdx_ntfs_record_check(v, buf, rec, seq);
}

vhdx_status vhdx_ntfs_record_check(struct ntfs_vol *v, const uint8_t *buf, uint64_t rec, uint16_t seq)
{
	uint32_t used, attrs;

	if (!(vhdx_le16(buf + REC_FLAGS) & REC_IN_USE))
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS MFT record %llu: flags 0x%04x, the record is not in use",
				      (unsigned long long)rec, vhdx_le16(buf + REC_FLAGS));
	if (seq && vhdx_le16(buf + REC_SEQUENCE) != seq)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
				      "NTFS MFT record %llu: sequence_number %u, the reference to it says %u (a stale entry)",
				      (unsigned long long)rec, vhdx_le16(buf + REC_SEQUENCE), seq);
	used = vhdx_le32(buf + REC_BYTES_IN_USE);
	attrs = vhdx_le16(buf + REC_ATTRS_OFFSET);
	if (used > v->record_size || attrs < REC_HEADER_MIN || (attrs & 7) || attrs >= used)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
				      "NTFS MFT record %llu: bytes_in_use %u, attrs_offset %u (record of %u bytes)",
				      (unsigned long long)rec, used, attrs, v->record_size);
	return VHDX_OK;
}

#define ATTR_MIN 0x18
#define ATTR_NONRES_MIN 0x40

int vhdx_ntfs_attr_next(struct ntfs_vol *v, const uint8_t *rec, uint32_t *pos, struct ntfs_attr *at, uint64_t recno)
{
	uint32_t used = vhdx_le32(rec + REC_BYTES_IN_USE);
	uint32_t off = *pos ? *pos : vhdx_le16(rec + REC_ATTRS_OFFSET);
	const uint8_t *a;
	uint32_t len, name_len, name_off;

	if (used > v->record_size || off > used || used - off < 4)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS MFT record %llu: attribute at offset %u runs past bytes_in_use %u",
				      (unsigned long long)recno, off, used), -1;
	a = rec + off;
	if (vhdx_le32(a) == NTFS_AT_END)
		return 0;
	len = used - off >= 8 ? vhdx_le32(a + 4) : 0;
	if (len < ATTR_MIN || (len & 7) || len > used - off)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
				      "NTFS MFT record %llu: attribute 0x%x at offset %u has length %u (%u bytes left)",
				      (unsigned long long)recno, vhdx_le32(a), off, len, used - off), -1;
	at->a = a;
	at->len = len;
	at->type = vhdx_le32(a);
	at->non_resident = a[8];
	at->flags = vhdx_le16(a + 0x0c);
	name_len = a[9];
	name_off = vhdx_le16(a + 0x0a);
	if (at->non_resident > 1 || (at->non_resident && len < ATTR_NONRES_MIN) ||
	    (name_len && (name_off > len || 2 * name_len > len - name_off)))
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
				      "NTFS MFT record %llu: attribute 0x%x at offset %u: non_resident %u, name %u chars at %u, length %u",
				      (unsigned long long)recno, at->type, off, at->non_resident, name_len, name_off, len), -1;
	at->value = NULL;
	at->value_len = 0;
	if (!at->non_resident) {
		uint32_t vlen = vhdx_le32(a + 0x10), voff = vhdx_le16(a + 0x14);

		if (voff > len || vlen > len - voff)
			return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
					      "NTFS MFT record %llu: attribute 0x%x: value_length %u at value_offset %u, attribute length %u",
					      (unsigned long long)recno, at->type, vlen, voff, len), -1;
		at->value = a + voff;
		at->value_len = vlen;
	} else if (vhdx_le16(a + 0x20) > len) {
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
				      "NTFS MFT record %llu: attribute 0x%x: mapping_pairs_offset %u, attribute length %u",
				      (unsigned long long)recno, at->type, vhdx_le16(a + 0x20), len), -1;
	}
	*pos = off + len;
	return 1;
}

/* Does the UTF-16LE name of n characters at u equal the ASCII text? */
int vhdx_ntfs_name_is(const uint8_t *u, uint32_t n, const char *ascii)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (!ascii[i] || vhdx_le16(u + 2 * i) != (uint8_t)ascii[i])
			return 0;
	return ascii[i] == '\0';
}

int vhdx_ntfs_attr_named(const struct ntfs_attr *at, const char *ascii_name)
{
	return vhdx_ntfs_name_is(at->a + vhdx_le16(at->a + 0x0a), at->a[9], ascii_name);
}

/* A record's base reference (0 for a base record). */
uint64_t vhdx_ntfs_record_base(const uint8_t *rec)
{
	return vhdx_le64(rec + REC_BASE) & 0xffffffffffffull;
}

int vhdx_ntfs_record_is_dir(const uint8_t *rec)
{
	return (vhdx_le16(rec + REC_FLAGS) & 0x0002) != 0;
}
