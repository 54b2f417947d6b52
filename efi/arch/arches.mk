# SPDX-License-Identifier: BSD-2-Clause
# efi/arch/arches.mk - the boot module and its test applications for the other UEFI architectures:
# build/aa64/{vhdxboot,payload,reader}.efi and build/ia32/{...}.efi, from the same sources as x86_64
# (build/efi/, efi/efi.mk).  Each architecture's tools and flags are in efi/arch/NAME.mk; the rules are made
# here from one template.
#
#   make                 x86_64, and every other architecture whose compiler and gnu-efi files are here; one line
#                        says which were left out and why (EFI_SKIPPED)
#   make fetch           downloads what an architecture needs beyond the installed packages (into build/cache)
#   make ARCH=aa64       only build/aa64/... (also arm64, aarch64); ARCH=ia32 (i386, i686); ARCH=x86_64 (amd64)
#   make efi-aa64        the same as a target
# ARCH counts only on the command line: a stray ARCH in the environment (kernel builds set one) changes nothing.

EFI_EXTRA_ARCHES := aa64 ia32
include efi/arch/aa64.mk
include efi/arch/ia32.mk

# efi_arch_rules NAME: objects under build/NAME/obj/, images in build/NAME/
define efi_arch_rules
$(1)_DIR      := $$(BUILD)/$(1)
$(1)_OBJ      := $$(patsubst efi/%.c,$$($(1)_DIR)/obj/efi/%.o,$$(EFI_SRC))
$(1)_CORE_OBJ := $$(patsubst core/%.c,$$($(1)_DIR)/obj/core/%.o,$$(CORE_SRC))
$(1)_TARGETS  := $$($(1)_DIR)/vhdxboot.efi $$(patsubst %,$$($(1)_DIR)/%.efi,$$(PAYLOAD_APPS))

$$($(1)_DIR)/obj/efi/%.o: efi/%.c $$(EFI_HDR) core/vhdx.h efi/arch/$(1).mk | $$($(1)_PREREQ)
	@mkdir -p $$(dir $$@)
	$$($(1)_CC) $$($(1)_CFLAGS) -c $$< -o $$@

$$($(1)_DIR)/obj/core/%.o: core/%.c $$(CORE_HDR) efi/arch/$(1).mk
	@mkdir -p $$(dir $$@)
	$$($(1)_CC) $$($(1)_CORE_CFLAGS) -c $$< -o $$@

$$($(1)_DIR)/obj/payload/%.o: tests/tools/payload/%.c efi/arch/$(1).mk | $$($(1)_PREREQ)
	@mkdir -p $$(dir $$@)
	$$($(1)_CC) $$($(1)_CFLAGS) -c $$< -o $$@

$$($(1)_DIR)/vhdxboot.so: $$($(1)_OBJ) $$($(1)_CORE_OBJ) $$($(1)_START) $$($(1)_LDS) | $$($(1)_PREREQ)
	$$($(1)_LD) $$($(1)_LDFLAGS) $$($(1)_START) $$($(1)_OBJ) $$($(1)_CORE_OBJ) -o $$@ $$($(1)_LIBS)

$$($(1)_DIR)/%.so: $$($(1)_DIR)/obj/payload/%.o $$($(1)_START) $$($(1)_LDS) | $$($(1)_PREREQ)
	$$($(1)_LD) $$($(1)_LDFLAGS) $$($(1)_START) $$< -o $$@ $$($(1)_LIBS)

$$($(1)_DIR)/%.efi: $$($(1)_DIR)/%.so
	$$(call $(1)_TOPE,$$<,$$@)

# the intermediate .so and payload objects stay: no rebuild next time, no `rm` line at the end of make's output
.SECONDARY: $$(patsubst %.efi,%.so,$$($(1)_TARGETS)) $$(patsubst %,$$($(1)_DIR)/obj/payload/%.o,$$(PAYLOAD_APPS))

.PHONY: efi-$(1)
efi-$(1): $$($(1)_TARGETS)
ifeq ($$($(1)_MISSING),)
ALL_TARGETS += $$($(1)_TARGETS)
TEST_DEPS   += $$($(1)_TARGETS)
else
EFI_SKIPPED := $$(EFI_SKIPPED)$$(if $$(EFI_SKIPPED),$$(efi_comma) )$(1) ($$($(1)_MISSING))
endif
endef
EFI_SKIPPED :=
efi_comma   := ,
$(foreach a,$(EFI_EXTRA_ARCHES),$(eval $(call efi_arch_rules,$(a))))

.PHONY: efi-x86_64
efi-x86_64: $(EFI_TARGETS) $(BUILD)/x86_64/vhdxboot.efi

efi_arch_alias = $(if $(filter aa64 arm64 aarch64,$(1)),aa64,$(if $(filter ia32 i386 i686,$(1)),ia32,$(if \
	$(filter x86_64 amd64 x64,$(1)),x86_64)))
ifeq ($(origin ARCH),command line)
EFI_GOAL_ARCH := $(call efi_arch_alias,$(ARCH))
ifeq ($(EFI_GOAL_ARCH),)
$(error ARCH=$(ARCH) is not a UEFI architecture this build knows: x86_64, aa64 or ia32)
endif
.DEFAULT_GOAL := efi-$(EFI_GOAL_ARCH)
endif
