/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The figures the daemon reads from the kernel (user/kcounts.h), with the
 * real program under BPF_PROG_TEST_RUN: bv_ifdec counts every decision
 * under its ingress interface, and once the map is full under the overflow
 * row, so the rows always add up to bv_stats' decisions; the positions of
 * bv_events count the events waiting and, once a consumer read them, the
 * events received. Runs in its own network namespace (two veth ends as
 * ingress interfaces). Needs root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "harness.h"
#include "kcounts.h"
#include "pktbuild.h"
#include "beaconveil.skel.h"

static struct bv_harness H;
static __u32 if_a, if_b;        /* ifindex of the veth ends bvkc0, bvkc1 */
static uint16_t next_cport = 41000;

/* A beacon on its own connection (SYN first) arriving on ifindex. */
static void beacon(__u32 ifindex, const char *extra_header)
{
	char req[512];
	uint8_t f[1024];
	struct pkt_opts o = { .family = 4, .src = "203.0.113.57", .dst = "198.18.0.10",
			      .dport = 80, .seq = 999, .tcp_flags = 0x02 };
	size_t n;

	o.sport = next_cport++;
	H.ingress_ifindex = ifindex;
	n = pkt_build_tcp(f, sizeof(f), &o, NULL, 0);
	assert_true(n > 0);
	assert_true(harness_run(&H, f, n, NULL, NULL) >= 0);
	snprintf(req, sizeof(req), "POST /rb_bf1?type=js3 HTTP/1.1\r\nHost: rum.example\r\n%s"
		 "Cookie: dtCookie=v_4_srv_1\r\nContent-Length: 0\r\n\r\n", extra_header);
	o.seq = 1000;
	o.tcp_flags = 0;
	n = pkt_build_tcp(f, sizeof(f), &o, req, strlen(req));
	assert_true(n > 0);
	assert_true(harness_run(&H, f, n, NULL, NULL) >= 0);
}

static const struct bv_ifdec_row *row(const struct bv_ifdec_row *r, size_t n, __u32 ifindex)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].ifindex == ifindex)
			return &r[i];
	return NULL;
}

/* Every decision of bv_stats is in exactly one row. */
static void assert_rows_add_up(const struct bv_ifdec_row *r, size_t n)
{
	for (int d = 0; d < BV_DEC_MAX; d++) {
		__u64 sum = 0;

		for (size_t i = 0; i < n; i++)
			sum += r[i].dec[d];
		assert_int_equal(sum, harness_stat(&H, d));
	}
}

static void test_ifdec_per_interface_and_overflow(void **state)
{
	int fd = bpf_map__fd(H.skel->maps.bv_ifdec), ncpu = libbpf_num_possible_cpus();
	struct bv_ifdec *zero = calloc((size_t)ncpu, sizeof(*zero));
	struct bv_ifdec_row *r;
	const struct bv_ifdec_row *x;
	size_t n, fake = 0;

	(void)state;
	assert_non_null(zero);
	beacon(0, "");                     /* loopback: pass */
	beacon(0, "DNT: 1\r\n");           /* loopback: anonymized */
	beacon(if_a, "DNT: 1\r\n");
	assert_int_equal(bv_ifdec_read(fd, &r, &n), 0);
	assert_int_equal(n, 3);            /* the overflow row first, made first */
	assert_int_equal(r[0].ifindex, BV_IFDEC_OVERFLOW);
	for (int d = 0; d < BV_DEC_MAX; d++)
		assert_int_equal(r[0].dec[d], 0);
	x = row(r, n, 1);
	assert_non_null(x);
	assert_int_equal(x->dec[BV_DEC_PASS], 1);
	assert_int_equal(x->dec[BV_DEC_ANONYMIZED], 1);
	x = row(r, n, if_a);
	assert_non_null(x);
	assert_int_equal(x->dec[BV_DEC_ANONYMIZED], 1);
	assert_rows_add_up(r, n);
	free(r);

	/* Fill the map: a new interface then counts in the overflow row. */
	for (__u32 k = 1000000; fake < BV_IFDEC_MAX; k++, fake++)
		if (bpf_map_update_elem(fd, &k, zero, BPF_NOEXIST)) {
			assert_int_equal(errno, E2BIG);
			break;
		}
	assert_int_equal(fake, BV_IFDEC_MAX - 3);
	beacon(if_b, "");
	beacon(if_b, "DNT: 1\r\n");
	beacon(if_a, "");                  /* had its row already: still counted there */
	assert_int_equal(bv_ifdec_read(fd, &r, &n), 0);
	assert_int_equal(n, BV_IFDEC_MAX);
	assert_null(row(r, n, if_b));
	assert_int_equal(r[0].ifindex, BV_IFDEC_OVERFLOW);
	assert_int_equal(r[0].dec[BV_DEC_PASS], 1);
	assert_int_equal(r[0].dec[BV_DEC_ANONYMIZED], 1);
	assert_int_equal(row(r, n, if_a)->dec[BV_DEC_PASS], 1);
	assert_rows_add_up(r, n);
	free(r);

	/* By name: the overflow row and the veth end under its name. */
	{
		struct bv_ifdec_named *nr;
		size_t nn;
		bool over = false, a = false;

		assert_int_equal(bv_ifdec_named(fd, NULL, 0, &nr, &nn), 0);
		for (size_t i = 0; i < nn; i++) {
			over |= !strcmp(nr[i].name, ":overflow") && nr[i].dec[BV_DEC_PASS] == 1;
			a |= !strcmp(nr[i].name, "bvkc0") && nr[i].dec[BV_DEC_ANONYMIZED] == 1;
		}
		assert_true(over && a);
		free(nr);
	}
	free(zero);
}

static int count_event(void *ctx, void *data, size_t size)
{
	(void)data;
	assert_int_equal(size, sizeof(struct bv_event));
	(*(int *)ctx)++;
	return 0;
}

/* Every decision above sent an event: all waiting, then all received. */
static void test_events_positions(void **state)
{
	int fd = bpf_map__fd(H.skel->maps.bv_events), got = 0;
	__u64 decisions = 0, received, pending;
	struct ring_buffer *rb;

	(void)state;
	for (int d = 0; d < BV_DEC_MAX; d++)
		decisions += harness_stat(&H, d);
	assert_int_equal(decisions, 6);
	assert_int_equal(harness_stat(&H, BV_ST_EVENTS_LOST), 0);
	assert_int_equal(bv_events_counts(fd, &received, &pending), 0);
	assert_int_equal(received, 0);
	assert_int_equal(pending, decisions);
	rb = ring_buffer__new(fd, count_event, &got, NULL);
	assert_non_null(rb);
	assert_int_equal(ring_buffer__consume(rb), (int)decisions);
	ring_buffer__free(rb);
	assert_int_equal(got, (int)decisions);
	assert_int_equal(bv_events_counts(fd, &received, &pending), 0);
	assert_int_equal(received, decisions);
	assert_int_equal(pending, 0);
	/* a new reader (a restarted daemon) finds nothing twice */
	beacon(if_a, "");
	rb = ring_buffer__new(fd, count_event, &got, NULL);
	assert_non_null(rb);
	assert_int_equal(ring_buffer__consume(rb), 1);
	ring_buffer__free(rb);
	assert_int_equal(bv_events_counts(fd, &received, &pending), 0);
	assert_int_equal(received, decisions + 1);
	assert_int_equal(pending, 0);
}

static int setup(void **state)
{
	(void)state;
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s (needs root)\n", strerror(errno));
		return -1;
	}
	if (system("ip link add bvkc0 type veth peer name bvkc1") != 0)
		return -1;
	if_a = if_nametoindex("bvkc0");
	if_b = if_nametoindex("bvkc1");
	if (!if_a || !if_b)
		return -1;
	return harness_open(&H, BV_MODE_INLINE);
}

static int teardown(void **state)
{
	(void)state;
	harness_close(&H);
	return 0;   /* the veths go with the namespace */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ifdec_per_interface_and_overflow),
		cmocka_unit_test(test_events_positions),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
