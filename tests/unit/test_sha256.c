/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_sha256.c - core/sha256.c against the FIPS 180-4 / NIST known answers, split updates against one-shot
 * hashing, on every compression path this CPU has (portable C always; SHA-NI on x86 and the ARMv8 SHA-2
 * instructions on aarch64 when present, forced with vhdx_sha256_set_impl), and the paths against each other on
 * random buffers of every length 0..300 and large ones at odd offsets; vhdx_sha256_zeros; core/digest.c (the
 * whole virtual disk, absent blocks hashed without a read, and its pieces); core/measure.c (the event layout);
 * core/guidparse.c.
 */
#include "imgbuild.h"
#include "t.h"

#define MiB VHDX_MiB

static const char *path_name(void)
{
	return vhdx_sha256_impl_name(vhdx_sha256_get_impl());
}

static int digest_is(const uint8_t d[VHDX_SHA256_SIZE], const char *hex)
{
	char t[VHDX_SHA256_HEX];
	vhdx_sha256_hex(d, t);
	return strcmp(t, hex) == 0;
}

static void check_answer(const char *name, const void *msg, size_t len, const char *want)
{
	uint8_t d[VHDX_SHA256_SIZE];
	char got[VHDX_SHA256_HEX], why[200];
	vhdx_sha256(msg, len, d);
	vhdx_sha256_hex(d, got);
	snprintf(why, sizeof why, "got %s, want %s", got, want);
	t_report(!strcmp(got, want), why, "sha256 %s: known answer: %s", path_name(), name);
}

static void known_answers(void)
{
	check_answer("empty message", "", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_answer("\"abc\"", "abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	check_answer("448-bit message", m448, strlen(m448),
		     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
			   "mnopqrstnopqrstu";
	check_answer("896-bit message", m896, strlen(m896),
		     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
	/* a million 'a', fed in 1000 updates of 1000 bytes: also exercises the running length */
	uint8_t a[1000], d[VHDX_SHA256_SIZE];
	memset(a, 'a', sizeof a);
	struct vhdx_sha256 c;
	vhdx_sha256_init(&c);
	for (int i = 0; i < 1000; i++)
		vhdx_sha256_update(&c, a, sizeof a);
	vhdx_sha256_final(&c, d);
	CHECK(digest_is(d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
	      "sha256 %s: known answer: one million 'a'", path_name());
	/* lengths around the padding boundary (55, 56, 63, 64 bytes): one or two final blocks */
	check_answer("55 x 'a'", a, 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	check_answer("56 x 'a'", a, 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
	check_answer("64 x 'a'", a, 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

static void split_updates(void)
{
	uint8_t msg[300], whole[VHDX_SHA256_SIZE], part[VHDX_SHA256_SIZE];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof msg; i++) {
		x = x * 1103515245u + 12345u;
		msg[i] = (uint8_t)(x >> 16);
	}
	vhdx_sha256(msg, sizeof msg, whole);
	int all = 1;
	for (size_t i = 0; i <= sizeof msg; i++)
		for (size_t j = i; j <= sizeof msg; j += 7) {
			struct vhdx_sha256 c;
			vhdx_sha256_init(&c);
			vhdx_sha256_update(&c, msg, i);
			vhdx_sha256_update(&c, msg + i, j - i);
			vhdx_sha256_update(&c, msg + j, sizeof msg - j);
			vhdx_sha256_final(&c, part);
			all &= !memcmp(whole, part, sizeof whole);
		}
	CHECK(all, "sha256 %s: three updates split anywhere equal one update (300 bytes)", path_name());
	uint8_t d2[VHDX_SHA256_SIZE];
	msg[150] ^= 1;
	vhdx_sha256(msg, sizeof msg, d2);
	CHECK(memcmp(whole, d2, sizeof d2) != 0, "sha256 %s: one flipped bit changes the digest", path_name());
}

/* vhdx_sha256_zeros against updates from a buffer of zeros: after every fill of the waiting block (a prefix of
 * 0..70 bytes), lengths 0..300, and a large run (the portable path's schedule-free zero blocks among them). */
static void zeros_agree(void)
{
	enum { LARGE = (1 << 20) + 5 };
	uint8_t *zeros = calloc(1, LARGE), pre[70], a[VHDX_SHA256_SIZE], b[VHDX_SHA256_SIZE];
	if (!CHECK(zeros != NULL, "sha256 %s: buffer", path_name()))
		return;
	memset(pre, 0xa5, sizeof pre);
	int all = 1;
	for (size_t p = 0; p <= sizeof pre; p += 5)
		for (size_t n = 0; n <= 300; n++) {
			struct vhdx_sha256 c1, c2;
			vhdx_sha256_init(&c1);
			vhdx_sha256_init(&c2);
			vhdx_sha256_update(&c1, pre, p);
			vhdx_sha256_update(&c2, pre, p);
			vhdx_sha256_update(&c1, zeros, n);
			vhdx_sha256_zeros(&c2, n);
			vhdx_sha256_update(&c1, pre, 3);
			vhdx_sha256_update(&c2, pre, 3);
			vhdx_sha256_final(&c1, a);
			vhdx_sha256_final(&c2, b);
			all &= !memcmp(a, b, sizeof a);
		}
	CHECK(all, "sha256 %s: hashing n zeros equals updating with n zero bytes (n 0..300, after 0..70 bytes)",
	      path_name());
	struct vhdx_sha256 c;
	vhdx_sha256_init(&c);
	vhdx_sha256_update(&c, pre, 1);
	vhdx_sha256_zeros(&c, LARGE);
	vhdx_sha256_final(&c, a);
	vhdx_sha256_init(&c);
	vhdx_sha256_update(&c, pre, 1);
	vhdx_sha256_update(&c, zeros, LARGE);
	vhdx_sha256_final(&c, b);
	CHECK_MEM_EQ(a, b, sizeof a, "sha256 %s: %d zeros at once equal the same from a buffer", path_name(), LARGE);
	free(zeros);
}

static void hex_text(void)
{
	uint8_t msg[300], whole[VHDX_SHA256_SIZE];
	memset(msg, 0x5a, sizeof msg);
	vhdx_sha256(msg, sizeof msg, whole);
	uint8_t back[VHDX_SHA256_SIZE];
	char hex[VHDX_SHA256_HEX];
	vhdx_sha256_hex(whole, hex);
	CHECK(vhdx_sha256_parse_hex(hex, strlen(hex), back) == 0 && !memcmp(back, whole, sizeof back),
	      "sha256: hex text parses back");
	hex[5] = 'g';
	CHECK(vhdx_sha256_parse_hex(hex, strlen(hex), back) != 0, "sha256: a non-hex digit is refused");
	CHECK(vhdx_sha256_parse_hex(hex, 63, back) != 0, "sha256: 63 digits are refused");
}

/* the image: blocks 1 and 5 stored, 3 ZERO with a stale offset, the rest absent; a partial last block */
static void digest_disk(void)
{
	struct ib b;
	struct ib_params p = { .virtual_size = 8 * MiB + 3 * 512 };
	if (!CHECK(ib_build(&b, &p) == 0, "digest: build the image"))
		return;
	ib_alloc_block(&b, 1);
	uint64_t off5 = ib_alloc_block(&b, 5);
	ib_alloc_block(&b, 8);
	ib_bat_set(&b, ib_bat_index(&b, 3), off5 | VHDX_BAT_ZERO);
	uint64_t vsize = p.virtual_size;
	uint8_t *want = malloc(vsize), want_d[VHDX_SHA256_SIZE];
	ib_expect(&b, 0, want, vsize);
	vhdx_sha256(want, vsize, want_d);
	free(want);

	struct vhdx_image img;
	struct membackend mb;
	const char *r = ib_opened(&b, &img, &mb);
	if (!t_report(!r, r, "digest: opens")) {
		ib_free(&b);
		return;
	}
	static uint8_t buf[1 * MiB];
	struct vhdx_sha256 c;
	uint8_t d[VHDX_SHA256_SIZE];
	uint64_t r0 = img.stats.read_bytes;
	vhdx_sha256_init(&c);
	CHECK_STATUS(vhdx_digest_virtual(&img, &c, buf, sizeof buf, NULL, NULL), VHDX_OK, "digest: whole disk");
	vhdx_sha256_final(&c, d);
	CHECK_MEM_EQ(d, want_d, sizeof d, "digest: equals the SHA-256 of the virtual disk's bytes");
	/* the stored bytes (two whole blocks, three sectors of the last) plus at most one BAT window */
	uint64_t stored = 2 * MiB + 3 * 512, got = img.stats.read_bytes - r0;
	CHECK(got >= stored && got <= stored + VHDX_BAT_WINDOW * 8,
	      "digest: only the stored blocks are read (%llu bytes read, %llu stored)", (unsigned long long)got,
	      (unsigned long long)stored);

	vhdx_sha256_init(&c);
	CHECK_STATUS(vhdx_digest_virtual(&img, &c, buf, 4096, NULL, NULL), VHDX_OK, "digest: 4 KiB scratch");
	vhdx_sha256_final(&c, d);
	CHECK_MEM_EQ(d, want_d, sizeof d, "digest: the same with a 4 KiB scratch buffer");
	CHECK_STATUS(vhdx_digest_virtual(&img, &c, buf, 4095, NULL, NULL), VHDX_E_ARG, "digest: 4095-byte scratch refused");
	CHECK_STR_CONTAINS(img.msg, "4095", "digest: refusal names the buffer size");

	/* the pieces: runs of one kind, in order, covering the disk; the stored ones are blocks 1, 5 and the last */
	char plan[200] = "", *pp = plan;
	uint64_t poff = 0, plen;
	int kind, pieces_ok = 1;
	while (poff < vsize && pieces_ok) {
		pieces_ok = vhdx_digest_piece(&img, poff, &plen, &kind) == VHDX_OK && plen > 0;
		pp += snprintf(pp, (size_t)(plan + sizeof plan - pp), "%s%llu+%llu", kind ? "S" : "Z",
			       (unsigned long long)(poff / 512), (unsigned long long)(plen / 512));
		poff += plen;
	}
	CHECK_STR_EQ(plan, "Z0+2048S2048+2048Z4096+6144S10240+2048Z12288+4096S16384+3",
		     "digest: pieces (sectors): zero and stored runs as the BAT says");
	CHECK_STATUS(vhdx_digest_piece(&img, vsize, &plen, &kind), VHDX_E_ARG, "digest: a piece at the end is refused");

	/* a changed byte inside a stored block changes the digest */
	mb.buf[ib_bat_get(&b, ib_bat_index(&b, 5)) / MiB * MiB + 777] ^= 0x40;
	vhdx_sha256_init(&c);
	vhdx_digest_virtual(&img, &c, buf, sizeof buf, NULL, NULL);
	vhdx_sha256_final(&c, d);
	CHECK(memcmp(d, want_d, sizeof d) != 0, "digest: one changed byte in a stored block changes it");

	/* the measurement event */
	uint8_t ev[VHDX_MEASURE_EVENT_SIZE], ev2[VHDX_MEASURE_EVENT_SIZE];
	vhdx_measure_event(&img, want_d, ev);
	CHECK_MEM_EQ(ev, "VHDXIMG\0", 8, "event: signature");
	CHECK_EQ_U64(vhdx_le16(ev + 8), VHDX_MEASURE_VERSION, "event: version");
	CHECK_EQ_U64(vhdx_le16(ev + 10), VHDX_MEASURE_HAS_SHA256, "event: flags say the digest is there");
	CHECK_EQ_U64(vhdx_le32(ev + 12), VHDX_MEASURE_EVENT_SIZE, "event: size field");
	struct vhdx_guid g;
	vhdx_guid_load(&g, ev + 16);
	CHECK(vhdx_guid_equal(&g, &img.disk_id), "event: VirtualDiskId at 16");
	CHECK_EQ_U64(vhdx_le64(ev + 32), vsize, "event: virtual size at 32");
	CHECK_EQ_U64(vhdx_le32(ev + 40), img.block_size, "event: block size at 40");
	CHECK_EQ_U64(vhdx_le32(ev + 44), 512, "event: logical sector size at 44");
	CHECK_EQ_U64(vhdx_le32(ev + 48), 4096, "event: physical sector size at 48");
	vhdx_guid_load(&g, ev + 56);
	CHECK(vhdx_guid_equal(&g, &img.header[img.current].data_write_guid), "event: DataWriteGuid at 56");
	CHECK_MEM_EQ(ev + 72, want_d, 32, "event: content digest at 72");
	vhdx_measure_event(&img, NULL, ev2);
	static const uint8_t zero32[32];
	CHECK(vhdx_le16(ev2 + 10) == 0 && !memcmp(ev2 + 72, zero32, 32), "event: without a digest: flag 0, zeros");
	img.header[img.current].file_write_guid.data1 ^= 1;
	img.header[img.current].sequence += 2;
	vhdx_measure_event(&img, want_d, ev2);
	CHECK_MEM_EQ(ev2, ev, sizeof ev, "event: FileWriteGuid and sequence are not part of it");
	vhdx_close(&img);
	mb_free(&mb);

	struct vhdx_image closed;
	memset(&closed, 0, sizeof closed);
	CHECK_STATUS(vhdx_digest_virtual(&closed, &c, buf, sizeof buf, NULL, NULL), VHDX_E_STATE,
		     "digest: refused before the image validated");
	ib_free(&b);
}

static void guid_text(void)
{
	struct vhdx_guid g = ib_guid(7), back;
	char t[VHDX_GUID_TEXT], lower[VHDX_GUID_TEXT + 2];
	vhdx_guid_format(&g, t);
	CHECK(vhdx_guid_parse(t, strlen(t), &back) == 0 && vhdx_guid_equal(&g, &back), "guid: text parses back");
	snprintf(lower, sizeof lower, "{%s}", t);
	for (char *p = lower; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	CHECK(vhdx_guid_parse(lower, strlen(lower), &back) == 0 && vhdx_guid_equal(&g, &back),
	      "guid: braces and lower case");
	t[8] = 'x';
	CHECK(vhdx_guid_parse(t, strlen(t), &back) != 0, "guid: a dash out of place is refused");
	vhdx_guid_format(&g, t);
	t[3] = 'z';
	CHECK(vhdx_guid_parse(t, strlen(t), &back) != 0, "guid: a non-hex digit is refused");
	CHECK(vhdx_guid_parse(t, 35, &back) != 0, "guid: short text is refused");
}

/* Does the kernel say this CPU has the x86 SHA extensions?  -1 when it cannot tell (no /proc, not x86). */
static int cpuinfo_says_sha_ni(void)
{
#if defined(__x86_64__) || defined(__i386__)
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	int found = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "flags", 5))
			continue;
		found = strstr(line, " sha_ni") != NULL;
		break;
	}
	fclose(f);
	return found;
#else
	return -1;
#endif
}

static const enum vhdx_sha256_impl cpu_paths[] = { VHDX_SHA256_SHANI, VHDX_SHA256_ARMV8 };

static void fill_random(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1664525u + 1013904223u;
		p[i] = (uint8_t)(seed >> 24);
	}
}

/* One path against the portable one: every length 0..300 from every start offset 0..3 (alignment), and large
 * buffers hashed in one call and in uneven updates (the bulk loop and its edges). */
static void path_agrees(enum vhdx_sha256_impl path)
{
	enum { SMALL = 300, LARGE = (1 << 20) + 77 };
	const char *name = vhdx_sha256_impl_name(path);
	uint8_t *buf = malloc(LARGE + 8), want[VHDX_SHA256_SIZE], got[VHDX_SHA256_SIZE];
	if (!CHECK(buf != NULL, "sha256 %s: buffer", name))
		return;
	fill_random(buf, LARGE + 8, 0x12345u + (uint32_t)path);
	size_t bad = SIZE_MAX;
	for (size_t off = 0; off < 4 && bad == SIZE_MAX; off++)
		for (size_t len = 0; len <= SMALL; len++) {
			vhdx_sha256_set_impl(VHDX_SHA256_PORTABLE);
			vhdx_sha256(buf + off, len, want);
			vhdx_sha256_set_impl(path);
			vhdx_sha256(buf + off, len, got);
			if (memcmp(want, got, sizeof got)) {
				bad = len;
				break;
			}
		}
	t_report(bad == SIZE_MAX, t_why("differs at length %zu", bad),
		 "sha256 %s: equals the portable path at every length 0..%d and start offsets 0..3", name, SMALL);

	static const size_t large[] = { 4096, 65536 + 63, 1 << 20, LARGE };
	for (size_t i = 0; i < sizeof large / sizeof large[0]; i++) {
		vhdx_sha256_set_impl(VHDX_SHA256_PORTABLE);
		vhdx_sha256(buf + 1, large[i], want);
		vhdx_sha256_set_impl(path);
		struct vhdx_sha256 c;
		vhdx_sha256_init(&c);
		size_t done = 0, step = 1;
		while (done < large[i]) { /* updates of 1, 3, 9, ... bytes: every fill state of the block buffer */
			size_t k = large[i] - done < step ? large[i] - done : step;
			vhdx_sha256_update(&c, buf + 1 + done, k);
			done += k;
			step = step * 3 + 1;
		}
		vhdx_sha256_final(&c, got);
		CHECK_MEM_EQ(got, want, sizeof got, "sha256 %s: %zu bytes in uneven updates equal the portable path", name,
			     large[i]);
	}
	free(buf);
}

/* Every path this CPU has runs the known answers and agrees with the portable one; the ones it lacks are
 * refused by vhdx_sha256_set_impl (and say so), and the default is the CPU's path where there is one. */
static void every_path(void)
{
	int cpuinfo = cpuinfo_says_sha_ni();
	enum vhdx_sha256_impl dflt = vhdx_sha256_get_impl();
	if (cpuinfo >= 0)
		CHECK(vhdx_sha256_set_impl(VHDX_SHA256_SHANI) == (cpuinfo ? 0 : -1),
		      "sha256: SHA-NI is used exactly when /proc/cpuinfo lists sha_ni (it %s)", cpuinfo ? "does" : "does not");
	CHECK(vhdx_sha256_set_impl(VHDX_SHA256_PORTABLE) == 0, "sha256: the portable path can always be forced");
	CHECK(vhdx_sha256_get_impl() == VHDX_SHA256_PORTABLE, "sha256: forcing it takes effect");
	CHECK(vhdx_sha256_set_impl((enum vhdx_sha256_impl)99) == -1 && vhdx_sha256_get_impl() == VHDX_SHA256_PORTABLE,
	      "sha256: an unknown path is refused and changes nothing");
	known_answers();
	split_updates();
	zeros_agree();
	int cpu_count = 0;
	for (size_t i = 0; i < sizeof cpu_paths / sizeof cpu_paths[0]; i++) {
		const char *name = vhdx_sha256_impl_name(cpu_paths[i]);
		enum vhdx_sha256_impl before = vhdx_sha256_get_impl();
		if (vhdx_sha256_set_impl(cpu_paths[i])) {
			CHECK(vhdx_sha256_get_impl() == before, "sha256 %s: refusal leaves the path alone", name);
			char what[64];
			snprintf(what, sizeof what, "sha256 %s: known answers and agreement with portable", name);
			T_SKIP(what, "this CPU does not have the instructions");
			continue;
		}
		cpu_count++;
		CHECK(dflt == cpu_paths[i], "sha256 %s: the default path on this CPU (default: %s)", name,
		      vhdx_sha256_impl_name(dflt));
		known_answers();
		split_updates();
		zeros_agree();
		path_agrees(cpu_paths[i]);
	}
	if (!cpu_count)
		CHECK(dflt == VHDX_SHA256_PORTABLE, "sha256: without CPU instructions the default is portable");
	T_NOTE("sha256: default path %s", vhdx_sha256_impl_name(dflt));
	vhdx_sha256_set_impl(VHDX_SHA256_AUTO);
	CHECK(vhdx_sha256_get_impl() == dflt, "sha256: AUTO restores the default path");
}

int main(void)
{
	every_path();
	hex_text();
	digest_disk();
	guid_text();
	return t_done();
}
