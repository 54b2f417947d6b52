/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntfsindex.c - directory lookup: the $I30 index of a directory is a B+ tree of FILE_NAME keys ordered by the
 * file-name collation (names compared through the volume's $UpCase table, then by length).  The lookup descends
 * from $INDEX_ROOT (in the record) through $INDEX_ALLOCATION blocks ("INDX", update sequence verified), reading
 * one block a level, so a directory of thousands of entries costs a handful of reads.
 *
 * Case folding uses the volume's own $UpCase (record 10), not a fixed table: the index is ordered by that table,
 * so only it descends the tree correctly for every name (a fixed ASCII+Latin folding would take wrong branches
 * for names whose case mapping it lacks).  It is read in 4 KiB pages (2048 characters) when a character of that
 * page is compared first: an ASCII path reads one page, not the whole 128 KiB.
 */
#include "ntfs.h"

#define UPCASE_CHARS 65536u
#define UPCASE_PAGE_CHARS 2048u
#define UPCASE_PAGE_BYTES (UPCASE_PAGE_CHARS * 2)

#define IR_TYPE 0x00
#define IR_COLLATION 0x04
#define IR_BLOCK_SIZE 0x08
#define IR_HEADER 0x10
#define IR_MIN (IR_HEADER + 0x10)
#define COLLATION_FILE_NAME 1u

#define IH_ENTRIES_OFFSET 0x00
#define IH_INDEX_LENGTH 0x04
#define INDX_VCN 0x10
#define INDX_HEADER 0x18

#define IE_REFERENCE 0x00
#define IE_LENGTH 0x08
#define IE_KEY_LENGTH 0x0a
#define IE_FLAGS 0x0c
#define IE_KEY 0x10
#define IE_MIN 0x10
#define IE_SUBNODE 0x01u
#define IE_LAST 0x02u

#define FN_NAME_LENGTH 0x40
#define FN_NAME 0x42

#define MAX_DEPTH 32 /* index levels; a real tree of millions of names has a handful */

static vhdx_status upcase_open(struct ntfs_vol *v)
{
	struct ntfs_stream s;
	uint8_t *rec;
	vhdx_status st;

	if ((st = vhdx_ntfs_alloc(v, v->record_size, "MFT record 10", &rec)))
		return st;
	if ((st = vhdx_ntfs_record(v, NTFS_REC_UPCASE, 0, rec)) ||
	    (st = vhdx_ntfs_stream(v, NTFS_REC_UPCASE, rec, NTFS_AT_DATA, "", &s))) {
		vhdx_ntfs_free(v, rec);
		return st;
	}
	vhdx_ntfs_free(v, rec);
	if (!s.found || !s.non_resident || s.data_size != 2 * UPCASE_CHARS ||
	    (s.flags & (NTFS_ATTR_COMPRESSED_MASK | NTFS_ATTR_ENCRYPTED | NTFS_ATTR_SPARSE))) {
		st = vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
				    "NTFS $UpCase (record 10): $DATA found %d, non_resident %d, data_size %llu, flags 0x%04x (want 131072 plain bytes)",
				    s.found, s.non_resident, (unsigned long long)s.data_size, s.flags);
		vhdx_ntfs_stream_free(v, &s);
		return st;
	}
	vhdx_ntfs_free(v, s.resident);
	v->upcase_runs = s.runs;
	v->upcase_ready = 1;
	return VHDX_OK;
}

static vhdx_status upcase(struct ntfs_vol *v, uint16_t c, uint16_t *out)
{
	uint32_t page = c / UPCASE_PAGE_CHARS;
	vhdx_status st;

	if (!v->upcase[page]) {
		if (!v->upcase_ready && (st = upcase_open(v)))
			return st;
		if ((st = vhdx_ntfs_alloc(v, UPCASE_PAGE_BYTES, "$UpCase page", &v->upcase[page])) ||
		    (st = vhdx_ntfs_runs_read(v, &v->upcase_runs, (uint64_t)page * UPCASE_PAGE_BYTES, v->upcase[page],
					      UPCASE_PAGE_BYTES, "$UpCase")))
			return st;
	}
	*out = vhdx_le16(v->upcase[page] + 2 * (c % UPCASE_PAGE_CHARS));
	return VHDX_OK;
}

vhdx_status vhdx_ntfs_name_cmp(struct ntfs_vol *v, const uint16_t *a, uint32_t alen, const uint8_t *b_le,
			       uint32_t blen, int *cmp)
{
	uint32_t n = alen < blen ? alen : blen;
	vhdx_status st;

	for (uint32_t i = 0; i < n; i++) {
		uint16_t ca, cb;

		if ((st = upcase(v, a[i], &ca)) || (st = upcase(v, vhdx_le16(b_le + 2 * i), &cb)))
			return st;
		if (ca != cb) {
			*cmp = ca < cb ? -1 : 1;
			return VHDX_OK;
		}
	}
	*cmp = alen < blen ? -1 : alen > blen;
	return VHDX_OK;
}

enum node_result { NODE_FOUND, NODE_ABSENT, NODE_DESCEND };

/* Scans one node (an index header and its entries, len bytes): the match, its absence, or the child to visit. */
static vhdx_status scan_node(struct ntfs_vol *v, const uint8_t *node, uint32_t len, const uint16_t *name,
			     uint32_t name_len, const char *where, uint64_t num, enum node_result *res, uint64_t *out)
{
	uint32_t eo = vhdx_le32(node + IH_ENTRIES_OFFSET), il = vhdx_le32(node + IH_INDEX_LENGTH), p;
	vhdx_status st;

	if (eo < 0x10 || (eo & 7) || eo > il || il > len)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS %s %llu: entries_offset %u, index_length %u (node of %u bytes)",
				      where, (unsigned long long)num, eo, il, len);
	for (p = eo;;) {
		const uint8_t *e = node + p;
		uint32_t elen, klen, flags, fnlen, room;
		int cmp;

		if (il - p < IE_MIN)
			return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS %s %llu: index entries end at byte %u without a last entry",
					      where, (unsigned long long)num, p);
		elen = vhdx_le16(e + IE_LENGTH);
		klen = vhdx_le16(e + IE_KEY_LENGTH);
		flags = vhdx_le16(e + IE_FLAGS);
		room = elen - ((flags & IE_SUBNODE) ? 8u : 0u); /* the child VCN takes the entry's last 8 bytes */
		if (elen < IE_MIN + ((flags & IE_SUBNODE) ? 8u : 0u) || (elen & 7) || elen > il - p)
			return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS %s %llu: index entry at byte %u has length %u",
					      where, (unsigned long long)num, p, elen);
		if (!(flags & IE_LAST)) {
			if (klen < FN_NAME || klen > room - IE_KEY ||
			    2u * (fnlen = e[IE_KEY + FN_NAME_LENGTH]) > klen - FN_NAME)
				return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
						      "NTFS %s %llu: index entry at byte %u: key_length %u, entry length %u",
						      where, (unsigned long long)num, p, klen, elen);
			if ((st = vhdx_ntfs_name_cmp(v, name, name_len, e + IE_KEY + FN_NAME, fnlen, &cmp)))
				return st;
			if (cmp == 0) {
				*res = NODE_FOUND;
				*out = vhdx_le64(e + IE_REFERENCE);
				return VHDX_OK;
			}
			if (cmp > 0) {
				p += elen;
				continue;
			}
		}
		/* the last entry, or the first name after ours: ours can only be in this entry's child */
		if (!(flags & IE_SUBNODE)) {
			*res = NODE_ABSENT;
			return VHDX_OK;
		}
		*res = NODE_DESCEND;
		*out = vhdx_le64(e + elen - 8);
		return VHDX_OK;
	}
}

/* Index block vcn of the directory into buf (index_size bytes), checked. */
static vhdx_status index_block(struct ntfs_vol *v, uint64_t dir, const struct ntfs_stream *alloc, uint32_t bsize,
			       uint64_t vcn, uint8_t *buf)
{
	/* child VCNs count clusters, or 512-byte units when the blocks are smaller than a cluster */
	uint32_t unit_bits = bsize >= v->cluster_size ? v->cluster_bits : 9;
	uint64_t off = vcn << unit_bits;
	vhdx_status st;

	if (vcn >> (63 - unit_bits) || off >= alloc->data_size || alloc->data_size - off < bsize)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
				      "NTFS directory %llu: child VCN %llu lies beyond $INDEX_ALLOCATION data_size %llu",
				      (unsigned long long)dir, (unsigned long long)vcn,
				      (unsigned long long)alloc->data_size);
	if ((st = vhdx_ntfs_runs_read(v, &alloc->runs, off, buf, bsize, "$INDEX_ALLOCATION")) ||
	    (st = vhdx_ntfs_fixup(v, buf, bsize, "INDX", "index block at VCN", vcn)))
		return st;
	if (vhdx_le64(buf + INDX_VCN) != vcn)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS index block at VCN %llu of directory %llu: index_block_vcn %llu",
				      (unsigned long long)vcn, (unsigned long long)dir,
				      (unsigned long long)vhdx_le64(buf + INDX_VCN));
	return VHDX_OK;
}

static vhdx_status descend(struct ntfs_vol *v, uint64_t dir, const uint8_t *rec, const struct ntfs_stream *root,
			   const uint16_t *name, uint32_t name_len, uint64_t *ref)
{
	const uint8_t *r = root->resident;
	uint32_t bsize = vhdx_le32(r + IR_BLOCK_SIZE);
	struct ntfs_stream alloc = { 0 };
	uint8_t *block = NULL;
	enum node_result res;
	uint64_t got;
	vhdx_status st;

	st = scan_node(v, r + IR_HEADER, root->resident_len - IR_HEADER, name, name_len, "$INDEX_ROOT of directory", dir,
		       &res, &got);
	for (unsigned depth = 0; st == VHDX_OK && res == NODE_DESCEND; depth++) {
		if (depth == MAX_DEPTH) {
			st = vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS directory %llu: index deeper than %u levels (a loop?)",
					    (unsigned long long)dir, MAX_DEPTH);
			break;
		}
		if (!block) {
			if (bsize < NTFS_FIXUP_STRIDE || bsize > (64u << 10) || (bsize & (bsize - 1))) {
				st = vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS directory %llu: $INDEX_ROOT index_block_size %u",
						    (unsigned long long)dir, bsize);
				break;
			}
			if ((st = vhdx_ntfs_stream(v, dir, rec, NTFS_AT_INDEX_ALLOCATION, "$I30", &alloc)))
				break;
			if (!alloc.found || !alloc.non_resident ||
			    (alloc.flags & (NTFS_ATTR_COMPRESSED_MASK | NTFS_ATTR_ENCRYPTED))) {
				st = vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
						    "NTFS directory %llu: a child node, but $INDEX_ALLOCATION found %d, non_resident %d, flags 0x%04x",
						    (unsigned long long)dir, alloc.found, alloc.non_resident, alloc.flags);
				break;
			}
			if ((st = vhdx_ntfs_alloc(v, bsize, "index block", &block)))
				break;
		}
		if ((st = index_block(v, dir, &alloc, bsize, got, block)))
			break;
		st = scan_node(v, block + INDX_HEADER, bsize - INDX_HEADER, name, name_len, "index block at VCN", got,
			       &res, &got);
	}
	vhdx_ntfs_free(v, block);
	vhdx_ntfs_stream_free(v, &alloc);
	if (st == VHDX_OK && res == NODE_FOUND)
		*ref = got;
	return st != VHDX_OK ? st : res == NODE_FOUND ? VHDX_OK : VHDX_E_NOTFOUND;
}

vhdx_status vhdx_ntfs_dir_lookup(struct ntfs_vol *v, uint64_t dir, const uint8_t *rec, const uint16_t *name,
				 uint32_t name_len, uint64_t *ref)
{
	struct ntfs_stream root;
	vhdx_status st;

	if ((st = vhdx_ntfs_stream(v, dir, rec, NTFS_AT_INDEX_ROOT, "$I30", &root)))
		return st;
	if (!root.found || root.non_resident || root.resident_len < IR_MIN ||
	    vhdx_le32(root.resident + IR_TYPE) != NTFS_AT_FILE_NAME ||
	    vhdx_le32(root.resident + IR_COLLATION) != COLLATION_FILE_NAME) {
		st = vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
				    "NTFS directory %llu: $INDEX_ROOT $I30 found %d, non_resident %d, %u bytes, indexed type 0x%x, collation %u",
				    (unsigned long long)dir, root.found, root.non_resident, root.resident_len,
				    root.resident_len >= IR_MIN ? vhdx_le32(root.resident + IR_TYPE) : 0,
				    root.resident_len >= IR_MIN ? vhdx_le32(root.resident + IR_COLLATION) : 0);
	} else {
		st = descend(v, dir, rec, &root, name, name_len, ref);
	}
	vhdx_ntfs_stream_free(v, &root);
	return st;
}
