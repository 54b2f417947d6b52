/*
 * random.c - random bytes for the new FileWriteGuid: EFI_RNG_PROTOCOL (the firmware's default algorithm), else
 * the CPU's RDRAND where CPUID says it exists.  Nothing weaker: without either source the caller writes nothing.
 */
#include "boot.h"

static EFI_STATUS from_rng_protocol(uint8_t *out, UINTN len)
{
	EFI_RNG_PROTOCOL *rng = NULL;
	EFI_STATUS st = g_bs->LocateProtocol(&g_guid_rng, NULL, (void **)&rng);
	if (EFI_ERROR(st) || !rng)
		return EFI_NOT_FOUND;
	/* EFI_NOT_READY: the source has no entropy yet; give it a moment, a bounded number of times */
	for (int tries = 0; tries < 20; tries++) {
		st = rng->GetRNG(rng, NULL, len, out);
		if (st != EFI_NOT_READY)
			break;
		g_bs->Stall(10 * 1000);
	}
	return st;
}

static int cpu_has_rdrand(void)
{
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
	if (a < 1)
		return 0;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	return (c >> 30) & 1;
}

static int rdrand64(uint64_t *v)
{
	/* Intel's guidance: a handful of retries; the carry flag says whether the value is good */
	for (int i = 0; i < 10; i++) {
		unsigned char ok;
		uint64_t x;
		__asm__ volatile("rdrand %0; setc %1" : "=r"(x), "=qm"(ok) : : "cc");
		if (ok) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

static EFI_STATUS from_rdrand(uint8_t *out, UINTN len)
{
	if (!cpu_has_rdrand())
		return EFI_UNSUPPORTED;
	uint64_t prev = 0;
	int same = 0;
	for (UINTN i = 0; i < len; i += 8) {
		uint64_t v;
		if (rdrand64(&v))
			return EFI_DEVICE_ERROR;
		/* some broken parts return the same value (all ones) forever with the carry set */
		if (i && v == prev && ++same >= 2)
			return EFI_DEVICE_ERROR;
		prev = v;
		for (UINTN j = 0; j < 8 && i + j < len; j++)
			out[i + j] = (uint8_t)(v >> (8 * j));
	}
	return EFI_SUCCESS;
}

EFI_STATUS random_get(uint8_t *out, UINTN len, const char **source)
{
	EFI_STATUS st = from_rng_protocol(out, len);
	if (!EFI_ERROR(st)) {
		*source = "EFI_RNG_PROTOCOL";
		return EFI_SUCCESS;
	}
	if (st != EFI_NOT_FOUND)
		con_say("EFI_RNG_PROTOCOL failed: %r; trying RDRAND", st);
	st = from_rdrand(out, len);
	if (!EFI_ERROR(st)) {
		*source = "RDRAND";
		return EFI_SUCCESS;
	}
	*source = st == EFI_UNSUPPORTED ? "none (no EFI_RNG_PROTOCOL, no RDRAND)" : "none (RDRAND failed)";
	memset(out, 0, len);
	return EFI_NOT_FOUND;
}
