# SPDX-License-Identifier: BSD-2-Clause
# host/host.mk - the `vhdx` command-line tool (POSIX), linked against the core library.

HOST_SRC := $(wildcard host/*.c)
HOST_HDR := $(wildcard host/*.h)
HOST_OBJ := $(patsubst host/%.c,$(BUILD)/host/%.o,$(HOST_SRC))
HOST_BIN := $(BUILD)/host/vhdx

$(BUILD)/host/%.o: host/%.c $(HOST_HDR) core/vhdx.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -c $< -o $@

$(HOST_BIN): $(HOST_OBJ) $(CORE_LIB)
	$(CC) $(HOST_CFLAGS) -o $@ $(HOST_OBJ) $(CORE_LIB)

ALL_TARGETS += $(HOST_BIN)

.PHONY: host
host: $(HOST_BIN)
