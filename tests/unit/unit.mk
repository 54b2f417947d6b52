# SPDX-License-Identifier: BSD-2-Clause
# tests/unit/unit.mk - extra link inputs for the unit tests (tests/tests.mk has the generic rule).
#
# Every unit test links the image builder (tests/unit/imgbuild.c) and the in-memory backend, so a new
# tests/unit/test_NAME.c builds and links with no list to edit: the static pattern rule below takes precedence
# over the implicit pattern rule of tests/tests.mk.  Three tests are built their own way (rules further down):
# test_mem links build/core/mem.o (kept out of the host core library) and nothing else from the core, and is
# compiled with -fno-builtin so its calls reach mem.o rather than compiler built-ins; test_options and
# test_options_keys link the boot module's firmware-free files instead of the core.  The host tests,
# test_host_*.c, test files of host/ and link those of the tool's objects they need (UNIT_HOST_SRC), here and in
# the m32, aa64 and sanitize builds.

UNIT_IMGBUILD := $(BUILD)/tests/unit/imgbuild.o
UNIT_MEM_BIN  := $(BUILD)/tests/unit/test_mem
UNIT_OPT_BIN  := $(BUILD)/tests/unit/test_options $(BUILD)/tests/unit/test_options_keys
UNIT_HOST_BINS := $(filter $(BUILD)/tests/unit/test_host_%,$(UNIT_BINS))
UNIT_IB_BINS  := $(filter-out $(UNIT_MEM_BIN) $(UNIT_OPT_BIN) $(UNIT_HOST_BINS),$(UNIT_BINS))

$(UNIT_IMGBUILD): tests/unit/imgbuild.c $(UNIT_HDR) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -Itests/unit -c $< -o $@

$(UNIT_IB_BINS): $(BUILD)/tests/unit/%: tests/unit/%.c $(UNIT_HELPER) $(UNIT_IMGBUILD) $(CORE_LIB) $(UNIT_HDR) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -Itests/unit $< $(UNIT_HELPER) $(UNIT_IMGBUILD) $(CORE_LIB) -o $@

$(UNIT_MEM_BIN): tests/unit/test_mem.c $(CORE_MEM_OBJ) $(UNIT_HDR) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -fno-builtin $(NO_LOOP_PATTERNS) -Itests/unit $< $(CORE_MEM_OBJ) -o $@

# The boot module's option logic (efi/optparse.c, disksel.c, ucs2.c, pinparse.c: no firmware calls) built for the
# host, with tests/unit/optshim.c in place of the console and pool memory.
UNIT_OPT_SRC  := $(EFI_PORTABLE_SRC) tests/unit/optshim.c
UNIT_OPT_HDR  := $(EFI_PORTABLE_HDR) tests/unit/optshim.h

$(UNIT_OPT_BIN): $(BUILD)/tests/unit/%: tests/unit/%.c $(UNIT_OPT_SRC) $(UNIT_OPT_HDR) $(UNIT_HDR) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -Iefi -Itests/unit $< $(UNIT_OPT_SRC) $(CORE_LIB) -o $@

# The host tests: the files of host/ they test and what those call (no main.o, no files that need Linux-only
# headers the 32-bit and aarch64 builds lack), with the image builder and the in-memory backend.  A new host test
# adds the files it needs here; the link names any that are missing.
UNIT_HOST_SRC := host/cli.c host/gpt.c host/handoff.c host/bootmanifest.c host/efibin.c host/file.c host/parentscan.c
UNIT_HOST_OBJ := $(patsubst host/%.c,$(BUILD)/host/%.o,$(UNIT_HOST_SRC))

$(UNIT_HOST_BINS): $(BUILD)/tests/unit/%: tests/unit/%.c $(UNIT_HELPER) $(UNIT_IMGBUILD) $(UNIT_HOST_OBJ) $(CORE_LIB) $(UNIT_HDR) $(HOST_HDR) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -Itests/unit $< $(UNIT_HELPER) $(UNIT_IMGBUILD) $(UNIT_HOST_OBJ) $(CORE_LIB) -o $@

# The same in the other builds of the unit tests, whose link rules take every prerequisite: the host objects built
# their way (m32, aa64: with -Werror taken out and warnings kept in a .warn file beside the object, as their cores
# are; sanitize builds them for its own tool already).  The root Makefile includes tests/*/*.mk in name order, so
# aa64.mk, m32.mk and sanitize.mk are read before this file and their variables are set here.
# host_unit_rules DIR CC CFLAGS
define host_unit_rules
$(1)/host/%.o: host/%.c $$(HOST_HDR) $$(CORE_HDR)
	@mkdir -p $$(dir $$@)
	$(2) $(3) -c $$< -o $$@ 2>$$@.warn || { cat $$@.warn; exit 1; }; cat $$@.warn
endef
# -m32 finds the C library's 32-bit headers but Debian installs the kernel's <asm/...> (which <errno.h> reaches) for
# amd64 only; x86's are one set for both widths (they test __i386__ themselves), so they are searched last.
M32_ASM_INC := $(addprefix -idirafter ,$(wildcard /usr/include/x86_64-linux-gnu))
$(eval $(call host_unit_rules,$(M32_DIR),$(M32_CC),$(M32_HOST_CFLAGS) $(M32_ASM_INC)))
$(M32_DIR)/unit/test_host_%.o: M32_HOST_CFLAGS += $(M32_ASM_INC)
$(eval $(call host_unit_rules,$(AA64U_DIR),$(AA64U_CC),$(AA64U_HOST_CFLAGS)))
host_unit_bins = $(filter $(1)/unit/test_host_%,$(patsubst tests/unit/%.c,$(1)/unit/%,$(UNIT_SRC)))
host_unit_objs = $(patsubst host/%.c,$(1)/host/%.o,$(UNIT_HOST_SRC))
$(call host_unit_bins,$(M32_DIR)): $(call host_unit_objs,$(M32_DIR))
$(call host_unit_bins,$(AA64U_DIR)): $(call host_unit_objs,$(AA64U_DIR))
$(call host_unit_bins,$(SAN_DIR)): $(call host_unit_objs,$(SAN_DIR))
