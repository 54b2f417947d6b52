# SPDX-License-Identifier: BSD-2-Clause
# tests/fuzz/fuzz.mk - libFuzzer harnesses (clang -fsanitize=fuzzer,address,undefined).  Included by the root
# Makefile.  `make fuzz-build` builds build/fuzz/fuzz_*; `make fuzz FUZZ_SECONDS=N` runs each harness N seconds
# (default 60) after replaying its regression inputs and seeds; `make test` builds them (test-build) and
# tests/fuzz/smoke.sh runs the regressions plus a fuzzing smoke of about a minute in total.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# core objects: instrumented for coverage, built freestanding like the real core (mem.c stays out: libc's
# memcpy and friends are the ones ASan intercepts)
FUZZ_CORE_CFLAGS := -std=c11 -Wall -Wextra -g -O1 -ffreestanding -fno-strict-aliasing -Icore \
                    -fsanitize=fuzzer-no-link $(FUZZ_SAN) -fsanitize-coverage-ignorelist=tests/fuzz/coverage-ignore.txt
FUZZ_CFLAGS  := -std=gnu11 -Wall -Wextra -g -O1 -D_GNU_SOURCE -Icore -Itests/fuzz -fsanitize=fuzzer $(FUZZ_SAN)
FUZZ_CORE_OBJ := $(patsubst core/%.c,$(FUZZ_DIR)/core/%.o,$(filter-out core/mem.c,$(CORE_SRC)))
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(FUZZ_SRC))
FUZZ_BASES   := $(wildcard tests/fuzz/bases/*.sparse)
# the fuzzing library, one concern a file: fz_file (sparse file), fz_alloc, fz_bases, fz_input, fz_oracle
FUZZ_LIB_SRC := $(wildcard tests/fuzz/fz_*.c)
FUZZ_LIB_OBJ := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%.o,$(FUZZ_LIB_SRC)) $(FUZZ_DIR)/bases.o

.PHONY: fuzz fuzz-build fuzz-smoke fuzz-try

$(FUZZ_DIR)/core/%.o: core/%.c $(CORE_HDR) tests/fuzz/coverage-ignore.txt
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CORE_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/bases.c: tests/fuzz/embed.py $(FUZZ_BASES)
	@mkdir -p $(dir $@)
	python3 tests/fuzz/embed.py $@ $(FUZZ_BASES)

$(FUZZ_DIR)/bases.o: $(FUZZ_DIR)/bases.c tests/fuzz/fuzzlib.h $(CORE_HDR)
	$(FUZZ_CC) -std=gnu11 -O0 -Icore -Itests/fuzz -c $< -o $@

$(FUZZ_DIR)/fz_%.o: tests/fuzz/fz_%.c tests/fuzz/fuzzlib.h tests/fuzz/fuzzpriv.h $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(filter-out -fsanitize=fuzzer,$(FUZZ_CFLAGS)) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_OBJ) $(FUZZ_CORE_OBJ) tests/fuzz/fuzzlib.h $(CORE_HDR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $< $(FUZZ_LIB_OBJ) $(FUZZ_CORE_OBJ) -o $@

# fuzz_options: the boot module's firmware-free option files with the unit tests' host shim and the core (the
# pins parse GUIDs and hex there), no fuzzlib
FUZZ_OPT_SRC := $(EFI_PORTABLE_SRC) tests/unit/optshim.c
$(FUZZ_DIR)/fuzz_options: tests/fuzz/fuzz_options.c $(FUZZ_OPT_SRC) $(EFI_PORTABLE_HDR) tests/unit/optshim.h $(FUZZ_CORE_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Iefi -Itests/unit $< $(FUZZ_OPT_SRC) $(FUZZ_CORE_OBJ) -o $@

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/smoke.sh

fuzz-smoke: fuzz-build
	@BUILD=$(BUILD) bash tests/fuzz/smoke.sh

# For `make test`: build what builds (-k), log the rest for tests/fuzz/smoke.sh to report; never stop the build.
fuzz-try:
	@mkdir -p $(FUZZ_DIR)
	@$(MAKE) --no-print-directory -k fuzz-build >$(FUZZ_DIR)/build.log 2>&1 || echo "fuzz build had failures (see $(FUZZ_DIR)/build.log)"

test-build: fuzz-try

# keep the objects between builds (make would otherwise delete them as intermediates)
.SECONDARY: $(FUZZ_CORE_OBJ) $(FUZZ_LIB_OBJ) $(FUZZ_DIR)/bases.c
