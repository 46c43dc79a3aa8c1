/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Opening and loading the BPF object (the libbpf skeleton), reading the
 * counters, and the names of decisions and counters. Attaching to an
 * interface is not done here (user/attach.c): libxdp must load the object
 * itself for multiprog attach, so the daemon only bv_open()s the skeleton
 * and hands skel->obj to libxdp, with bv_capture_begin()/bv_capture_end()
 * around the attach for a readable cause of failure.
 *
 * The loader does not write any configuration into the maps: callers run
 * bv_config_defaults()/bv_config_load() and bv_config_apply() themselves.
 */
#ifndef BV_LOADER_H
#define BV_LOADER_H

#include <stdarg.h>
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

/*
 * Opens the skeleton without loading it: .rodata bv_mode set, bv_flows
 * sized, maps set to be pinned by name under BV_PIN_DIR (o->pin; bpffs is
 * mounted if needed) or never pinned. Whoever loads it (libxdp's attach,
 * or beaconveil_bpf__load) reuses pinned maps whose layout matches.
 * NULL on failure with the cause in err.
 */
struct beaconveil_bpf *bv_open(const struct bv_load_opts *o, char *err, size_t errlen);

/*
 * Mounts bpffs at BV_PIN_ROOT if nothing is mounted there and creates
 * BV_PIN_DIR. 0 ok; -1 with "no bpffs at /sys/fs/bpf and mounting it
 * failed: ..." (or why the directory cannot be made) in err.
 */
int bv_bpffs_ensure(char *err, size_t errlen);

/*
 * Capture libbpf's output (and, through bv_capture_vprintf, libxdp's) while
 * another library loads the object. bv_capture_end(e, err, errlen) with a
 * positive errno e writes the cause the way bv_open_and_load() does
 * (verifier log excerpt, pinned-map mismatch, permissions); e = 0 only
 * stops capturing. Not thread-safe; the daemon loads from one thread.
 * Outside a capture, bv_capture_vprintf() prints warnings to stderr and
 * drops the rest.
 */
void bv_capture_begin(void);
void bv_capture_end(int e, char *err, size_t errlen);
int  bv_capture_vprintf(int level, const char *fmt, va_list ap);

/* The fds bv_config_apply() writes to. */
void bv_map_fds_get(struct beaconveil_bpf *s, struct bv_map_fds *fds);

/* out[i] = bv_stats[i] summed over all possible CPUs. 0 ok, -1 (errno set). */
int bv_stats_read(int stats_fd, __u64 out[BV_ST_MAX]);

/* Decision names, as README.md lists them ("pass", "anonymized", ..., "malformed");
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
