/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Threads that run a batch of frames through the XDP program with
 * BPF_PROG_TEST_RUN, one thread per CPU (`beaconveil pcap --jobs`). The
 * caller gives each frame a worker; a worker runs its frames in the
 * batch's order, so frames of one connection given to one worker see the
 * program's flow state as a single run would. While a batch runs, the
 * caller is free (to write the last batch and read the next).
 */
#ifndef BV_PCAP_WORKERS_H
#define BV_PCAP_WORKERS_H

#include <stddef.h>
#include <linux/types.h>

/* One frame of a batch: in, and what the run made of it. */
struct bv_pcap_frame {
	const unsigned char *in;
	unsigned char *out;   /* room for in_len + BV_PCAP_FRAME_GROWTH bytes */
	__u32 in_len;
	__u32 out_len;        /* data_size_out */
	__u32 meta;           /* ctx_out.data: metadata bytes before the frame */
	int act;              /* the XDP action */
	int err;              /* 0, or the errno of BPF_PROG_TEST_RUN */
	int worker;           /* set by the caller */
};

/* What a run can add in front (bpf_xdp_adjust_meta); frames never grow. */
#define BV_PCAP_FRAME_GROWTH 256

struct bv_pcap_workers;

/* jobs threads, pinned to the first jobs CPUs this process may run on.
 * NULL with a message in err. */
struct bv_pcap_workers *bv_pcap_workers_new(int prog_fd, int jobs, char *err, size_t errlen);

/* fn(arg) is called by worker 0 every 64 of its frames, and by the caller
 * in bv_pcap_workers_wait (the event ring's reader: it must not fill while
 * a batch runs; never two threads at once). */
void bv_pcap_workers_tick(struct bv_pcap_workers *w, void (*fn)(void *), void *arg);

/* Starts fr[0..n) (each on fr[i].worker < jobs); fr must stay put until
 * bv_pcap_workers_wait, which returns when all ran. One batch at a time. */
void bv_pcap_workers_start(struct bv_pcap_workers *w, struct bv_pcap_frame *fr, size_t n);
void bv_pcap_workers_wait(struct bv_pcap_workers *w);

void bv_pcap_workers_free(struct bv_pcap_workers *w);

/* CPUs this process may run on (at least 1). */
int bv_pcap_cpus(void);

#endif /* BV_PCAP_WORKERS_H */
