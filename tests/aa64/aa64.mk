# SPDX-License-Identifier: BSD-2-Clause
# tests/aa64/aa64.mk - an aarch64 build of the core and its unit tests, run under qemu-aarch64 (user
# mode) by tests/aa64/aa64.sh: the core's C must work on a 64-bit little-endian ARM CPU as it does on x86, and
# the ARMv8 CRC32C path (core/crc32c_armv8.c) must give the known answers.  Included by the root Makefile.
#   make aa64-unit   build/aa64-user/core/*.o (every core file, the build's own -Wall -Wextra -Werror
#                    -ffreestanding flags), build/aa64-user/unit/test_* (tests/unit/test_*.c, static), and
#                    build/aa64-user/bench/crcbench (tests/bench/crcbench.c, for `make bench`)
# `make test` builds them through test-build (-k, logged: a build failure is reported by aa64.sh as `not ok`, it
# does not stop the other suites).

AA64U_CC   ?= aarch64-linux-gnu-gcc
AA64U_AR   ?= aarch64-linux-gnu-ar
AA64U_DIR  := $(BUILD)/aa64-user
# -Werror is taken out so that one warning does not hide every other result: each file's warnings go to a .warn
# file next to its object, and aa64.sh reports every warned file as a failure of the -Werror rule (as m32 does)
AA64U_CORE_CFLAGS := $(filter-out -Werror,$(CORE_CFLAGS))
AA64U_HOST_CFLAGS := $(filter-out -Werror,$(HOST_CFLAGS))
# static: qemu-aarch64 then needs no aarch64 C library on the machine at run time
AA64U_LDFLAGS := -static

AA64U_CORE_OBJ  := $(patsubst core/%.c,$(AA64U_DIR)/core/%.o,$(CORE_SRC))
AA64U_MEM_OBJ   := $(AA64U_DIR)/core/mem.o
AA64U_LIB       := $(AA64U_DIR)/core/libvhdxcore.a
AA64U_UNIT_SRC  := $(wildcard tests/unit/test_*.c)
AA64U_UNIT_BINS := $(patsubst tests/unit/%.c,$(AA64U_DIR)/unit/%,$(AA64U_UNIT_SRC))
AA64U_UNIT_MEM  := $(AA64U_DIR)/unit/test_mem
AA64U_UNIT_HLP  := $(patsubst tests/unit/%.c,$(AA64U_DIR)/unit/%.o,$(filter-out $(AA64U_UNIT_SRC),$(wildcard tests/unit/*.c)))
AA64U_CRCBENCH  := $(AA64U_DIR)/bench/crcbench

.PHONY: aa64-unit aa64-unit-try

$(AA64U_DIR)/core/%.o: core/%.c $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(AA64U_CC) $(AA64U_CORE_CFLAGS) -c $< -o $@ 2>$@.warn || { cat $@.warn; exit 1; }; cat $@.warn

$(AA64U_MEM_OBJ): AA64U_CORE_CFLAGS += $(NO_LOOP_PATTERNS)

$(AA64U_LIB): $(filter-out $(AA64U_MEM_OBJ),$(AA64U_CORE_OBJ))
	@rm -f $@
	$(AA64U_AR) rcs $@ $^

$(AA64U_DIR)/unit/%.o: tests/unit/%.c $(wildcard tests/unit/*.h) $(CORE_HDR) $(EFI_PORTABLE_HDR)
	@mkdir -p $(dir $@)
	$(AA64U_CC) $(AA64U_HOST_CFLAGS) -Iefi -Itests/unit -c $< -o $@ 2>$@.warn || { cat $@.warn; exit 1; }; cat $@.warn

$(filter-out $(AA64U_UNIT_MEM),$(AA64U_UNIT_BINS)): $(AA64U_DIR)/unit/test_%: $(AA64U_DIR)/unit/test_%.o $(AA64U_UNIT_HLP) $(AA64U_LIB)
	$(AA64U_CC) $(AA64U_HOST_CFLAGS) $(AA64U_LDFLAGS) $(filter-out $(AA64U_LIB),$^) $(AA64U_LIB) -o $@

# test_options and test_options_keys also link the boot module's firmware-free files (efi/optparse.h)
AA64U_EFI_OBJ := $(patsubst efi/%.c,$(AA64U_DIR)/efi/%.o,$(EFI_PORTABLE_SRC))
$(AA64U_DIR)/efi/%.o: efi/%.c $(EFI_PORTABLE_HDR)
	@mkdir -p $(dir $@)
	$(AA64U_CC) $(AA64U_HOST_CFLAGS) -Iefi -c $< -o $@ 2>$@.warn || { cat $@.warn; exit 1; }; cat $@.warn
$(AA64U_DIR)/unit/test_options $(AA64U_DIR)/unit/test_options_keys: $(AA64U_EFI_OBJ)

$(AA64U_UNIT_MEM): tests/unit/test_mem.c $(AA64U_MEM_OBJ) $(wildcard tests/unit/*.h) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(AA64U_CC) $(AA64U_HOST_CFLAGS) $(AA64U_LDFLAGS) -fno-builtin $(NO_LOOP_PATTERNS) -Itests/unit $< $(AA64U_MEM_OBJ) -o $@ 2>$@.warn || { cat $@.warn; exit 1; }; cat $@.warn

$(AA64U_CRCBENCH): tests/bench/crcbench.c $(AA64U_LIB) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(AA64U_CC) $(HOST_CFLAGS) $(AA64U_LDFLAGS) $< $(AA64U_LIB) -o $@

aa64-unit: $(AA64U_CORE_OBJ) $(AA64U_LIB) $(AA64U_UNIT_BINS) $(AA64U_CRCBENCH)

# For `make test`: build what builds (-k), log the rest for tests/aa64/aa64.sh to report; never stop the build.
aa64-unit-try:
	@mkdir -p $(AA64U_DIR)
	@$(MAKE) --no-print-directory -k aa64-unit >$(AA64U_DIR)/build.log 2>&1 || echo "aa64 unit build had failures (see $(AA64U_DIR)/build.log)"

.SECONDARY: $(AA64U_CORE_OBJ) $(AA64U_UNIT_HLP) $(patsubst %,%.o,$(AA64U_UNIT_BINS))

test-build: aa64-unit-try
