/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * measure.c - one TPM measurement of the image vhdxboot validated, through EFI_TCG2_PROTOCOL.HashLogExtendEvent,
 * so it lands both in the PCR and in the firmware's event log where a verifier can replay it.
 *
 * Which PCR and event type.  The UAPI Linux TPM PCR Registry gives PCR 4 to boot-loader *code* (the firmware and
 * shim measure PE images there), PCR 5 to boot-loader configuration and the GPT, PCR 8 to grub's commands and the
 * kernel command line, PCR 9 to what the boot loader reads from disk and passes on (grub measures every file it
 * reads there; Linux measures its initrd there), PCRs 11-13 to systemd-stub's UKI sections, credentials and
 * system extensions, 14 to shim's MOK lists and 15 to the system identity measured from userspace.  The VHDX is a
 * file/disk the boot loader reads and hands to the next stage, the same class as grub's files and the initrd, so
 * PCR 9.  The event type is EV_IPL, as grub, shim and systemd-boot use for their boot-loader measurements; the
 * event data is the self-describing structure of core/measure.c (signature "VHDXIMG", version), so a verifier
 * tells it apart from other PCR 9 events without relying on the type.  (systemd plans EV_EVENT_TAG for its future
 * measurements; a tagged event would wrap the same bytes, a change of VHDX_MEASURE_EVENT_TYPE and a version.)
 * The digest extended is SHA-256 (and each other active bank's hash) of exactly the event data bytes, which
 * `vhdx seal` prints as event-sha256.
 */
#include "boot.h"
#include "tcg2.h"

static EFI_GUID tcg2_guid = VHDX_TCG2_PROTOCOL_GUID;

EFI_STATUS measure_image(const struct vhdx_image *img, const uint8_t *content_sha256)
{
	VHDX_TCG2_PROTOCOL *tcg = NULL;
	if (EFI_ERROR(g_bs->LocateProtocol(&tcg2_guid, NULL, (void **)&tcg)) || !tcg) {
		con_say("measure: no TPM (no EFI_TCG2_PROTOCOL): the image is not measured");
		return EFI_NOT_FOUND;
	}
	VHDX_TCG2_BOOT_SERVICE_CAPABILITY cap;
	memset(&cap, 0, sizeof cap);
	cap.Size = sizeof cap;
	if (!EFI_ERROR(tcg->GetCapability(tcg, &cap)) && !cap.TPMPresentFlag) {
		con_say("measure: EFI_TCG2_PROTOCOL says no TPM is present: the image is not measured");
		return EFI_NOT_FOUND;
	}

	static union {
		VHDX_TCG2_EVENT ev;
		uint8_t bytes[sizeof(VHDX_TCG2_EVENT) + VHDX_MEASURE_EVENT_SIZE];
	} e;
	memset(&e, 0, sizeof e);
	vhdx_measure_event(img, content_sha256, e.ev.Event);
	e.ev.Size = sizeof e.bytes;
	e.ev.Header.HeaderSize = sizeof e.ev.Header;
	e.ev.Header.HeaderVersion = VHDX_TCG2_EVENT_HEADER_VERSION;
	e.ev.Header.PCRIndex = VHDX_MEASURE_PCR;
	e.ev.Header.EventType = VHDX_MEASURE_EVENT_TYPE;
	EFI_STATUS st = tcg->HashLogExtendEvent(tcg, 0, (EFI_PHYSICAL_ADDRESS)(UINTN)e.ev.Event,
						VHDX_MEASURE_EVENT_SIZE, &e.ev);
	/* EFI_VOLUME_FULL: the spec's "extended, but the log had no room": a verifier cannot replay the PCR then */
	if (st == EFI_VOLUME_FULL) {
		con_say("measure: PCR %d extended, but the firmware's event log is full: the event is not in the log",
			VHDX_MEASURE_PCR);
		return st;
	}
	if (EFI_ERROR(st)) {
		con_say("measure: HashLogExtendEvent (PCR %d): %s: the image is not measured", VHDX_MEASURE_PCR,
			efi_status_name(st));
		return st;
	}
	uint8_t d[VHDX_SHA256_SIZE];
	char hex[VHDX_SHA256_HEX];
	vhdx_sha256(e.ev.Event, VHDX_MEASURE_EVENT_SIZE, d);
	vhdx_sha256_hex(d, hex);
	con_say("measured into PCR %d (EV_IPL, %d bytes%s): event sha256 %s", VHDX_MEASURE_PCR,
		VHDX_MEASURE_EVENT_SIZE, content_sha256 ? ", with the content digest" : "", hex);
	return EFI_SUCCESS;
}
