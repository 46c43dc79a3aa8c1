/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * beaconveil pcap IN OUT [-c CONFIG] [--mode pcap|mirror|inline] [--midstream] [--audit] [-j JOBS] [-q]
 *
 * Runs every frame of a capture once through the same XDP program the
 * daemon attaches, with BPF_PROG_TEST_RUN (repeat 1, so each run sees the
 * original bytes; flow state carries over in bv_flows as on a live NIC).
 * Frames the program keeps (XDP_PASS, XDP_TX, XDP_REDIRECT) are written as
 * the program left them; XDP_DROP and XDP_ABORTED are not written. Frames
 * the program cannot see whole are never written ("unprocessable"): shorter
 * than an Ethernet header, longer than the linear part of an xdp_buff for a
 * program without frags support, or refused by the kernel.
 *
 * OUT is written to OUT.tmp and renamed when complete, so an error never
 * leaves a partial OUT (nor replaces an existing one).
 *
 * Frames are read in batches; the frames of a batch run on --jobs CPUs at
 * once (pcap_workers.c), every TCP connection's frames in order on one of
 * them (frame_flow.c), and are written in the order they were read, by
 * this thread while the next batch runs.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <net/if.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
/* pcap/bpf.h (classic BPF) clashes with linux/bpf.h: take only the DLTs. */
#define PCAP_DONT_INCLUDE_PCAP_BPF_H
#include <pcap/pcap.h>
#include <pcap/dlt.h>

#include "bv_abi.h"
#include "cmd.h"
#include "config.h"
#include "analytics.h"
#include "audit.h"
#include "frame_flow.h"
#include "loader.h"
#include "pcap_workers.h"
#include "beaconveil.skel.h"

#define PFX "beaconveil pcap: "
#define ETH_HDR_LEN 14
#define OUT_CAP (256 * 1024)     /* > any frame test_run returns */
#define OUT_SNAPLEN 262144       /* libpcap's maximum for DLT_EN10MB */
#define BATCH_FRAMES 4096        /* frames read, run (in parallel), then written */
#define BATCH_BYTES (8u << 20)   /* ... or as many as fit in this many bytes */
#define MAX_JOBS 64

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

static void pcap_usage(FILE *f)
{
	fprintf(f,
		"Usage: beaconveil pcap IN OUT [-c CONFIG] [--mode pcap|mirror|inline] [--midstream] [--audit]\n"
		"                       [-j JOBS] [-q]\n"
		"\n"
		"Anonymize a capture offline with the same BPF program the daemon runs:\n"
		"every frame of IN (pcap or pcapng, Ethernet) goes once through the XDP\n"
		"program; the frames it keeps are written to OUT (pcap), as rewritten,\n"
		"with their original timestamps. Dropped frames are left out. Frames the\n"
		"program cannot process whole (under 14 bytes, or larger than an XDP\n"
		"buffer) are left out too and counted as unprocessable.\n"
		"\n"
		"IN may be - (stdin). OUT is a file, written as OUT.tmp and renamed\n"
		"when complete: an error never leaves a partial OUT.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE  policy and settings (default: built-in defaults)\n"
		"  -m, --mode MODE    pcap (default; as mirror, kept frames pass),\n"
		"                     mirror (kept frames redirected: written too),\n"
		"                     or inline (payload only, never L3)\n"
		"      --midstream    pick up connections whose SYN is not in IN (or that\n"
		"                     lost a segment), conservatively: every address-shaped\n"
		"                     token masked, every run of 8 or more letters and\n"
		"                     digits replaced by a pseudonym; nothing in them is\n"
		"                     parsed as a request (pcap mode only; without it such\n"
		"                     connections are left out until their next SYN)\n"
		"      --audit        audit the Set-Cookie headers of the responses for the\n"
		"                     RUM cookies (HttpOnly, Secure, SameSite, the rxVisitor\n"
		"                     lifetime; [audit] in CONFIG) and print a report per\n"
		"                     application, cookie and finding after the run (pcap\n"
		"                     and mirror mode; [audit] enabled = on does the same)\n"
		"  -j, --jobs JOBS    run frames on JOBS CPUs at once (default: every CPU\n"
		"                     this process may use, at most 64); the frames of one\n"
		"                     TCP connection always run in order on one of them, so\n"
		"                     OUT and the counters do not depend on JOBS (while the\n"
		"                     connections fit in max_flows)\n"
		"  -q, --quiet        do not print the summary\n"
		"  -h, --help         this help\n"
		"\n"
		"Prints a summary as \"name value\" lines: packets_in, packets_written,\n"
		"packets_dropped (of which packets_aborted), packets_unprocessable, one\n"
		"line per decision (pass, anonymized, dropped_dnt, ...), then the\n"
		"program's counters (pkts, non_ip, ...).\n"
		"\n"
		"Needs root (CAP_BPF, CAP_NET_ADMIN) to load the program.\n"
		"Exit status: 0 ok, 1 runtime error, 2 usage error.\n");
}

static int parse_mode(const char *s, enum bv_mode *m)
{
	if (!strcmp(s, "pcap"))
		*m = BV_MODE_PCAP;
	else if (!strcmp(s, "mirror"))
		*m = BV_MODE_MIRROR;
	else if (!strcmp(s, "inline"))
		*m = BV_MODE_INLINE;
	else
		return -1;
	return 0;
}

/*
 * Opens IN. Nanosecond pcap files are read and written with nanosecond
 * timestamps; everything else (microsecond pcap, pcapng) with microseconds.
 */
static pcap_t *open_input(const char *path, int *prec, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	unsigned char magic[4];
	struct stat st;
	pcap_t *p;
	FILE *f;

	*prec = PCAP_TSTAMP_PRECISION_MICRO;
	if (!strcmp(path, "-")) {
		p = pcap_fopen_offline_with_tstamp_precision(stdin, *prec, ebuf);
		if (!p)
			snprintf(err, errlen, "cannot read input from stdin: %s", ebuf);
		return p;
	}
	f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot read input %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cannot read input %s: %s", path, strerror(EISDIR));
		fclose(f);
		return NULL;
	}
	if (S_ISREG(st.st_mode) && fread(magic, 1, 4, f) == 4) {
		if ((magic[0] == 0xa1 && magic[1] == 0xb2 && magic[2] == 0x3c && magic[3] == 0x4d) ||
		    (magic[0] == 0x4d && magic[1] == 0x3c && magic[2] == 0xb2 && magic[3] == 0xa1))
			*prec = PCAP_TSTAMP_PRECISION_NANO;
	}
	if (S_ISREG(st.st_mode) && fseek(f, 0, SEEK_SET)) {
		snprintf(err, errlen, "cannot read input %s: %s", path, strerror(errno));
		fclose(f);
		return NULL;
	}
	p = pcap_fopen_offline_with_tstamp_precision(f, *prec, ebuf);
	if (!p) {
		snprintf(err, errlen, "cannot read input %s: %s", path, ebuf);
		fclose(f);
	}
	return p;
}

/*
 * Mirror mode redirects kept frames to bv_egress[0]; with the map empty the
 * program drops them. Under BPF_PROG_TEST_RUN (not live) a redirect only
 * returns XDP_REDIRECT, nothing is sent: point the map at loopback so the
 * verdicts are those of a configured mirror.
 */
static int set_egress(struct beaconveil_bpf *skel, char *err, size_t errlen)
{
	__u32 key = 0, ifindex = if_nametoindex("lo");

	if (!ifindex) {
		snprintf(err, errlen, "mirror mode: no loopback interface to stand in for the "
			 "egress: %s", strerror(errno));
		return -1;
	}
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.bv_egress), &key, &ifindex, BPF_ANY)) {
		snprintf(err, errlen, "mirror mode: cannot set bv_egress: %s", strerror(errno));
		return -1;
	}
	return 0;
}

struct counts {
	unsigned long long in, written, dropped, aborted, unproc;
};

/* Events of the kernel (one per beacon decision) go to the same analytics
 * the daemon keeps, so offline runs report sessions and visitors too, and
 * the ring never fills (no event lost). */
static int on_event(void *ctx, void *data, size_t len)
{
	if (len >= sizeof(struct bv_event))
		bv_analytics_event(ctx, data);
	return 0;
}

static void print_summary(const char *in, const char *out, enum bv_mode mode,
			  const struct counts *c, const __u64 st[BV_ST_MAX],
			  struct bv_analytics *an)
{
	struct bv_analytics_snap snap;
	static const char *const mode_names[] = { "inline", "mirror", "pcap" };

	printf("# beaconveil pcap %s -> %s (mode %s)\n", in, out, mode_names[mode]);
	printf("packets_in %llu\n", c->in);
	printf("packets_written %llu\n", c->written);
	printf("packets_dropped %llu\n", c->dropped);
	printf("packets_aborted %llu\n", c->aborted);
	printf("packets_unprocessable %llu\n", c->unproc);
	printf("# decisions, one per beacon request\n");
	for (int i = 0; i < BV_DEC_MAX; i++)
		printf("%s %llu\n", bv_decision_name(i), (unsigned long long)st[i]);
	printf("# program counters\n");
	for (int i = BV_DEC_MAX; i < BV_ST_MAX; i++)
		printf("%s %llu\n", bv_stat_name(i), (unsigned long long)st[i]);
	if (an && !bv_analytics_snapshot(an, &snap)) {
		printf("# analytics from the kernel's events (keyed hashes only)\n");
		printf("events %llu\n", (unsigned long long)snap.events);
		printf("sessions_seen %llu\n", (unsigned long long)snap.sessions_started);
		printf("visitors_unique_estimate %.0f\n", snap.visitors_unique);
		bv_analytics_snap_free(&snap);
	}
}

/* A batch: the frames read, their bytes, and which worker runs each. */
struct batch {
	struct bv_pcap_frame fr[BATCH_FRAMES];
	struct pcap_pkthdr h[BATCH_FRAMES];
	unsigned long long num[BATCH_FRAMES]; /* packet number in IN (from 1) */
	unsigned char *in, *out;              /* BATCH_BYTES each (+ growth for out) */
	size_t n, used;
	/* connection hash -> worker, for this batch (open addressing) */
	uint64_t key[2 * BATCH_FRAMES];
	int kw[2 * BATCH_FRAMES];
	unsigned load[MAX_JOBS];
};

/* The worker of a frame: its connection's, or the least loaded one. A
 * connection may change workers between batches (a batch ends before the
 * next starts), never within one. */
static int pick_worker(struct batch *b, uint64_t flow, int jobs)
{
	size_t mask = 2 * BATCH_FRAMES - 1, i = 0;
	int w = 0;

	if (flow) {
		for (i = (size_t)flow & mask; b->key[i] && b->key[i] != flow; i = (i + 1) & mask)
			;
		if (b->key[i]) {
			w = b->kw[i]; /* the connection's worker in this batch */
			goto done;
		}
	}
	/* a new connection (or none): the least loaded worker */
	for (int j = 1; j < jobs; j++)
		if (b->load[j] < b->load[w])
			w = j;
	if (flow) {
		b->key[i] = flow;
		b->kw[i] = w;
	}
done:
	b->load[w]++;
	return w;
}

static void batch_reset(struct batch *b)
{
	b->n = 0;
	b->used = 0;
	memset(b->key, 0, sizeof(b->key));
	memset(b->load, 0, sizeof(b->load));
}

static void consume_events(void *rb)
{
	ring_buffer__consume(rb);
}

/* What reading and writing a batch need. */
struct pcap_io {
	pcap_t *in;
	const char *in_path;
	pcap_dumper_t *dump;
	size_t maxlen;
	int jobs;
	const struct bv_tunnel_ports *tp;
	struct counts *c;
	bool eof;
	char *err;
	size_t errlen;
};

/* The next batch of IN into b (io->eof at the end). -1 on an error. */
static int read_batch(struct pcap_io *io, struct batch *b)
{
	struct pcap_pkthdr *h;
	const u_char *data;

	batch_reset(b);
	while (b->n < BATCH_FRAMES) {
		int r;

		if (b->used + io->maxlen > BATCH_BYTES)
			break; /* the next frame may not fit */
		r = pcap_next_ex(io->in, &h, &data);
		if (stop_sig) {
			snprintf(io->err, io->errlen, "interrupted by signal %d", (int)stop_sig);
			return -1;
		}
		if (r == PCAP_ERROR_BREAK) {
			io->eof = true;
			break;
		}
		if (r != 1) {
			snprintf(io->err, io->errlen, "reading %s after %llu packets: %s", io->in_path,
				 io->c->in, pcap_geterr(io->in));
			return -1;
		}
		io->c->in++;
		if (h->caplen < ETH_HDR_LEN || h->caplen > io->maxlen) {
			io->c->unproc++;
			continue;
		}
		{
			struct bv_pcap_frame *f = &b->fr[b->n];

			memcpy(b->in + b->used, data, h->caplen);
			f->in = b->in + b->used;
			f->out = b->out + b->used + b->n * BV_PCAP_FRAME_GROWTH;
			f->in_len = h->caplen;
			f->worker = pick_worker(b, bv_frame_flow(data, h->caplen, io->tp), io->jobs);
			b->h[b->n] = *h;
			b->num[b->n] = io->c->in;
			b->used += h->caplen;
			b->n++;
		}
	}
	return 0;
}

/* b's frames the program kept, as it left them, in IN's order. -1 on an
 * error of a run. */
static int write_batch(struct pcap_io *io, const struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct bv_pcap_frame *f = &b->fr[i];

		if (f->err) {
			int e = f->err;

			if (e == EINVAL || e == ENOMEM || e == E2BIG || e == ENOSPC) {
				io->c->unproc++;
				continue;
			}
			snprintf(io->err, io->errlen, "BPF_PROG_TEST_RUN failed on packet %llu: %s%s",
				 b->num[i], strerror(e),
				 e == EPERM || e == EACCES
					 ? " (needs root: CAP_BPF, CAP_NET_ADMIN)" : "");
			return -1;
		}
		switch (f->act) {
		case XDP_PASS:
		case XDP_TX:
		case XDP_REDIRECT: {
			struct pcap_pkthdr oh = b->h[i];
			__u32 meta = f->meta, flen;
			long long len;

			/* Cannot happen (the kernel says ENOSPC); never write a guess. */
			if (f->out_len > f->in_len + BV_PCAP_FRAME_GROWTH || meta > f->out_len ||
			    f->out_len - meta < ETH_HDR_LEN) {
				io->c->unproc++;
				continue;
			}
			flen = f->out_len - meta;
			len = (long long)oh.len + (long long)flen - (long long)oh.caplen;
			oh.caplen = flen;
			oh.len = len < (long long)flen ? flen : (bpf_u_int32)len;
			pcap_dump((u_char *)io->dump, &oh, f->out + meta);
			io->c->written++;
			break;
		}
		case XDP_ABORTED:
			io->c->aborted++;
			/* fall through */
		default: /* XDP_DROP; unknown verdicts are treated as drops */
			io->c->dropped++;
			break;
		}
	}
	return 0;
}

int cmd_pcap(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "midstream", no_argument, NULL, 'M' },
		{ "audit", no_argument, NULL, 'A' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfg_path = NULL, *in_path, *out_path;
	enum bv_mode mode = BV_MODE_PCAP;
	bool quiet = false, midstream = false, audit = false;
	struct bv_config cfg;
	bool cfg_loaded = false;
	struct bv_load_opts lo = { 0 };
	struct beaconveil_bpf *skel = NULL;
	struct bv_map_fds fds;
	pcap_t *in = NULL, *dead = NULL;
	pcap_dumper_t *dump = NULL;
	char *tmp_path = NULL;
	char err[4096] = "";
	struct counts c = { 0 };
	__u64 st[BV_ST_MAX];
	struct sigaction sa, old_int, old_term;
	bool sig_set = false;
	size_t maxlen;
	int prec, prog_fd, opt, ret = BV_EXIT_RUNTIME;
	struct bv_analytics *an = NULL;
	struct ring_buffer *rb = NULL;
	struct bv_pcap_workers *wk = NULL;
	struct bv_tunnel_ports tp;
	struct batch *b[2] = { NULL, NULL };
	struct pcap_io io;
	int jobs = bv_pcap_cpus();

	if (jobs > MAX_JOBS)
		jobs = MAX_JOBS;
	argv[0] = "beaconveil pcap"; /* getopt's messages */
	optind = 0;
	while ((opt = getopt_long(argc, argv, "c:m:j:qh", lopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			cfg_path = optarg;
			break;
		case 'm':
			if (parse_mode(optarg, &mode)) {
				fprintf(stderr, PFX "invalid --mode '%s' (pcap, mirror or inline)\n",
					optarg);
				return BV_EXIT_USAGE;
			}
			break;
		case 'q':
			quiet = true;
			break;
		case 'j': {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 || v > MAX_JOBS) {
				fprintf(stderr, PFX "invalid --jobs '%s' (1 to %d)\n", optarg, MAX_JOBS);
				return BV_EXIT_USAGE;
			}
			jobs = (int)v;
			break;
		}
		case 'M':
			midstream = true;
			break;
		case 'A':
			audit = true;
			break;
		case 'h':
			pcap_usage(stdout);
			return BV_EXIT_OK;
		default:
			fprintf(stderr, "See 'beaconveil pcap --help'.\n");
			return BV_EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, PFX "%s (see 'beaconveil pcap --help')\n",
			argc - optind < 2 ? "expects IN and OUT" : "too many arguments");
		return BV_EXIT_USAGE;
	}
	in_path = argv[optind];
	out_path = argv[optind + 1];
	if (!*in_path || !*out_path) {
		fprintf(stderr, PFX "IN and OUT must not be empty\n");
		return BV_EXIT_USAGE;
	}
	if (!strcmp(out_path, "-")) {
		fprintf(stderr, PFX "OUT must be a file (it is written whole, then renamed); "
				"IN may be - for stdin\n");
		return BV_EXIT_USAGE;
	}

	/* Configuration first: its errors need no privileges. */
	if (cfg_path) {
		if (bv_config_load(&cfg, cfg_path, err, sizeof(err))) {
			fprintf(stderr, PFX "%s\n", err);
			return BV_EXIT_RUNTIME;
		}
	} else {
		bv_config_defaults(&cfg);
	}
	cfg_loaded = true;
	if (midstream) {
		if (mode != BV_MODE_PCAP) {
			fprintf(stderr, PFX "--midstream needs --mode pcap (mirror and inline stand "
				"for a live interface, where a connection is judged from its SYN)\n");
			bv_config_free(&cfg);
			return BV_EXIT_USAGE;
		}
		cfg.settings.flags |= BV_SETF_MIDSTREAM;
	}
	if (audit)
		cfg.settings.flags |= BV_SETF_AUDIT;
	if ((cfg.settings.flags & BV_SETF_AUDIT) && mode == BV_MODE_INLINE) {
		fprintf(stderr, PFX "the Set-Cookie audit needs --mode pcap or mirror (inline mode "
			"stands for the collector's NIC, which sees only client->server traffic)\n");
		bv_config_free(&cfg);
		return BV_EXIT_USAGE;
	}

	in = open_input(in_path, &prec, err, sizeof(err));
	if (!in)
		goto fail;
	if (pcap_datalink(in) != DLT_EN10MB) {
		int dlt = pcap_datalink(in);
		const char *name = pcap_datalink_val_to_name(dlt);
		const char *desc = pcap_datalink_val_to_description(dlt);

		snprintf(err, sizeof(err),
			 "%s: unsupported link type %s (%s, %d); only Ethernet (EN10MB) is supported",
			 in_path, name ? name : "unknown", desc ? desc : "no description", dlt);
		goto fail;
	}

	lo.mode = mode;
	lo.pin = false;
	lo.max_flows = cfg.max_flows;
	skel = bv_open_and_load(&lo, err, sizeof(err));
	if (!skel)
		goto fail;
	bv_map_fds_get(skel, &fds);
	if (bv_config_apply(&cfg, &fds, err, sizeof(err)))
		goto fail;
	if (mode == BV_MODE_MIRROR && set_egress(skel, err, sizeof(err)))
		goto fail;
	an = bv_analytics_new(&cfg);
	rb = an ? ring_buffer__new(bpf_map__fd(skel->maps.bv_events), on_event, an, NULL) : NULL;
	if (!rb) {
		snprintf(err, sizeof(err), "cannot read the event ring: %s", strerror(errno ? errno : ENOMEM));
		goto fail;
	}
	prog_fd = bpf_program__fd(skel->progs.beaconveil_xdp);
	/* A program without frags support sees only the linear part. */
	if (bpf_program__flags(skel->progs.beaconveil_xdp) & BPF_F_XDP_HAS_FRAGS)
		maxlen = OUT_CAP;
	else
		maxlen = bv_xdp_linear_max();

	for (int i = 0; i < 2; i++) {
		b[i] = calloc(1, sizeof(*b[i]));
		if (b[i]) {
			b[i]->in = malloc(BATCH_BYTES);
			b[i]->out = malloc(BATCH_BYTES + (size_t)BATCH_FRAMES * BV_PCAP_FRAME_GROWTH);
		}
	}
	if (!b[0] || !b[0]->in || !b[0]->out || !b[1] || !b[1]->in || !b[1]->out ||
	    asprintf(&tmp_path, "%s.tmp", out_path) < 0) {
		tmp_path = NULL;
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	dead = pcap_open_dead_with_tstamp_precision(
		DLT_EN10MB, pcap_snapshot(in) > OUT_SNAPLEN ? pcap_snapshot(in) : OUT_SNAPLEN, prec);
	if (!dead) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	wk = bv_pcap_workers_new(prog_fd, jobs, err, sizeof(err));
	if (!wk)
		goto fail;
	bv_pcap_workers_tick(wk, consume_events, rb);
	tp.vxlan = cfg.vxlan_ports;
	tp.nvxlan = cfg.nvxlan;
	tp.geneve = cfg.geneve_ports;
	tp.ngeneve = cfg.ngeneve;
	dump = pcap_dump_open(dead, tmp_path);
	if (!dump) {
		snprintf(err, sizeof(err), "cannot write output: %s", pcap_geterr(dead));
		goto fail;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sig_set = true;

	/*
	 * Two batches: while one runs on the workers, this thread writes the
	 * one before it and reads the one after it into the same buffer (a
	 * batch starts only when the one before has run, so a connection is
	 * never on two workers at once).
	 */
	io = (struct pcap_io){ .in = in, .in_path = in_path, .dump = dump, .maxlen = maxlen,
			       .jobs = jobs, .tp = &tp, .c = &c, .err = err, .errlen = sizeof(err) };
	if (read_batch(&io, b[0]))
		goto fail;
	for (int cur = 0;; cur ^= 1) {
		bool last = io.eof;

		bv_pcap_workers_start(wk, b[cur]->fr, b[cur]->n);
		if (b[cur ^ 1]->n && write_batch(&io, b[cur ^ 1]))
			goto fail;
		b[cur ^ 1]->n = 0;
		if (!last && read_batch(&io, b[cur ^ 1]))
			goto fail;
		bv_pcap_workers_wait(wk);
		if (last) {
			if (write_batch(&io, b[cur]))
				goto fail;
			break;
		}
	}

	errno = 0;
	if (pcap_dump_flush(dump) || ferror(pcap_dump_file(dump))) {
		snprintf(err, sizeof(err), "writing %s: %s", tmp_path, strerror(errno ? errno : EIO));
		goto fail;
	}
	if (fsync(fileno(pcap_dump_file(dump))) && errno != EINVAL) {
		snprintf(err, sizeof(err), "writing %s: %s", tmp_path, strerror(errno));
		goto fail;
	}
	pcap_dump_close(dump);
	dump = NULL;
	if (rename(tmp_path, out_path)) {
		snprintf(err, sizeof(err), "cannot rename %s to %s: %s", tmp_path, out_path,
			 strerror(errno));
		goto fail;
	}
	if (bv_stats_read(bpf_map__fd(skel->maps.bv_stats), st)) {
		snprintf(err, sizeof(err), "reading counters: %s", strerror(errno));
		goto done_err; /* OUT is complete; report and fail */
	}
	if (!quiet)
		print_summary(in_path, out_path, mode, &c, st, an);
	if (cfg.settings.flags & BV_SETF_AUDIT) {
		struct bv_audit_rowk *rows;
		size_t nrows;

		if (bv_audit_read(bpf_map__fd(skel->maps.bv_audit), &rows, &nrows)) {
			snprintf(err, sizeof(err), "reading the audit counts: %s", strerror(errno));
			goto done_err;
		}
		bv_audit_report(stdout, rows, nrows);
		free(rows);
	}
	ret = BV_EXIT_OK;
	goto out;

fail:
	if (dump)
		pcap_dump_close(dump);
	dump = NULL;
	if (tmp_path)
		unlink(tmp_path);
done_err:
	fprintf(stderr, PFX "%s\n", err[0] ? err : "failed");
	ret = BV_EXIT_RUNTIME;
out:
	if (sig_set) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
	}
	if (dead)
		pcap_close(dead);
	if (in)
		pcap_close(in);
	bv_pcap_workers_free(wk);
	ring_buffer__free(rb);
	bv_analytics_free(an);
	beaconveil_bpf__destroy(skel);
	if (cfg_loaded)
		bv_config_free(&cfg);
	free(tmp_path);
	for (int i = 0; i < 2; i++) {
		if (b[i]) {
			free(b[i]->in);
			free(b[i]->out);
		}
		free(b[i]);
	}
	return ret;
}
