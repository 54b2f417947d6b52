# SPDX-License-Identifier: BSD-2-Clause
# install.mk - the manual pages (man/*.scd -> build/man/), `make install`, `make uninstall` and
# `make deb`.  Included by the root Makefile.
#
#   make install   [PREFIX=/usr/local] [DESTDIR=]   the tool, the EFI binaries, the pages, bash completion, and
#                                                   the initramfs-tools integration where initramfs/ has it
#   make uninstall [PREFIX=...] [DESTDIR=...]       removes exactly what install put there
#   make deb                                        the Debian package, built from a copy of the tree, into
#                                                   build/deb/ (dpkg-buildpackage -b -us -uc)
#
# install records every file it installs and every directory it had to create in INSTALL_MANIFEST (under
# DESTDIR); uninstall removes those files, then those directories that are empty, then nothing else.  Without
# the record it removes the files of the current list only.

PREFIX        ?= /usr/local
DESTDIR       ?=
BINDIR        ?= $(PREFIX)/bin
VHDXBOOT_LIBDIR ?= $(PREFIX)/lib/vhdxboot
MANDIR        ?= $(PREFIX)/share/man
BASHCOMPDIR   ?= $(PREFIX)/share/bash-completion/completions
# initramfs-tools reads hooks and scripts from here only, whatever PREFIX is
INITRAMFSDIR  ?= /usr/share/initramfs-tools
INSTALL_MANIFEST ?= $(VHDXBOOT_LIBDIR)/make-install.list
SCDOC         ?= scdoc

MAN_SRC := $(wildcard man/*.scd)
MAN_OUT := $(patsubst man/%.scd,$(BUILD)/man/%,$(MAN_SRC))
ALL_TARGETS += $(MAN_OUT)

.PHONY: man install uninstall deb FORCE
man: $(MAN_OUT)

$(BUILD)/man/%: man/%.scd
	@mkdir -p $(dir $@)
	$(SCDOC) <$< >$@.tmp && mv $@.tmp $@

# Distribution build flags (dpkg-buildflags' hardening, from debian/rules) for the host tool only: the EFI code and
# the freestanding core keep their own code generation.
HOST_EXTRA_CFLAGS  ?=
HOST_EXTRA_LDFLAGS ?=
$(HOST_OBJ): HOST_CFLAGS += $(HOST_EXTRA_CFLAGS)
$(HOST_BIN): HOST_CFLAGS += $(HOST_EXTRA_CFLAGS) $(HOST_EXTRA_LDFLAGS)

# `vhdx install-boot` looks for the EFI binaries where install puts them: the path is compiled in, and the object
# is rebuilt when it changes (a stamp holding the path, rewritten only when it differs).
VHDXBOOT_LIBDIR_STAMP := $(BUILD)/host/libdir.stamp
$(BUILD)/host/installboot.o: HOST_CFLAGS += -DVHDX_LIBDIR='"$(VHDXBOOT_LIBDIR)"'
$(BUILD)/host/installboot.o: $(VHDXBOOT_LIBDIR_STAMP)
$(VHDXBOOT_LIBDIR_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(VHDXBOOT_LIBDIR)' | cmp -s - $@ || echo '$(VHDXBOOT_LIBDIR)' >$@
FORCE:

# What install puts where: MODE|SOURCE|DESTINATION, one per file.  Expanded when the recipe runs, after `all`, so
# per-architecture builds (build/x86_64, build/aa64, build/ia32) and initramfs files count when they exist.
INSTALL_ARCHES := x86_64:x64 aa64:aa64 ia32:ia32
INSTALL_FILES = \
	'755|$(HOST_BIN)|$(BINDIR)/vhdx' \
	'644|$(BUILD)/efi/vhdxboot.efi|$(VHDXBOOT_LIBDIR)/vhdxboot.efi' \
	$(foreach a,$(INSTALL_ARCHES),$(if $(wildcard $(BUILD)/$(firstword $(subst :, ,$a))/vhdxboot.efi),\
		'644|$(BUILD)/$(firstword $(subst :, ,$a))/vhdxboot.efi|$(VHDXBOOT_LIBDIR)/vhdxboot$(lastword $(subst :, ,$a)).efi')) \
	$(foreach m,$(MAN_OUT),'644|$m|$(MANDIR)/man$(subst .,,$(suffix $m))/$(notdir $m)') \
	'644|completion/vhdx.bash|$(BASHCOMPDIR)/vhdx' \
	$(if $(wildcard initramfs/hooks/vhdx),'755|initramfs/hooks/vhdx|$(INITRAMFSDIR)/hooks/vhdx') \
	$(if $(wildcard initramfs/scripts/local-top/vhdx),'755|initramfs/scripts/local-top/vhdx|$(INITRAMFSDIR)/scripts/local-top/vhdx')

install: all
	@set -e; \
	manifest='$(INSTALL_MANIFEST)'; rec=$$(mktemp); trap 'rm -f "$$rec"' EXIT; \
	if [ -n "$$manifest" ] && [ -f '$(DESTDIR)'"$$manifest" ]; then grep -v '^#' '$(DESTDIR)'"$$manifest" >"$$rec"; fi; \
	mkd() { [ -d '$(DESTDIR)'"$$1" ] && return 0; \
		if [ "$$1" = / ] || [ "$$1" = . ]; then mkdir -p '$(DESTDIR)/'; return 0; fi; \
		mkd "$$(dirname "$$1")"; \
		mkdir '$(DESTDIR)'"$$1"; echo "dir $$1" >>"$$rec"; }; \
	for f in $(INSTALL_FILES); do \
		mode=$${f%%|*}; rest=$${f#*|}; src=$${rest%%|*}; dst=$${rest#*|}; \
		mkd "$$(dirname "$$dst")"; \
		install -m "$$mode" "$$src" '$(DESTDIR)'"$$dst"; echo "file $$dst" >>"$$rec"; \
		echo "installed $(DESTDIR)$$dst"; \
	done; \
	if [ -n "$$manifest" ]; then \
		mkd "$$(dirname "$$manifest")"; echo "file $$manifest" >>"$$rec"; \
		{ echo '# make install: what it created (make uninstall removes it)'; sort -u "$$rec"; } \
			>'$(DESTDIR)'"$$manifest"; \
		chmod 644 '$(DESTDIR)'"$$manifest"; \
		echo "recorded in $(DESTDIR)$$manifest"; \
	fi

uninstall:
	@set -e; \
	manifest='$(INSTALL_MANIFEST)'; \
	if [ -n "$$manifest" ] && [ -f '$(DESTDIR)'"$$manifest" ]; then \
		files=$$(sed -n 's/^file //p' '$(DESTDIR)'"$$manifest"); \
		dirs=$$(sed -n 's/^dir //p' '$(DESTDIR)'"$$manifest" | awk '{ print length($$0) " " $$0 }' | \
			sort -rn | cut -d' ' -f2-); \
	else \
		echo "no $(DESTDIR)$$manifest: removing the files of the current list only"; \
		files=; for f in $(INSTALL_FILES); do files="$$files $${f##*|}"; done; dirs=; \
	fi; \
	for f in $$files; do \
		if [ -e '$(DESTDIR)'"$$f" ] || [ -L '$(DESTDIR)'"$$f" ]; then \
			rm -f '$(DESTDIR)'"$$f"; echo "removed $(DESTDIR)$$f"; fi; \
	done; \
	for d in $$dirs; do \
		if rmdir '$(DESTDIR)'"$$d" 2>/dev/null; then echo "removed $(DESTDIR)$$d"; \
		elif [ -d '$(DESTDIR)'"$$d" ]; then echo "kept $(DESTDIR)$$d: not empty"; fi; \
	done

# The package is built from a copy of the tree in $(BUILD)/deb/src, so dpkg-buildpackage's results land in
# $(BUILD)/deb/ (not in the parent of the checkout) and its clean step cannot touch this tree's build/.
DEB_DIR := $(BUILD)/deb
deb:
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/src
	tar --exclude=./.git --exclude='./$(BUILD)' --exclude=./build -cf - . | tar -C $(DEB_DIR)/src -xf -
	cd $(DEB_DIR)/src && dpkg-buildpackage -b -us -uc
	ls -l $(DEB_DIR)/*.deb
