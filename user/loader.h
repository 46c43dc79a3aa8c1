/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Opening and loading the BPF object (the libbpf skeleton), reading the
 * counters, and the names of decisions and counters. Attaching to an
 * interface is not done here (libxdp must load the object itself for
 * multiprog attach; see XDP-NOTES.md).
 *
 * The loader does not write any configuration into the maps: callers run
 * bv_config_defaults()/bv_config_load() and bv_config_apply() themselves.
 */
#ifndef BV_LOADER_H
#define BV_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "bv_abi.h"
#include "config.h"

struct beaconveil_bpf;

struct bv_load_opts {
	enum bv_mode mode;  /* written to .rodata bv_mode before load */
	bool pin;           /* pin maps under BV_PIN_DIR (mounting bpffs if needed);
	                       false: no map is pinned or reused, /sys/fs/bpf untouched */
	__u32 max_flows;    /* entries of bv_flows; 0 = the object's default */
};

/*
 * Opens and loads the skeleton. NULL on failure with the cause in err:
 * "permission denied: loading BPF needs root (CAP_BPF, CAP_NET_ADMIN)",
 * the last lines of the verifier log, a pinned-map mismatch, or libbpf's
 * last message. libbpf's own output is captured, not printed; set the
 * environment variable BEACONVEIL_LIBBPF_DEBUG=1 to see it on stderr.
 */
struct beaconveil_bpf *bv_open_and_load(const struct bv_load_opts *o, char *err, size_t errlen);

/* The fds bv_config_apply() writes to. */
void bv_map_fds_get(struct beaconveil_bpf *s, struct bv_map_fds *fds);

/* out[i] = bv_stats[i] summed over all possible CPUs. 0 ok, -1 (errno set). */
int bv_stats_read(int stats_fd, __u64 out[BV_ST_MAX]);

/* SPEC §3 decision names ("pass", "anonymized", ..., "malformed");
 * "unknown" outside enum bv_decision. */
const char *bv_decision_name(int d);

/*
 * Counter names: the enum bv_stat name lower-cased without "BV_ST_"
 * (BV_ST_PKTS -> "pkts", BV_ST_FLOW_NEW -> "flow_new"). Indices below
 * BV_DEC_MAX are the decisions and give bv_decision_name(), so any index of
 * bv_stats has a name; "unknown" at or beyond BV_ST_MAX. All names of both
 * tables are distinct.
 */
const char *bv_stat_name(int s);

/*
 * Largest frame a program without BPF_F_XDP_HAS_FRAGS ("xdp.frags") sees
 * whole under BPF_PROG_TEST_RUN: bytes in the linear part of the xdp_buff
 * (PAGE_SIZE - XDP_PACKET_HEADROOM - skb_shared_info; 3520 on x86_64 with
 * 4 KiB pages). Bigger frames are accepted by the kernel but split into
 * fragments the program never sees. Measured once with a 4-instruction
 * probe program, falling back to the computed value.
 */
size_t bv_xdp_linear_max(void);

#endif /* BV_LOADER_H */
