/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntfsrun.c - runlists ("mapping pairs"): decoding, reading an attribute's bytes through them, overlap checks.
 *
 * A run is a header byte (low nibble: bytes of the length, high nibble: bytes of the LCN delta), the length
 * (unsigned in practice, > 0) and a signed delta from the previous run's LCN; no delta bytes means a hole.  Each
 * attribute record's list starts again from LCN 0 and ends with a zero byte.  Everything is bounded by the
 * attribute's length and by the volume: a run outside the volume is refused, not clipped.
 */
#include "ntfs.h"

/* Little-endian integer of n bytes (1..8), sign-extended when sign is set. */
static uint64_t le_n(const uint8_t *p, unsigned n, int sign)
{
	uint64_t x = 0;

	for (unsigned i = 0; i < n; i++)
		x |= (uint64_t)p[i] << (8 * i);
	if (sign && n < 8 && (p[n - 1] & 0x80))
		x |= ~(uint64_t)0 << (8 * n);
	return x;
}

static vhdx_status runs_push(struct ntfs_vol *v, struct ntfs_runs *runs, uint64_t vcn, uint64_t lcn, uint64_t len,
			     const char *what)
{
	if (runs->n == runs->cap) {
		uint32_t cap = runs->cap ? runs->cap * 2 : 16;
		struct ntfs_run *r;

		if (runs->n >= NTFS_MAX_RUNS)
			return vhdx_ntfs_fail(v, VHDX_E_UNSUPPORTED, "NTFS %s: more than %u runs", what,
					      NTFS_MAX_RUNS);
		vhdx_status st = vhdx_ntfs_alloc(v, (size_t)cap * sizeof *r, what, &r);

		if (st != VHDX_OK)
			return st;
		if (runs->n)
			memcpy(r, runs->r, (size_t)runs->n * sizeof *r);
		vhdx_ntfs_free(v, runs->r);
		runs->r = r;
		runs->cap = cap;
	}
	runs->r[runs->n].vcn = vcn;
	runs->r[runs->n].lcn = lcn;
	runs->r[runs->n].len = len;
	runs->n++;
	return VHDX_OK;
}

vhdx_status vhdx_ntfs_runs_decode(struct ntfs_vol *v, struct ntfs_runs *runs, const uint8_t *p, size_t len,
				  uint64_t lowest, uint64_t highest, const char *what)
{
	uint64_t vcn = lowest, lcn = 0;
	size_t i = 0;
	vhdx_status st;

	if (lowest != runs->next_vcn)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
				      "NTFS %s: attribute piece lowest_vcn %llu, the pieces before it end at VCN %llu",
				      what, (unsigned long long)lowest, (unsigned long long)runs->next_vcn);
	for (;;) {
		uint8_t h;
		unsigned ls, os;
		uint64_t rlen, delta, end;

		if (i >= len)
			return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
					      "NTFS %s: mapping pairs have no terminating zero within %llu bytes", what,
					      (unsigned long long)len);
		h = p[i];
		if (h == 0)
			break;
		ls = h & 0x0f;
		os = h >> 4;
		if (ls == 0 || ls > 8 || os > 8)
			return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS %s: run header byte 0x%02x at mapping byte %llu",
					      what, h, (unsigned long long)i);
		if (len - i - 1 < (size_t)ls + os)
			return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
					      "NTFS %s: run at mapping byte %llu needs %u bytes, %llu are left", what,
					      (unsigned long long)i, 1 + ls + os, (unsigned long long)(len - i));
		rlen = le_n(p + i + 1, ls, 0);
		if (rlen == 0 || (rlen >> 63))
			return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS %s: run at mapping byte %llu has length %lld",
					      what, (unsigned long long)i, (long long)rlen);
		if (vhdx_add_overflow(vcn, rlen, &end))
			return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS %s: run at mapping byte %llu: VCN %llu + %llu overflows",
					      what, (unsigned long long)i, (unsigned long long)vcn,
					      (unsigned long long)rlen);
		if (os == 0) {
			st = runs_push(v, runs, vcn, NTFS_LCN_HOLE, rlen, what);
		} else {
			delta = le_n(p + i + 1 + ls, os, 1);
			lcn += delta; /* two's complement: a negative delta moves back */
			if ((int64_t)lcn < 0 || lcn >= v->clusters || rlen > v->clusters - lcn)
				return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
						      "NTFS %s: run at VCN %llu: LCN %lld length %llu lies outside the volume (%llu clusters)",
						      what, (unsigned long long)vcn, (long long)lcn,
						      (unsigned long long)rlen, (unsigned long long)v->clusters);
			st = runs_push(v, runs, vcn, lcn, rlen, what);
		}
		if (st != VHDX_OK)
			return st;
		vcn = end;
		i += 1 + ls + os;
	}
	if (vcn != highest + 1)
		return vhdx_ntfs_fail(v, VHDX_E_CORRUPT,
				      "NTFS %s: the runs cover VCNs %llu..%lld, the attribute's highest_vcn is %lld", what,
				      (unsigned long long)lowest, (long long)(vcn - 1), (long long)highest);
	runs->next_vcn = vcn;
	return VHDX_OK;
}

/* The run holding vcn (runs are contiguous and in VCN order); NULL when none does. */
static const struct ntfs_run *run_at(const struct ntfs_runs *runs, uint64_t vcn)
{
	uint32_t lo = 0, hi = runs->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct ntfs_run *r = &runs->r[mid];

		if (vcn < r->vcn)
			hi = mid;
		else if (vcn - r->vcn >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

vhdx_status vhdx_ntfs_runs_read(struct ntfs_vol *v, const struct ntfs_runs *runs, uint64_t off, void *buf,
				size_t len, const char *what)
{
	uint8_t *b = buf;
	const uint32_t bits = v->cluster_bits;

	while (len) {
		const struct ntfs_run *r = run_at(runs, off >> bits);
		uint64_t in_run, left, chunk;
		vhdx_status st;

		if (!r)
			return vhdx_ntfs_fail(v, VHDX_E_CORRUPT, "NTFS %s: byte %llu (VCN %llu) is not in the runlist",
					      what, (unsigned long long)off, (unsigned long long)(off >> bits));
		in_run = off - (r->vcn << bits); /* r->vcn <= off >> bits: no overflow */
		/* a hole's length is not bounded by the volume: saturate rather than wrap */
		left = r->len > (UINT64_MAX >> bits) ? UINT64_MAX - in_run : (r->len << bits) - in_run;
		chunk = len < left ? len : left;
		if (r->lcn == NTFS_LCN_HOLE)
			memset(b, 0, chunk);
		else if ((st = vhdx_ntfs_read(v, (r->lcn << bits) + in_run, b, chunk, what)) != VHDX_OK)
			return st;
		b += chunk;
		off += chunk;
		len -= chunk;
	}
	return VHDX_OK;
}

/* Heap sort of runs by LCN (in place on a scratch copy): no recursion, O(n log n) whatever the input. */
static void sift(struct ntfs_run *a, uint32_t i, uint32_t n)
{
	for (;;) {
		uint32_t c = 2 * i + 1;
		struct ntfs_run t;

		if (c >= n)
			return;
		if (c + 1 < n && a[c + 1].lcn > a[c].lcn)
			c++;
		if (a[i].lcn >= a[c].lcn)
			return;
		t = a[i];
		a[i] = a[c];
		a[c] = t;
		i = c;
	}
}

vhdx_status vhdx_ntfs_runs_disjoint(struct ntfs_vol *v, const struct ntfs_runs *runs, const char *what)
{
	struct ntfs_run *a, t;
	uint32_t n = 0;

	if (runs->n < 2)
		return VHDX_OK;
	vhdx_status st = vhdx_ntfs_alloc(v, (size_t)runs->n * sizeof *a, what, &a);

	if (st != VHDX_OK)
		return st;
	for (uint32_t i = 0; i < runs->n; i++)
		if (runs->r[i].lcn != NTFS_LCN_HOLE)
			a[n++] = runs->r[i];
	for (uint32_t i = n / 2; i-- > 0;)
		sift(a, i, n);
	for (uint32_t e = n; e-- > 1;) {
		t = a[0];
		a[0] = a[e];
		a[e] = t;
		sift(a, 0, e);
	}
	for (uint32_t i = 1; i < n; i++) {
		if (a[i - 1].lcn + a[i - 1].len > a[i].lcn) {
			st = vhdx_ntfs_fail(
				v, VHDX_E_CORRUPT,
				"NTFS %s: cross-linked runlist: VCN %llu (LCN %llu, %llu clusters) and VCN %llu (LCN %llu) share clusters",
				what, (unsigned long long)a[i - 1].vcn, (unsigned long long)a[i - 1].lcn,
				(unsigned long long)a[i - 1].len, (unsigned long long)a[i].vcn,
				(unsigned long long)a[i].lcn);
			vhdx_ntfs_free(v, a);
			return st;
		}
	}
	vhdx_ntfs_free(v, a);
	return VHDX_OK;
}
