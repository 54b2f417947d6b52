/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntfsattr.c - one attribute of a file, whole: a record whose attributes do not fit spills them into extension
 * records and lists every piece in $ATTRIBUTE_LIST (type, name, lowest VCN, record).  A large fragmented file's
 * $DATA runs are then spread over several records; this collects them in VCN order, each piece's runs continuing
 * where the previous ones ended.  Also mounting: the $MFT's own runs come from record 0 the same way.
 */
#include "ntfs.h"

#define NR_LOWEST_VCN 0x10
#define NR_HIGHEST_VCN 0x18
#define NR_MAPPING_PAIRS 0x20
#define NR_ALLOC_SIZE 0x28
#define NR_DATA_SIZE 0x30
#define NR_INIT_SIZE 0x38

#define AL_TYPE 0x00
#define AL_LENGTH 0x04
#define AL_NAME_LENGTH 0x06
#define AL_NAME_OFFSET 0x07
#define AL_LOWEST_VCN 0x08
#define AL_REFERENCE 0x10
#define AL_MIN 0x1a

void vhdx_ntfs_stream_free(struct ntfs_vol *v, struct ntfs_stream *s)
{
	vhdx_ntfs_free(v, s->runs.r);
	vhdx_ntfs_free(v, s->resident);
	memset(s, 0, sizeof *s);
}

/* Adds one attribute record of the stream: the first sets sizes and flags, every non-resident one adds runs. */
static vhdx_status add_piece(struct ntfs_vol *v, struct ntfs_stream *s, const struct ntfs_attr *at, uint64_t recno)
{
	const uint8_t *a = at->a;
	vhdx_status st;

	if (s->found && (!s->non_resident || !at->non_resident))
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
				      "NTFS MFT record %llu: attribute 0x%x is resident and in more than one piece",
				      (unsigned long long)recno, at->type);
	if (!s->found) {
		s->found = 1;
		s->non_resident = at->non_resident;
		s->flags = at->flags;
		if (!at->non_resident) {
			s->data_size = s->init_size = s->alloc_size = at->value_len;
			s->resident_len = at->value_len;
			if ((st = vhdx_ntfs_alloc(v, at->value_len ? at->value_len : 1, "resident value", &s->resident)))
				return st;
			memcpy(s->resident, at->value, at->value_len);
			s->pieces = 1;
			return VHDX_OK;
		}
		s->alloc_size = vhdx_le64(a + NR_ALLOC_SIZE);
		s->data_size = vhdx_le64(a + NR_DATA_SIZE);
		s->init_size = vhdx_le64(a + NR_INIT_SIZE);
		if (s->init_size > s->data_size || s->data_size > s->alloc_size)
			return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
					      "NTFS MFT record %llu: attribute 0x%x: initialized_size %llu, data_size %llu, allocated_size %llu out of order",
					      (unsigned long long)recno, at->type, (unsigned long long)s->init_size,
					      (unsigned long long)s->data_size, (unsigned long long)s->alloc_size);
	}
	s->pieces++;
	uint32_t mp = vhdx_le16(a + NR_MAPPING_PAIRS);
	return vhdx_ntfs_runs_decode(v, &s->runs, a + mp, at->len - mp, vhdx_le64(a + NR_LOWEST_VCN),
				     vhdx_le64(a + NR_HIGHEST_VCN), at->type == NTFS_AT_DATA ? "$DATA runlist" : "attribute runlist");
}

/* Every piece of (type, name) in one record; with lowest >= 0 only the piece starting at that VCN. */
static vhdx_status pieces_in(struct ntfs_vol *v, struct ntfs_stream *s, const uint8_t *rec, uint64_t recno,
			     uint32_t type, const char *name, int64_t lowest, int *added)
{
	struct ntfs_attr at;
	uint32_t pos = 0;
	int r;

	*added = 0;
	while ((r = vhdx_ntfs_attr_next(v, rec, &pos, &at, recno)) > 0) {
		if (at.type != type || !vhdx_ntfs_attr_named(&at, name))
			continue;
		if (lowest >= 0 && at.non_resident && vhdx_le64(at.a + NR_LOWEST_VCN) != (uint64_t)lowest)
			continue;
		vhdx_status st = add_piece(v, s, &at, recno);
		if (st != VHDX_OK)
			return st;
		(*added)++;
		if (lowest >= 0)
			break;
	}
	return r < 0 ? VHDX_E_CORRUPT : VHDX_OK;
}

/* The record's $ATTRIBUTE_LIST value (resident or not) in scratch; *list NULL when it has none. */
static vhdx_status load_list(struct ntfs_vol *v, uint64_t recno, const uint8_t *base, uint8_t **list, uint32_t *len)
{
	struct ntfs_stream ls = { 0 };
	int added;
	vhdx_status st;

	*list = NULL;
	*len = 0;
	st = pieces_in(v, &ls, base, recno, NTFS_AT_ATTRIBUTE_LIST, "", -1, &added);
	if (st != VHDX_OK || !ls.found)
		goto out;
	if (ls.data_size > NTFS_MAX_ATTR_LIST || (ls.non_resident && (ls.flags & (NTFS_ATTR_COMPRESSED_MASK | NTFS_ATTR_ENCRYPTED)))) {
		st = vhdx_ntfs_fail(v, VHDX_E_UNSUPPORTED,
				    "NTFS MFT record %llu: $ATTRIBUTE_LIST of %llu bytes, flags 0x%04x (at most %u bytes, plain)",
				    (unsigned long long)recno, (unsigned long long)ls.data_size, ls.flags, NTFS_MAX_ATTR_LIST);
		goto out;
	}
	if (!ls.non_resident) {
		*list = ls.resident;
		*len = ls.resident_len;
		ls.resident = NULL;
		goto out;
	}
	if ((st = vhdx_ntfs_alloc(v, ls.data_size ? ls.data_size : 1, "$ATTRIBUTE_LIST", list)))
		goto out;
	if ((st = vhdx_ntfs_runs_read(v, &ls.runs, 0, *list, ls.data_size, "$ATTRIBUTE_LIST")))
		goto out;
	*len = (uint32_t)ls.data_size;
out:
	vhdx_ntfs_stream_free(v, &ls);
	return st;
}

/* Walks the list's entries for (type, name), adding each piece from its record; ext is a record buffer. */
static vhdx_status walk_list(struct ntfs_vol *v, struct ntfs_stream *s, uint64_t recno, const uint8_t *base,
			     const uint8_t *list, uint32_t len, uint32_t type, const char *name, uint8_t *ext)
{
	uint64_t loaded = UINT64_MAX;
	uint32_t off = 0;
	vhdx_status st;

	while (off < len) {
		const uint8_t *e = list + off;
		uint32_t elen, nlen, noff;
		uint64_t ref, rec;
		int added;

		if (len - off < AL_MIN)
			break; /* padding at the end */
		elen = vhdx_le16(e + AL_LENGTH);
		nlen = e[AL_NAME_LENGTH];
		noff = e[AL_NAME_OFFSET];
		if (elen < AL_MIN || elen > len - off || (nlen && (noff > elen || 2 * nlen > elen - noff)))
			return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
					      "NTFS MFT record %llu: $ATTRIBUTE_LIST entry at byte %u: length %u, name %u chars at %u",
					      (unsigned long long)recno, off, elen, nlen, noff);
		off += elen;
		if (vhdx_le32(e + AL_TYPE) != type || !vhdx_ntfs_name_is(e + noff, nlen, name))
			continue;
		ref = vhdx_le64(e + AL_REFERENCE);
		rec = NTFS_REF_RECORD(ref);
		if (rec == recno) {
			st = pieces_in(v, s, base, recno, type, name, (int64_t)vhdx_le64(e + AL_LOWEST_VCN), &added);
		} else {
			if (rec != loaded) {
				if ((st = vhdx_ntfs_record(v, rec, NTFS_REF_SEQ(ref), ext)))
					return st;
				/* an extension record names its base (with the base's sequence number, so never all
				   zero: that is a base record, which cannot hold another file's pieces) */
				if (vhdx_ntfs_record_base(ext) != recno || vhdx_le64(ext + 0x20) == 0)
					return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
							      "NTFS MFT record %llu: base_mft_record %llu, listed by record %llu's $ATTRIBUTE_LIST",
							      (unsigned long long)rec,
							      (unsigned long long)vhdx_ntfs_record_base(ext),
							      (unsigned long long)recno);
				loaded = rec;
			}
			st = pieces_in(v, s, ext, rec, type, name, (int64_t)vhdx_le64(e + AL_LOWEST_VCN), &added);
		}
		if (st != VHDX_OK)
			return st;
		if (!added)
			return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
					      "NTFS MFT record %llu: $ATTRIBUTE_LIST names attribute 0x%x at VCN %llu in record %llu, which lacks it",
					      (unsigned long long)recno, type,
					      (unsigned long long)vhdx_le64(e + AL_LOWEST_VCN), (unsigned long long)rec);
	}
	return VHDX_OK;
}

vhdx_status vhdx_ntfs_stream(struct ntfs_vol *v, uint64_t recno, const uint8_t *base, uint32_t type,
			     const char *name, struct ntfs_stream *s)
{
	uint8_t *list = NULL, *ext = NULL;
	uint32_t len;
	int added;
	vhdx_status st;

	memset(s, 0, sizeof *s);
	if ((st = load_list(v, recno, base, &list, &len)))
		return st;
	if (!list) {
		st = pieces_in(v, s, base, recno, type, name, -1, &added);
	} else if (!(st = vhdx_ntfs_alloc(v, v->record_size, "extension record", &ext))) {
		st = walk_list(v, s, recno, base, list, len, type, name, ext);
	}
	vhdx_ntfs_free(v, ext);
	vhdx_ntfs_free(v, list);
	if (st == VHDX_OK && s->found && s->non_resident &&
	    !(s->flags & NTFS_ATTR_COMPRESSED_MASK) && s->data_size &&
	    s->runs.next_vcn <= (s->data_size - 1) >> v->cluster_bits)
		st = vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
				    "NTFS MFT record %llu: attribute 0x%x: data_size %llu, its runs cover %llu clusters of %u bytes",
				    (unsigned long long)recno, type, (unsigned long long)s->data_size,
				    (unsigned long long)s->runs.next_vcn, v->cluster_size);
	if (st != VHDX_OK)
		vhdx_ntfs_stream_free(v, s);
	return st;
}

#define BOOT_READ 512

vhdx_status vhdx_ntfs_mount(struct ntfs_vol *v)
{
	struct ntfs_stream s;
	struct ntfs_attr at;
	uint8_t *b;
	uint32_t pos = 0;
	int r;
	vhdx_status st;

	if ((st = vhdx_ntfs_alloc(v, BOOT_READ, "boot sector", &b)) || (st = vhdx_ntfs_read(v, 0, b, BOOT_READ, "boot sector")) ||
	    (st = vhdx_ntfs_boot(v, b)))
		return st;
	vhdx_ntfs_free(v, b);
	/* record 0 sits at the start of the $MFT: read it there, then map the rest through its own runs */
	if ((st = vhdx_ntfs_alloc(v, v->record_size, "MFT record 0", &b)) ||
	    (st = vhdx_ntfs_read(v, v->mft_lcn << v->cluster_bits, b, v->record_size, "MFT record 0")) ||
	    (st = vhdx_ntfs_fixup(v, b, v->record_size, "FILE", "MFT record", 0)) ||
	    (st = vhdx_ntfs_record_check(v, b, 0, 0)))
		return st;
	while ((r = vhdx_ntfs_attr_next(v, b, &pos, &at, 0)) > 0)
		if (at.type == NTFS_AT_DATA && vhdx_ntfs_attr_named(&at, "") && at.non_resident &&
		    vhdx_le64(at.a + NR_LOWEST_VCN) == 0)
			break;
	if (r < 0)
		return VHDX_E_CORRUPT;
	if (r == 0)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS MFT record 0 ($MFT): no non-resident unnamed $DATA");
	uint32_t mp = vhdx_le16(at.a + NR_MAPPING_PAIRS);
	if ((st = vhdx_ntfs_runs_decode(v, &v->mft, at.a + mp, at.len - mp, 0, vhdx_le64(at.a + NR_HIGHEST_VCN),
					"$MFT runlist")))
		return st;
	if (v->mft.n == 0 || v->mft.r[0].lcn != v->mft_lcn)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS $MFT runlist: first run at LCN %lld, the boot sector's mft_lcn is %llu",
				      v->mft.n ? (long long)v->mft.r[0].lcn : -1LL, (unsigned long long)v->mft_lcn);
	v->mft_records = vhdx_le64(at.a + NR_DATA_SIZE) / v->record_size;
	/* a fragmented $MFT may continue in extension records: the stream collects every piece, read through the
	   runs known so far (the extension records lie in the first run in practice; others are refused) */
	if ((st = vhdx_ntfs_stream(v, 0, b, NTFS_AT_DATA, "", &s)))
		return st;
	if (s.flags & (NTFS_ATTR_COMPRESSED_MASK | NTFS_ATTR_SPARSE | NTFS_ATTR_ENCRYPTED)) {
		uint16_t flags = s.flags;

		vhdx_ntfs_stream_free(v, &s);
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS $MFT $DATA: flags 0x%04x (compressed, sparse or encrypted)",
				      flags);
	}
	vhdx_ntfs_free(v, v->mft.r);
	v->mft = s.runs;
	v->mft_records = s.data_size / v->record_size;
	vhdx_ntfs_free(v, b);
	vhdx_ntfs_free(v, s.resident);
	for (uint32_t i = 0; i < v->mft.n; i++)
		if (v->mft.r[i].lcn == NTFS_LCN_HOLE)
			return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS $MFT runlist: a hole at VCN %llu",
					      (unsigned long long)v->mft.r[i].vcn);
	return vhdx_ntfs_runs_disjoint(v, &v->mft, "$MFT runlist");
}
