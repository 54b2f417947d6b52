# tests/unit/unit.mk - extra link inputs for the unit tests (tests/tests.mk has the generic rule).
#
# Every unit test links the image builder (tests/unit/imgbuild.c) and the in-memory backend, so a new
# tests/unit/test_NAME.c builds and links with no list to edit: the static pattern rule below takes precedence
# over the implicit pattern rule of tests/tests.mk.  Two tests are built their own way (rules further down):
# test_mem links build/core/mem.o (kept out of the host core library) and nothing else from the core, and is
# compiled with -fno-builtin so its calls reach mem.o rather than compiler built-ins; test_options links the boot
# module's firmware-free files instead of the core.

UNIT_IMGBUILD := $(BUILD)/tests/unit/imgbuild.o
UNIT_MEM_BIN  := $(BUILD)/tests/unit/test_mem
UNIT_OPT_BIN  := $(BUILD)/tests/unit/test_options
UNIT_IB_BINS  := $(filter-out $(UNIT_MEM_BIN) $(UNIT_OPT_BIN),$(UNIT_BINS))

$(UNIT_IMGBUILD): tests/unit/imgbuild.c $(UNIT_HDR) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -Itests/unit -c $< -o $@

$(UNIT_IB_BINS): $(BUILD)/tests/unit/%: tests/unit/%.c $(UNIT_HELPER) $(UNIT_IMGBUILD) $(CORE_LIB) $(UNIT_HDR) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -Itests/unit $< $(UNIT_HELPER) $(UNIT_IMGBUILD) $(CORE_LIB) -o $@

$(UNIT_MEM_BIN): tests/unit/test_mem.c $(CORE_MEM_OBJ) $(UNIT_HDR) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -fno-builtin $(NO_LOOP_PATTERNS) -Itests/unit $< $(CORE_MEM_OBJ) -o $@

# The boot module's option logic (efi/optparse.c, disksel.c, ucs2.c, pinparse.c: no firmware calls) built for the
# host, with tests/unit/optshim.c in place of the console and pool memory (issue 9).
UNIT_OPT_SRC  := $(EFI_PORTABLE_SRC) tests/unit/optshim.c
UNIT_OPT_HDR  := $(EFI_PORTABLE_HDR) tests/unit/optshim.h

$(UNIT_OPT_BIN): tests/unit/test_options.c $(UNIT_OPT_SRC) $(UNIT_OPT_HDR) $(UNIT_HDR) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -Iefi -Itests/unit $< $(UNIT_OPT_SRC) $(CORE_LIB) -o $@
