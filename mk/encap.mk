# The helper of tests/encap_vxlan.sh (tests/helpers/regeneve.c): VXLAN
# frames of a capture rewrapped as GENEVE by tests/pktbuild.c, for kernels
# without GENEVE. Not a test itself, so in $(BUILD)/helpers.

# Fragments are read before the Makefile's `all` rule: keep it the default.
.DEFAULT_GOAL := all

EXTRA_BINS += $(BUILD)/helpers/regeneve

$(BUILD)/helpers/regeneve: tests/helpers/regeneve.c $(BUILD)/obj/tests/pktbuild.o tests/pktbuild.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests $< $(BUILD)/obj/tests/pktbuild.o -o $@ -lpcap
