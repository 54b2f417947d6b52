/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reader.c - the read benchmark for vhdxboot's virtual disk, run as the next stage from inside the
 * image ("next = vhdx:\reader.efi").
 *
 * It finds two Block I/O devices holding the same bytes: vhdxboot's virtual disk (a device path ending in the
 * vendor node 35D09D52-059D-40A1-8D0B-4C9A929CDCC0) and a raw disk of the same size whose first 64 KiB match.
 * Over the first mib=N MiB (default 32) it times, alternating raw and virtual for rounds=R rounds (default 3):
 * sequential 4 KiB reads, and rand=K random 4 KiB reads (default 4000, the same offsets for both), and compares
 * every byte read.  Time comes from the TSC, calibrated against Stall().  Prints:
 *   READER-RESULT: DEV seq4k KIB_PER_S rand4k IOPS       (best round of each)
 *   READER-RATIO: seq PERMILLE rand PERMILLE              (virtual / raw, in 1/1000)
 *   READER-CHECK: same bytes | DIFFERENT at ...
 * "poweroff" in the options shuts the machine down at the end.
 */
#include <efi.h>
#include <efilib.h>

#define SBAT_CSV                                                                                                  \
	"sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"                                \
	"vhdxboot-reader,1,vhdxboot,vhdxboot-reader,0.1.0,https://example.invalid/vhdxboot\n"
__attribute__((section(".sbat"), used)) static const char sbat[sizeof(SBAT_CSV) - 1] = SBAT_CSV;

static EFI_GUID vdisk_vendor = { 0x35d09d52, 0x059d, 0x40a1, { 0x8d, 0x0b, 0x4c, 0x9a, 0x92, 0x9c, 0xdc, 0xc0 } };

#define IO 4096u

/* a free-running tick counter: the TSC on x86, the generic timer's virtual count on aarch64 */
static UINT64 rdtsc(void)
{
#if defined(__aarch64__)
	UINT64 v;
	__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(v));
	return v;
#else
	UINT32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((UINT64)hi << 32) | lo;
#endif
}

static UINT64 opt_num(const CHAR16 *s, UINTN n, const CHAR16 *key, UINT64 dflt)
{
	UINTN l = StrLen(key);
	for (UINTN i = 0; i + l <= n; i++) {
		if ((i == 0 || s[i - 1] == L' ') && !CompareMem(s + i, key, l * sizeof(CHAR16))) {
			UINT64 v = 0;
			for (UINTN j = i + l; j < n && s[j] >= L'0' && s[j] <= L'9'; j++)
				v = v * 10 + (UINT64)(s[j] - L'0');
			return v;
		}
	}
	return dflt;
}

static int last_node_is_vdisk(EFI_DEVICE_PATH *dp)
{
	EFI_DEVICE_PATH *last = NULL;
	for (EFI_DEVICE_PATH *n = dp; n && !IsDevicePathEnd(n); n = NextDevicePathNode(n))
		last = n;
	return last && DevicePathType(last) == MEDIA_DEVICE_PATH && DevicePathSubType(last) == MEDIA_VENDOR_DP &&
	       (UINTN)DevicePathNodeLength(last) >= sizeof(VENDOR_DEVICE_PATH) &&
	       !CompareMem(&((VENDOR_DEVICE_PATH *)last)->Guid, &vdisk_vendor, sizeof(EFI_GUID));
}

static EFI_STATUS rd(EFI_BLOCK_IO *b, UINT64 off, UINTN len, void *buf)
{
	return uefi_call_wrapper(b->ReadBlocks, 5, b, b->Media->MediaId, off / b->Media->BlockSize, len, buf);
}

struct result {
	UINT64 seq_ticks, rand_ticks;
};

static EFI_STATUS run_one(EFI_BLOCK_IO *b, UINT64 bytes, UINT64 *offs, UINTN nrand, UINT8 *buf, UINT32 *sum,
			  struct result *r)
{
	UINT32 s = 0;
	UINT64 t0 = rdtsc();
	for (UINT64 off = 0; off < bytes; off += IO) {
		EFI_STATUS st = rd(b, off, IO, buf);
		if (EFI_ERROR(st))
			return st;
		s = s * 31 + buf[0] + buf[IO - 1] + buf[off / IO % IO];
	}
	UINT64 t1 = rdtsc();
	for (UINTN i = 0; i < nrand; i++) {
		EFI_STATUS st = rd(b, offs[i], IO, buf);
		if (EFI_ERROR(st))
			return st;
		s = s * 31 + buf[i % IO];
	}
	UINT64 t2 = rdtsc();
	r->seq_ticks = t1 - t0;
	r->rand_ticks = t2 - t1;
	*sum = s;
	return EFI_SUCCESS;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	InitializeLib(image, systab);
	EFI_LOADED_IMAGE *li = NULL;
	CHAR16 *opts = L"";
	UINTN on = 0;
	if (!EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol, (void **)&li)) && li &&
	    li->LoadOptions) {
		opts = li->LoadOptions;
		on = li->LoadOptionsSize / sizeof(CHAR16);
	}
	UINT64 mib = opt_num(opts, on, L"mib=", 32), nrand = opt_num(opts, on, L"rand=", 4000);
	UINT64 rounds = opt_num(opts, on, L"rounds=", 3);
	int poweroff = opt_num(opts, on, L"poweroff", 1) == 0; /* the word alone parses as 0 */
	EFI_STATUS ret = EFI_SUCCESS;

	EFI_HANDLE *hs = NULL;
	UINTN nh = 0;
	LibLocateHandle(ByProtocol, &BlockIoProtocol, NULL, &nh, &hs);
	EFI_BLOCK_IO *vd = NULL, *raw = NULL;
	for (UINTN i = 0; i < nh; i++) {
		EFI_BLOCK_IO *b;
		if (EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, hs[i], &BlockIoProtocol, (void **)&b)))
			continue;
		if (last_node_is_vdisk(DevicePathFromHandle(hs[i])))
			vd = b;
	}
	UINT8 *a = AllocatePool(65536 + 4096), *c = AllocatePool(65536 + 4096);
	UINT8 *abuf = (UINT8 *)(((UINTN)a + 4095) & ~(UINTN)4095), *cbuf = (UINT8 *)(((UINTN)c + 4095) & ~(UINTN)4095);
	if (vd && !EFI_ERROR(rd(vd, 0, 65536, abuf))) {
		UINT64 vsize = (vd->Media->LastBlock + 1) * vd->Media->BlockSize;
		for (UINTN i = 0; i < nh && !raw; i++) {
			EFI_BLOCK_IO *b;
			if (EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, hs[i], &BlockIoProtocol, (void **)&b)) ||
			    b == vd || b->Media->LogicalPartition || !b->Media->MediaPresent ||
			    (b->Media->LastBlock + 1) * b->Media->BlockSize != vsize)
				continue;
			if (!EFI_ERROR(rd(b, 0, 65536, cbuf)) && !CompareMem(abuf, cbuf, 65536))
				raw = b;
		}
	}
	if (!vd || !raw) {
		Print(L"READER-ERROR: %s not found\n", !vd ? L"the virtual disk" : L"a raw disk with the same bytes");
		ret = EFI_NOT_FOUND;
		goto out;
	}
	UINT64 bytes = mib << 20, vsize = (vd->Media->LastBlock + 1) * vd->Media->BlockSize;
	if (bytes > vsize)
		bytes = vsize - vsize % IO;
	UINT64 *offs = AllocatePool(nrand * sizeof(UINT64));
	UINT64 x = 0x9E3779B97F4A7C15ull;
	for (UINTN i = 0; i < nrand; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		offs[i] = (x % (bytes / IO)) * IO;
	}
	/* TSC ticks per second, against the firmware's Stall */
	UINT64 t0 = rdtsc();
	uefi_call_wrapper(BS->Stall, 1, 200000);
	UINT64 hz = (rdtsc() - t0) * 5;

	struct result best[2] = { { ~0ull, ~0ull }, { ~0ull, ~0ull } };
	UINT32 sums[2] = { 0, 0 };
	EFI_BLOCK_IO *dev[2] = { raw, vd };
	for (UINT64 r = 0; r < rounds; r++)
		for (int d = 0; d < 2; d++) {
			struct result res;
			EFI_STATUS st = run_one(dev[d], bytes, offs, nrand, abuf, &sums[d], &res);
			if (EFI_ERROR(st)) {
				Print(L"READER-ERROR: %s read: %r\n", d ? L"virtual" : L"raw", st);
				ret = st;
				goto out;
			}
			if (res.seq_ticks < best[d].seq_ticks)
				best[d].seq_ticks = res.seq_ticks;
			if (res.rand_ticks < best[d].rand_ticks)
				best[d].rand_ticks = res.rand_ticks;
		}
	for (int d = 0; d < 2; d++) {
		UINT64 kibs = best[d].seq_ticks ? (bytes >> 10) * hz / best[d].seq_ticks : 0;
		UINT64 iops = best[d].rand_ticks ? nrand * hz / best[d].rand_ticks : 0;
		Print(L"READER-RESULT: %s seq4k %ld KiB/s rand4k %ld IOPS (%ld MiB, %ld random reads)\n",
		      d ? L"virtual" : L"raw", kibs, iops, mib, nrand);
	}
	Print(L"READER-RATIO: seq %ld rand %ld\n", best[1].seq_ticks ? best[0].seq_ticks * 1000 / best[1].seq_ticks : 0,
	      best[1].rand_ticks ? best[0].rand_ticks * 1000 / best[1].rand_ticks : 0);

	/* and the bytes themselves, compared 64 KiB at a time */
	for (UINT64 off = 0; off < bytes; off += 65536) {
		UINTN n = bytes - off < 65536 ? (UINTN)(bytes - off) : 65536;
		if (EFI_ERROR(rd(raw, off, n, cbuf)) || EFI_ERROR(rd(vd, off, n, abuf)) || CompareMem(abuf, cbuf, n)) {
			Print(L"READER-CHECK: DIFFERENT in the 64 KiB at offset %ld\n", off);
			ret = EFI_CRC_ERROR;
			goto out;
		}
	}
	Print(L"READER-CHECK: same bytes (%ld MiB compared, checksums %s)\n", bytes >> 20,
	      sums[0] == sums[1] ? L"equal" : L"DIFFER");
out:
	if (poweroff)
		uefi_call_wrapper(RT->ResetSystem, 4, EfiResetShutdown, EFI_SUCCESS, 0, NULL);
	return ret;
}
