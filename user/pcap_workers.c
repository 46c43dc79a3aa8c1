/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The workers of `beaconveil pcap` (pcap_workers.h). A batch is handed out
 * under one mutex: each thread waits for the batch number to move, runs
 * the frames given to it, and the last one to finish wakes the caller,
 * which meanwhile reads and writes the capture.
 * Threads are pinned so that each runs on its own CPU's scratch copy and
 * counters (per-CPU maps): the kernel keeps a run on one CPU anyway.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

#include "pcap_workers.h"

struct bv_pcap_worker {
	struct bv_pcap_workers *pool;
	pthread_t th;
	int id, cpu, started;
};

struct bv_pcap_workers {
	int prog_fd, jobs;
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	unsigned long batch;  /* moves when a batch is handed out */
	int pending;          /* workers still running the batch */
	int quit;
	struct bv_pcap_frame *fr;
	size_t n;
	struct bv_pcap_worker *w;
	void (*tick)(void *);
	void *tick_arg;
};

int bv_pcap_cpus(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 1;
	n = CPU_COUNT(&set);
	return n > 0 ? n : 1;
}

/* The k-th CPU of this process's affinity mask, or -1. */
static int nth_cpu(int k)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set) && k-- == 0)
			return c;
	return -1;
}

static void pin(pthread_t th, int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* only speed depends on it: a refused pin leaves the thread free */
	(void)pthread_setaffinity_np(th, sizeof(set), &set);
}

static void run_one(int prog_fd, struct bv_pcap_frame *f)
{
	/* with ctx_out the kernel says where the frame starts in data_out:
	 * metadata the program put in front comes first */
	struct xdp_md ctx_in = { .data = 0, .data_end = f->in_len }, ctx_out = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, t,
		    .data_in = f->in,
		    .data_size_in = f->in_len,
		    .data_out = f->out,
		    .data_size_out = f->in_len + BV_PCAP_FRAME_GROWTH,
		    .ctx_in = &ctx_in,
		    .ctx_size_in = sizeof(ctx_in),
		    .ctx_out = &ctx_out,
		    .ctx_size_out = sizeof(ctx_out),
		    .repeat = 1);

	f->err = 0;
	if (bpf_prog_test_run_opts(prog_fd, &t)) {
		f->err = errno ? errno : EIO;
		return;
	}
	f->act = (int)t.retval;
	f->out_len = t.data_size_out;
	f->meta = ctx_out.data;
}

static void run_mine(struct bv_pcap_workers *p, int id)
{
	unsigned k = 0;

	for (size_t i = 0; i < p->n; i++) {
		if (p->fr[i].worker != id)
			continue;
		run_one(p->prog_fd, &p->fr[i]);
		if (id == 0 && p->tick && ++k % 64 == 0)
			p->tick(p->tick_arg);
	}
}

void bv_pcap_workers_tick(struct bv_pcap_workers *p, void (*fn)(void *), void *arg)
{
	p->tick = fn;
	p->tick_arg = arg;
}

static void *worker_main(void *arg)
{
	struct bv_pcap_worker *me = arg;
	struct bv_pcap_workers *p = me->pool;
	unsigned long seen = 0;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->quit && p->batch == seen)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->quit)
			break;
		seen = p->batch;
		pthread_mutex_unlock(&p->mu);
		run_mine(p, me->id);
		pthread_mutex_lock(&p->mu);
		if (--p->pending == 0)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct bv_pcap_workers *bv_pcap_workers_new(int prog_fd, int jobs, char *err, size_t errlen)
{
	struct bv_pcap_workers *p = calloc(1, sizeof(*p));

	if (!p || jobs < 1 || !(p->w = calloc((size_t)jobs, sizeof(*p->w)))) {
		snprintf(err, errlen, "%s", jobs < 1 ? "no workers" : "out of memory");
		free(p);
		return NULL;
	}
	p->prog_fd = prog_fd;
	p->jobs = jobs;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	for (int i = 0; i < jobs; i++) {
		p->w[i].pool = p;
		p->w[i].id = i;
		p->w[i].cpu = nth_cpu(i);
	}
	for (int i = 0; i < jobs; i++) {
		int e = pthread_create(&p->w[i].th, NULL, worker_main, &p->w[i]);

		if (e) {
			snprintf(err, errlen, "cannot start worker thread %d of %d: %s", i, jobs,
				 strerror(e));
			bv_pcap_workers_free(p);
			return NULL;
		}
		p->w[i].started = 1;
		pin(p->w[i].th, p->w[i].cpu);
	}
	return p;
}

void bv_pcap_workers_start(struct bv_pcap_workers *p, struct bv_pcap_frame *fr, size_t n)
{
	pthread_mutex_lock(&p->mu);
	p->fr = fr;
	p->n = n;
	p->pending = p->jobs;
	p->batch++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
}

void bv_pcap_workers_wait(struct bv_pcap_workers *p)
{
	pthread_mutex_lock(&p->mu);
	while (p->pending > 0)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	/* the workers wait for the next batch: the caller may read the ring */
	if (p->tick)
		p->tick(p->tick_arg);
}

void bv_pcap_workers_free(struct bv_pcap_workers *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->jobs; i++)
		if (p->w[i].started)
			pthread_join(p->w[i].th, NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	free(p->w);
	free(p);
}
