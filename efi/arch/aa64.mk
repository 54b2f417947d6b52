# SPDX-License-Identifier: BSD-2-Clause
# efi/arch/aa64.mk - how to build the boot module and the test applications for aarch64 UEFI.
# Included by efi/arch/arches.mk, which turns these variables into rules (build/aa64/*.efi).
#
# Cross compiler from gcc-aarch64-linux-gnu.  gnu-efi for arm64 (headers, libefi, libgnuefi with _relocate) is
# Debian's gnu-efi:arm64, which `make fetch` (and so `make test`) downloads and unpacks into build/cache with
# scripts/fetch-gnuefi-arm64.sh, without adding a foreign architecture to the machine.  Plain `make` never
# downloads: without those files it leaves aa64 out and says so (aa64_MISSING).  The PE headers come from our linker script (linker/efi-aa64.lds) and the
# entry point from efi/arch/start-aa64.S; the image is written flat with `objcopy -O binary`.
# No x86 flags here: EFIAPI is the plain AAPCS64 convention on aarch64 (no ms_abi), and there is no red zone to
# turn off in firmware code.

aa64_CROSS   ?= aarch64-linux-gnu-
aa64_CC      := $(aa64_CROSS)gcc
aa64_LD      := $(aa64_CROSS)ld
aa64_OBJCOPY := $(aa64_CROSS)objcopy

aa64_GNUEFI_DIR := $(BUILD)/cache/gnu-efi-arm64
aa64_GNUEFI  := $(aa64_GNUEFI_DIR)/usr
# the fetched gnu-efi: every compile and link waits for it (order-only)
aa64_PREREQ  := $(aa64_GNUEFI)/lib/crt0-efi-aarch64.o
# why plain `make` leaves aa64 out (empty: it builds it)
aa64_MISSING := $(if $(shell command -v $(aa64_CC) 2>/dev/null),$(if $(wildcard $(aa64_PREREQ) \
	$(aa64_GNUEFI)/lib/libgnuefi.a),,no gnu-efi for arm64 in $(BUILD)/cache; run 'make fetch' or 'make test'),no \
	$(aa64_CC); run 'make deps' as root)
aa64_LDS     := linker/efi-aa64.lds
aa64_START   := $(BUILD)/aa64/obj/start-aa64.o

aa64_CODEGEN := -ffreestanding -fno-strict-aliasing -fpic -fshort-wchar -fno-stack-protector -fno-stack-check \
	-fno-asynchronous-unwind-tables -fno-unwind-tables
aa64_CFLAGS  := -std=gnu11 $(WARN) $(OPT) $(aa64_CODEGEN) -fno-builtin-printf -DVHDXBOOT_EFI \
	-isystem $(aa64_GNUEFI)/include/efi -isystem $(aa64_GNUEFI)/include/efi/aarch64 -Icore -Iefi
aa64_CORE_CFLAGS := -std=c11 $(WARN) $(OPT) $(aa64_CODEGEN) -Icore
aa64_LDFLAGS := --no-warn-rwx-segments -nostdlib -shared -Bsymbolic -znocombreloc --no-undefined --defsym=EFI_SUBSYSTEM=0xa -T $(aa64_LDS)
# libgcc for whatever helper the compiler may call; it needs nothing from a C library
aa64_LIBS     = -L$(aa64_GNUEFI)/lib -lefi -lgnuefi $(shell $(aa64_CC) -print-libgcc-file-name)
# the flat image: headers, code, SBAT, data (with .dynamic and .rela for _relocate), padding to the file alignment
aa64_TOPE     = $(aa64_OBJCOPY) -O binary -j .pehdr -j .text -j .sbat -j .data -j .dynamic -j .rela -j .pad $(1) $(2)

# the download is `make fetch`'s alone: an aa64 build without it stops here and says what to run
$(aa64_PREREQ):
	@echo "aa64: no gnu-efi for arm64 in $(aa64_GNUEFI_DIR): run 'make fetch' first (it downloads gnu-efi:arm64)" >&2
	@exit 1

.PHONY: fetch-aa64
fetch-aa64:
	@bash scripts/fetch-gnuefi-arm64.sh $(aa64_GNUEFI_DIR)
FETCH_TARGETS += fetch-aa64

$(aa64_START): efi/arch/start-aa64.S efi/arch/aa64.mk
	@mkdir -p $(dir $@)
	$(aa64_CC) -c $< -o $@
