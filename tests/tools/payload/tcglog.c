/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tcglog.c - a test next stage that reads the TPM back through EFI_TCG2_PROTOCOL: the firmware's event log
 * (GetEventLog, TCG 2.0 crypto-agile format) and a PCR's SHA-256 value (SubmitCommand: TPM2_PCR_Read), so the host
 * can replay the log to the PCR and compare vhdxboot's event with `vhdx seal`'s prediction.
 * Options: pcr=N (default 9), poweroff.  Output lines:
 *   TCGLOG-EVENT: pcr=N type=0xT sha256=HEX data=HEX      every event of PCR N, in log order
 *   TCGLOG-PCR: pcr=N sha256=HEX                          the PCR's SHA-256 bank value
 *   TCGLOG-ERROR: ...                                     what went wrong
 *   TCGLOG-DONE: events=N
 */
#include <efi.h>
#include <efilib.h>

#include "tcg2.h"

#define SBAT_CSV                                                                                                  \
	"sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"                                \
	"vhdxboot-tcglog,1,vhdxboot,vhdxboot-tcglog,0.1.0,https://example.invalid/vhdxboot\n"
__attribute__((section(".sbat"), used)) static const char sbat[sizeof(SBAT_CSV) - 1] = SBAT_CSV;

#define SPEC_ID_SIGNATURE "Spec ID Event03"
#define MAX_DATA_HEX 512 /* event data bytes printed */
#define TPM_ST_NO_SESSIONS 0x8001
#define TPM_CC_PCR_READ 0x0000017E
#define PCR_SELECT_BYTES 3

static EFI_GUID tcg2_guid = VHDX_TCG2_PROTOCOL_GUID;

static UINT32 le32(const UINT8 *p)
{
	return (UINT32)p[0] | ((UINT32)p[1] << 8) | ((UINT32)p[2] << 16) | ((UINT32)p[3] << 24);
}
static UINT16 le16(const UINT8 *p)
{
	return (UINT16)(p[0] | (p[1] << 8));
}
static UINT32 be32(const UINT8 *p)
{
	return ((UINT32)p[0] << 24) | ((UINT32)p[1] << 16) | ((UINT32)p[2] << 8) | (UINT32)p[3];
}
static void put_be16(UINT8 *p, UINT16 v)
{
	p[0] = (UINT8)(v >> 8);
	p[1] = (UINT8)v;
}
static void put_be32(UINT8 *p, UINT32 v)
{
	p[0] = (UINT8)(v >> 24);
	p[1] = (UINT8)(v >> 16);
	p[2] = (UINT8)(v >> 8);
	p[3] = (UINT8)v;
}

static CHAR16 hexbuf[2 * MAX_DATA_HEX + 1];
static const CHAR16 *hex(const UINT8 *p, UINTN n)
{
	static const CHAR16 d[] = L"0123456789abcdef";
	if (n > MAX_DATA_HEX)
		n = MAX_DATA_HEX;
	for (UINTN i = 0; i < n; i++) {
		hexbuf[2 * i] = d[p[i] >> 4];
		hexbuf[2 * i + 1] = d[p[i] & 15];
	}
	hexbuf[2 * n] = 0;
	return hexbuf;
}

struct algs {
	UINT32 n;
	UINT16 id[8], size[8];
};

/* The first event (TCG_PCR_EVENT, SHA-1 format) carries the Spec ID event: which digests the later ones hold. */
static int read_spec_id(const UINT8 *p, const UINT8 *end, struct algs *a, const UINT8 **next)
{
	if (p + 32 > end)
		return -1;
	UINT32 size = le32(p + 28);
	const UINT8 *ev = p + 32;
	if (ev + size > end || size < 24 || CompareMem((void *)ev, SPEC_ID_SIGNATURE, 16))
		return -1;
	a->n = le32(ev + 24);
	if (a->n > 8 || 28 + 4 * a->n > size)
		return -1;
	for (UINT32 i = 0; i < a->n; i++) {
		a->id[i] = le16(ev + 28 + 4 * i);
		a->size[i] = le16(ev + 30 + 4 * i);
	}
	*next = ev + size;
	return 0;
}

static UINTN walk_log(const UINT8 *p, const UINT8 *last, UINT32 pcr)
{
	struct algs a;
	const UINT8 *end = last + 4096 * 16; /* bounded below by the entry sizes; last is where the last entry starts */
	if (read_spec_id(p, end, &a, &p)) {
		Print(L"TCGLOG-ERROR: no Spec ID Event03 at the start of the log\n");
		return 0;
	}
	UINTN count = 0;
	while (p <= last) {
		UINT32 index = le32(p), type = le32(p + 4), n = le32(p + 8);
		const UINT8 *q = p + 12, *sha256 = NULL;
		if (n > 8) {
			Print(L"TCGLOG-ERROR: digest count %u\n", n);
			return count;
		}
		for (UINT32 i = 0; i < n; i++) {
			UINT16 alg = le16(q);
			UINT16 size = 0;
			for (UINT32 k = 0; k < a.n; k++)
				if (a.id[k] == alg)
					size = a.size[k];
			if (!size) {
				Print(L"TCGLOG-ERROR: digest algorithm 0x%x not in the Spec ID event\n", alg);
				return count;
			}
			if (alg == VHDX_TPM_ALG_SHA256)
				sha256 = q + 2;
			q += 2 + size;
		}
		UINT32 dsize = le32(q);
		const UINT8 *data = q + 4;
		if (index == pcr && type != VHDX_EV_NO_ACTION) {
			Print(L"TCGLOG-EVENT: pcr=%u type=0x%x sha256=%s", index, type, sha256 ? hex(sha256, 32) : L"none");
			Print(L" data=%s\n", hex(data, dsize));
			count++;
		}
		p = data + dsize;
	}
	return count;
}

static void read_pcr(VHDX_TCG2_PROTOCOL *tcg, UINT32 pcr)
{
	UINT8 cmd[20], rsp[128];
	UINT8 *c = cmd;
	put_be16(c, TPM_ST_NO_SESSIONS);
	put_be32(c + 2, sizeof cmd);
	put_be32(c + 6, TPM_CC_PCR_READ);
	put_be32(c + 10, 1); /* one TPMS_PCR_SELECTION */
	put_be16(c + 14, VHDX_TPM_ALG_SHA256);
	c[16] = PCR_SELECT_BYTES;
	c[17] = c[18] = c[19] = 0;
	c[17 + pcr / 8] = (UINT8)(1u << (pcr % 8));
	SetMem(rsp, sizeof rsp, 0);
	EFI_STATUS st = tcg->SubmitCommand(tcg, sizeof cmd, cmd, sizeof rsp, rsp);
	if (EFI_ERROR(st) || be32(rsp + 6) != 0) {
		Print(L"TCGLOG-ERROR: TPM2_PCR_Read: %r, response code 0x%x\n", st, be32(rsp + 6));
		return;
	}
	/* header 10, pcrUpdateCounter 4, TPML_PCR_SELECTION (4 + 2 + 1 + 3), TPML_DIGEST count 4, TPM2B size 2 */
	const UINT8 *d = rsp + 10 + 4 + 10;
	UINT32 n = be32(d);
	UINT16 size = (UINT16)((d[4] << 8) | d[5]);
	if (n != 1 || size != 32) {
		Print(L"TCGLOG-ERROR: TPM2_PCR_Read returned %u digests of %u bytes\n", n, size);
		return;
	}
	Print(L"TCGLOG-PCR: pcr=%u sha256=%s\n", pcr, hex(d + 6, 32));
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	InitializeLib(image, systab);
	UINT32 pcr = 9;
	int poweroff = 0;
	EFI_LOADED_IMAGE *li = NULL;
	if (!EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol, (void **)&li)) && li &&
	    li->LoadOptions) {
		const CHAR16 *s = li->LoadOptions;
		UINTN n = li->LoadOptionsSize / sizeof(CHAR16);
		for (UINTN i = 0; i < n && s[i]; i++) {
			if (i + 4 <= n && !StrnCmp(s + i, L"pcr=", 4))
				pcr = (UINT32)Atoi((CHAR16 *)s + i + 4);
			if (i + 8 <= n && !StrnCmp(s + i, L"poweroff", 8))
				poweroff = 1;
		}
	}
	if (pcr > 23)
		pcr = 9;
	VHDX_TCG2_PROTOCOL *tcg = NULL;
	UINTN count = 0;
	if (EFI_ERROR(uefi_call_wrapper(BS->LocateProtocol, 3, &tcg2_guid, NULL, (void **)&tcg)) || !tcg) {
		Print(L"TCGLOG-ERROR: no EFI_TCG2_PROTOCOL\n");
	} else {
		EFI_PHYSICAL_ADDRESS loc = 0, last = 0;
		BOOLEAN truncated = FALSE;
		EFI_STATUS st = tcg->GetEventLog(tcg, VHDX_TCG2_EVENT_LOG_FORMAT_TCG_2, &loc, &last, &truncated);
		if (EFI_ERROR(st) || !loc)
			Print(L"TCGLOG-ERROR: GetEventLog: %r\n", st);
		else {
			if (truncated)
				Print(L"TCGLOG-ERROR: the event log is truncated\n");
			count = walk_log((const UINT8 *)(UINTN)loc, (const UINT8 *)(UINTN)last, pcr);
		}
		read_pcr(tcg, pcr);
	}
	Print(L"TCGLOG-DONE: events=%u\n", count);
	if (poweroff)
		uefi_call_wrapper(RT->ResetSystem, 4, EfiResetShutdown, EFI_SUCCESS, 0, NULL);
	return EFI_SUCCESS;
}
