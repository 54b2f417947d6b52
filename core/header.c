/* SPDX-License-Identifier: BSD-2-Clause */
/* header.c - the two headers: parse, serialise, choose the current one.  Reads through view.c; hdrwrite.c writes. */
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
		vhdx_fmt(out, n, "header %u: signature 0x%x is not \"head\"", (unsigned)i + 1, h->signature);
		return;
	}
	crc = vhdx_struct_crc(buf, VHDX_HEADER_SIZE, VHDX_HDR_CHECKSUM);
	if (crc != h->checksum)
		vhdx_fmt(out, n, "header %u: checksum 0x%x does not match the computed 0x%x", (unsigned)i + 1,
			 h->checksum,
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
						 "headers 1 and 2: both have sequence number %llu but differ",
						 (unsigned long long)s0);
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
				 n, (unsigned long long)h->log_offset);
	if (vhdx_add_overflow(h->log_offset, h->log_length, &end) || end > img->io->size)
		return vhdx_fail(img, VHDX_E_CORRUPT,
				 "header %u: log at %llu, %u bytes, runs beyond the end of the file (%llu bytes)", n,
				 (unsigned long long)h->log_offset, h->log_length, (unsigned long long)img->io->size);
	img->log_pending = !vhdx_guid_is_zero(&h->log_guid);
	if (img->log_pending)
		vhdx_warn(img,
			  "header %u: LogGuid %s is not zero: the log must be replayed (reads see it replayed in memory)",
			  n, VHDX_GUID_STR(&h->log_guid));
	return VHDX_OK;
}
