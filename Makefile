# SPDX-License-Identifier: BSD-2-Clause
# vhdxboot - top-level build.  `make` builds everything it can without the network (and installs nothing),
# `make fetch` downloads what the build can use beyond the installed packages (into build/cache), `make test`
# installs what the tests need, fetches, builds and runs every test, `make bench` the benchmarks, `make demo` the
# boot module end to end under QEMU.  Each part adds its own rules in a fragment below.

BUILD    ?= build
CC       ?= cc
WARN     := -Wall -Wextra -Werror
OPT      ?= -O2 -g
# The core is built freestanding even on the host, so a libc dependency fails to compile rather than slip in.
CORE_CFLAGS := -std=c11 $(WARN) $(OPT) -ffreestanding -fno-strict-aliasing -Icore
HOST_CFLAGS := -std=c11 $(WARN) $(OPT) -D_GNU_SOURCE -Icore

CORE_SRC := $(wildcard core/*.c)
CORE_HDR := $(wildcard core/*.h)
CORE_OBJ := $(patsubst core/%.c,$(BUILD)/core/%.o,$(CORE_SRC))
# On the host libc supplies memcpy and friends; core/mem.c is for firmware (and its own unit test), so it stays out
# of the library, where the archive scan would otherwise pick it ahead of libc.
CORE_MEM_OBJ := $(BUILD)/core/mem.o
CORE_LIB := $(BUILD)/core/libvhdxcore.a
# Stop gcc turning the byte loops of mem.c back into calls to themselves.
NO_LOOP_PATTERNS := $(shell $(CC) -fno-tree-loop-distribute-patterns -E -x c /dev/null >/dev/null 2>&1 && echo -fno-tree-loop-distribute-patterns)

ALL_TARGETS   :=
TEST_DEPS     :=
# phony targets that download into $(BUILD)/cache; `make fetch` runs them all
FETCH_TARGETS :=

.PHONY: all test bench demo deps fetch clean
.DEFAULT_GOAL := all

$(BUILD)/core/%.o: core/%.c $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -c $< -o $@

$(CORE_MEM_OBJ): CORE_CFLAGS += $(NO_LOOP_PATTERNS)

$(CORE_LIB): $(filter-out $(CORE_MEM_OBJ),$(CORE_OBJ))
	@rm -f $@
	ar rcs $@ $^

# A missing fragment is an error, not a silently smaller build; the suites' fragments are whatever exists.
include host/host.mk
include efi/efi.mk
include tests/tests.mk
include $(wildcard tests/*/*.mk)
# manual pages, make install / uninstall, make deb
include install.mk

# Plain `make` only builds: it installs and downloads nothing.  x86_64 always; aa64 and ia32 where their compiler
# and gnu-efi files are present, and one line names what was left out and what adds it.  Packages (gnu-efi for
# the boot module, the test tools) come from tests/deps.sh, which `make test`, `make bench` and `make demo` run
# first (and CI runs before anything); downloads from `make fetch`, which `make test` runs after it.
all: $(ALL_TARGETS)
ifneq ($(EFI_SKIPPED),)
	@echo "make: skipped $(EFI_SKIPPED)"
endif

fetch: $(FETCH_TARGETS)

clean:
	rm -rf $(BUILD)
