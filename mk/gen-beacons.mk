# Builds $(BUILD)/gen-beacons, the synthetic RUM traffic generator
# (tools/gen-beacons.c) used by tests/gen_beacons.sh and tools/demo.sh.

EXTRA_BINS += $(BUILD)/gen-beacons

$(BUILD)/gen-beacons: tools/gen-beacons.c | $(BUILD)
	$(CC) $(CFLAGS) $< -o $@ -lpcap
