/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * session.c - the session update (before its first write of a session, a writer gives the file a new identity),
 * and vhdx_prepare_write, the rule that puts the replay of a pending log before it.
 */
#include "internal.h"

/*
 * Both session updates: the non-current slot first, flush, then the other, flush; a crash after the first write
 * leaves the new header current and the old one valid.  new_data also gives a new DataWriteGuid (random[16..31]):
 * the format's rule for the first write a reader of the virtual disk could see (an OS mounting its root
 * read-write); vhdxboot's own metadata-only session keeps it.
 */
static vhdx_status session_write(struct vhdx_image *img, const uint8_t random[32], int new_data, const char *what)
{
	struct vhdx_header h;
	uint8_t *block;
	vhdx_status st;

	st = vhdx_write_allowed(img, what, 2);
	if (st)
		return st;
	if (img->log_pending)
		return vhdx_fail(img, VHDX_E_LOG_PENDING,
				 "header %u: LogGuid %s is not zero: the log must be replayed first; nothing was written",
				 (unsigned)img->current + 1, VHDX_GUID_STR(&img->header[img->current].log_guid));
	st = vhdx_header_block(img, &block);
	if (st)
		return st;
	h = img->header[img->current];
	vhdx_guid_from_random(&h.file_write_guid, random);
	if (new_data)
		vhdx_guid_from_random(&h.data_write_guid, random + 16);
	h.sequence++;
	st = vhdx_header_write(img, block, &h);
	if (!st) {
		h.sequence++;
		st = vhdx_header_write(img, block, &h);
	}
	img->io->free(img->io->ctx, block, VHDX_HEADER_SIZE);
	if (!st && new_data)
		img->data_renewed = 1; /* both copies carry the new DataWriteGuid, flushed: data may follow */
	return st;
}

vhdx_status vhdx_session_update(struct vhdx_image *img, const uint8_t random[32])
{
	return session_write(img, random, 0, "session update");
}

vhdx_status vhdx_session_update_data(struct vhdx_image *img, const uint8_t random[32])
{
	return session_write(img, random, 1, "session update (data)");
}

static vhdx_status prepare(struct vhdx_image *img, const uint8_t random[VHDX_PREPARE_RANDOM], int new_data,
			   struct vhdx_prepare_report *report)
{
	vhdx_status st;

	memset(report, 0, sizeof(*report));
	report->sequence_before = img->header[img->current].sequence;
	if (img->validated && img->log_pending) {
		report->entries = img->log.entries;
		st = vhdx_replay(img, random + VHDX_PREPARE_RANDOM / 2);
		if (st) {
			report->entries = 0;
			report->replay_failed = 1;
			return st;
		}
		report->replayed = 1;
		report->sequence_replayed = img->header[img->current].sequence;
	}
	return session_write(img, random, new_data, new_data ? "session update (data)" : "session update");
}

vhdx_status vhdx_prepare_write(struct vhdx_image *img, const uint8_t random[VHDX_PREPARE_RANDOM],
			       struct vhdx_prepare_report *report)
{
	return prepare(img, random, 0, report);
}

vhdx_status vhdx_prepare_write_data(struct vhdx_image *img, const uint8_t random[VHDX_PREPARE_RANDOM],
				    struct vhdx_prepare_report *report)
{
	return prepare(img, random, 1, report);
}
