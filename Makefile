# beaconveil — top-level build. `make` builds build/beaconveil and the BPF
# object; `make check` installs what is missing, builds and runs every test.
# Root is needed for check/demo/bench (BPF_PROG_TEST_RUN, XDP, netns).

CLANG     ?= clang
CC        ?= cc
BPFTOOL   ?= bpftool
BUILD     := build
ARCH      := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

CFLAGS    ?= -O2 -g
CFLAGS    += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -I$(BUILD) -Iuser
BPF_CFLAGS := -O2 -g -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Wextra -Werror \
	      -Wno-unused-parameter -Iinclude -Ibpf -I/usr/include/$(MULTIARCH)
LIBS      := $(shell pkg-config --libs libbpf libxdp libpcap inih libmicrohttpd hiredis 2>/dev/null || echo -lbpf -lxdp -lpcap -linih -lmicrohttpd -lhiredis) -lelf -lz -lm
# libcrypto: only the tests' reference Crypto-PAn (tests/cryptopan_ref.c)
CRYPTO_LIBS := $(shell pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)
TEST_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka) $(CRYPTO_LIBS)

BPF_SRC   := bpf/beaconveil.bpf.c
BPF_OBJ   := $(BUILD)/beaconveil.bpf.o
SKEL      := $(BUILD)/beaconveil.skel.h
BPF_HDRS  := $(wildcard bpf/*.h) $(wildcard include/*.h)

USER_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
USER_OBJS := $(patsubst user/%.c,$(BUILD)/obj/%.o,$(USER_SRCS))
USER_HDRS := $(wildcard user/*.h) $(wildcard include/*.h)

TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_LIB_SRCS := $(filter-out $(TEST_SRCS),$(wildcard tests/*.c))
TEST_LIB_OBJS := $(patsubst tests/%.c,$(BUILD)/obj/tests/%.o,$(TEST_LIB_SRCS))

# Fragments for tools and extra targets, one file per topic (mk/*.mk); they
# may add to EXTRA_BINS (built by `all`) and define their own targets.
.DEFAULT_GOAL := all
include $(wildcard mk/*.mk)

.PHONY: all deps check test demo bench clean
all: $(BUILD)/beaconveil $(TEST_BINS) $(EXTRA_BINS)

# The build tree. Phony (its recipe runs every time; as an order-only
# prerequisite it never makes anything rebuild): build/ may exist without
# obj/ and tests/, e.g. when tools/deps/npm.sh (make deps) has installed the
# lab's npm packages into build/lab/ before the first build.
.PHONY: $(BUILD)
$(BUILD):
	@mkdir -p $(BUILD)/obj/tests $(BUILD)/tests

$(BPF_OBJ): $(BPF_SRC) $(BPF_HDRS) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKEL): $(BPF_OBJ)
	$(BPFTOOL) gen skeleton $< name beaconveil_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: user/%.c $(USER_HDRS) $(SKEL) | $(BUILD)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/tests/%.o: tests/%.c $(wildcard tests/*.h) $(USER_HDRS) $(SKEL) | $(BUILD)
	$(CC) $(CFLAGS) -Itests -c $< -o $@

$(BUILD)/beaconveil: user/main.c $(USER_OBJS) $(USER_HDRS) $(SKEL)
	$(CC) $(CFLAGS) user/main.c $(USER_OBJS) -o $@ $(LIBS)

$(BUILD)/tests/%: tests/%.c $(USER_OBJS) $(TEST_LIB_OBJS) $(wildcard tests/*.h) $(SKEL)
	$(CC) $(CFLAGS) -Itests $< $(USER_OBJS) $(TEST_LIB_OBJS) -o $@ $(LIBS) $(TEST_LIBS)

deps:
	tools/deps.sh

# The README's test command: sudo make check
check: deps
	$(MAKE) all
	tools/run-tests.sh

test: all
	tools/run-tests.sh

demo: deps
	$(MAKE) all
	tools/demo.sh

clean:
	rm -rf $(BUILD)
