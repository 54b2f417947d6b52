# SPDX-License-Identifier: BSD-2-Clause
# efi/efi.mk - the UEFI boot module (build/efi/vhdxboot.efi) and the test applications (build/efi/payload.efi,
# build/efi/reader.efi).
# Included by the root Makefile.  gnu-efi from Debian: headers, crt0, libgnuefi (_relocate); our own linker script.

EFI_ARCH     := x86_64
EFI_INC      := /usr/include/efi
EFI_LIBDIR   := /usr/lib
EFI_CRT0     := $(EFI_LIBDIR)/crt0-efi-$(EFI_ARCH).o
EFI_LDS      := linker/efi-$(EFI_ARCH).lds
EFI_LD       ?= ld
EFI_OBJCOPY  ?= objcopy

# -DGNU_EFI_USE_MS_ABI: firmware calls go straight through EFIAPI (ms_abi) pointers, no uefi_call_wrapper.
# efi_main itself keeps the SysV convention, because gnu-efi's crt0 calls it that way.
EFI_CFLAGS := -std=gnu11 $(WARN) $(OPT) -ffreestanding -fno-strict-aliasing -fpic -fshort-wchar -mno-red-zone \
	-fno-stack-protector -fno-stack-check -maccumulate-outgoing-args -fno-asynchronous-unwind-tables \
	-fno-unwind-tables -fno-builtin-printf -DGNU_EFI_USE_MS_ABI -DVHDXBOOT_EFI \
	-isystem $(EFI_INC) -isystem $(EFI_INC)/$(EFI_ARCH) -Icore -Iefi
# The core again, with the same code generation as the module but without the gnu-efi headers.
EFI_CORE_CFLAGS := -std=c11 $(WARN) $(OPT) -ffreestanding -fno-strict-aliasing -fpic -fshort-wchar -mno-red-zone \
	-fno-stack-protector -fno-stack-check -maccumulate-outgoing-args -fno-asynchronous-unwind-tables \
	-fno-unwind-tables -Icore
# libefi is on the line for completeness, but the module takes nothing from it: libefi's init.o also defines
# memcpy/memset, which core/mem.c provides, and pulling init.o (InitializeLib) in would clash.
EFI_LDFLAGS := -nostdlib -shared -Bsymbolic -znocombreloc --no-undefined -T $(EFI_LDS)
EFI_LIBS    := -L$(EFI_LIBDIR) -lefi -lgnuefi
EFI_SECTIONS := -j .text -j .sdata -j .data -j .rodata -j .dynamic -j .dynsym -j .rel -j .rela -j .rel.* \
	-j .rela.* -j .reloc -j .sbat
EFI_PECOFF  := $(EFI_OBJCOPY) $(EFI_SECTIONS) --strip-all --target efi-app-$(EFI_ARCH) --subsystem=10

EFI_SRC     := $(wildcard efi/*.c)
# the files of efi/ with no firmware calls, which the host tests build too (see efi/optparse.h)
EFI_PORTABLE_SRC := efi/optparse.c efi/disksel.c efi/ucs2.c efi/pinparse.c
EFI_PORTABLE_HDR := efi/optparse.h efi/ucs2.h
EFI_PORTABLE_SRC += efi/parentpath.c # a differencing image parent's path from relative_path
EFI_PORTABLE_HDR += efi/parentpath.h
EFI_HDR     := $(wildcard efi/*.h)
EFI_OBJ     := $(patsubst efi/%.c,$(BUILD)/efi/%.o,$(EFI_SRC))
EFI_CORE_OBJ := $(patsubst core/%.c,$(BUILD)/efi/core/%.o,$(CORE_SRC))

# test applications: one .c each in tests/tools/payload/ -> build/efi/NAME.efi (payload.efi, reader.efi)
PAYLOAD_APPS := $(patsubst tests/tools/payload/%.c,%,$(wildcard tests/tools/payload/*.c))
PAYLOAD_SO   := $(patsubst %,$(BUILD)/efi/%.so,$(PAYLOAD_APPS))

EFI_TARGETS := $(BUILD)/efi/vhdxboot.efi $(patsubst %,$(BUILD)/efi/%.efi,$(PAYLOAD_APPS))
ALL_TARGETS += $(EFI_TARGETS) $(BUILD)/$(EFI_ARCH)/vhdxboot.efi
TEST_DEPS   += $(EFI_TARGETS)

.PHONY: efi
efi: $(EFI_TARGETS)

$(BUILD)/efi/%.o: efi/%.c $(EFI_HDR) core/vhdx.h efi/efi.mk
	@mkdir -p $(dir $@)
	$(CC) $(EFI_CFLAGS) -c $< -o $@

$(BUILD)/efi/core/%.o: core/%.c $(CORE_HDR) efi/efi.mk
	@mkdir -p $(dir $@)
	$(CC) $(EFI_CORE_CFLAGS) -c $< -o $@

$(BUILD)/efi/payload/%.o: tests/tools/payload/%.c efi/efi.mk
	@mkdir -p $(dir $@)
	$(CC) $(EFI_CFLAGS) -c $< -o $@

$(BUILD)/efi/vhdxboot.so: $(EFI_OBJ) $(EFI_CORE_OBJ) $(EFI_LDS)
	$(EFI_LD) $(EFI_LDFLAGS) $(EFI_CRT0) $(EFI_OBJ) $(EFI_CORE_OBJ) -o $@ $(EFI_LIBS)

$(PAYLOAD_SO): $(BUILD)/efi/%.so: $(BUILD)/efi/payload/%.o $(EFI_LDS)
	$(EFI_LD) $(EFI_LDFLAGS) $(EFI_CRT0) $< -o $@ $(EFI_LIBS)

$(BUILD)/efi/%.efi: $(BUILD)/efi/%.so
	$(EFI_PECOFF) $< $@

# the product's path under the build directory, named by its architecture: the same file
$(BUILD)/$(EFI_ARCH)/vhdxboot.efi: $(BUILD)/efi/vhdxboot.efi
	@mkdir -p $(dir $@)
	cp $< $@

# make demo: install what is missing, build, make a VHDX and an ESP, boot OVMF headless, show the module at work,
# power off.  No prerequisites here: on a fresh machine the build itself needs the packages demo.sh installs first.
demo:
	@BUILD=$(BUILD) bash scripts/demo.sh

# make sign KEY=... CERT=... [POLICY=file] [OUT=...]: embed a policy (.vhdxpol section), then sbsign
.PHONY: sign
sign: $(BUILD)/efi/vhdxboot.efi
	@IN=$(BUILD)/efi/vhdxboot.efi OUT=$(or $(OUT),$(BUILD)/efi/vhdxboot.signed.efi) KEY="$(KEY)" CERT="$(CERT)" \
		POLICY="$(POLICY)" bash scripts/sign.sh

# the same module for aarch64 and ia32 (build/aa64, build/ia32)
include efi/arch/arches.mk
