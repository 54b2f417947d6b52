/* SPDX-License-Identifier: BSD-2-Clause */
/* test_crc32c.c - core/crc32c.c: known answers, incremental use, both implementations, vhdx_struct_crc. */
#include "imgbuild.h"
#include "t.h"

/* bitwise reference */
static uint32_t ref_crc(uint32_t crc, const uint8_t *p, size_t n)
{
	uint32_t c = ~crc;
	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ ((c & 1) ? 0x82F63B78u : 0);
	}
	return ~c;
}

static uint64_t rng = 0x243F6A8885A308D3ULL;
static uint8_t rnd8(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint8_t)(rng >> 24);
}

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

static void known_answers(const char *name, crc_fn f)
{
	uint8_t z[32] = { 0 }, ff[32];
	memset(ff, 0xFF, sizeof ff);
	CHECK_EQ_HEX(f(0, "123456789", 9), 0xE3069283u, "%s: crc32c(\"123456789\") == 0xE3069283", name);
	CHECK_EQ_HEX(f(0, "", 0), 0u, "%s: crc32c of nothing is 0", name);
	CHECK_EQ_HEX(f(0, NULL, 0), 0u, "%s: crc32c(NULL, 0) is 0", name);
	CHECK_EQ_HEX(f(0, z, 32), 0x8A9136AAu, "%s: 32 zero bytes give 0x8A9136AA", name);
	CHECK_EQ_HEX(f(0, ff, 32), 0x62A8AB43u, "%s: 32 0xFF bytes give 0x62A8AB43", name);
	CHECK_EQ_HEX(f(0xE3069283u, "", 0), 0xE3069283u, "%s: continuing with no bytes keeps the value", name);
}

/* every split point of a buffer: crc(crc(a), b) == crc(ab) */
static void incremental(const char *name, crc_fn f)
{
	uint8_t buf[300];
	int ok = 1;
	char why[VHDX_MSG_LEN + 128] = "";

	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = rnd8();
	uint32_t whole = f(0, buf, sizeof buf);
	for (size_t cut = 0; cut <= sizeof buf && ok; cut++) {
		uint32_t c = f(f(0, buf, cut), buf + cut, sizeof buf - cut);
		if (c != whole) {
			snprintf(why, sizeof why, "split at %zu: %08x vs %08x", cut, c, whole);
			ok = 0;
		}
	}
	t_report(ok, why, "%s: incremental at every split point of 300 bytes == one-shot", name);
	/* three pieces with odd sizes */
	uint32_t c = f(0, buf, 7);
	c = f(c, buf + 7, 129);
	c = f(c, buf + 136, 164);
	CHECK_EQ_HEX(c, whole, "%s: three pieces (7, 129, 164 bytes) == one-shot", name);
}

/* lengths 0..300 at misalignments 0..15 against the bitwise reference */
static void against_reference(const char *name, crc_fn f)
{
	static uint8_t buf[320 + 16] __attribute__((aligned(16)));
	int ok = 1;
	char why[VHDX_MSG_LEN + 128] = "";

	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = rnd8();
	for (size_t mis = 0; mis < 16 && ok; mis++) {
		for (size_t n = 0; n <= 300 && ok; n++) {
			uint32_t seed = n & 1 ? 0x12345678u : 0;
			uint32_t want = ref_crc(seed, buf + mis, n), got = f(seed, buf + mis, n);
			if (want != got) {
				snprintf(why, sizeof why, "len %zu at +%zu: %08x, expected %08x", n, mis, got, want);
				ok = 0;
			}
		}
	}
	t_report(ok, why, "%s: random buffers of lengths 0..300 at misalignments 0..15 match a bitwise reference", name);
}

/* a hardware path against the portable one on random buffers; `have` says whether this CPU has the path */
static void fast_vs_portable(const char *name, int have, crc_fn fast)
{
	static uint8_t buf[300 + 16] __attribute__((aligned(16)));
	int ok = 1;
	char why[VHDX_MSG_LEN + 128] = "";
	char title[160];

	snprintf(title, sizeof title, "crc32c: %s == portable for 4 random buffers, lengths 0..300, misalignments 0..15",
		 name);
	if (!have) {
		T_SKIP(title, "not available on this CPU");
		return;
	}
	for (int round = 0; round < 4 && ok; round++) {
		for (size_t i = 0; i < sizeof buf; i++)
			buf[i] = rnd8();
		for (size_t mis = 0; mis < 16 && ok; mis++) {
			for (size_t n = 0; n + mis <= sizeof buf && n <= 300 && ok; n++) {
				uint32_t a = vhdx_crc32c_portable((uint32_t)round, buf + mis, n);
				uint32_t b = fast((uint32_t)round, buf + mis, n);
				if (a != b) {
					snprintf(why, sizeof why, "round %d len %zu at +%zu: %s %08x, portable %08x", round,
						 n, mis, name, b, a);
					ok = 0;
				}
			}
		}
	}
	t_report(ok, why, "%s", title);
}

static void dispatcher(void)
{
	uint8_t buf[1000];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = rnd8();
	uint32_t p = vhdx_crc32c_portable(0, buf, sizeof buf);
	CHECK_EQ_HEX(vhdx_crc32c(0, buf, sizeof buf), p, "crc32c: vhdx_crc32c == the portable result (1000 bytes)");
	int h = vhdx_crc32c_have_sse42();
	CHECK(h == 0 || h == 1, "crc32c: have_sse42 answers 0 or 1 (%d)", h);
	CHECK_EQ_INT(vhdx_crc32c_have_sse42(), h, "crc32c: have_sse42 gives the same answer twice");
	T_NOTE("SSE4.2 %s", h ? "available" : "not available");
	int a = vhdx_crc32c_have_armv8();
	CHECK(a == 0 || a == 1, "crc32c: have_armv8 answers 0 or 1 (%d)", a);
	CHECK_EQ_INT(vhdx_crc32c_have_armv8(), a, "crc32c: have_armv8 gives the same answer twice");
	CHECK(!(a && h), "crc32c: at most one hardware path is available (sse4.2 %d, armv8 %d)", h, a);
	T_NOTE("ARMv8 CRC32 %s", a ? "available" : "not available");
}

/* vhdx_struct_crc equals the CRC of the structure with its checksum field zeroed, wherever the field is */
static void struct_crc(void)
{
	static uint8_t a[4096], b[4096];
	int ok = 1;
	for (size_t i = 0; i < sizeof a; i++)
		a[i] = rnd8();
	static const size_t offs[] = { 0, 4, 5, 100, 4092 };
	for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++) {
		memcpy(b, a, sizeof a);
		memset(b + offs[k], 0, 4);
		if (vhdx_struct_crc(a, sizeof a, offs[k]) != ref_crc(0, b, sizeof b))
			ok = 0;
	}
	CHECK(ok, "crc32c: vhdx_struct_crc == crc of the block with the 4-byte field zeroed (field at 0, 4, 5, 100, 4092)");
	/* the input is not modified */
	memcpy(b, a, sizeof a);
	vhdx_struct_crc(a, sizeof a, 4);
	CHECK_MEM_EQ(a, b, sizeof a, "crc32c: vhdx_struct_crc leaves its input unchanged");
	/* a valid header: stored checksum == struct crc */
	uint8_t h[4096] = { 0 };
	vhdx_put32(h, VHDX_HDR_SIGNATURE);
	vhdx_put64(h + 8, 77);
	vhdx_put32(h + 4, ref_crc(0, h, sizeof h));
	CHECK_EQ_HEX(vhdx_struct_crc(h, sizeof h, 4), vhdx_le32(h + 4), "crc32c: struct crc of a header matches its stored checksum");
}

int main(void)
{
	known_answers("crc32c dispatch", vhdx_crc32c);
	known_answers("crc32c portable", vhdx_crc32c_portable);
	if (vhdx_crc32c_have_sse42())
		known_answers("crc32c sse4.2", vhdx_crc32c_sse42);
	else
		T_SKIP("crc32c sse4.2: known answers", "no SSE4.2 on this CPU");
	incremental("crc32c dispatch", vhdx_crc32c);
	incremental("crc32c portable", vhdx_crc32c_portable);
	against_reference("crc32c dispatch", vhdx_crc32c);
	against_reference("crc32c portable", vhdx_crc32c_portable);
	if (vhdx_crc32c_have_sse42()) {
		incremental("crc32c sse4.2", vhdx_crc32c_sse42);
		against_reference("crc32c sse4.2", vhdx_crc32c_sse42);
	}
	if (vhdx_crc32c_have_armv8()) {
		known_answers("crc32c armv8", vhdx_crc32c_armv8);
		incremental("crc32c armv8", vhdx_crc32c_armv8);
		against_reference("crc32c armv8", vhdx_crc32c_armv8);
	} else {
		T_SKIP("crc32c armv8: known answers", "no ARMv8 CRC32 instructions on this CPU");
	}
	fast_vs_portable("SSE4.2", vhdx_crc32c_have_sse42(), vhdx_crc32c_sse42);
	fast_vs_portable("ARMv8 CRC32", vhdx_crc32c_have_armv8(), vhdx_crc32c_armv8);
	dispatcher();
	struct_crc();
	return t_done();
}
