/*
 * session.c - the session update (before its first write of a session, a writer gives the file a new identity),
 * and vhdx_prepare_write, the rule that puts the replay of a pending log before it.
 */
#include "internal.h"

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

vhdx_status vhdx_prepare_write(struct vhdx_image *img, const uint8_t random[VHDX_PREPARE_RANDOM],
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
	return vhdx_session_update(img, random);
}
