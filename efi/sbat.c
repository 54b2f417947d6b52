/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sbat.c - the .sbat section: SBAT's CSV (component, generation, ...) that shim and revocation checks read.
 * The array is sized to leave the terminating NUL out: the section is exactly the CSV text.
 */
#define SBAT_CSV                                                                                                  \
	"sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"                                \
	"vhdxboot,1,vhdxboot,vhdxboot,0.1.0,https://example.invalid/vhdxboot\n"

__attribute__((section(".sbat"), used)) static const char sbat[sizeof(SBAT_CSV) - 1] = SBAT_CSV;
