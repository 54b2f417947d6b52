/* SPDX-License-Identifier: BSD-2-Clause */
/* fz_oracle.c - the oracle: an independent second reading of what the core validated. */
#include "fuzzpriv.h"


void fz_check_msg(const char *msg, size_t cap)
{
	if (!memchr(msg, 0, cap))
		fz_die("message not NUL-terminated within %zu bytes", cap);
}

static int pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static int overl(uint64_t a, uint64_t al, uint64_t b, uint64_t bl)
{
	return a < b + bl && b < a + al;
}

static uint32_t crc_with_zero(const uint8_t *buf, size_t len)
{
	uint8_t *c = fz_xmalloc(len);
	uint32_t r;

	memcpy(c, buf, len);
	memset(c + 4, 0, 4);
	r = vhdx_crc32c(0, c, len);
	free(c);
	return r;
}

/*
 * The file as the core validated it: the backing bytes, or - while a log is pending - the file as the replay
 * will leave it, read through the core's own overlay (fuzz_replay checks that overlay against a real replay).
 */
static void view_read(struct fz_file *f, struct vhdx_image *img, uint64_t off, void *buf, size_t len)
{
	if (!img->log.active) {
		fz_file_pread(f, off, buf, len);
		return;
	}
	char keep[VHDX_MSG_LEN];
	memcpy(keep, img->msg, sizeof(keep));
	vhdx_status st = vhdx_pread(img, off, buf, len, "fuzz oracle");
	FZ_ASSERT(st == VHDX_OK, "reading %zu validated bytes at %llu through the log overlay: %s", len,
		  (unsigned long long)off, img->msg);
	memcpy(img->msg, keep, sizeof(keep));
}

/* A second, independent reading of the metadata items the core reports. */
static void check_metadata(struct fz_file *f, struct vhdx_image *img)
{
	static const uint8_t g_fp[16] = { 0x37, 0x67, 0xA1, 0xCA, 0x36, 0xFA, 0x43, 0x4D,
					  0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B };
	static const uint8_t g_vs[16] = { 0x24, 0x42, 0xA5, 0x2F, 0x1B, 0xCD, 0x76, 0x48,
					  0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8 };
	static const uint8_t g_ls[16] = { 0x1D, 0xBF, 0x41, 0x81, 0x6F, 0xA9, 0x09, 0x47,
					  0xBA, 0x47, 0xF2, 0x33, 0xA8, 0xFA, 0xAB, 0x5F };
	uint8_t *t = fz_xmalloc(65536), v[8];
	unsigned count;
	int seen = 0;

	view_read(f, img, img->meta_offset, t, 65536);
	FZ_ASSERT(memcmp(t, "metadata", 8) == 0, "metadata signature");
	count = (unsigned)t[10] | (unsigned)t[11] << 8;
	FZ_ASSERT(count <= 2047 && count == img->metadata_count, "metadata count %u vs %u", count, img->metadata_count);
	for (unsigned i = 0; i < count; i++) {
		const uint8_t *e = t + 32 + 32 * i;
		uint32_t off = le32(e + 16), len = le32(e + 20);
		FZ_ASSERT(len == 0 || ((uint64_t)off + len <= img->meta_length && off >= 65536 && len <= FZ_MiB),
			  "metadata entry %u (offset %u, length %u) accepted outside the region", i, off, len);
		if (memcmp(e, g_fp, 16) == 0) {
			FZ_ASSERT(len == 8, "file parameters length");
			view_read(f, img, img->meta_offset + off, v, 8);
			FZ_ASSERT(le32(v) == img->block_size, "block size %u vs %u", le32(v), img->block_size);
			FZ_ASSERT(((le32(v + 4) >> 1) & 1) == (uint32_t)img->has_parent, "has_parent");
			seen |= 1;
		} else if (memcmp(e, g_vs, 16) == 0) {
			FZ_ASSERT(len == 8, "virtual size length");
			view_read(f, img, img->meta_offset + off, v, 8);
			FZ_ASSERT(le64(v) == img->virtual_size, "virtual size");
			seen |= 2;
		} else if (memcmp(e, g_ls, 16) == 0) {
			FZ_ASSERT(len == 4, "logical sector length");
			view_read(f, img, img->meta_offset + off, v, 4);
			FZ_ASSERT(le32(v) == img->logical_sector_size, "logical sector size");
			seen |= 4;
		}
	}
	FZ_ASSERT(seen == 7, "a required metadata item the core accepted is missing (%d)", seen);
	free(t);
}

struct span {
	uint64_t off, end, idx;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

/*
 * An independent pass over the BAT (for BATs of up to 2^20 entries): every state, and the placement of every
 * present block - inside the file as validated, outside the header area, the log, the metadata and the BAT, and
 * overlapping no other block (checked by sorting the blocks, so it holds whatever the file size).
 */
static void check_bat(struct fz_file *f, struct vhdx_image *img)
{
	const struct vhdx_header *h = &img->header[img->current];
	uint64_t n = img->bat_entries, cr = img->chunk_ratio, fsz = img->file_size, np = 0;
	uint64_t counts[8] = { 0 };
	uint8_t *bat;
	struct span *sp;

	if (n > (1u << 20))
		return;
	bat = fz_xmalloc((size_t)n * 8);
	sp = fz_xmalloc((size_t)n * sizeof(*sp));
	view_read(f, img, img->bat_offset, bat, (size_t)n * 8);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t e = le64(bat + i * 8), off = e & 0xFFFFFFFFFFF00000ull, len;
		unsigned st = (unsigned)(e & 7);
		int bitmap = (i % (cr + 1)) == cr;
		uint64_t blk = i - i / (cr + 1);
		if (bitmap) {
			FZ_ASSERT(st == 0 || st == 6, "BAT entry %llu: bitmap state %u accepted", (unsigned long long)i, st);
			if (st != 6)
				continue;
			len = FZ_MiB;
		} else {
			if (blk >= img->payload_blocks) {
				FZ_ASSERT(st == 0, "BAT entry %llu: padding state %u accepted", (unsigned long long)i, st);
				continue;
			}
			FZ_ASSERT(st <= 3 || st == 6 || (st == 7 && img->has_parent),
				  "BAT entry %llu: payload state %u accepted", (unsigned long long)i, st);
			counts[st]++;
			if (st != 6 && st != 7)
				continue;
			/* the last block of a disk that is not a whole number of blocks need only hold what it covers */
			uint64_t left = img->virtual_size - blk * img->block_size;
			len = left < img->block_size ? left : img->block_size;
		}
		FZ_ASSERT(off >= FZ_MiB && off + len <= fsz && off + len > off,
			  "BAT entry %llu: block at %llu+%llu accepted outside the file (%llu)", (unsigned long long)i,
			  (unsigned long long)off, (unsigned long long)len, (unsigned long long)fsz);
		FZ_ASSERT(!(h->log_length && overl(off, len, h->log_offset, h->log_length)),
			  "BAT entry %llu: block overlapping the log accepted", (unsigned long long)i);
		FZ_ASSERT(!overl(off, len, img->meta_offset, img->meta_length),
			  "BAT entry %llu: block overlapping the metadata accepted", (unsigned long long)i);
		FZ_ASSERT(!overl(off, len, img->bat_offset, img->bat_length),
			  "BAT entry %llu: block overlapping the BAT accepted", (unsigned long long)i);
		FZ_ASSERT(off + len <= img->data_end, "data_end %llu below a present block's end",
			  (unsigned long long)img->data_end);
		sp[np].off = off;
		sp[np].end = off + len;
		sp[np].idx = i;
		np++;
	}
	qsort(sp, (size_t)np, sizeof(*sp), span_cmp);
	for (uint64_t k = 1; k < np; k++)
		FZ_ASSERT(sp[k].off >= sp[k - 1].end, "BAT entries %llu and %llu: blocks at %llu and %llu overlap, accepted",
			  (unsigned long long)sp[k - 1].idx, (unsigned long long)sp[k].idx, (unsigned long long)sp[k - 1].off,
			  (unsigned long long)sp[k].off);
	for (int s = 0; s < 8; s++)
		FZ_ASSERT(counts[s] == img->state_count[s], "state %d count %llu vs core %llu", s,
			  (unsigned long long)counts[s], (unsigned long long)img->state_count[s]);
	free(sp);
	free(bat);
}

static int verbose = -1;

void fz_check_open(struct fz_file *f, struct vhdx_image *img, vhdx_status st)
{
	if (verbose < 0)
		verbose = getenv("FZ_VERBOSE") != NULL;
	if (verbose)
		fprintf(stderr, "open: status %d%s%s (file %llu bytes, log %s)\n", (int)st, st ? ": " : "", st ? img->msg : "",
			(unsigned long long)f->io.size, img->log.active ? "active" : "none");
	FZ_ASSERT((unsigned)st < VHDX_STATUS_COUNT, "status %d out of range", (int)st);
	fz_check_msg(img->msg, sizeof(img->msg));
	FZ_ASSERT(img->warnings <= VHDX_MAX_WARNINGS, "warnings %u", img->warnings);
	for (unsigned i = 0; i < img->warnings; i++)
		fz_check_msg(img->warning[i], sizeof(img->warning[i]));
	fz_check_msg(img->creator, sizeof(img->creator));
	if (st != VHDX_OK) {
		FZ_ASSERT(img->msg[0] != 0, "failed open (status %d) without a message", (int)st);
		FZ_ASSERT(!img->validated, "failed open left validated set");
		FZ_ASSERT(f->live == 0, "failed open left %zu bytes allocated", f->live);
		return;
	}
	FZ_ASSERT(img->validated, "open OK but not validated");
	/* FZ_SKIP_KNOWN=1: do not re-report the known LastFileOffset findings (regress/open/log-lastfileoffset-*) */
	static int skip_known = -1;
	if (skip_known < 0)
		skip_known = getenv("FZ_SKIP_KNOWN") != NULL;
	if (skip_known && img->log.active && img->file_size > f->io.size + (1ull << 40))
		return;
	/* the BAT window, and a differencing image's parsed Parent Locator */
	FZ_ASSERT(f->live <= 64 * FZ_KiB + 64 + (img->has_parent ? sizeof(struct vhdx_parent_locator) : 0),
		  "open keeps %zu bytes", f->live);
	FZ_ASSERT(!img->has_parent || (img->locator && (img->locator->keys & VHDX_LOC_LINKAGE)),
		  "a differencing image opened without its parent_linkage");

	/* headers: an independent check of signature and checksum, and of the choice of the current one */
	uint8_t hb[2][4096];
	int valid[2];
	for (int i = 0; i < 2; i++) {
		fz_file_pread(f, (uint64_t)(64 + 64 * i) * FZ_KiB, hb[i], 4096);
		valid[i] = memcmp(hb[i], "head", 4) == 0 && le32(hb[i] + 4) == crc_with_zero(hb[i], 4096);
		FZ_ASSERT(valid[i] == img->header_valid[i], "header %d validity %d vs core %d", i + 1, valid[i],
			  img->header_valid[i]);
	}
	int cur = img->current;
	FZ_ASSERT(cur == 0 || cur == 1, "current %d", cur);
	FZ_ASSERT(valid[cur], "current header %d is not valid", cur + 1);
	if (valid[!cur]) {
		uint64_t sc = le64(hb[cur] + 8), so = le64(hb[!cur] + 8);
		FZ_ASSERT(sc > so || (sc == so && memcmp(hb[0], hb[1], 4096) == 0),
			  "current header %d (sequence %llu) vs other (sequence %llu)", cur + 1, (unsigned long long)sc,
			  (unsigned long long)so);
	}
	const struct vhdx_header *h = &img->header[cur];
	FZ_ASSERT(h->version == 1 && h->log_version == 0, "versions");
	FZ_ASSERT(h->log_offset % FZ_MiB == 0 && h->log_offset >= FZ_MiB && h->log_length % FZ_MiB == 0, "log place");
	FZ_ASSERT(h->log_offset + h->log_length <= f->io.size && h->log_offset + h->log_length >= h->log_offset,
		  "log beyond the file");
	FZ_ASSERT(img->log_pending == !vhdx_guid_is_zero(&h->log_guid), "log_pending");

	FZ_ASSERT(img->file_size >= f->io.size, "file_size %llu below the backing size",
		  (unsigned long long)img->file_size);
	FZ_ASSERT(img->log_pending || (!img->log.active && img->file_size == f->io.size), "file_size without a log");
	const uint64_t fsz = img->file_size;
	/* (while a log is pending, the checks below read the file as the replay will leave it) */
	{
		/* region table used: independently valid, and the offsets the core took come from it */
		uint8_t *rt = fz_xmalloc(65536);
		view_read(f, img, (uint64_t)(192 + 64 * img->region_used) * FZ_KiB, rt, 65536);
		FZ_ASSERT(memcmp(rt, "regi", 4) == 0 && le32(rt + 4) == crc_with_zero(rt, 65536), "region table %d invalid",
			  img->region_used + 1);
		uint32_t rc = le32(rt + 8);
		FZ_ASSERT(rc <= 2047 && rc == img->region_count, "region count");
		int nb = 0, nm = 0;
		for (uint32_t i = 0; i < rc; i++) {
			const uint8_t *e = rt + 16 + 32 * i;
			if (memcmp(e, guid_bat, 16) == 0) {
				nb++;
				FZ_ASSERT(le64(e + 16) == img->bat_offset && le32(e + 24) == img->bat_length, "BAT region");
			} else if (memcmp(e, guid_meta, 16) == 0) {
				nm++;
				FZ_ASSERT(le64(e + 16) == img->meta_offset && le32(e + 24) == img->meta_length, "metadata region");
			}
		}
		FZ_ASSERT(nb == 1 && nm == 1, "regions %d BAT, %d metadata", nb, nm);
		free(rt);
		FZ_ASSERT(img->bat_offset % FZ_MiB == 0 && img->bat_offset >= FZ_MiB && img->bat_length % FZ_MiB == 0 &&
				  img->bat_length && img->bat_offset + img->bat_length <= fsz,
			  "BAT region place");
		FZ_ASSERT(img->meta_offset % FZ_MiB == 0 && img->meta_offset >= FZ_MiB && img->meta_length % FZ_MiB == 0 &&
				  img->meta_length && img->meta_offset + img->meta_length <= fsz,
			  "metadata region place");
		FZ_ASSERT(!overl(img->bat_offset, img->bat_length, img->meta_offset, img->meta_length), "BAT/metadata overlap");
		FZ_ASSERT(!h->log_length || (!overl(img->bat_offset, img->bat_length, h->log_offset, h->log_length) &&
					     !overl(img->meta_offset, img->meta_length, h->log_offset, h->log_length)),
			  "region overlaps the log");
	}
	/* metadata values and geometry */
	FZ_ASSERT(pow2(img->block_size) && img->block_size >= FZ_MiB && img->block_size <= 256 * FZ_MiB, "block size");
	FZ_ASSERT(img->logical_sector_size == 512 || img->logical_sector_size == 4096, "lss");
	FZ_ASSERT(img->physical_sector_size == 512 || img->physical_sector_size == 4096, "pss");
	FZ_ASSERT(img->virtual_size && img->virtual_size <= 64 * FZ_MiB * FZ_MiB &&
			  img->virtual_size % img->logical_sector_size == 0,
		  "virtual size");
	FZ_ASSERT(img->chunk_ratio == (8 * FZ_MiB * img->logical_sector_size) / img->block_size, "chunk ratio");
	FZ_ASSERT(img->payload_blocks == (img->virtual_size + img->block_size - 1) / img->block_size, "payload blocks");
	FZ_ASSERT(img->bat_entries * 8 <= img->bat_length, "BAT entries %llu in %u bytes",
		  (unsigned long long)img->bat_entries, img->bat_length);
	uint64_t sum = 0;
	for (int s = 0; s < 8; s++)
		sum += img->state_count[s];
	FZ_ASSERT(sum == img->payload_blocks, "state counts sum %llu vs %llu blocks", (unsigned long long)sum,
		  (unsigned long long)img->payload_blocks);
	FZ_ASSERT(img->data_end <= fsz, "data_end beyond the file");
	FZ_ASSERT(img->has_parent || img->state_count[7] == 0, "partially present without a parent");
	check_metadata(f, img);
	check_bat(f, img);
}

