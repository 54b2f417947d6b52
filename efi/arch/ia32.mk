# SPDX-License-Identifier: BSD-2-Clause
# efi/arch/ia32.mk - how to build the boot module and the test applications for 32-bit x86 UEFI.
# Included by efi/arch/arches.mk, which turns these variables into rules (build/ia32/*.efi).
#
# gcc -m32 (gcc-multilib for libgcc), gnu-efi's ia32 files (/usr/lib32, /usr/include/efi/ia32) from the same
# gnu-efi package as x86_64, `ld -m elf_i386`, our own linker script, `objcopy --target efi-app-ia32`.
# EFIAPI on ia32 is plain cdecl, so there is no ms_abi and no GNU_EFI_USE_MS_ABI; i386 has no red zone.
# -malign-double: the firmware lays out its structures with 8-byte aligned UINT64 fields (as Microsoft's and
# EDK2's IA32 builds do), while the i386 System V ABI aligns them to 4 -- without it EFI_BLOCK_IO_MEDIA.LastBlock
# is read from the wrong offset.  The core gets the same flag, as struct vhdx_io and friends cross between them.

ia32_CC      := gcc -m32
ia32_LD      := ld -m elf_i386
ia32_OBJCOPY := objcopy
ia32_LIBGCC  := $(shell gcc -m32 -print-libgcc-file-name 2>/dev/null)
# why plain `make` leaves ia32 out (empty: it builds it); gnu-efi and gcc-12-multilib come from tests/deps.sh
ia32_MISSING := $(if $(wildcard /usr/lib32/crt0-efi-ia32.o),$(if $(wildcard /usr/include/efi/ia32/efibind.h),$(if \
	$(wildcard $(ia32_LIBGCC)),,no 32-bit libgcc (gcc-12-multilib); run 'make deps' as root),no \
	/usr/include/efi/ia32 (gnu-efi); run 'make deps' as root),no /usr/lib32/crt0-efi-ia32.o (gnu-efi); run 'make deps' as root)

ia32_GNUEFI_LIB := /usr/lib32
ia32_PREREQ  :=
ia32_LDS     := linker/efi-ia32.lds
ia32_START   := $(ia32_GNUEFI_LIB)/crt0-efi-ia32.o

ia32_CODEGEN := -malign-double -ffreestanding -fno-strict-aliasing -fpic -fshort-wchar -fno-stack-protector -fno-stack-check \
	-maccumulate-outgoing-args -fno-asynchronous-unwind-tables -fno-unwind-tables
ia32_CFLAGS  := -std=gnu11 $(WARN) $(OPT) $(ia32_CODEGEN) -fno-builtin-printf -DVHDXBOOT_EFI \
	-isystem /usr/include/efi -isystem /usr/include/efi/ia32 -Icore -Iefi
ia32_CORE_CFLAGS := -std=c11 $(WARN) $(OPT) $(ia32_CODEGEN) -Icore
ia32_LDFLAGS := -nostdlib -shared -Bsymbolic -znocombreloc --no-undefined -T $(ia32_LDS)
# libgcc: 64-bit division and shifts (__udivdi3, __umoddi3) on a 32-bit CPU; they need nothing from a C library
ia32_LIBS    := -L$(ia32_GNUEFI_LIB) -lefi -lgnuefi $(ia32_LIBGCC)
ia32_TOPE     = $(ia32_OBJCOPY) $(EFI_SECTIONS) --strip-all --target efi-app-ia32 --subsystem=10 $(1) $(2)
