/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * start-aa64.S - the entry point of the aarch64 images.  The PE headers come from linker/efi-aa64.lds,
 * so gnu-efi's crt0-efi-aarch64.o (which carries headers of its own) is not linked; this is the part of a crt0
 * that is still needed: apply the image's own relocations with gnu-efi's _relocate(ImageBase, _DYNAMIC, image,
 * systab), then call efi_main(image, systab) and return its status to the firmware.
 */
	.hidden	ImageBase
	.hidden	_DYNAMIC

	.section .text.vhdx_start, "ax", %progbits
	.globl	_start
	.type	_start, %function
	.p2align 2
_start:
	stp	x29, x30, [sp, #-32]!
	mov	x29, sp
	stp	x0, x1, [sp, #16]		/* image handle, system table: needed again for efi_main */
	mov	x2, x0
	mov	x3, x1
	adrp	x0, ImageBase
	add	x0, x0, :lo12:ImageBase
	adrp	x1, _DYNAMIC
	add	x1, x1, :lo12:_DYNAMIC
	bl	_relocate
	cbnz	x0, 1f				/* relocation failed: return its status */
	ldp	x0, x1, [sp, #16]
	bl	efi_main
1:	ldp	x29, x30, [sp], #32
	ret
	.size	_start, . - _start

	.section .note.GNU-stack, "", %progbits
