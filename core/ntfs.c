/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntfs.c - vhdx_ntfs_locate: the file at a path on an NTFS partition as raw extents (core/fs.h), plus the two
 * reasons not to write behind Windows' back: $Volume's dirty flag and a live hiberfil.sys.
 *
 * The path is followed from the root directory (record 5) one component at a time; names are UTF-8 here and
 * UTF-16 on disk.  The file's unnamed $DATA must be non-resident, uncompressed, unencrypted, not sparse, without
 * holes, wholly initialized and inside the partition, its runs disjoint: only then do raw extents serve it exactly.
 */
#include "fsutil.h"
#include "ntfs.h"

#define MAX_NAME 255       /* UTF-16 units of one NTFS name */
#define MAX_COMPONENTS 256 /* path components */
#define VOLINFO_FLAGS 0x0a
#define VOLINFO_MIN 0x0c
#define VOLUME_IS_DIRTY 0x0001u
#define HIBER_HEADER 4096u /* ntfs-3g reads this much of hiberfil.sys; a shorter file counts as hibernated */

/* The next path component as UTF-16 (surrogate pairs above U+FFFF); *p moves past it.  0: no more components. */
static int next_component(struct ntfs_vol *v, const char **p, uint16_t *name, uint32_t *len, vhdx_status *st)
{
	const uint8_t *s = (const uint8_t *)*p;
	uint32_t n = 0;

	while (*s == '/' || *s == '\\')
		s++;
	if (!*s) {
		*p = (const char *)s;
		return 0;
	}
	while (*s && *s != '/' && *s != '\\') {
		uint32_t c = *s, extra = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 4;
		static const uint32_t mins[4] = { 0, 0x80, 0x800, 0x10000 };

		if (extra == 4)
			goto bad;
		c &= 0x7f >> extra;
		for (uint32_t i = 1; i <= extra; i++) {
			if ((s[i] & 0xc0) != 0x80)
				goto bad;
			c = (c << 6) | (s[i] & 0x3f);
		}
		if (c < mins[extra] || c > 0x10ffff || (c >= 0xd800 && c < 0xe000))
			goto bad;
		if (n + (c > 0xffff ? 2 : 1) > MAX_NAME) {
			*st = vhdx_ntfs_fail(v, VHDX_E_NOTFOUND, "NTFS path: a component is longer than %u UTF-16 units",
					     MAX_NAME);
			return -1;
		}
		if (c > 0xffff) {
			name[n++] = (uint16_t)(0xd800 + ((c - 0x10000) >> 10));
			name[n++] = (uint16_t)(0xdc00 + ((c - 0x10000) & 0x3ff));
		} else {
			name[n++] = (uint16_t)c;
		}
		s += 1 + extra;
	}
	*p = (const char *)s;
	*len = n;
	return 1;
bad:
	*st = vhdx_ntfs_fail(v, VHDX_E_ARG, "NTFS path: invalid UTF-8 at byte 0x%02x", *s);
	return -1;
}

/* Follows path from the root; on success rec holds the file's base record and *recno its number. */
static vhdx_status walk(struct ntfs_vol *v, const char *path, uint8_t *rec, uint64_t *recno, int quiet)
{
	uint16_t name[MAX_NAME];
	uint32_t len, depth = 0;
	uint64_t cur = NTFS_REC_ROOT, ref;
	const char *p = path;
	vhdx_status st = VHDX_OK;
	int r;

	if ((st = vhdx_ntfs_record(v, NTFS_REC_ROOT, 0, rec)))
		return st;
	while ((r = next_component(v, &p, name, &len, &st)) > 0) {
		if (++depth > MAX_COMPONENTS)
			return vhdx_ntfs_fail(v, VHDX_E_NOTFOUND, "NTFS path: more than %u components", MAX_COMPONENTS);
		if (!vhdx_ntfs_record_is_dir(rec))
			return quiet ? VHDX_E_NOTFOUND
				     : vhdx_ntfs_fail(v, VHDX_E_NOTFOUND, "NTFS path %s: MFT record %llu is not a directory",
						      path, (unsigned long long)cur);
		st = vhdx_ntfs_dir_lookup(v, cur, rec, name, len, &ref);
		if (st == VHDX_E_NOTFOUND)
			return quiet ? st
				     : vhdx_ntfs_fail(v, st, "NTFS path %s: component %u not found in directory record %llu",
						      path, depth, (unsigned long long)cur);
		if (st != VHDX_OK)
			return st;
		cur = NTFS_REF_RECORD(ref);
		if ((st = vhdx_ntfs_record(v, cur, NTFS_REF_SEQ(ref), rec)))
			return st;
		if (vhdx_ntfs_record_base(rec) != 0)
			return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS MFT record %llu: an index entry names an extension record (base %llu)",
					      (unsigned long long)cur, (unsigned long long)vhdx_ntfs_record_base(rec));
	}
	if (r < 0)
		return st;
	if (depth == 0)
		return vhdx_ntfs_fail(v, VHDX_E_ARG, "NTFS path \"%s\": names no file", path);
	*recno = cur;
	return VHDX_OK;
}

/* Why raw extents cannot serve this $DATA, or VHDX_OK. */
static vhdx_status data_servable(struct ntfs_vol *v, uint64_t recno, const struct ntfs_stream *s)
{
	const char *flag = (s->flags & NTFS_ATTR_COMPRESSED_MASK) ? "compressed"
			   : (s->flags & NTFS_ATTR_ENCRYPTED)    ? "encrypted"
			   : (s->flags & NTFS_ATTR_SPARSE)       ? "sparse"
								 : NULL;

	if (!s->found)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS MFT record %llu: no unnamed $DATA attribute",
				      (unsigned long long)recno);
	if (!s->non_resident)
		return vhdx_ntfs_fail(v, VHDX_E_UNSUPPORTED,
				      "NTFS MFT record %llu: $DATA is resident (%u bytes inside the MFT record)",
				      (unsigned long long)recno, s->resident_len);
	if (flag)
		return vhdx_ntfs_fail(v, VHDX_E_UNSUPPORTED, "NTFS MFT record %llu: $DATA flags 0x%04x: the file is %s",
				      (unsigned long long)recno, s->flags, flag);
	if (s->init_size != s->data_size)
		return vhdx_ntfs_fail(v, VHDX_E_UNSUPPORTED,
				      "NTFS MFT record %llu: $DATA initialized_size %llu < data_size %llu (the tail reads as zeros, the disk holds old bytes)",
				      (unsigned long long)recno, (unsigned long long)s->init_size,
				      (unsigned long long)s->data_size);
	for (uint32_t i = 0; i < s->runs.n; i++)
		if (s->runs.r[i].lcn == NTFS_LCN_HOLE && s->data_size && s->runs.r[i].vcn <= (s->data_size - 1) >> v->cluster_bits)
			return vhdx_ntfs_fail(v, VHDX_E_UNSUPPORTED,
					      "NTFS MFT record %llu: $DATA runlist: a hole at VCN %llu (%llu clusters)",
					      (unsigned long long)recno, (unsigned long long)s->runs.r[i].vcn,
					      (unsigned long long)s->runs.r[i].len);
	return vhdx_ntfs_runs_disjoint(v, &s->runs, "$DATA runlist");
}

static vhdx_status extents(struct ntfs_vol *v, const struct ntfs_stream *s, struct vhdx_fs_file *out)
{
	const uint32_t bits = v->cluster_bits;

	out->size = s->data_size;
	for (uint32_t i = 0; i < s->runs.n; i++) {
		const struct ntfs_run *r = &s->runs.r[i];
		uint64_t foff, poff, len;
		struct vhdx_fs_extent *prev = out->extent_count ? &out->extents[out->extent_count - 1] : NULL;

		if (r->vcn > (s->data_size >> bits) || (foff = r->vcn << bits) >= s->data_size)
			break; /* runs past the end are allocation only (and the shifts below cannot overflow) */
		poff = r->lcn << bits; /* real runs lie inside the volume: no overflow */
		len = r->len << bits;
		if (len > s->data_size - foff)
			len = s->data_size - foff;
		if (prev && prev->part_offset + prev->length == poff) {
			prev->length += len;
			continue;
		}
		if (out->extent_count == out->extent_max)
			return vhdx_ntfs_fail(v, VHDX_E_UNSUPPORTED, "NTFS $DATA: more than %u extents (the caller's extent_max)",
					      out->extent_max);
		out->extents[out->extent_count].file_offset = foff;
		out->extents[out->extent_count].part_offset = poff;
		out->extents[out->extent_count].length = len;
		out->extent_count++;
	}
	return VHDX_OK;
}

static vhdx_status volume_flags(struct ntfs_vol *v, uint8_t *rec, uint32_t *flags)
{
	struct ntfs_stream s;
	vhdx_status st;

	if ((st = vhdx_ntfs_record(v, NTFS_REC_VOLUME, 0, rec)) ||
	    (st = vhdx_ntfs_stream(v, NTFS_REC_VOLUME, rec, NTFS_AT_VOLUME_INFORMATION, "", &s)))
		return st;
	if (!s.found || s.non_resident || s.resident_len < VOLINFO_MIN) {
		st = vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS $Volume (record 3): $VOLUME_INFORMATION found %d, non_resident %d, %u bytes",
				    s.found, s.non_resident, s.resident_len);
	} else if (vhdx_le16(s.resident + VOLINFO_FLAGS) & VOLUME_IS_DIRTY) {
		*flags |= VHDX_FS_DIRTY;
	}
	vhdx_ntfs_stream_free(v, &s);
	return st;
}

/*
 * As ntfs-3g decides (volume.c, ntfs_volume_check_hiberfile): no /hiberfil.sys, not hibernated; one shorter than
 * 4 KiB, hibernated; otherwise hibernated when its first four bytes are "hibr" or "HIBR".  ("wake"/"WAKE" mark an
 * image Windows has already resumed from; ntfs-3g, and this, treat those as not hibernated.)
 */
static vhdx_status hibernation(struct ntfs_vol *v, uint8_t *rec, uint32_t *flags)
{
	struct ntfs_stream s;
	uint64_t recno;
	uint8_t sig[4] = { 0 };
	vhdx_status st = walk(v, "/hiberfil.sys", rec, &recno, 1);

	if (st == VHDX_E_NOTFOUND)
		return VHDX_OK;
	if (st != VHDX_OK || (st = vhdx_ntfs_stream(v, recno, rec, NTFS_AT_DATA, "", &s)))
		return st;
	if (!s.found || s.data_size < HIBER_HEADER) {
		*flags |= VHDX_FS_HIBERNATED;
	} else if (!s.non_resident) {
		memcpy(sig, s.resident, sizeof sig);
	} else if (s.flags & (NTFS_ATTR_COMPRESSED_MASK | NTFS_ATTR_ENCRYPTED)) {
		*flags |= VHDX_FS_HIBERNATED; /* cannot read its header raw: assume the worse */
	} else if (s.init_size >= sizeof sig) {
		st = vhdx_ntfs_runs_read(v, &s.runs, 0, sig, sizeof sig, "hiberfil.sys");
	}
	if (!memcmp(sig, "hibr", 4) || !memcmp(sig, "HIBR", 4))
		*flags |= VHDX_FS_HIBERNATED;
	vhdx_ntfs_stream_free(v, &s);
	return st;
}

vhdx_status vhdx_ntfs_locate(const struct vhdx_io *part, const char *path, struct vhdx_fs_file *out)
{
	struct ntfs_vol v;
	struct ntfs_stream s = { 0 };
	uint8_t *rec = NULL;
	uint64_t recno;
	uint32_t flags = 0;
	vhdx_status st;

	if (!out)
		return VHDX_E_ARG;
	vhdx_fsu_reset(out, VHDX_FS_NTFS);
	if (!part || !part->read || !path || (out->extent_max && !out->extents)) {
		vhdx_fmt(out->msg, sizeof out->msg, "NTFS locate: no partition, path or extent array");
		return VHDX_E_ARG;
	}
	memset(&v, 0, sizeof v);
	v.io = part;
	v.out = out;
	if (!(st = vhdx_ntfs_mount(&v)))
		out->cluster_size = v.cluster_size;
	if (!st && !(st = vhdx_ntfs_alloc(&v, v.record_size, "MFT record", &rec)) && !(st = volume_flags(&v, rec, &flags)) &&
	    !(st = walk(&v, path, rec, &recno, 0))) {
		if (vhdx_ntfs_record_is_dir(rec))
			st = vhdx_ntfs_fail(&v, VHDX_E_UNSUPPORTED, "NTFS path %s: MFT record %llu is a directory", path,
					    (unsigned long long)recno);
		else if (!(st = vhdx_ntfs_stream(&v, recno, rec, NTFS_AT_DATA, "", &s)) && !(st = data_servable(&v, recno, &s)))
			st = extents(&v, &s, out);
	}
	if (!st)
		st = hibernation(&v, rec, &flags);
	vhdx_ntfs_free_all(&v);
	if (st != VHDX_OK) {
		out->extent_count = 0;
		out->size = 0;
		return st;
	}
	out->fs_flags = flags;
	return VHDX_OK;
}
