/* SPDX-License-Identifier: BSD-2-Clause */
/* test_header.c - core/header.c: parse/serialize, the choice of the current header, the current header's log fields. */
#include "imgbuild.h"
#include "t.h"

static struct vhdx_image img;

#define REFUSED(b, st, f1, f2, ...)                                                                              \
	do {                                                                                                     \
		const char *r_ = ib_refused((b), (st), (f1), (f2));                                               \
		t_report(r_ == NULL, r_, __VA_ARGS__);                                                            \
	} while (0)

static void build(struct ib *b)
{
	if (ib_build(b, NULL)) {
		printf("Bail out! cannot build an image\n");
		exit(2);
	}
}

static void set_seq(struct ib *b, int i, uint64_t seq)
{
	vhdx_put64(ib_hdr(b, i) + VHDX_HDR_SEQUENCE, seq);
	ib_hdr_fix(b, i);
}

static void break_csum(struct ib *b, int i)
{
	ib_hdr(b, i)[VHDX_HDR_CHECKSUM] ^= 0x01;
}

/* opens, expects success, and gives the current header index (-1 on failure) */
static int opened_current(struct ib *b, const char *name)
{
	struct membackend mb;
	const char *r = ib_opened(b, &img, &mb);
	int cur = r ? -1 : img.current;
	if (r)
		t_report(0, r, "%s: opens", name);
	vhdx_close(&img);
	mb_free(&mb);
	return cur;
}

static void parse_serialize(void)
{
	struct ib b;
	struct vhdx_header h;
	uint8_t blk[VHDX_HEADER_SIZE];

	build(&b);
	vhdx_header_parse(&h, ib_hdr(&b, 1));
	struct vhdx_guid fw = ib_guid(1), dw = ib_guid(2);
	CHECK(h.signature == VHDX_HDR_SIGNATURE && h.sequence == IB_SEQ2 && vhdx_guid_equal(&h.file_write_guid, &fw) &&
		      vhdx_guid_equal(&h.data_write_guid, &dw) && vhdx_guid_is_zero(&h.log_guid) && h.log_version == 0 &&
		      h.version == 1 && h.log_length == VHDX_MiB && h.log_offset == VHDX_MiB,
	      "header parse: every field of a built header");
	CHECK_EQ_HEX(h.checksum, vhdx_le32(ib_hdr(&b, 1) + 4), "header parse: checksum field");

	/* serialize onto a block with reserved bytes: they stay, the checksum is right */
	for (size_t i = 0; i < sizeof blk; i++)
		blk[i] = (uint8_t)(i * 13 + 5);
	h.sequence = 0x0102030405060708ULL;
	h.log_guid = ib_guid(9);
	h.log_length = 3 * VHDX_MiB;
	h.log_offset = 7 * VHDX_MiB;
	h.log_version = 0;
	h.version = 1;
	vhdx_header_serialize(blk, &h);
	int reserved_ok = 1;
	for (size_t i = 80; i < sizeof blk; i++)
		if (blk[i] != (uint8_t)(i * 13 + 5))
			reserved_ok = 0;
	CHECK(reserved_ok, "header serialize: bytes 80..4095 are kept");
	CHECK_EQ_HEX(vhdx_le32(blk + 4), vhdx_struct_crc(blk, sizeof blk, 4), "header serialize: sets a valid checksum");
	struct vhdx_header back;
	vhdx_header_parse(&back, blk);
	CHECK(back.sequence == h.sequence && vhdx_guid_equal(&back.log_guid, &h.log_guid) &&
		      back.log_length == h.log_length && back.log_offset == h.log_offset && back.signature == VHDX_HDR_SIGNATURE,
	      "header serialize: parse gives back what was serialized");
	CHECK_EQ_HEX(vhdx_le64(blk + 8), 0x0102030405060708ULL, "header serialize: sequence little-endian at 8");
	ib_free(&b);
}

static void choice(void)
{
	struct ib b;
	struct membackend mb;
	const char *r;

	build(&b);
	r = ib_opened(&b, &img, &mb);
	t_report(!r, r, "header choice: a built image opens without writing");
	CHECK(img.header_valid[0] && img.header_valid[1], "header choice: both copies valid");
	CHECK_EQ_INT(img.current, 1, "header choice: both valid, header 2 has the higher sequence: header 2 is current");
	CHECK_EQ_U64(img.warnings, 0, "header choice: no warnings for a clean image");
	CHECK_EQ_INT(img.log_pending, 0, "header choice: LogGuid zero: no log pending");
	vhdx_close(&img);
	mb_free(&mb);

	set_seq(&b, 0, 100);
	CHECK_EQ_INT(opened_current(&b, "header choice: header 1 higher"), 0,
		     "header choice: both valid, header 1 has the higher sequence: header 1 is current");
	set_seq(&b, 0, IB_SEQ1);

	/* only one valid copy, either way, whatever the sequence numbers */
	break_csum(&b, 1);
	r = ib_opened(&b, &img, &mb);
	t_report(!r, r, "header choice: only header 1 valid: opens");
	CHECK(img.current == 0 && img.header_valid[0] && !img.header_valid[1], "header choice: only header 1 valid: header 1 is current");
	CHECK(ib_warned(&img, "header 2: checksum") && ib_warned(&img, "using header 1"),
	      "header choice: only header 1 valid: warning names header 2's checksum and the copy used");
	vhdx_close(&img);
	mb_free(&mb);
	ib_hdr_fix(&b, 1);

	vhdx_put32(ib_hdr(&b, 0), 0x64616569); /* "iead" */
	set_seq(&b, 0, 1000);
	r = ib_opened(&b, &img, &mb);
	t_report(!r, r, "header choice: only header 2 valid (header 1 bad signature, higher sequence): opens");
	CHECK(img.current == 1 && !img.header_valid[0], "header choice: only header 2 valid: header 2 is current");
	CHECK(ib_warned(&img, "header 1: signature") && ib_warned(&img, "using header 2"),
	      "header choice: only header 2 valid: warning names header 1's signature");
	vhdx_close(&img);
	mb_free(&mb);
	ib_free(&b);

	/* equal sequence numbers */
	build(&b);
	memcpy(ib_hdr(&b, 1), ib_hdr(&b, 0), VHDX_HEADER_SIZE);
	r = ib_opened(&b, &img, &mb);
	t_report(!r, r, "header choice: equal sequence, identical copies: accepted");
	CHECK(img.header_valid[0] && img.header_valid[1] && img.current == 0, "header choice: equal and identical: header 1 current");
	vhdx_close(&img);
	mb_free(&mb);

	struct vhdx_guid other = ib_guid(7);
	vhdx_guid_store(ib_hdr(&b, 1) + VHDX_HDR_FILE_WRITE, &other);
	ib_hdr_fix(&b, 1);
	REFUSED(&b, VHDX_E_CORRUPT, "both have sequence number 5", "differ",
		"header choice: equal sequence, different FileWriteGuid: refused as corrupt");
	memcpy(ib_hdr(&b, 1), ib_hdr(&b, 0), VHDX_HEADER_SIZE);
	ib_hdr(&b, 1)[2000] = 0x42;
	ib_hdr_fix(&b, 1);
	REFUSED(&b, VHDX_E_CORRUPT, "headers 1 and 2", "differ", "header choice: equal sequence, copies differ only in reserved bytes: refused");
	ib_free(&b);

	/* none valid: both reasons */
	build(&b);
	vhdx_put32(ib_hdr(&b, 0), 0);
	ib_hdr_fix(&b, 0);
	break_csum(&b, 1);
	REFUSED(&b, VHDX_E_CORRUPT, "header 1: signature", "header 2: checksum", "header choice: none valid: refused naming both reasons");
	REFUSED(&b, VHDX_E_CORRUPT, "no valid header", NULL, "header choice: none valid: says no valid header");
	ib_free(&b);
}

static void versions(void)
{
	struct ib b;
	struct membackend mb;

	build(&b);
	vhdx_put16(ib_hdr(&b, 0) + VHDX_HDR_VERSION, 2);
	ib_hdr_fix(&b, 0);
	REFUSED(&b, VHDX_E_UNSUPPORTED, "header 1", "Version 2",
		"header version: Version 2 in valid header 1 refused though header 2 is fine and current");
	vhdx_put16(ib_hdr(&b, 0) + VHDX_HDR_VERSION, 1);
	ib_hdr_fix(&b, 0);
	vhdx_put16(ib_hdr(&b, 1) + VHDX_HDR_VERSION, 2);
	ib_hdr_fix(&b, 1);
	REFUSED(&b, VHDX_E_UNSUPPORTED, "header 2", "Version 2", "header version: Version 2 in the current header 2 refused");
	set_seq(&b, 0, 50); /* header 1 fine and current */
	REFUSED(&b, VHDX_E_UNSUPPORTED, "header 2", "Version 2",
		"header version: Version 2 in valid non-current header 2 refused though header 1 is fine and current");
	vhdx_put16(ib_hdr(&b, 1) + VHDX_HDR_VERSION, 0);
	ib_hdr_fix(&b, 1);
	REFUSED(&b, VHDX_E_UNSUPPORTED, "header 2", "Version 0", "header version: Version 0 refused");
	/* a copy that is invalid anyway does not count */
	vhdx_put16(ib_hdr(&b, 1) + VHDX_HDR_VERSION, 2);
	ib_hdr_fix(&b, 1);
	break_csum(&b, 1);
	const char *r = ib_opened(&b, &img, &mb);
	t_report(!r, r, "header version: Version 2 in a copy with a bad checksum is ignored (that copy is invalid)");
	vhdx_close(&img);
	mb_free(&mb);
	ib_free(&b);
}

static void log_fields(void)
{
	struct ib b;
	struct membackend mb;
	const char *r;

	build(&b);
	vhdx_put16(ib_hdr(&b, 1) + VHDX_HDR_LOG_VERSION, 1);
	ib_hdr_fix(&b, 1);
	REFUSED(&b, VHDX_E_UNSUPPORTED, "header 2", "LogVersion 1", "header log: LogVersion 1 in the current header refused as unsupported");
	ib_free(&b);

	static const struct {
		uint32_t len;
		uint64_t off;
		const char *frag, *name;
	} bad[] = {
		{ 4096, VHDX_MiB, "LogLength 4096", "LogLength 4 KiB (not a 1 MiB multiple)" },
		{ VHDX_MiB + 512, VHDX_MiB, "LogLength", "LogLength 1 MiB + 512" },
		{ VHDX_MiB, 512 * 1024, "LogOffset 524288", "LogOffset 512 KiB (inside the header area)" },
		{ VHDX_MiB, 0, "LogOffset 0", "LogOffset 0" },
		{ VHDX_MiB, VHDX_MiB + 4096, "LogOffset 1052672", "LogOffset 1 MiB + 4 KiB (not aligned)" },
		{ VHDX_MiB, 64 * VHDX_MiB, "runs beyond the end of the file", "log beyond the end of the file" },
		{ 2 * VHDX_MiB, 4 * VHDX_MiB, "runs beyond the end of the file", "log end one MiB past the file end" },
		{ VHDX_MiB, 0xFFFFFFFFFFF00000ULL, "beyond the end", "LogOffset + LogLength overflows 64 bits" },
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		build(&b);
		vhdx_put32(ib_hdr(&b, 1) + VHDX_HDR_LOG_LENGTH, bad[k].len);
		vhdx_put64(ib_hdr(&b, 1) + VHDX_HDR_LOG_OFFSET, bad[k].off);
		ib_hdr_fix(&b, 1);
		REFUSED(&b, VHDX_E_CORRUPT, "header 2", bad[k].frag, "header log: %s refused", bad[k].name);
		ib_free(&b);
	}
	/* b's file is 4 MiB + BAT: a log that ends exactly at the end of the file is fine as far as the header goes */
	struct ib_params p = { .no_log = 1 };
	ib_build(&b, &p);
	r = ib_opened(&b, &img, &mb);
	t_report(!r, r, "header log: LogLength 0 (no log) opens");
	vhdx_close(&img);
	mb_free(&mb);
	ib_free(&b);

	/* the log may live anywhere outside the header area: here after the BAT, at the end of the file */
	build(&b);
	uint64_t end = b.size;
	ib_grow(&b, end + 2 * VHDX_MiB);
	for (int i = 0; i < 2; i++) {
		vhdx_put64(ib_hdr(&b, i) + VHDX_HDR_LOG_OFFSET, end);
		vhdx_put32(ib_hdr(&b, i) + VHDX_HDR_LOG_LENGTH, 2 * (uint32_t)VHDX_MiB);
		ib_hdr_fix(&b, i);
	}
	r = ib_opened(&b, &img, &mb);
	t_report(!r, r, "header log: a 2 MiB log at the end of the file, after the BAT");
	vhdx_close(&img);
	mb_free(&mb);
	ib_free(&b);

	/* LogGuid set with no log at all */
	struct ib_params nl = { .no_log = 1 };
	ib_build(&b, &nl);
	struct vhdx_guid g41 = ib_guid(41);
	ib_set_log_guid(&b, &g41);
	REFUSED(&b, VHDX_E_CORRUPT, "LogGuid", "LogLength is 0", "header log: LogGuid set with LogLength 0 refused");
	ib_free(&b);

	/* only the current header's log fields matter */
	build(&b);
	vhdx_put32(ib_hdr(&b, 0) + VHDX_HDR_LOG_LENGTH, 4096);
	ib_hdr_fix(&b, 0);
	r = ib_opened(&b, &img, &mb);
	t_report(!r, r, "header log: a bad LogLength in the non-current header does not matter");
	vhdx_close(&img);
	mb_free(&mb);
	ib_free(&b);

	/* LogGuid set but the log holds no valid entry: a writer crashed before its first entry was complete */
	build(&b);
	struct vhdx_guid lg = ib_guid(40);
	ib_set_log_guid(&b, &lg);
	r = ib_opened(&b, &img, &mb);
	t_report(!r, r, "header log: LogGuid set over a log with no valid entry opens (nothing to replay) without writing");
	CHECK(!r && img.log_pending == 1 && ib_warned(&img, "no valid sequence"),
	      "header log: LogGuid set over an empty log: log pending, warned that there is nothing to replay");
	vhdx_close(&img);
	mb_free(&mb);
	/* with one valid empty entry: opens, log pending, warned */
	ib_log_entry(&b, 0, 1, 0, &lg, NULL, 0, 0, 0);
	r = ib_opened(&b, &img, &mb);
	t_report(!r, r, "header log: LogGuid set with a valid (empty) log entry: opens without writing");
	CHECK_EQ_INT(img.log_pending, 1, "header log: LogGuid non-zero: log_pending");
	CHECK(ib_warned(&img, "LogGuid") && ib_warned(&img, "11223328-"), "header log: LogGuid non-zero: a warning names it");
	vhdx_close(&img);
	mb_free(&mb);
	ib_free(&b);
}

int main(void)
{
	parse_serialize();
	choice();
	versions();
	log_fields();
	return t_done();
}
