/* header.c - the two headers: parse, choose the current one, and the session update that rewrites them. */
#include "internal.h"

static const uint64_t slot_offset[2] = { VHDX_HEADER1_OFFSET, VHDX_HEADER2_OFFSET };

void vhdx_header_parse(struct vhdx_header *h, const uint8_t *buf)
{
	h->signature = vhdx_le32(buf + VHDX_HDR_SIG);
	h->checksum = vhdx_le32(buf + VHDX_HDR_CHECKSUM);
	h->sequence = vhdx_le64(buf + VHDX_HDR_SEQUENCE);
	vhdx_guid_load(&h->file_write_guid, buf + VHDX_HDR_FILE_WRITE);
	vhdx_guid_load(&h->data_write_guid, buf + VHDX_HDR_DATA_WRITE);
	vhdx_guid_load(&h->log_guid, buf + VHDX_HDR_LOG_GUID);
	h->log_version = vhdx_le16(buf + VHDX_HDR_LOG_VERSION);
	h->version = vhdx_le16(buf + VHDX_HDR_VERSION);
	h->log_length = vhdx_le32(buf + VHDX_HDR_LOG_LENGTH);
	h->log_offset = vhdx_le64(buf + VHDX_HDR_LOG_OFFSET);
}

void vhdx_header_serialize(uint8_t *buf, const struct vhdx_header *h)
{
	vhdx_put32(buf + VHDX_HDR_SIG, VHDX_HDR_SIGNATURE);
	vhdx_put64(buf + VHDX_HDR_SEQUENCE, h->sequence);
	vhdx_guid_store(buf + VHDX_HDR_FILE_WRITE, &h->file_write_guid);
	vhdx_guid_store(buf + VHDX_HDR_DATA_WRITE, &h->data_write_guid);
	vhdx_guid_store(buf + VHDX_HDR_LOG_GUID, &h->log_guid);
	vhdx_put16(buf + VHDX_HDR_LOG_VERSION, h->log_version);
	vhdx_put16(buf + VHDX_HDR_VERSION, h->version);
	vhdx_put32(buf + VHDX_HDR_LOG_LENGTH, h->log_length);
	vhdx_put64(buf + VHDX_HDR_LOG_OFFSET, h->log_offset);
	vhdx_put32(buf + VHDX_HDR_CHECKSUM, vhdx_struct_crc(buf, VHDX_HEADER_SIZE, VHDX_HDR_CHECKSUM));
}

/* Why a header copy is invalid, or NULL when it is valid; the reason names the field and the bad value. */
static void header_reason(char *out, size_t n, int i, const struct vhdx_header *h, const uint8_t *buf)
{
	uint32_t crc;

	if (h->signature != VHDX_HDR_SIGNATURE) {
		vhdx_fmt(out, n, "header %u: signature %x is not \"head\"", (unsigned)i + 1, h->signature);
		return;
	}
	crc = vhdx_struct_crc(buf, VHDX_HEADER_SIZE, VHDX_HDR_CHECKSUM);
	if (crc != h->checksum)
		vhdx_fmt(out, n, "header %u: checksum %x does not match the computed %x", (unsigned)i + 1, h->checksum,
			 crc);
	else
		out[0] = 0;
}

/*
 * Reads both slots and picks the current header.  buf must hold 2 * 4 KiB; on return it holds both copies, which
 * the session update reuses so that reserved bytes survive.
 */
vhdx_status vhdx_headers_load(struct vhdx_image *img, uint8_t *buf)
{
	char reason[2][VHDX_MSG_LEN];
	vhdx_status st;
	int cur;

	for (int i = 0; i < 2; i++) {
		uint8_t *b = buf + i * VHDX_HEADER_SIZE;
		st = vhdx_pread(img, slot_offset[i], b, VHDX_HEADER_SIZE, i ? "header 2" : "header 1");
		if (st)
			return st;
		vhdx_header_parse(&img->header[i], b);
		header_reason(reason[i], sizeof(reason[i]), i, &img->header[i], b);
		img->header_valid[i] = reason[i][0] == 0;
	}
	if (!img->header_valid[0] && !img->header_valid[1])
		return vhdx_fail(img, VHDX_E_CORRUPT, "no valid header: %s; %s", reason[0], reason[1]);

	/* A valid copy of a version we do not know must not be skipped in favour of the other copy. */
	for (int i = 0; i < 2; i++) {
		if (img->header_valid[i] && img->header[i].version != 1)
			return vhdx_fail(img, VHDX_E_UNSUPPORTED, "header %u: Version %u is not 1", (unsigned)i + 1,
					 img->header[i].version);
	}

	if (img->header_valid[0] && img->header_valid[1]) {
		uint64_t s0 = img->header[0].sequence, s1 = img->header[1].sequence;
		if (s0 == s1) {
			if (memcmp(buf, buf + VHDX_HEADER_SIZE, VHDX_HEADER_SIZE) != 0)
				return vhdx_fail(img, VHDX_E_CORRUPT,
						 "headers 1 and 2: both have sequence number %llu but differ", s0);
			cur = 0;
		} else {
			cur = s1 > s0;
		}
	} else {
		cur = img->header_valid[1];
		vhdx_warn(img, "%s; using header %u", reason[!cur], (unsigned)cur + 1);
	}
	img->current = cur;
	return VHDX_OK;
}

/* The log's place as the current header states it; the regions are checked against it later. */
vhdx_status vhdx_header_check_current(struct vhdx_image *img)
{
	const struct vhdx_header *h = &img->header[img->current];
	unsigned n = (unsigned)img->current + 1;
	uint64_t end;

	if (h->log_version != 0)
		return vhdx_fail(img, VHDX_E_UNSUPPORTED, "header %u: LogVersion %u is not 0", n, h->log_version);
	if (h->log_length % VHDX_MiB)
		return vhdx_fail(img, VHDX_E_CORRUPT, "header %u: LogLength %u is not a multiple of 1 MiB", n,
				 h->log_length);
	if (h->log_offset % VHDX_MiB || h->log_offset < VHDX_HEADER_AREA)
		return vhdx_fail(img, VHDX_E_CORRUPT, "header %u: LogOffset %llu is not a 1 MiB multiple of at least 1 MiB",
				 n, h->log_offset);
	if (vhdx_add_overflow(h->log_offset, h->log_length, &end) || end > img->io->size)
		return vhdx_fail(img, VHDX_E_CORRUPT,
				 "header %u: log at %llu, %u bytes, runs beyond the end of the file (%llu bytes)", n,
				 h->log_offset, h->log_length, img->io->size);
	img->log_pending = !vhdx_guid_is_zero(&h->log_guid);
	if (img->log_pending)
		vhdx_warn(img, "header %u: LogGuid %G is not zero: the log must be replayed (reads see it replayed in memory)",
			  n, &h->log_guid);
	return VHDX_OK;
}

/*
 * Writes `h` into the non-current slot, built on `block` (the current copy's bytes, so reserved fields survive),
 * flushes, and makes that slot current.  Called twice in a row, both copies end up current.
 */
vhdx_status vhdx_header_write(struct vhdx_image *img, uint8_t *block, const struct vhdx_header *h)
{
	int slot = !img->current;
	vhdx_status st;

	vhdx_header_serialize(block, h);
	st = vhdx_pwrite(img, slot_offset[slot], block, VHDX_HEADER_SIZE, slot ? "header 2" : "header 1");
	if (!st)
		st = vhdx_flush(img);
	if (!st) {
		vhdx_header_parse(&img->header[slot], block);
		img->header_valid[slot] = 1;
		img->current = slot;
	}
	return st;
}

/* The checks every writer makes first; nothing has been written when one fails. */
vhdx_status vhdx_write_allowed(struct vhdx_image *img, const char *what, uint64_t raises)
{
	const struct vhdx_header *h = &img->header[img->current];

	if (!img->validated)
		return vhdx_fail(img, VHDX_E_STATE, "%s: the image was not opened and validated", what);
	if (img->io->read_only || !img->io->write)
		return vhdx_fail(img, VHDX_E_READONLY, "%s: the medium is read-only; nothing was written", what);
	if (img->child) /* differencing chains (issue 11): a parent's data is its children's too */
		return vhdx_fail(img, VHDX_E_READONLY, "%s: the image is the parent of a differencing image; nothing was written",
				 what);
	if (h->sequence > UINT64_MAX - raises)
		return vhdx_fail(img, VHDX_E_SEQUENCE,
				 "header %u: SequenceNumber %llu cannot be raised %llu times; nothing was written",
				 (unsigned)img->current + 1, h->sequence, raises);
	return VHDX_OK;
}

/* Allocates a header block holding the current copy as it is on disk now, which must still be what open checked. */
vhdx_status vhdx_header_block(struct vhdx_image *img, uint8_t **out)
{
	int cur = img->current;
	uint8_t *block = img->io->alloc(img->io->ctx, VHDX_HEADER_SIZE);
	vhdx_status st;

	if (!block)
		return vhdx_fail(img, VHDX_E_NOMEM, "header %u: no memory for a header block", (unsigned)cur + 1);
	st = vhdx_raw_read(img, slot_offset[cur], block, VHDX_HEADER_SIZE, cur ? "header 2" : "header 1");
	if (!st && vhdx_struct_crc(block, VHDX_HEADER_SIZE, VHDX_HDR_CHECKSUM) != img->header[cur].checksum)
		st = vhdx_fail(img, VHDX_E_CORRUPT, "header %u: changed on disk since it was validated; nothing was written",
			       (unsigned)cur + 1);
	if (st) {
		img->io->free(img->io->ctx, block, VHDX_HEADER_SIZE);
		return st;
	}
	*out = block;
	return VHDX_OK;
}

vhdx_status vhdx_session_update(struct vhdx_image *img, const uint8_t random[32])
{
	struct vhdx_header h;
	uint8_t *block;
	vhdx_status st;

	st = vhdx_write_allowed(img, "session update", 2);
	if (st)
		return st;
	if (img->log_pending)
		return vhdx_fail(img, VHDX_E_LOG_PENDING,
				 "header %u: LogGuid %G is not zero: the log must be replayed first; nothing was written",
				 (unsigned)img->current + 1, &img->header[img->current].log_guid);
	st = vhdx_header_block(img, &block);
	if (st)
		return st;
	h = img->header[img->current];
	vhdx_guid_from_random(&h.file_write_guid, random);
	h.sequence++;
	st = vhdx_header_write(img, block, &h);
	if (!st) {
		h.sequence++;
		st = vhdx_header_write(img, block, &h);
	}
	img->io->free(img->io->ctx, block, VHDX_HEADER_SIZE);
	return st;
}
