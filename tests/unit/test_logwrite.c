/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_logwrite.c - the log writer (core/logwrite.c): the bytes of an entry, read back by the core's own log
 * search, overlay and replay (round trip: entries written and not applied, then the image reopened), the ring's
 * wrap, sequences of entries, the rule that keeps QEMU's reader in step (no chain of entries around the whole
 * ring; checked with a model of QEMU's search), and every refusal (nothing written).
 *
 * The base image (imgbuild defaults): 8 MiB virtual, 1 MiB blocks, log 1 MiB at 1 MiB (256 sectors), metadata at
 * 2 MiB, BAT at 3 MiB, blocks 0 and 1 at 4 and 5 MiB; the file is grown to 7 MiB and MiB 6 is the "new block".
 */
#include "imgbuild.h"
#include "t.h"

#define S VHDX_LOG_SECTOR
#define M VHDX_MiB
#define RING 256U

static const uint8_t RND[32] = { 0x31, 0x41, 0x59, 0x26, 0x53, 0x58, 0x97, 0x93, 0x23, 0x84, 0x62, 0x64, 0x33, 0x83, 0x27, 0x95,
				 0x02, 0x88, 0x41, 0x97, 0x16, 0x93, 0x99, 0x37, 0x51, 0x05, 0x82, 0x09, 0x74, 0x94, 0x45, 0x92 };

static struct ib base;
static uint8_t secbuf[400][S]; /* data for descriptors */

/* 4 KiB that differ per seed and position */
static uint8_t *data(unsigned slot, unsigned seed)
{
	for (unsigned i = 0; i < S; i++)
		secbuf[slot][i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
	return secbuf[slot];
}

/* opens a copy of `bytes`, growable; NULL or a reason */
static const char *open_copy(const uint8_t *bytes, uint64_t size, struct vhdx_image *img, struct membackend *mb)
{
	static char why[VHDX_MSG_LEN + 32];
	vhdx_status st;

	if (mb_init_copy(mb, bytes, size))
		return "no memory";
	mb->grow = 1;
	st = vhdx_open(img, mb_io(mb));
	if (st) {
		snprintf(why, sizeof why, "open: status %d: %s", (int)st, img->msg);
		mb_free(mb);
		return why;
	}
	return NULL;
}

/* the base image opened, grown to 7 MiB; 1 on success */
static int start(struct vhdx_image *img, struct membackend *mb, const char *name)
{
	const char *r = open_copy(base.buf, base.size, img, mb);

	if (!t_report(!r, r, "%s: base opens", name))
		return 0;
	if (!CHECK(mb->io.resize(mb, 7 * M) == 0, "%s: grow to 7 MiB", name))
		return 0;
	return 1;
}

/* the BAT sector holding block `blk`'s entry, with that entry set to FULLY_PRESENT at `at`, in slot `slot` */
static struct vhdx_log_sector bat_desc(struct membackend *mb, unsigned slot, uint64_t blk, uint64_t at)
{
	uint64_t off = base.bat_off + ib_bat_index(&base, blk) * 8, sec = off & ~(uint64_t)(S - 1);

	memcpy(secbuf[slot], mb->buf + sec, S);
	vhdx_put64(secbuf[slot] + (off - sec), at | VHDX_BAT_FULLY_PRESENT);
	return (struct vhdx_log_sector){ sec, 0, secbuf[slot] };
}

static const uint8_t *ring(const struct membackend *mb, uint32_t sector)
{
	return mb->buf + base.log_off + (uint64_t)(sector % RING) * S;
}

/* the entry at ring sector `pos` checksummed as the format says (field zeroed, whole entry, wrapping) */
static uint32_t entry_crc(const struct membackend *mb, uint32_t pos, uint32_t len)
{
	uint8_t first[S];
	uint32_t crc;

	memcpy(first, ring(mb, pos), S);
	memset(first + 4, 0, 4);
	crc = vhdx_crc32c(0, first, S);
	for (uint32_t k = 1; k < len / S; k++)
		crc = vhdx_crc32c(crc, ring(mb, pos + k), S);
	return crc;
}

static void test_format(void)
{
	struct vhdx_image img;
	struct membackend mb;
	struct vhdx_log_writer w;
	struct vhdx_log_sector d[2];
	struct vhdx_guid g, want_guid, fw;
	struct vhdx_header before;
	const uint8_t *e, *dd, *zd, *ds, *blk;
	unsigned flushes;

	if (!start(&img, &mb, "format"))
		return;
	before = img.header[img.current];
	CHECK_STATUS(vhdx_logw_begin(&img, &w, RND, 0, 0), VHDX_OK, "format: begin");
	vhdx_guid_from_random(&want_guid, RND + 16);
	vhdx_guid_from_random(&fw, RND);
	CHECK(vhdx_guid_equal(&img.header[img.current].log_guid, &want_guid), "format: LogGuid set from random[16..31]");
	CHECK(vhdx_guid_equal(&img.header[img.current].file_write_guid, &fw), "format: new FileWriteGuid from random[0..15]");
	CHECK(vhdx_guid_equal(&img.header[img.current].data_write_guid, &before.data_write_guid),
	      "format: DataWriteGuid kept");
	CHECK_EQ_U64(img.header[img.current].sequence, before.sequence + 1, "format: sequence raised once");
	CHECK(img.log_pending, "format: the log is live (other writers refuse)");

	/* block 4 -> 6 MiB through the BAT; zero 128 KiB of block 1 */
	memset(mb.buf + 6 * M, 0x77, M);
	d[0] = bat_desc(&mb, 0, 4, 6 * M);
	d[1] = (struct vhdx_log_sector){ 5 * M + 64 * 1024, 128 * 1024, NULL };
	flushes = mb.flushes;
	CHECK_STATUS(vhdx_logw_entry(&w, d, 2, 7 * M, 7 * M), VHDX_OK, "format: entry written");
	CHECK(mb.flushes > flushes, "format: the entry is flushed");

	e = ring(&mb, 0);
	CHECK_EQ_HEX(vhdx_le32(e), 0x65676F6C, "format: signature \"loge\"");
	CHECK_EQ_U64(vhdx_le32(e + 8), 2 * S, "format: EntryLength: one descriptor sector, one data sector");
	CHECK_EQ_HEX(vhdx_le32(e + 4), entry_crc(&mb, 0, 2 * S), "format: checksum over the entry");
	CHECK_EQ_U64(vhdx_le32(e + 12), 0, "format: Tail is the entry itself");
	CHECK_EQ_U64(vhdx_le64(e + 16), 1, "format: sequence number 1");
	CHECK_EQ_U64(vhdx_le32(e + 24), 2, "format: descriptor count");
	CHECK_EQ_U64(vhdx_le32(e + 28), 0, "format: reserved");
	vhdx_guid_load(&g, e + 32);
	CHECK(vhdx_guid_equal(&g, &want_guid), "format: the entry carries the LogGuid");
	CHECK_EQ_U64(vhdx_le64(e + 48), 7 * M, "format: FlushedFileOffset");
	CHECK_EQ_U64(vhdx_le64(e + 56), 7 * M, "format: LastFileOffset");
	dd = e + 64;
	zd = e + 96;
	ds = ring(&mb, 1);
	CHECK_EQ_HEX(vhdx_le32(dd), 0x63736564, "format: data descriptor \"desc\"");
	CHECK_MEM_EQ(dd + 4, secbuf[0] + S - 4, 4, "format: trailing bytes");
	CHECK_MEM_EQ(dd + 8, secbuf[0], 8, "format: leading bytes");
	CHECK_EQ_U64(vhdx_le64(dd + 16), d[0].offset, "format: data descriptor file offset");
	CHECK_EQ_U64(vhdx_le64(dd + 24), 1, "format: data descriptor sequence");
	CHECK_EQ_HEX(vhdx_le32(zd), 0x6F72657A, "format: zero descriptor \"zero\"");
	CHECK_EQ_U64(vhdx_le64(zd + 8), 128 * 1024, "format: zero length");
	CHECK_EQ_U64(vhdx_le64(zd + 16), 5 * M + 64 * 1024, "format: zero descriptor file offset");
	CHECK_EQ_U64(vhdx_le64(zd + 24), 1, "format: zero descriptor sequence");
	CHECK(memcmp(e + 128, (uint8_t[S]){ 0 }, S - 128) == 0, "format: the rest of the descriptor sector is zero");
	CHECK_EQ_HEX(vhdx_le32(ds), 0x61746164, "format: data sector \"data\"");
	CHECK_EQ_U64(vhdx_le32(ds + 4), 0, "format: sequence high");
	CHECK_MEM_EQ(ds + 8, secbuf[0] + 8, S - 12, "format: the 4084 logged bytes");
	CHECK_EQ_U64(vhdx_le32(ds + S - 4), 1, "format: sequence low");
	blk = mb.buf + base.bat_off;
	CHECK(memcmp(blk, base.buf + base.bat_off, S) == 0, "format: the BAT is untouched before apply");

	/* the round trip: the file as it is now (entry durable, not applied) opens with the log laid over it */
	{
		struct vhdx_image r;
		struct membackend rm;
		const char *why = open_copy(mb.buf, mb.size, &r, &rm);
		if (t_report(!why, why, "round trip: the unapplied entry opens")) {
			unsigned state;
			uint64_t off;
			uint8_t got[8];
			uint8_t rnd2[32] = { 9 };
			CHECK(r.log_pending && r.log.active, "round trip: log pending and found");
			CHECK_EQ_U64(r.log.entries, 1, "round trip: one entry");
			CHECK_STATUS(vhdx_block_lookup(&r, 4, &state, &off), VHDX_OK, "round trip: lookup");
			CHECK(state == VHDX_BAT_FULLY_PRESENT && off == 6 * M, "round trip: the overlay shows block 4 at 6 MiB (state %u at %llu)",
			      state, (unsigned long long)off);
			vhdx_read(&r, 4 * M + 5, got, 8);
			CHECK(memcmp(got, "\x77\x77\x77\x77\x77\x77\x77\x77", 8) == 0, "round trip: block 4 reads its data");
			vhdx_read(&r, M + 64 * 1024, got, 8);
			CHECK(memcmp(got, (uint8_t[8]){ 0 }, 8) == 0, "round trip: the zeroed range of block 1 reads zero");
			CHECK_STATUS(vhdx_replay(&r, rnd2), VHDX_OK, "round trip: replay");
			CHECK_MEM_EQ(rm.buf + d[0].offset, secbuf[0], S, "round trip: replay put the BAT sector in place");
			vhdx_close(&r);
			mb_free(&rm);
		}
	}

	CHECK_STATUS(vhdx_logw_end(&w), VHDX_E_ARG, "format: end refuses while an entry is unapplied");
	CHECK_STATUS(vhdx_logw_apply(&w, d, 2), VHDX_OK, "format: apply");
	CHECK_MEM_EQ(mb.buf + d[0].offset, secbuf[0], S, "format: BAT sector in place");
	CHECK(memcmp(mb.buf + 5 * M + 64 * 1024, (uint8_t[128 * 1024]){ 0 }, 128 * 1024) == 0, "format: zero range applied");
	before = img.header[img.current];
	CHECK_STATUS(vhdx_logw_end(&w), VHDX_OK, "format: end");
	CHECK(vhdx_guid_is_zero(&img.header[0].log_guid) && vhdx_guid_is_zero(&img.header[1].log_guid),
	      "format: LogGuid cleared in both headers");
	CHECK_EQ_U64(img.header[img.current].sequence, before.sequence + 2, "format: two more header writes");
	CHECK(!img.log_pending, "format: no log pending");
	vhdx_close(&img);
	{
		struct vhdx_image r;
		struct membackend rm;
		const char *why = open_copy(mb.buf, mb.size, &r, &rm);
		unsigned state = 0;
		uint64_t off = 0;
		if (t_report(!why, why, "format: the finished image opens")) {
			vhdx_block_lookup(&r, 4, &state, &off);
			CHECK(!r.log_pending && state == VHDX_BAT_FULLY_PRESENT && off == 6 * M,
			      "format: clean, block 4 present at 6 MiB");
			vhdx_close(&r);
			mb_free(&rm);
		}
	}
	CHECK(mb.alloc_bytes_live == 0, "format: no memory held (%zu bytes)", mb.alloc_bytes_live);
	mb_free(&mb);
}

/* entry of `ndata` data descriptors over block 0 (4 MiB +), content from seed */
static uint32_t fill(struct vhdx_log_sector *d, uint32_t ndata, unsigned seed, unsigned slot0)
{
	for (uint32_t i = 0; i < ndata; i++)
		d[i] = (struct vhdx_log_sector){ 4 * M + (uint64_t)i * S, 0, data(slot0 + i, seed + i) };
	return ndata;
}

static void test_wrap(void)
{
	struct vhdx_image img, r;
	struct membackend mb, rm;
	struct vhdx_log_writer w;
	struct vhdx_log_sector d[3];
	const char *why;

	if (!start(&img, &mb, "wrap"))
		return;
	CHECK_STATUS(vhdx_logw_begin(&img, &w, RND, 0, RING - 1), VHDX_OK, "wrap: begin at the last ring sector");
	fill(d, 3, 40, 0);
	CHECK_STATUS(vhdx_logw_entry(&w, d, 3, 7 * M, 7 * M), VHDX_OK, "wrap: a 4-sector entry at sector 255");
	CHECK_EQ_HEX(vhdx_le32(ring(&mb, RING - 1)), 0x65676F6C, "wrap: the header is in the ring's last sector");
	CHECK_EQ_HEX(vhdx_le32(ring(&mb, 0)), 0x61746164, "wrap: its first data sector at the ring's start");
	CHECK_EQ_HEX(vhdx_le32(ring(&mb, RING - 1) + 4), entry_crc(&mb, RING - 1, 4 * S), "wrap: checksum across the wrap");
	why = open_copy(mb.buf, mb.size, &r, &rm);
	if (t_report(!why, why, "wrap: opens with the wrapped entry pending")) {
		uint8_t got[S];
		CHECK_EQ_U64(r.log.tail, (uint64_t)(RING - 1) * S, "wrap: the search finds it at sector 255");
		vhdx_read(&r, 2 * S, got, S);
		CHECK_MEM_EQ(got, secbuf[2], S, "wrap: the overlay shows the third sector");
		CHECK_STATUS(vhdx_replay(&r, RND), VHDX_OK, "wrap: replay");
		CHECK_MEM_EQ(rm.buf + 4 * M, secbuf[0], 3 * S, "wrap: replayed in place");
		vhdx_close(&r);
		mb_free(&rm);
	}
	vhdx_logw_release(&w);
	vhdx_close(&img);
	mb_free(&mb);
}

/* Two entries not applied: the second's Tail names the first, and both replay in order (the second wins). */
static void test_sequence(void)
{
	struct vhdx_image img, r;
	struct membackend mb, rm;
	struct vhdx_log_writer w;
	struct vhdx_log_sector d1[2], d2[2], d3[1];
	const char *why;

	if (!start(&img, &mb, "sequence"))
		return;
	CHECK_STATUS(vhdx_logw_begin(&img, &w, RND, 0, 0), VHDX_OK, "sequence: begin");
	fill(d1, 2, 1, 0);
	fill(d2, 2, 2, 2);
	CHECK_STATUS(vhdx_logw_entry(&w, d1, 2, 7 * M, 7 * M), VHDX_OK, "sequence: entry 1");
	CHECK_STATUS(vhdx_logw_entry(&w, d2, 2, 7 * M, 7 * M), VHDX_OK, "sequence: entry 2 (entry 1 not applied)");
	CHECK_EQ_U64(vhdx_le64(ring(&mb, 3) + 16), 2, "sequence: entry 2 follows entry 1 directly (sector 3)");
	CHECK_EQ_U64(vhdx_le32(ring(&mb, 3) + 12), 0, "sequence: entry 2's Tail names entry 1");
	why = open_copy(mb.buf, mb.size, &r, &rm);
	if (t_report(!why, why, "sequence: opens")) {
		CHECK(r.log.entries == 2 && r.log.tail_seq == 1 && r.log.head_seq == 2, "sequence: both entries pending (%u, %llu..%llu)",
		      r.log.entries, (unsigned long long)r.log.tail_seq, (unsigned long long)r.log.head_seq);
		CHECK_STATUS(vhdx_replay(&r, RND), VHDX_OK, "sequence: replay");
		CHECK_MEM_EQ(rm.buf + 4 * M, secbuf[2], 2 * S, "sequence: the later entry wins");
		vhdx_close(&r);
		mb_free(&rm);
	}
	CHECK_STATUS(vhdx_logw_apply(&w, d1, 2), VHDX_OK, "sequence: apply 1");
	CHECK_STATUS(vhdx_logw_apply(&w, d2, 2), VHDX_OK, "sequence: apply 2");
	fill(d3, 1, 3, 4);
	CHECK_STATUS(vhdx_logw_entry(&w, d3, 1, 7 * M, 7 * M), VHDX_OK, "sequence: entry 3 after applying");
	CHECK_EQ_U64(vhdx_le64(ring(&mb, 6) + 16), 3, "sequence: entry 3 continues at sector 6, sequence 3");
	CHECK_EQ_U64(vhdx_le32(ring(&mb, 6) + 12), 6 * S, "sequence: its Tail is itself (the others are applied)");
	why = open_copy(mb.buf, mb.size, &r, &rm);
	if (t_report(!why, why, "sequence: opens after entry 3")) {
		CHECK(r.log.entries == 1 && r.log.tail_seq == 3, "sequence: only entry 3 pending");
		vhdx_close(&r);
		mb_free(&rm);
	}
	vhdx_logw_release(&w);
	vhdx_close(&img);
	mb_free(&mb);
}

/*
 * QEMU's search, modelled: scan from ring sector 0; at each valid entry follow the chain of adjacent entries
 * with consecutive sequence numbers; keep the first chain with the highest head; stop after a chain wraps.
 * Returns the chosen head's sequence and the chain's length in sectors (0 when none).
 */
static int valid_at(const struct membackend *mb, uint32_t pos, const struct vhdx_guid *g, uint64_t *seq, uint32_t *len)
{
	const uint8_t *e = ring(mb, pos);
	struct vhdx_guid eg;

	vhdx_guid_load(&eg, e + 32);
	*len = vhdx_le32(e + 8);
	*seq = vhdx_le64(e + 16);
	if (vhdx_le32(e) != 0x65676F6C || !vhdx_guid_equal(&eg, g) || !*len || *len % S || *len > RING * S || !*seq)
		return 0;
	return entry_crc(mb, pos, *len) == vhdx_le32(e + 4);
}

static void qemu_pick(const struct membackend *mb, const struct vhdx_guid *g, uint64_t *head, uint32_t *sectors)
{
	uint32_t read = 0;

	*head = 0;
	*sectors = 0;
	for (;;) {
		uint32_t len, total = 0;
		uint64_t seq, last = 0;
		int wrapped = 0;
		while (valid_at(mb, read, g, &seq, &len) && (!last || seq == last + 1)) {
			last = seq;
			total += len / S;
			wrapped |= read + len / S >= RING;
			read = (read + len / S) % RING;
		}
		if (last > *head) {
			*head = last;
			*sectors = total;
		}
		/* the validation that failed moves the scan on by one sector; a scan that wrapped is over */
		wrapped |= read + 1 >= RING;
		read = (read + 1) % RING;
		if (wrapped)
			return;
	}
}

/* Entries of 127 and 129 sectors: the second would end where the first starts (a ring-long chain). */
static void test_ring_closing(void)
{
	static struct vhdx_log_sector d[160];
	struct vhdx_image img;
	struct membackend mb;
	struct vhdx_log_writer w;
	uint64_t head;
	uint32_t sectors;

	if (!start(&img, &mb, "ring"))
		return;
	CHECK_STATUS(vhdx_logw_begin(&img, &w, RND, 0, 0), VHDX_OK, "ring: begin");
	fill(d, 126, 7, 0);
	CHECK_STATUS(vhdx_logw_entry(&w, d, 126, 7 * M, 7 * M), VHDX_OK, "ring: entry 1, 127 sectors at 0");
	CHECK_STATUS(vhdx_logw_apply(&w, d, 126), VHDX_OK, "ring: apply 1");
	fill(d, 127, 8, 130);
	CHECK_STATUS(vhdx_logw_entry(&w, d, 127, 7 * M, 7 * M), VHDX_OK, "ring: entry 2, 129 sectors");
	CHECK_EQ_U64(vhdx_le64(ring(&mb, 128) + 16), 2, "ring: entry 2 moved on to sector 128, not 127");
	qemu_pick(&mb, &w.guid, &head, &sectors);
	CHECK(head == 2 && sectors == 129, "ring: QEMU's search picks entry 2 alone (head %llu, %u sectors)",
	      (unsigned long long)head, sectors);

	/* many entries of mixed lengths around the ring: QEMU's pick always holds the newest and never the whole ring */
	{
		int bad = 0;
		for (unsigned k = 0; k < 300 && !bad; k++) {
			uint32_t n = 1 + (k * 37) % 90;
			fill(d, n, k, 0);
			if (vhdx_logw_entry(&w, d, n, 7 * M, 7 * M) || vhdx_logw_apply(&w, d, n)) {
				bad = 1;
				t_report(0, img.msg, "ring: entry %u", k);
				break;
			}
			qemu_pick(&mb, &w.guid, &head, &sectors);
			if (head != w.seq - 1 || sectors >= RING) {
				bad = 1;
				t_report(0, t_why("head %llu, newest %llu, chain %u sectors", (unsigned long long)head,
						  (unsigned long long)(w.seq - 1), sectors),
					 "ring: 300 entries of 2..91 sectors: QEMU's search finds the newest, never a ring-long chain");
			}
		}
		if (!bad)
			t_report(1, NULL, "ring: 300 entries of 2..91 sectors: QEMU's search finds the newest, never a ring-long chain");
	}
	CHECK_STATUS(vhdx_logw_end(&w), VHDX_OK, "ring: end");
	vhdx_close(&img);
	mb_free(&mb);
}

static void test_refusals(void)
{
	struct vhdx_image img;
	struct membackend mb;
	struct vhdx_log_writer w;
	struct vhdx_log_sector d[300];
	unsigned writes;

	/* read-only medium */
	if (!ib_opened(&base, &img, &mb)) {
		mb.read_only = 1;
		mb_io(&mb);
		CHECK_STATUS(vhdx_logw_begin(&img, &w, RND, 0, 0), VHDX_E_READONLY, "refuse: read-only medium");
		CHECK(mb.writes == 0, "refuse: read-only: nothing written");
		vhdx_close(&img);
		mb_free(&mb);
	}
	/* a header whose sequence number cannot be raised three times */
	{
		struct ib b;
		ib_build(&b, NULL);
		vhdx_put64(ib_hdr(&b, 1) + VHDX_HDR_SEQUENCE, UINT64_MAX - 1);
		ib_hdr_fix(&b, 1);
		if (!ib_opened(&b, &img, &mb)) {
			CHECK_STATUS(vhdx_logw_begin(&img, &w, RND, 0, 0), VHDX_E_SEQUENCE, "refuse: sequence at its limit");
			CHECK(mb.writes == 0, "refuse: sequence: nothing written");
			vhdx_close(&img);
			mb_free(&mb);
		}
		ib_free(&b);
	}
	/* an image without a log */
	{
		struct ib b;
		struct ib_params p = { .no_log = 1 };
		ib_build(&b, &p);
		if (!ib_opened(&b, &img, &mb)) {
			vhdx_status st = vhdx_logw_begin(&img, &w, RND, 0, 0);
			CHECK_STATUS(st, VHDX_E_UNSUPPORTED, "refuse: no log");
			CHECK_STR_CONTAINS(img.msg, "LogLength 0", "refuse: no log: the message names LogLength");
			CHECK(mb.writes == 0, "refuse: no log: nothing written");
			vhdx_close(&img);
			mb_free(&mb);
		}
		ib_free(&b);
	}
	/* bad descriptors and sizes: refused before the entry is written */
	if (start(&img, &mb, "refuse")) {
		CHECK_STATUS(vhdx_logw_entry(&w, d, 0, 0, 0), VHDX_E_STATE, "refuse: entry before begin");
		vhdx_logw_begin(&img, &w, RND, 0, 0);
		writes = mb.writes;
		d[0] = (struct vhdx_log_sector){ 4 * M + 1, 0, data(0, 1) };
		CHECK_STATUS(vhdx_logw_entry(&w, d, 1, 7 * M, 7 * M), VHDX_E_ARG, "refuse: unaligned descriptor");
		d[0].offset = M + S;
		CHECK_STATUS(vhdx_logw_entry(&w, d, 1, 7 * M, 7 * M), VHDX_E_ARG, "refuse: a descriptor into the log");
		d[0].offset = VHDX_HEADER1_OFFSET;
		CHECK_STATUS(vhdx_logw_entry(&w, d, 1, 7 * M, 7 * M), VHDX_E_ARG, "refuse: a descriptor over a header");
		d[0].offset = 7 * M;
		CHECK_STATUS(vhdx_logw_entry(&w, d, 1, 7 * M, 7 * M), VHDX_E_ARG, "refuse: a descriptor beyond LastFileOffset");
		CHECK_STATUS(vhdx_logw_entry(&w, d, 1, 8 * M, 7 * M), VHDX_E_ARG, "refuse: FlushedFileOffset beyond the file");
		fill(d, 255, 3, 0);
		CHECK_STATUS(vhdx_logw_entry(&w, d, 255, 7 * M, 7 * M), VHDX_E_ARG,
			     "refuse: an entry longer than the ring less one sector");
		CHECK(mb.writes == writes, "refuse: none of them wrote anything");
		CHECK_EQ_U64(vhdx_logw_capacity(&w), 253, "capacity: 253 data sectors in a 255-sector entry");
		CHECK_STATUS(vhdx_logw_entry(&w, d, 253, 7 * M, 7 * M), VHDX_OK, "capacity: 253 data descriptors fit");
		fill(d, 2, 3, 0);
		CHECK_STATUS(vhdx_logw_entry(&w, d, 2, 7 * M, 7 * M), VHDX_E_ARG,
			     "refuse: a second unapplied entry that would reach the first");
		vhdx_logw_release(&w);
		vhdx_close(&img);
		mb_free(&mb);
	}
}

int main(void)
{
	if (ib_build(&base, NULL) || !ib_alloc_block(&base, 0) || !ib_alloc_block(&base, 1)) {
		CHECK(0, "build the base image");
		return t_done();
	}
	test_format();
	test_wrap();
	test_sequence();
	test_ring_closing();
	test_refusals();
	ib_free(&base);
	return t_done();
}
