# `make bench` (not part of `make check`): per-packet cost under
# BPF_PROG_TEST_RUN against an empty XDP program, growth series, offline
# comparison with tcprewrite, and a live run on a veth pair in a throwaway
# network namespace. Writes docs/BENCHMARKS.md. Needs root.
# Scripts and sources: tools/bench/; packages: tools/deps/bench.list.

# This fragment is read before the Makefile's `all` rule: keep `all` the
# default goal whatever rules the fragments define first.
.DEFAULT_GOAL := all

BENCH_BINS := $(BUILD)/bv-bench $(BUILD)/bv-attach
EXTRA_BINS += $(BENCH_BINS)

$(BUILD)/empty.bpf.o: bpf/empty.bpf.c | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/empty.skel.h: $(BUILD)/empty.bpf.o
	$(BPFTOOL) gen skeleton $< name empty_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/bv-bench: tools/bench/bv-bench.c $(BUILD)/empty.skel.h $(SKEL) $(USER_OBJS) $(TEST_LIB_OBJS) $(USER_HDRS) $(wildcard tests/*.h)
	$(CC) $(CFLAGS) -Itests $< $(USER_OBJS) $(TEST_LIB_OBJS) -o $@ $(LIBS) $(CRYPTO_LIBS)

$(BUILD)/bv-attach: tools/bench/bv-attach.c $(BUILD)/empty.skel.h $(SKEL) $(USER_OBJS) $(USER_HDRS)
	$(CC) $(CFLAGS) $< $(USER_OBJS) -o $@ $(LIBS)

.PHONY: bench
bench: deps
	$(MAKE) all
	tools/bench/bench.sh
