# SPDX-License-Identifier: BSD-2-Clause
# tests/sanitize/sanitize.mk - AddressSanitizer + UndefinedBehaviorSanitizer builds (clang).  Included by the root
# Makefile.
#   make sanitize   build/sanitize/vhdx (the host tool from host/*.c and core/*.c minus core/mem.c) and
#                   build/sanitize/unit/test_* (tests/unit/test_*.c with their helpers), all built with
#                   clang -fsanitize=address,undefined -fno-omit-frame-pointer
# tests/sanitize/unit.sh runs the sanitized unit tests, tests/sanitize/tools.sh the interop and malformed suites
# against the sanitized tool (VHDX=build/sanitize/vhdx); `make test` builds everything here (test-build).

SAN_CC    ?= clang
SAN_DIR   := $(BUILD)/sanitize
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# -Werror stays off: a clang-only warning must not break `make test`; tests/sanitize/unit.sh reports them
SAN_CORE_CFLAGS := -std=c11 -Wall -Wextra -O1 -g -ffreestanding -fno-strict-aliasing -Icore $(SAN_FLAGS)
SAN_HOST_CFLAGS := -std=c11 -Wall -Wextra -O1 -g -D_GNU_SOURCE -Icore $(SAN_FLAGS)

SAN_CORE_OBJ  := $(patsubst core/%.c,$(SAN_DIR)/core/%.o,$(filter-out core/mem.c,$(CORE_SRC)))
SAN_MEM_OBJ   := $(SAN_DIR)/core/mem.o
SAN_HOST_OBJ  := $(patsubst host/%.c,$(SAN_DIR)/host/%.o,$(wildcard host/*.c))
SAN_TOOL      := $(SAN_DIR)/vhdx
SAN_UNIT_SRC  := $(wildcard tests/unit/test_*.c)
SAN_UNIT_BINS := $(patsubst tests/unit/%.c,$(SAN_DIR)/unit/%,$(SAN_UNIT_SRC))
SAN_UNIT_MEM  := $(SAN_DIR)/unit/test_mem
# every non-test C file of tests/unit is a helper (membackend.c, imgbuild.c, ...): linked into every test
SAN_UNIT_HLP  := $(patsubst tests/unit/%.c,$(SAN_DIR)/unit/%.o,$(filter-out $(SAN_UNIT_SRC),$(wildcard tests/unit/*.c)))

.PHONY: sanitize sanitize-try

$(SAN_DIR)/core/%.o: core/%.c $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_CORE_CFLAGS) -c $< -o $@ 2>$@.warn || { cat $@.warn; exit 1; }; cat $@.warn

$(SAN_MEM_OBJ): SAN_CORE_CFLAGS += -fno-builtin

$(SAN_DIR)/host/%.o: host/%.c $(wildcard host/*.h) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_HOST_CFLAGS) -c $< -o $@ 2>$@.warn || { cat $@.warn; exit 1; }; cat $@.warn

$(SAN_TOOL): $(SAN_HOST_OBJ) $(SAN_CORE_OBJ)
	$(SAN_CC) $(SAN_HOST_CFLAGS) -o $@ $^

$(SAN_DIR)/unit/%.o: tests/unit/%.c $(wildcard tests/unit/*.h) $(CORE_HDR) $(EFI_PORTABLE_HDR)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_HOST_CFLAGS) -Iefi -Itests/unit -c $< -o $@ 2>$@.warn || { cat $@.warn; exit 1; }; cat $@.warn

$(filter-out $(SAN_UNIT_MEM),$(SAN_UNIT_BINS)): $(SAN_DIR)/unit/test_%: $(SAN_DIR)/unit/test_%.o $(SAN_UNIT_HLP) $(SAN_CORE_OBJ)
	$(SAN_CC) $(SAN_HOST_CFLAGS) -o $@ $^

# test_options and test_options_keys also link the boot module's firmware-free files (efi/optparse.h)
SAN_EFI_OBJ := $(patsubst efi/%.c,$(SAN_DIR)/efi/%.o,$(EFI_PORTABLE_SRC))
$(SAN_DIR)/efi/%.o: efi/%.c $(EFI_PORTABLE_HDR)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_HOST_CFLAGS) -Iefi -c $< -o $@ 2>$@.warn || { cat $@.warn; exit 1; }; cat $@.warn
$(SAN_DIR)/unit/test_options $(SAN_DIR)/unit/test_options_keys: $(SAN_EFI_OBJ)

# test_mem checks core/mem.c itself: only mem.o, and -fno-builtin so its calls reach it
$(SAN_UNIT_MEM): tests/unit/test_mem.c $(SAN_MEM_OBJ) $(wildcard tests/unit/*.h) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_HOST_CFLAGS) -fno-builtin -Itests/unit $< $(SAN_MEM_OBJ) -o $@

sanitize: $(SAN_TOOL) $(SAN_UNIT_BINS)

.SECONDARY: $(SAN_CORE_OBJ) $(SAN_HOST_OBJ) $(SAN_UNIT_HLP) $(SAN_EFI_OBJ) $(patsubst %,%.o,$(SAN_UNIT_BINS))

# For `make test`: build what builds (-k), log the rest for tests/sanitize/*.sh to report; never stop the
# build.
sanitize-try:
	@mkdir -p $(SAN_DIR)
	@$(MAKE) --no-print-directory -k sanitize >$(SAN_DIR)/build.log 2>&1 || echo "sanitize build had failures (see $(SAN_DIR)/build.log)"

test-build: sanitize-try
