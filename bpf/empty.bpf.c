/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The reference program of `make bench` (tools/bench/): an XDP program that
 * does nothing but bump one per-CPU counter and pass the packet. Every cost
 * figure in docs/BENCHMARKS.md is a ratio to this program measured in the
 * same run, so that the fixed overhead of BPF_PROG_TEST_RUN / the driver
 * and the machine's speed cancel out. Not part of the product.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} empty_cnt SEC(".maps");

SEC("xdp")
int empty_xdp(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *c = bpf_map_lookup_elem(&empty_cnt, &zero);

	if (c)
		*c += 1;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
