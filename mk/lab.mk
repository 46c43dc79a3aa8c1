# The real-traffic lab (tools/lab/, tools/demo.sh, tests/e2e_*.sh, docs/LAB.md):
# network namespaces with HAProxy, nginx, curl and headless Chromium around
# `beaconveil run`. Built here: the pass-only XDP program the lab puts on the
# veth ends that receive XDP_TX / redirected frames (see the source for why).
# Packages: tools/deps/lab.list.

# Fragments are read before the Makefile's `all` rule: keep it the default.
.DEFAULT_GOAL := all

LAB_BPF := $(BUILD)/lab/xdp_pass.bpf.o
EXTRA_BINS += $(LAB_BPF)

$(LAB_BPF): tools/lab/xdp_pass.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

.PHONY: lab-up lab-down
lab-up: all
	tools/lab/lab.sh up
lab-down:
	tools/lab/lab.sh down
