# Helpers of the daemon tests (tests/daemon_*.sh, tests/lib/netns.sh); they
# are not tests themselves, so they live in $(BUILD)/helpers, not
# $(BUILD)/tests. Sources: tests/helpers/. Packages: tools/deps/daemon.list.

# Fragments are read before the Makefile's `all` rule: keep it the default.
.DEFAULT_GOAL := all

DAEMON_HELPERS := $(BUILD)/helpers/bvnet $(BUILD)/helpers/xdp_count.bpf.o
EXTRA_BINS += $(DAEMON_HELPERS)

$(BUILD)/helpers/bvnet: tests/helpers/bvnet.c $(BUILD)/obj/loader.o $(USER_HDRS) $(SKEL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< $(BUILD)/obj/loader.o -o $@ $(LIBS)

$(BUILD)/helpers/xdp_count.bpf.o: tests/helpers/xdp_count.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
