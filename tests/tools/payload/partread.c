/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * partread.c - reads the first partition inside vhdxboot's virtual disk through that partition's own Block I/O
 * (the one the firmware's partition driver puts over our device), as a loader does; started from inside the image
 * ("next = vhdx:\partread.efi").  The firmware-phase read benchmark (bench-vdisk.sh) and 60-inside use it.
 *
 * The partitions: "virtual" is the first LogicalPartition whose device path starts with the virtual disk's (the
 * path ending in the vendor node 35D09D52-059D-40A1-8D0B-4C9A929CDCC0); "raw" is a LogicalPartition outside it
 * of the same size whose first 64 KiB are the same bytes (the raw disk the VHDX was made from, attached too).
 *
 * mode=bench (default): passes=P (default 7) passes over the whole partition in req=K KiB requests (default 1024)
 * into page-aligned buffers (plus align=B bytes).  Each request is read from both partitions in turn (which one
 * first alternates by pass), each ReadBlocks call timed on its own (TSC, calibrated against Stall), so that a busy
 * host slows both sides alike; a 64-bit checksum of every byte is taken outside the timing.  Prints
 *   PARTREAD-DISK: PATH BlockSize N IoAlign N              every whole disk (IoAlign decides who copies)
 *   PARTREAD-PASS: N raw MIB_PER_S virtual MIB_PER_S ratio PERMILLE sums RAW VIRTUAL
 *   PARTREAD-RESULT: DEV best MIB_PER_S median MIB_PER_S (BYTES bytes, req KiB, P passes)
 *                    (best: the sum over requests of each one's best time over the passes; median: of its median)
 *   PARTREAD-RATIO: best PERMILLE median PERMILLE per-pass median PERMILLE   (virtual / raw throughput)
 *   PARTREAD-CHECK: same checksum SUM | DIFFERENT ...
 * mode=verify: the virtual partition read from start to end in requests of odd sizes into buffers at odd
 * addresses, and again in 1 MiB requests, each pass giving the CRC-32 (the zlib one) of the whole partition for
 * the host to compare; then, when the raw twin is there, rand=N (default 300) random ranges read from both and
 * compared byte for byte.  Prints
 *   PARTREAD-CRC32: odd|whole CRC BYTES
 *   PARTREAD-RANDOM: N ranges same | DIFFERENT at LBA L, N blocks
 * "poweroff" in the options shuts the machine down at the end.
 */
#include <efi.h>
#include <efilib.h>

#define SBAT_CSV                                                                                                  \
	"sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"                                \
	"vhdxboot-partread,1,vhdxboot,vhdxboot-partread,0.1.0,https://example.invalid/vhdxboot\n"
__attribute__((section(".sbat"), used)) static const char sbat[sizeof(SBAT_CSV) - 1] = SBAT_CSV;

static EFI_GUID vdisk_vendor = { 0x35d09d52, 0x059d, 0x40a1, { 0x8d, 0x0b, 0x4c, 0x9a, 0x92, 0x9c, 0xdc, 0xc0 } };

#define PAGE 4096u
#define PROBE_BYTES 65536u
#define MAX_PASSES 31
#define BUF_SLACK PAGE /* room for align= and the odd buffer addresses */

/* a free-running tick counter: the TSC on x86, the generic timer's virtual count on aarch64 (as reader.c) */
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

static int has_word(const CHAR16 *s, UINTN n, const CHAR16 *key, UINTN *at)
{
	UINTN l = StrLen(key);
	for (UINTN i = 0; i + l <= n; i++)
		if ((i == 0 || s[i - 1] == L' ') && !CompareMem(s + i, key, l * sizeof(CHAR16))) {
			*at = i + l;
			return 1;
		}
	return 0;
}

static UINT64 opt_num(const CHAR16 *s, UINTN n, const CHAR16 *key, UINT64 dflt)
{
	UINTN at;
	if (!has_word(s, n, key, &at))
		return dflt;
	UINT64 v = 0;
	for (; at < n && s[at] >= L'0' && s[at] <= L'9'; at++)
		v = v * 10 + (UINT64)(s[at] - L'0');
	return v;
}

/* ---- device paths */
static UINTN dp_bytes(EFI_DEVICE_PATH *dp) /* without the end node */
{
	UINTN n = 0;
	for (EFI_DEVICE_PATH *p = dp; p && !IsDevicePathEnd(p); p = NextDevicePathNode(p))
		n += DevicePathNodeLength(p);
	return n;
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

static int dp_under(EFI_DEVICE_PATH *parent, EFI_DEVICE_PATH *dp)
{
	UINTN pn = dp_bytes(parent);
	return parent && dp && dp_bytes(dp) > pn && !CompareMem(parent, dp, pn);
}

static EFI_STATUS rd(EFI_BLOCK_IO *b, EFI_LBA lba, UINTN len, void *buf)
{
	return uefi_call_wrapper(b->ReadBlocks, 5, b, b->Media->MediaId, lba, len, buf);
}

static UINT64 bio_bytes(EFI_BLOCK_IO *b)
{
	return (b->Media->LastBlock + 1) * b->Media->BlockSize;
}

/* the virtual partition and its raw twin (NULL when not attached) */
static EFI_STATUS find_partitions(EFI_BLOCK_IO **vpart, EFI_BLOCK_IO **rpart, UINT8 *a, UINT8 *c)
{
	EFI_HANDLE *hs = NULL;
	UINTN nh = 0;
	EFI_DEVICE_PATH *vdp = NULL;
	*vpart = *rpart = NULL;
	LibLocateHandle(ByProtocol, &BlockIoProtocol, NULL, &nh, &hs);
	for (UINTN i = 0; i < nh && !vdp; i++)
		if (last_node_is_vdisk(DevicePathFromHandle(hs[i])))
			vdp = DevicePathFromHandle(hs[i]);
	for (UINTN i = 0; i < nh; i++) { /* the disks, for the record: IoAlign decides who copies */
		EFI_BLOCK_IO *b;
		if (!EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, hs[i], &BlockIoProtocol, (void **)&b)) &&
		    !b->Media->LogicalPartition && b->Media->MediaPresent) {
			CHAR16 *t = DevicePathToStr(DevicePathFromHandle(hs[i]));
			Print(L"PARTREAD-DISK: %s BlockSize %d IoAlign %d\n", t ? t : L"?", b->Media->BlockSize,
			      b->Media->IoAlign);
			if (t)
				FreePool(t);
		}
	}
	for (UINTN i = 0; i < nh && vdp && !*vpart; i++) {
		EFI_BLOCK_IO *b;
		if (!EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, hs[i], &BlockIoProtocol, (void **)&b)) &&
		    b->Media->LogicalPartition && dp_under(vdp, DevicePathFromHandle(hs[i])))
			*vpart = b;
	}
	if (!*vpart || EFI_ERROR(rd(*vpart, 0, PROBE_BYTES, a)))
		return EFI_NOT_FOUND;
	for (UINTN i = 0; i < nh && !*rpart; i++) {
		EFI_BLOCK_IO *b;
		if (EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, hs[i], &BlockIoProtocol, (void **)&b)) ||
		    b == *vpart || !b->Media->LogicalPartition || dp_under(vdp, DevicePathFromHandle(hs[i])) ||
		    b->Media->BlockSize != (*vpart)->Media->BlockSize || bio_bytes(b) != bio_bytes(*vpart))
			continue;
		if (!EFI_ERROR(rd(b, 0, PROBE_BYTES, c)) && !CompareMem(a, c, PROBE_BYTES))
			*rpart = b;
	}
	return EFI_SUCCESS;
}

/* ---- checksums */
static UINT64 sum64(UINT64 s, const UINT8 *p, UINTN n) /* order-sensitive, cheap: not timed anyway */
{
	UINTN i = 0;
	for (; i + 8 <= n; i += 8)
		s = (s ^ *(const UINT64 *)(p + i)) * 0x100000001B3ull;
	for (; i < n; i++)
		s = (s ^ p[i]) * 0x100000001B3ull;
	return s;
}

static UINT32 crc_table[256];
static void crc_init(void)
{
	for (UINT32 i = 0; i < 256; i++) {
		UINT32 c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}
static UINT32 crc32(UINT32 crc, const UINT8 *p, UINTN n) /* zlib's crc32(): pass 0 first */
{
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

/* ---- bench */
/*
 * One pass: every request read from both partitions in turn (which one first alternates by pass), each call timed
 * on its own, so that a busy host slows both sides alike instead of whichever pass it happened to hit.  The time of
 * request i of device d in pass p lands in per[(p * nreq + i) * 2 + d].
 */
static EFI_STATUS one_pass(EFI_BLOCK_IO *dev[2], UINTN req, UINT8 *buf[2], UINTN p, UINT64 *per, UINT64 sum[2])
{
	UINT64 bytes = bio_bytes(dev[0]), nreq = (bytes + req - 1) / req;
	UINT32 bs = dev[0]->Media->BlockSize;
	sum[0] = sum[1] = 0;
	for (UINT64 i = 0; i < nreq; i++) {
		UINT64 off = i * req;
		UINTN n = bytes - off < req ? (UINTN)(bytes - off) : req;
		for (int k = 0; k < 2; k++) {
			int d = k ^ (int)(p & 1);
			UINT64 t0 = rdtsc();
			EFI_STATUS st = rd(dev[d], off / bs, n, buf[d]);
			per[(p * nreq + i) * 2 + d] = rdtsc() - t0;
			if (EFI_ERROR(st))
				return st;
			sum[d] = sum64(sum[d], buf[d], n);
		}
	}
	return EFI_SUCCESS;
}

static UINT64 median(UINT64 *v, UINTN n) /* sorts v */
{
	for (UINTN i = 1; i < n; i++)
		for (UINTN j = i; j > 0 && v[j - 1] > v[j]; j--) {
			UINT64 x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * Totals that a preempted request cannot spoil: the sum over requests of each request's best time over the passes,
 * and of its median time.  A host time slice (several ms here) lands on a few requests of one pass; it moves a
 * pass total by a lot but a per-request minimum or median hardly at all.
 */
static void robust_totals(UINT64 *per, UINT64 nreq, UINTN passes, int d, UINT64 *best, UINT64 *med)
{
	UINT64 v[MAX_PASSES];
	*best = *med = 0;
	for (UINT64 i = 0; i < nreq; i++) {
		for (UINTN p = 0; p < passes; p++)
			v[p] = per[(p * nreq + i) * 2 + d];
		*med += median(v, passes);
		*best += v[0];
	}
}

static UINT64 mibs(UINT64 bytes, UINT64 hz, UINT64 ticks)
{
	return ticks ? (bytes >> 20) * hz / ticks : 0;
}

static EFI_STATUS bench(EFI_BLOCK_IO *vpart, EFI_BLOCK_IO *rpart, UINTN req, UINTN passes, UINT8 *buf[2])
{
	EFI_BLOCK_IO *dev[2] = { rpart, vpart };
	const CHAR16 *name[2] = { L"raw", L"virtual" };
	UINT64 sums[2][MAX_PASSES], bytes = bio_bytes(vpart), nreq = (bytes + req - 1) / req;
	UINT64 *per = AllocatePool(passes * nreq * 2 * sizeof(UINT64));
	if (!per) {
		Print(L"PARTREAD-ERROR: no memory for %ld timings\n", passes * nreq * 2);
		return EFI_OUT_OF_RESOURCES;
	}
	UINT64 t0 = rdtsc();
	uefi_call_wrapper(BS->Stall, 1, 200000);
	UINT64 hz = (rdtsc() - t0) * 5;

	EFI_STATUS ret = EFI_SUCCESS;
	UINT64 total[2][MAX_PASSES], ratio[MAX_PASSES];
	for (UINTN p = 0; p < passes && !EFI_ERROR(ret); p++) {
		UINT64 sum[2];
		ret = one_pass(dev, req, buf, p, per, sum);
		if (EFI_ERROR(ret)) {
			Print(L"PARTREAD-ERROR: pass %ld: %r\n", (UINT64)p, ret);
			break;
		}
		for (int d = 0; d < 2; d++) {
			sums[d][p] = sum[d];
			total[d][p] = 0;
			for (UINT64 i = 0; i < nreq; i++)
				total[d][p] += per[(p * nreq + i) * 2 + d];
		}
		ratio[p] = total[1][p] ? total[0][p] * 1000 / total[1][p] : 0;
		Print(L"PARTREAD-PASS: %ld raw %ld MiB/s virtual %ld MiB/s ratio %ld sums %016lx %016lx\n", (UINT64)p,
		      mibs(bytes, hz, total[0][p]), mibs(bytes, hz, total[1][p]), ratio[p], sum[0], sum[1]);
	}
	for (UINTN p = 0; p < passes && !EFI_ERROR(ret); p++)
		for (int d = 0; d < 2; d++)
			if (sums[d][p] != sums[0][0]) {
				Print(L"PARTREAD-CHECK: DIFFERENT: %s pass %ld %016lx, raw pass 0 %016lx\n", name[d], (UINT64)p,
				      sums[d][p], sums[0][0]);
				ret = EFI_CRC_ERROR;
			}
	if (!EFI_ERROR(ret)) {
		UINT64 best[2], med[2];
		for (int d = 0; d < 2; d++) {
			robust_totals(per, nreq, passes, d, &best[d], &med[d]);
			Print(L"PARTREAD-RESULT: %s best %ld MiB/s median %ld MiB/s (%ld bytes, req %ld KiB, %ld passes)\n",
			      name[d], mibs(bytes, hz, best[d]), mibs(bytes, hz, med[d]), bytes, (UINT64)req >> 10,
			      (UINT64)passes);
		}
		Print(L"PARTREAD-RATIO: best %ld median %ld per-pass median %ld\n", best[1] ? best[0] * 1000 / best[1] : 0,
		      med[1] ? med[0] * 1000 / med[1] : 0, median(ratio, passes));
		Print(L"PARTREAD-CHECK: same checksum %016lx (%ld passes each)\n", sums[0][0], (UINT64)passes);
	}
	FreePool(per);
	return ret;
}

/* ---- verify */
static const UINT32 odd_blocks[] = { 1, 3, 7, 8, 127, 255, 1000, 2047, 2048, 2049, 4097, 1, 6000, 33 };
#define N_ODD (sizeof odd_blocks / sizeof odd_blocks[0])

static EFI_STATUS crc_pass(EFI_BLOCK_IO *b, UINT8 *page, UINTN bufmax, int odd, UINT32 *crc)
{
	UINT64 total = b->Media->LastBlock + 1;
	UINT32 bs = b->Media->BlockSize, c = 0;
	UINTN k = 0;
	for (EFI_LBA lba = 0; lba < total; k++) {
		UINT64 n = odd ? odd_blocks[k % N_ODD] : bufmax / bs;
		if (n * bs > bufmax)
			n = bufmax / bs;
		if (n > total - lba)
			n = total - lba;
		UINT8 *buf = odd ? page + 1 + (k * 2) % 63 : page; /* odd addresses: 1, 3, ... 61 */
		EFI_STATUS st = rd(b, lba, (UINTN)n * bs, buf);
		if (EFI_ERROR(st)) {
			Print(L"PARTREAD-ERROR: read of %ld blocks at LBA %ld: %r\n", n, lba, st);
			return st;
		}
		c = crc32(c, buf, (UINTN)n * bs);
		lba += n;
	}
	*crc = c;
	return EFI_SUCCESS;
}

static EFI_STATUS random_compare(EFI_BLOCK_IO *v, EFI_BLOCK_IO *r, UINTN count, UINT8 *a, UINT8 *c, UINTN bufmax)
{
	UINT64 total = v->Media->LastBlock + 1, x = 0x9E3779B97F4A7C15ull;
	UINT32 bs = v->Media->BlockSize;
	for (UINTN i = 0; i < count; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		EFI_LBA lba = x % total;
		UINT64 n = 1 + (x >> 32) % (bufmax / bs);
		if (n > total - lba)
			n = total - lba;
		UINTN skew = (UINTN)(x >> 20) % 64;
		if (EFI_ERROR(rd(v, lba, (UINTN)n * bs, a + skew)) || EFI_ERROR(rd(r, lba, (UINTN)n * bs, c)) ||
		    CompareMem(a + skew, c, (UINTN)n * bs)) {
			Print(L"PARTREAD-RANDOM: DIFFERENT at LBA %ld, %ld blocks (range %ld)\n", lba, n, (UINT64)i);
			return EFI_CRC_ERROR;
		}
	}
	Print(L"PARTREAD-RANDOM: %ld ranges same\n", (UINT64)count);
	return EFI_SUCCESS;
}

static EFI_STATUS verify(EFI_BLOCK_IO *vpart, EFI_BLOCK_IO *rpart, UINTN rand, UINT8 *a, UINT8 *c, UINTN bufmax)
{
	UINT32 crc;
	crc_init();
	EFI_STATUS st = crc_pass(vpart, a, bufmax, 1, &crc);
	if (EFI_ERROR(st))
		return st;
	Print(L"PARTREAD-CRC32: odd %08x %ld\n", crc, bio_bytes(vpart));
	st = crc_pass(vpart, a, bufmax, 0, &crc);
	if (EFI_ERROR(st))
		return st;
	Print(L"PARTREAD-CRC32: whole %08x %ld\n", crc, bio_bytes(vpart));
	return rpart ? random_compare(vpart, rpart, rand, a, c, bufmax) : EFI_SUCCESS;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	InitializeLib(image, systab);
	EFI_LOADED_IMAGE *li = NULL;
	CHAR16 *opts = L"";
	UINTN on = 0, at;
	if (!EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol, (void **)&li)) && li &&
	    li->LoadOptions) {
		opts = li->LoadOptions;
		on = li->LoadOptionsSize / sizeof(CHAR16);
	}
	int verify_mode = has_word(opts, on, L"mode=verify", &at), poweroff = has_word(opts, on, L"poweroff", &at);
	UINTN req = (UINTN)opt_num(opts, on, L"req=", 1024) << 10, passes = (UINTN)opt_num(opts, on, L"passes=", 7);
	UINTN align = (UINTN)opt_num(opts, on, L"align=", 0) % BUF_SLACK, rand = (UINTN)opt_num(opts, on, L"rand=", 300);
	if (passes < 1)
		passes = 1;
	if (passes > MAX_PASSES)
		passes = MAX_PASSES;
	if (req < PAGE)
		req = PAGE;
	EFI_STATUS ret = EFI_OUT_OF_RESOURCES;
	EFI_PHYSICAL_ADDRESS pa = 0, pc = 0;
	UINTN pages = EFI_SIZE_TO_PAGES((req > PROBE_BYTES ? req : PROBE_BYTES) + BUF_SLACK);
	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiLoaderData, pages, &pa)) ||
	    EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiLoaderData, pages, &pc))) {
		Print(L"PARTREAD-ERROR: no memory for two %ld KiB buffers\n", (UINT64)req >> 10);
		goto out;
	}
	UINT8 *a = (UINT8 *)(UINTN)pa, *c = (UINT8 *)(UINTN)pc;
	EFI_BLOCK_IO *vpart, *rpart;
	ret = find_partitions(&vpart, &rpart, a, c);
	if (EFI_ERROR(ret) || (!verify_mode && !rpart)) {
		Print(L"PARTREAD-ERROR: %s not found\n",
		      !vpart ? L"a partition inside the virtual disk" : L"a raw partition with the same bytes");
		ret = EFI_NOT_FOUND;
		goto out;
	}
	if (req % vpart->Media->BlockSize)
		req -= req % vpart->Media->BlockSize;
	ret = verify_mode ? verify(vpart, rpart, rand, a, c, req) : bench(vpart, rpart, req, passes, (UINT8 *[2]){ c + align, a + align });
out:
	Print(L"PARTREAD-DONE: %r\n", ret);
	if (poweroff)
		uefi_call_wrapper(RT->ResetSystem, 4, EfiResetShutdown, EFI_SUCCESS, 0, NULL);
	return ret;
}
