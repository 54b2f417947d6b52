/* SPDX-License-Identifier: BSD-2-Clause */
/* fz_input.c - the input decoder: patch format or raw file, and the checksum fix-ups that keep inputs deep. */
#include "fuzzpriv.h"


struct touched {
	int hdr[2], rgn[2], log;
	uint64_t log_off, log_len;
};

static void note_touch(struct touched *t, uint64_t off, uint64_t len)
{
	if (t->log_len && off < t->log_off + t->log_len && t->log_off < off + len)
		t->log = 1;
	for (int i = 0; i < 2; i++) {
		uint64_t h = (64 + 64 * (uint64_t)i) * FZ_KiB, r = (192 + 64 * (uint64_t)i) * FZ_KiB;
		if (off < h + 4096 && h < off + len)
			t->hdr[i] = 1;
		if (off < r + 65536 && r < off + len)
			t->rgn[i] = 1;
	}
}

static void fix_crc(struct fz_file *f, uint64_t off, size_t len)
{
	uint8_t *buf;
	uint32_t c;

	if (off + len > f->io.size)
		return;
	buf = fz_xmalloc(len);
	fz_file_pread(f, off, buf, len);
	memset(buf + 4, 0, 4);
	c = vhdx_crc32c(0, buf, len);
	buf[4] = (uint8_t)c;
	buf[5] = (uint8_t)(c >> 8);
	buf[6] = (uint8_t)(c >> 16);
	buf[7] = (uint8_t)(c >> 24);
	fz_file_pwrite(f, off + 4, buf + 4, 4);
	free(buf);
}

/* Gives every plausible log entry ("loge", sane length) a correct checksum, reading around the ring. */
static void fix_log(struct fz_file *f, uint64_t base, uint64_t length)
{
	uint64_t sectors = length / FZ_PAGE;
	uint8_t s[FZ_PAGE];

	if (!sectors || base + length > f->io.size || length > 64 * FZ_MiB)
		return;
	for (uint64_t pos = 0; pos < sectors; pos++) {
		fz_file_pread(f, base + pos * FZ_PAGE, s, FZ_PAGE);
		if (memcmp(s, "loge", 4) != 0)
			continue;
		uint32_t len = le32(s + 8);
		if (!len || len % FZ_PAGE || len > length)
			continue;
		uint32_t c = 0;
		for (uint64_t k = 0; k < len / FZ_PAGE; k++) {
			uint8_t t[FZ_PAGE];
			fz_file_pread(f, base + ((pos + k) % sectors) * FZ_PAGE, t, FZ_PAGE);
			if (k == 0)
				memset(t + 4, 0, 4);
			c = vhdx_crc32c(c, t, FZ_PAGE);
		}
		uint8_t cb[4] = { (uint8_t)c, (uint8_t)(c >> 8), (uint8_t)(c >> 16), (uint8_t)(c >> 24) };
		fz_file_pwrite(f, base + pos * FZ_PAGE + 4, cb, 4);
	}
}

unsigned fz_flags2(const uint8_t *data, size_t size)
{
	size_t nb = fz_base_count();
	(void)nb;
	if (size < FZ_HDR_BYTES || data[0] == FZ_RAW)
		return 0;
	return data[3];
}

size_t fz_load_input(struct fz_file *f, const uint8_t *data, size_t size, unsigned *flags, int *raw)
{
	size_t nb = fz_base_count(), pos;
	const struct fz_base *b;
	struct touched t;
	unsigned fl, arg;
	uint64_t fsize;

	memset(&t, 0, sizeof(t));
	*flags = 0;
	*raw = 0;
	if (size == 0) {
		fz_file_init(f, fz_base_get(0), fz_base_get(0)->size);
		return 0;
	}
	if (data[0] == FZ_RAW) {
		size_t n = size - 1 < FZ_RAW_MAX ? size - 1 : FZ_RAW_MAX;
		*raw = 1;
		fz_file_init(f, NULL, n);
		fz_file_pwrite(f, 0, data + 1, n);
		return size;
	}
	b = fz_base_get(data[0] % nb);
	if (getenv("FZ_VERBOSE"))
		fprintf(stderr, "base %u: %s (%llu bytes)\n", data[0] % (unsigned)nb, b->name,
			(unsigned long long)b->size);
	fl = size > 1 ? data[1] : 0;
	arg = size > 2 ? data[2] : 0;
	*flags = fl;
	fsize = b->size;
	if (fl & 0x10) {
		int64_t d = (int8_t)arg;
		if (d < 0 && (uint64_t)-d * FZ_MiB > fsize)
			fsize = 0;
		else
			fsize += (uint64_t)d * FZ_MiB;
	}
	if (fl & 0x20)
		fsize = fsize > arg * 512u ? fsize - arg * 512u : 0;
	if (fl & 0x40)
		fsize += (uint64_t)arg << 32;
	fz_file_init(f, b, fsize);

	t.log_off = b->anchor[FZ_A_LOG];
	t.log_len = b->log_length;
	for (pos = FZ_HDR_BYTES; pos + 5 <= size;) {
		unsigned a = data[pos] % FZ_ANCHORS;
		uint64_t rel = (uint64_t)data[pos + 1] | (uint64_t)data[pos + 2] << 8 | (uint64_t)data[pos + 3] << 16;
		size_t len = data[pos + 4], avail = size - pos - 5;
		uint64_t off;

		if (len > avail)
			len = avail;
		if (a == FZ_A_END)
			off = fsize > rel ? fsize - rel : 0;
		else
			off = b->anchor[a] + rel;
		if (off < fsize) {
			size_t n = fsize - off < len ? (size_t)(fsize - off) : len;
			fz_file_pwrite(f, off, data + pos + 5, n);
			note_touch(&t, off, n);
		}
		pos += 5 + len;
	}
	for (int i = 0; i < 2; i++) {
		if (t.hdr[i] && !(fl & (1u << i)))
			fix_crc(f, (64 + 64 * (uint64_t)i) * FZ_KiB, 4096);
		if (t.rgn[i] && !(fl & (4u << i)))
			fix_crc(f, (192 + 64 * (uint64_t)i) * FZ_KiB, 65536);
	}
	if (t.log && !((size > 3 ? data[3] : 0) & 1))
		fix_log(f, t.log_off, t.log_len);
	return size;
}

