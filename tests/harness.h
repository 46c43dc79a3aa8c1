/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Data-plane test harness: the real BPF object, loaded unpinned (nothing
 * under /sys/fs/bpf is touched or reused), with the default config applied;
 * packets go through it one BPF_PROG_TEST_RUN each (repeat 1).
 * Needs root (CAP_BPF, CAP_NET_ADMIN).
 */
#ifndef BV_TESTS_HARNESS_H
#define BV_TESTS_HARNESS_H

#include <stddef.h>
#include <linux/types.h>
#include "config.h"
#include "loader.h"

struct bv_harness {
	struct beaconveil_bpf *skel;
	int prog_fd;
	struct bv_map_fds fds;
	int stats_fd, flows_fd, half_fd; /* bv_stats, bv_flows, bv_half */
	struct bv_config cfg;       /* what harness_apply() writes */
	__u32 ingress_ifindex;      /* of the next runs; 0: loopback */
	/* Set by harness_run(): XDP metadata the program put in front of
	 * the frame (struct bv_meta when it tags), not part of the output. */
	unsigned char meta[256];
	size_t meta_len;
};

/* Load unpinned in mode with the default config applied; 0 ok, -1 with
 * the cause on stderr (h is then zeroed; harness_close() is harmless). */
int  harness_open(struct bv_harness *h, enum bv_mode mode);

/* Re-apply h->cfg to the maps after a test edited it; 0 ok, -1 (stderr). */
int  harness_apply(struct bv_harness *h);

/* Destroys the skeleton, frees h->cfg, zeroes h. */
void harness_close(struct bv_harness *h);

/*
 * One test run of in[0..len). Returns the XDP action (XDP_PASS, XDP_DROP,
 * ...) or -1 on error (message on stderr).
 * out/outlen: *outlen is the capacity of out on entry and the length of the
 * output frame on return (from the Ethernet header on: XDP metadata goes to
 * h->meta, not to out). If the frame does not fit, -1 is returned (never
 * truncated silently) with *outlen set to the size needed. out == NULL,
 * outlen == NULL or *outlen == 0: the frame is not copied (*outlen, if
 * given, still gets its length). Frames over bv_xdp_linear_max() bytes are
 * split by the kernel into fragments that a program without frags support
 * never sees.
 */
int  harness_run(struct bv_harness *h, const void *in, size_t len, void *out, size_t *outlen);

/* bv_stats[idx] summed over CPUs; 0 if it cannot be read (stderr). */
__u64 harness_stat(struct bv_harness *h, int idx);

/* Empties bv_flows and bv_half (forget every connection). */
void harness_clear_flows(struct bv_harness *h);

#endif /* BV_TESTS_HARNESS_H */
