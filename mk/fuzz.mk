# Fuzzing and sanitizers (docs/SECURITY.md). Packages: tools/deps/fuzz.list.
#
#   make fuzz         packet fuzzer + config fuzzer in parallel for FUZZ_SECONDS
#                     (default 300), corpus kept in $(BUILD)/fuzz/corpus/,
#                     crashes in $(BUILD)/fuzz/artifacts/ (copy the ones you
#                     keep to tests/fuzz/crashes/{packet,config}/)
#   make fuzz-bins    the libFuzzer targets and the seed generator
#   make asan-bins    user/ and the cmocka tests test_config, test_textmask,
#                     test_pktbuild with -fsanitize=address,undefined
#
# `make check` runs both through tests/fuzz_short.sh and tests/sanitizers.sh.
# Separate object trees: $(BUILD)/asan (ASan+UBSan, its own copy of the
# skeleton) and $(BUILD)/fuzz (the same plus libFuzzer's coverage).

# This fragment is read before the Makefile's `all` rule.
.DEFAULT_GOAL := all

FUZZ_SECONDS ?= 300
ASAN_DIR  := $(BUILD)/asan
FUZZ_DIR  := $(BUILD)/fuzz
ASAN_SKEL := $(ASAN_DIR)/beaconveil.skel.h

# Other people's code is built with their warnings but not -Werror (clang
# warns about things gcc does not); tests/fuzz/ is built with -Werror.
SAN_FLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	       -fno-sanitize-recover=all
SAN_CFLAGS  := -I$(ASAN_DIR) $(filter-out -Werror -O0 -O1 -O2 -O3 -Os,$(CFLAGS)) $(SAN_FLAGS)
FZ_CFLAGS   := $(SAN_CFLAGS) -fsanitize=fuzzer-no-link
OWN_CFLAGS  := -Werror -Itests -Itests/fuzz

ASAN_USER_OBJS := $(patsubst user/%.c,$(ASAN_DIR)/obj/%.o,$(USER_SRCS))
ASAN_TLIB_OBJS := $(patsubst tests/%.c,$(ASAN_DIR)/obj/tests/%.o,$(TEST_LIB_SRCS))
ASAN_TESTS     := $(patsubst %,$(ASAN_DIR)/tests/%,test_config test_textmask test_pktbuild)
FZ_USER_OBJS   := $(patsubst user/%.c,$(FUZZ_DIR)/obj/%.o,$(USER_SRCS))
FZ_TLIB_OBJS   := $(patsubst tests/%.c,$(FUZZ_DIR)/obj/tests/%.o,$(TEST_LIB_SRCS))
FZ_SUPPORT     := fz_common fz_frame fz_oracle
FZ_HDRS        := $(wildcard tests/fuzz/*.h) $(wildcard tests/*.h) $(USER_HDRS)

$(ASAN_SKEL): $(SKEL)
	@mkdir -p $(@D)
	cp $< $@

$(ASAN_DIR)/obj/%.o: user/%.c $(USER_HDRS) $(ASAN_SKEL)
	@mkdir -p $(@D)
	$(CLANG) $(SAN_CFLAGS) -c $< -o $@

$(ASAN_DIR)/obj/tests/%.o: tests/%.c $(wildcard tests/*.h) $(USER_HDRS) $(ASAN_SKEL)
	@mkdir -p $(@D)
	$(CLANG) $(SAN_CFLAGS) -Itests -c $< -o $@

$(ASAN_DIR)/obj/fz/%.o: tests/fuzz/%.c $(FZ_HDRS) $(ASAN_SKEL)
	@mkdir -p $(@D)
	$(CLANG) $(SAN_CFLAGS) $(OWN_CFLAGS) -c $< -o $@

$(ASAN_DIR)/tests/%: tests/%.c $(ASAN_USER_OBJS) $(ASAN_TLIB_OBJS) $(wildcard tests/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(SAN_CFLAGS) -Itests $< $(ASAN_USER_OBJS) $(ASAN_TLIB_OBJS) -o $@ $(LIBS) $(TEST_LIBS)

$(FUZZ_DIR)/obj/%.o: user/%.c $(USER_HDRS) $(ASAN_SKEL)
	@mkdir -p $(@D)
	$(CLANG) $(FZ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/obj/tests/%.o: tests/%.c $(wildcard tests/*.h) $(USER_HDRS) $(ASAN_SKEL)
	@mkdir -p $(@D)
	$(CLANG) $(FZ_CFLAGS) -Itests -c $< -o $@

$(FUZZ_DIR)/obj/fz/%.o: tests/fuzz/%.c $(FZ_HDRS) $(ASAN_SKEL)
	@mkdir -p $(@D)
	$(CLANG) $(FZ_CFLAGS) $(OWN_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/fuzz_packet: $(FUZZ_DIR)/obj/fz/fuzz_packet.o $(FZ_SUPPORT:%=$(FUZZ_DIR)/obj/fz/%.o) \
		$(FZ_USER_OBJS) $(FZ_TLIB_OBJS)
	$(CLANG) $(SAN_FLAGS) -fsanitize=fuzzer $^ -o $@ $(LIBS) $(CRYPTO_LIBS)

$(FUZZ_DIR)/fuzz_config: $(FUZZ_DIR)/obj/fz/fuzz_config.o $(FZ_USER_OBJS)
	$(CLANG) $(SAN_FLAGS) -fsanitize=fuzzer $^ -o $@ $(LIBS)

$(FUZZ_DIR)/fz_seeds: $(ASAN_DIR)/obj/fz/fz_seeds.o $(ASAN_DIR)/obj/fz/fz_common.o \
		$(ASAN_DIR)/obj/fz/fz_frame.o $(ASAN_DIR)/obj/tests/pktbuild.o
	@mkdir -p $(@D)
	$(CLANG) $(SAN_FLAGS) $^ -o $@ $(LIBS)

.PHONY: fuzz fuzz-bins asan-bins
fuzz-bins: $(FUZZ_DIR)/fuzz_packet $(FUZZ_DIR)/fuzz_config $(FUZZ_DIR)/fz_seeds
asan-bins: $(ASAN_TESTS)

fuzz: deps
	$(MAKE) fuzz-bins
	BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/long.sh
