/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * replay_main.c - a main() for the fuzz harnesses without libFuzzer: runs LLVMFuzzerTestOneInput once on each file
 * named on the command line.  Used for the 32-bit builds (tests/m32), where the harnesses replay the seeds and
 * the regression inputs under gcc -m32 -fsanitize=address,undefined.  Prints one line per input; a crash aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		long n;
		uint8_t *buf;
		if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
			fprintf(stderr, "%s: cannot read\n", argv[i]);
			return 2;
		}
		buf = malloc((size_t)n ? (size_t)n : 1);
		if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
			fprintf(stderr, "%s: cannot read\n", argv[i]);
			return 2;
		}
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t)n);
		free(buf);
		printf("replayed %s\n", argv[i]);
		fflush(stdout);
	}
	return 0;
}
