# SPDX-License-Identifier: BSD-2-Clause
# tests/tests.mk - unit-test binaries, the bench program, and the test / bench / deps targets.
# Included by the root Makefile after host/host.mk and efi/efi.mk.

UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
UNIT_HDR    := $(wildcard tests/unit/*.h)
UNIT_HELPER := $(BUILD)/tests/unit/membackend.o
VHDX_TOOL   := $(BUILD)/host/vhdx
CRCBENCH    := $(BUILD)/tests/bench/crcbench

.PHONY: deps test test-build bench unit

# Installs (as root) or names (otherwise) the Debian packages the build and the tests need.
deps:
	@bash tests/deps.sh

$(UNIT_HELPER): tests/unit/membackend.c $(UNIT_HDR) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -Itests/unit -c $< -o $@

$(BUILD)/tests/unit/test_%: tests/unit/test_%.c $(UNIT_HELPER) $(CORE_LIB) $(UNIT_HDR) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -Itests/unit $< $(UNIT_HELPER) $(CORE_LIB) -o $@

unit: $(UNIT_BINS)

# the Debian parts the boot suites boot (kernel, systemd-boot, busybox), into $(BUILD)/cache once for all suites
.PHONY: fetch-testparts
fetch-testparts:
	@BUILD=$(BUILD) bash scripts/fetch-testparts.sh
FETCH_TARGETS += fetch-testparts

test-build: all $(UNIT_BINS) $(TEST_DEPS)

# `make test`: dependencies first (the EFI build needs gnu-efi), then the downloads (gnu-efi for arm64, the
# Debian parts the boot suites boot), then everything built, then every suite.  A failed download stops nothing:
# the suites that needed it (tests/boot/*-aa64.sh, the Linux boots) report it.  Each step is a new make, which sees what the step before installed or fetched.
# the boot suites two at a time (tests/run.sh: JOBS); JOBS=1 for one after the other
JOBS ?= 2
test: deps
	-@$(MAKE) --no-print-directory fetch
	@$(MAKE) --no-print-directory test-build
	@BUILD=$(BUILD) JOBS=$(JOBS) bash tests/run.sh

# SHA-256 throughput of the core (tests/bench/sha256.sh compares it with sha256sum)
SHA256BENCH := $(BUILD)/tests/bench/sha256bench
$(SHA256BENCH): tests/bench/sha256bench.c $(CORE_LIB) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $< $(CORE_LIB) -o $@

$(CRCBENCH): tests/bench/crcbench.c $(CORE_LIB) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $< $(CORE_LIB) -o $@

bench: deps
	@$(MAKE) --no-print-directory all $(CRCBENCH)
	@BUILD=$(BUILD) bash tests/bench/bench.sh
	@# the aarch64 CRC-32C paths under qemu-aarch64 (skipped, with a reason, without the cross compiler)
	-@$(MAKE) --no-print-directory $(AA64U_CRCBENCH) >/dev/null 2>&1
	@BUILD=$(BUILD) bash tests/bench/crc-aa64.sh
	@BUILD=$(BUILD) bash tests/bench/boot.sh
	@BUILD=$(BUILD) bash tests/bench/linuxroot.sh # Linux root through the dm table vs a raw partition
	@BENCH_FS=ntfs BUILD=$(BUILD) bash tests/bench/linuxroot.sh # the same with the VHDX a fragmented file on NTFS
	@BUILD=$(BUILD) bash tests/bench/ntfs-locate.sh # time and bytes to locate a file among 50 000 on NTFS
	@$(MAKE) --no-print-directory $(SHA256BENCH) && BUILD=$(BUILD) bash tests/bench/sha256.sh # SHA-256 of the core vs sha256sum
	@$(MAKE) --no-print-directory $(SHA256BENCH) && BUILD=$(BUILD) bash tests/bench/bulk.sh # seal, import, export vs their peers
