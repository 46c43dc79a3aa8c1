/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "harness.h"
#include "beaconveil.skel.h"

int harness_open(struct bv_harness *h, enum bv_mode mode)
{
	struct bv_load_opts o = { .mode = mode, .pin = false, .max_flows = 0 };
	char err[4096];

	memset(h, 0, sizeof(*h));
	h->prog_fd = h->stats_fd = h->flows_fd = h->half_fd = -1;
	bv_config_defaults(&h->cfg);
	h->skel = bv_open_and_load(&o, err, sizeof(err));
	if (!h->skel) {
		fprintf(stderr, "harness_open: %s\n", err);
		harness_close(h);
		return -1;
	}
	h->prog_fd = bpf_program__fd(h->skel->progs.beaconveil_xdp);
	bv_map_fds_get(h->skel, &h->fds);
	h->stats_fd = bpf_map__fd(h->skel->maps.bv_stats);
	h->flows_fd = bpf_map__fd(h->skel->maps.bv_flows);
	h->half_fd = bpf_map__fd(h->skel->maps.bv_half);
	if (harness_apply(h)) {
		harness_close(h);
		return -1;
	}
	return 0;
}

int harness_apply(struct bv_harness *h)
{
	char err[1024];

	if (!h->skel) {
		fprintf(stderr, "harness_apply: harness not open\n");
		return -1;
	}
	if (bv_config_apply(&h->cfg, &h->fds, err, sizeof(err))) {
		fprintf(stderr, "harness_apply: %s\n", err);
		return -1;
	}
	return 0;
}

void harness_close(struct bv_harness *h)
{
	beaconveil_bpf__destroy(h->skel);
	bv_config_free(&h->cfg);
	memset(h, 0, sizeof(*h));
	h->prog_fd = h->stats_fd = h->flows_fd = h->half_fd = -1;
}

#define HARNESS_BUF (256 * 1024) /* > any frame test_run returns */

int harness_run(struct bv_harness *h, const void *in, size_t len, void *out, size_t *outlen)
{
	static unsigned char *buf;
	struct xdp_md ctx_in = { .data = 0, .data_end = (__u32)len,
				 .ingress_ifindex = h->ingress_ifindex }, ctx_out = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, t,
		    .data_in = in,
		    .data_size_in = (__u32)len,
		    .ctx_in = &ctx_in,
		    .ctx_size_in = sizeof(ctx_in),
		    .ctx_out = &ctx_out,
		    .ctx_size_out = sizeof(ctx_out),
		    .repeat = 1);
	size_t meta, flen;

	h->meta_len = 0;
	if (!h->skel || len > UINT32_MAX) {
		fprintf(stderr, "harness_run: %s\n", !h->skel ? "harness not open" : "frame too long");
		return -1;
	}
	if (!buf && !(buf = malloc(HARNESS_BUF))) {
		fprintf(stderr, "harness_run: out of memory\n");
		return -1;
	}
	/* Always into our buffer: data_size_out 0 would mean "no limit". */
	t.data_out = buf;
	t.data_size_out = HARNESS_BUF;
	if (bpf_prog_test_run_opts(h->prog_fd, &t)) {
		fprintf(stderr, "harness_run: BPF_PROG_TEST_RUN (%zu bytes): %s\n", len,
			strerror(errno));
		return -1;
	}
	meta = ctx_out.data;
	if (meta > t.data_size_out) {
		fprintf(stderr, "harness_run: metadata %zu > output %u\n", meta, t.data_size_out);
		return -1;
	}
	flen = t.data_size_out - meta;
	h->meta_len = meta;
	memcpy(h->meta, buf, meta < sizeof(h->meta) ? meta : sizeof(h->meta));
	if (out && outlen && *outlen) {
		if (flen > *outlen) {
			fprintf(stderr, "harness_run: output frame of %zu bytes > *outlen %zu\n",
				flen, *outlen);
			*outlen = flen;
			return -1;
		}
		memcpy(out, buf + meta, flen);
	}
	if (outlen)
		*outlen = flen;
	return (int)t.retval;
}

__u64 harness_stat(struct bv_harness *h, int idx)
{
	int ncpu = libbpf_num_possible_cpus();
	__u32 key = (__u32)idx;
	__u64 *v, sum = 0;

	if (ncpu <= 0 || idx < 0 || idx >= BV_ST_MAX) {
		fprintf(stderr, "harness_stat: bad index %d\n", idx);
		return 0;
	}
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return 0;
	if (bpf_map_lookup_elem(h->stats_fd, &key, v))
		fprintf(stderr, "harness_stat(%d): %s\n", idx, strerror(errno));
	else
		for (int c = 0; c < ncpu; c++)
			sum += v[c];
	free(v);
	return sum;
}

/* Deletes every entry of a map keyed by struct bv_flow_key. */
static void clear_map(int fd, size_t ksz)
{
	void *key = calloc(1, ksz);
	unsigned guard = 0;

	if (!key)
		return;
	/* Always take the first key: deleting invalidates any cursor. */
	while (bpf_map_get_next_key(fd, NULL, key) == 0) {
		if (bpf_map_delete_elem(fd, key) && ++guard > 16) {
			fprintf(stderr, "harness_clear_flows: %s\n", strerror(errno));
			break;
		}
	}
	free(key);
}

void harness_clear_flows(struct bv_harness *h)
{
	size_t ksz = bpf_map__key_size(h->skel->maps.bv_flows);

	clear_map(h->flows_fd, ksz);
	clear_map(h->half_fd, ksz);
}
