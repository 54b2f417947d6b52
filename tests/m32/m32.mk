# SPDX-License-Identifier: BSD-2-Clause
# tests/m32/m32.mk - a 32-bit build (gcc -m32, gcc-multilib) of the core and its unit tests, so that no offset
# arithmetic silently depends on a 64-bit size_t (32-bit UEFI is a target).  Included by the root Makefile.
#   make m32   build/m32/core/*.o (every core file, mem.c included, -Wall -Wextra -Werror -ffreestanding),
#              build/m32/core/libvhdxcore.a, build/m32/unit/test_* (tests/unit/test_*.c), and
#              build/m32/fuzz/replay_* (the fuzz harnesses with a plain main, -fsanitize=address,undefined)
# tests/m32/m32.sh runs them (`make test` builds them through test-build; a build failure there is reported by
# m32.sh as `not ok`, it does not stop the other suites).

M32_CC    ?= gcc
M32_DIR   := $(BUILD)/m32
# -Werror is taken out so that one warning does not hide every other result: each file's warnings go to a .warn
# file next to its object, and tests/m32/m32.sh reports every warned file as a failure of the -Werror rule.
M32_CORE_CFLAGS := -m32 $(filter-out -Werror,$(CORE_CFLAGS))
M32_HOST_CFLAGS := -m32 $(filter-out -Werror,$(HOST_CFLAGS))
M32_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

M32_CORE_OBJ  := $(patsubst core/%.c,$(M32_DIR)/core/%.o,$(CORE_SRC))
M32_MEM_OBJ   := $(M32_DIR)/core/mem.o
M32_LIB       := $(M32_DIR)/core/libvhdxcore.a
M32_UNIT_SRC  := $(wildcard tests/unit/test_*.c)
M32_UNIT_BINS := $(patsubst tests/unit/%.c,$(M32_DIR)/unit/%,$(M32_UNIT_SRC))
M32_UNIT_MEM  := $(M32_DIR)/unit/test_mem
M32_UNIT_HLP  := $(patsubst tests/unit/%.c,$(M32_DIR)/unit/%.o,$(filter-out $(M32_UNIT_SRC),$(wildcard tests/unit/*.c)))
M32_FZ_CORE   := $(patsubst core/%.c,$(M32_DIR)/fuzz/core/%.o,$(filter-out core/mem.c,$(CORE_SRC)))
M32_FZ_BINS   := $(patsubst tests/fuzz/fuzz_%.c,$(M32_DIR)/fuzz/replay_%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: m32 m32-try

$(M32_DIR)/core/%.o: core/%.c $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(M32_CC) $(M32_CORE_CFLAGS) -c $< -o $@ 2>$@.warn || { cat $@.warn; exit 1; }; cat $@.warn

$(M32_MEM_OBJ): M32_CORE_CFLAGS += $(NO_LOOP_PATTERNS)

$(M32_LIB): $(filter-out $(M32_MEM_OBJ),$(M32_CORE_OBJ))
	@rm -f $@
	ar rcs $@ $^

$(M32_DIR)/unit/%.o: tests/unit/%.c $(wildcard tests/unit/*.h) $(CORE_HDR) $(EFI_PORTABLE_HDR)
	@mkdir -p $(dir $@)
	$(M32_CC) $(M32_HOST_CFLAGS) -Iefi -Itests/unit -c $< -o $@ 2>$@.warn || { cat $@.warn; exit 1; }; cat $@.warn

$(filter-out $(M32_UNIT_MEM),$(M32_UNIT_BINS)): $(M32_DIR)/unit/test_%: $(M32_DIR)/unit/test_%.o $(M32_UNIT_HLP) $(M32_LIB)
	$(M32_CC) $(M32_HOST_CFLAGS) $(filter-out $(M32_LIB),$^) $(M32_LIB) -o $@

# test_options and test_options_keys also link the boot module's firmware-free files (efi/optparse.h)
M32_EFI_OBJ := $(patsubst efi/%.c,$(M32_DIR)/efi/%.o,$(EFI_PORTABLE_SRC))
$(M32_DIR)/efi/%.o: efi/%.c $(EFI_PORTABLE_HDR)
	@mkdir -p $(dir $@)
	$(M32_CC) $(M32_HOST_CFLAGS) -Iefi -c $< -o $@ 2>$@.warn || { cat $@.warn; exit 1; }; cat $@.warn
$(M32_DIR)/unit/test_options $(M32_DIR)/unit/test_options_keys: $(M32_EFI_OBJ)

$(M32_UNIT_MEM): tests/unit/test_mem.c $(M32_MEM_OBJ) $(wildcard tests/unit/*.h) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(M32_CC) $(M32_HOST_CFLAGS) -fno-builtin $(NO_LOOP_PATTERNS) -Itests/unit $< $(M32_MEM_OBJ) -o $@ 2>$@.warn || { cat $@.warn; exit 1; }; cat $@.warn

# the fuzz harnesses, 32-bit, with ASan/UBSan and a plain main that replays inputs (no libFuzzer)
$(M32_DIR)/fuzz/core/%.o: core/%.c $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(M32_CC) -m32 -std=c11 -Wall -Wextra -O1 -g -ffreestanding -fno-strict-aliasing -Icore $(M32_SAN) -c $< -o $@

$(M32_DIR)/fuzz/bases.c: tests/fuzz/embed.py $(wildcard tests/fuzz/bases/*.sparse) tests/fuzz/bases/ORDER
	@mkdir -p $(dir $@)
	python3 tests/fuzz/embed.py $@ $(wildcard tests/fuzz/bases/*.sparse)

$(M32_DIR)/fuzz/replay_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/fz_*.c) tests/fuzz/replay_main.c $(M32_DIR)/fuzz/bases.c $(M32_FZ_CORE) tests/fuzz/fuzzlib.h tests/fuzz/fuzzpriv.h $(CORE_HDR)
	$(M32_CC) -m32 -std=gnu11 -Wall -Wextra -O1 -g -D_GNU_SOURCE -Icore -Itests/fuzz $(M32_SAN) -o $@ \
		$< $(wildcard tests/fuzz/fz_*.c) tests/fuzz/replay_main.c $(M32_DIR)/fuzz/bases.c $(M32_FZ_CORE)

# replay_options: the option harness needs the boot module's firmware-free files and the core, not fuzzlib
$(M32_DIR)/fuzz/replay_options: tests/fuzz/fuzz_options.c tests/fuzz/replay_main.c $(EFI_PORTABLE_SRC) tests/unit/optshim.c $(EFI_PORTABLE_HDR) $(M32_FZ_CORE)
	@mkdir -p $(dir $@)
	$(M32_CC) -m32 -std=gnu11 -Wall -Wextra -O1 -g -D_GNU_SOURCE -Icore -Iefi -Itests/unit $(M32_SAN) -o $@ \
		$< tests/fuzz/replay_main.c $(EFI_PORTABLE_SRC) tests/unit/optshim.c $(M32_FZ_CORE)

m32: $(M32_CORE_OBJ) $(M32_LIB) $(M32_UNIT_BINS) $(M32_FZ_BINS)

# For `make test`: build what builds (-k), log the rest for tests/m32/m32.sh to report; never stop the build.
m32-try:
	@mkdir -p $(M32_DIR)
	@$(MAKE) --no-print-directory -k m32 >$(M32_DIR)/build.log 2>&1 || echo "m32 build had failures (see $(M32_DIR)/build.log)"

.SECONDARY: $(M32_CORE_OBJ) $(M32_UNIT_HLP) $(M32_EFI_OBJ) $(M32_FZ_CORE) $(M32_DIR)/fuzz/bases.c $(patsubst %,%.o,$(M32_UNIT_BINS))

test-build: m32-try
