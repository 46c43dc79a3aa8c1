# `make install` / `make uninstall` (docs/DEPLOY.md). PREFIX and DESTDIR
# as usual; the config goes to $(SYSCONFDIR), /etc by default, not under
# PREFIX, because the unit and the man page name /etc/beaconveil. The BPF
# object is embedded in the binary (bpftool's skeleton): nothing else to
# install for it. Test: tests/install.sh.

# Fragments are read before the Makefile's `all` rule: keep it the default.
.DEFAULT_GOAL := all

PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/beaconveil
SYSCONFDIR ?= /etc
# systemd reads /usr/local/lib/systemd/system too, so the default PREFIX works.
UNITDIR    ?= $(PREFIX)/lib/systemd/system
INSTALL    ?= install

BV_CONF  := $(DESTDIR)$(SYSCONFDIR)/beaconveil/beaconveil.conf
BV_UNIT  := $(DESTDIR)$(UNITDIR)/beaconveil@.service
# Paths the unit and the man page mention, as installed.
BV_SUBST := sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		-e 's|@DOCDIR@|$(DOCDIR)|g'

.PHONY: install uninstall
install: $(BUILD)/beaconveil
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 0755 $(BUILD)/beaconveil $(DESTDIR)$(SBINDIR)/beaconveil
	$(BV_SUBST) deploy/systemd/beaconveil@.service.in > $(BV_UNIT).tmp
	$(INSTALL) -m 0644 $(BV_UNIT).tmp $(BV_UNIT) && rm -f $(BV_UNIT).tmp
	$(BV_SUBST) docs/beaconveil.8.in > $(DESTDIR)$(MANDIR)/man8/beaconveil.8.tmp
	$(INSTALL) -m 0644 $(DESTDIR)$(MANDIR)/man8/beaconveil.8.tmp $(DESTDIR)$(MANDIR)/man8/beaconveil.8
	rm -f $(DESTDIR)$(MANDIR)/man8/beaconveil.8.tmp
	$(INSTALL) -m 0644 beaconveil.conf.example $(DESTDIR)$(DOCDIR)/beaconveil.conf.example
	@# 0600: the file may hold the [anonymize] key (docs/CONFIG.md).
	$(INSTALL) -d -m 0755 $(dir $(BV_CONF))
	@if [ -e $(BV_CONF) ]; then \
		echo "install: keeping the existing $(BV_CONF)"; \
	else \
		$(INSTALL) -m 0600 beaconveil.conf.example $(BV_CONF) && \
		echo "install: $(BV_CONF) from beaconveil.conf.example"; \
	fi
	@[ -n "$(DESTDIR)" ] || echo "install: now 'systemctl daemon-reload', then 'systemctl enable --now beaconveil@IFACE'"

# The config stays when it differs from the example it was installed from:
# it is the operator's now.
# Compared with the installed copy of the example, not the source tree's,
# which may have changed since.
uninstall:
	@if [ -e $(BV_CONF) ] && ! cmp -s $(BV_CONF) $(DESTDIR)$(DOCDIR)/beaconveil.conf.example; then \
		echo "uninstall: keeping $(BV_CONF) (changed since install)"; \
	else \
		rm -f $(BV_CONF); \
	fi
	rm -f $(DESTDIR)$(SBINDIR)/beaconveil $(BV_UNIT) $(DESTDIR)$(MANDIR)/man8/beaconveil.8 \
		$(DESTDIR)$(DOCDIR)/beaconveil.conf.example
	rmdir $(DESTDIR)$(DOCDIR) $(dir $(BV_CONF)) 2>/dev/null || true
