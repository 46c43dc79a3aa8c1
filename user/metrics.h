/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Prometheus metrics (text exposition format 0.0.4): rendering, the
 * /metrics HTTP endpoint (libmicrohttpd, its own thread), a small parser of
 * the format (for `beaconveil stats` and the tests) and `beaconveil stats`.
 * Every metric is listed in docs/METRICS.md.
 */
#ifndef BV_METRICS_H
#define BV_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct bv_analytics;
struct bv_fleet;

/*
 * What is rendered. stats_fd: the per-CPU bv_stats map (kernel counters are
 * left out when negative); ifdec_fd: bv_ifdec, the decisions per interface,
 * and events_fd: bv_events, whose positions count the events received (each
 * left out when negative); mode: "inline", "mirror" or "pcap" (label of the
 * kernel counters); ifaces: the interfaces the program is attached to (they
 * are listed with zeros before their first decision); an: the daemon's
 * analytics (NULL: no session/visitor/application metrics); fleet: the
 * fleet's state and figures ([fleet] redis; NULL: none, and only with an).
 */
struct bv_metrics_src {
	int stats_fd;
	int ifdec_fd;
	int audit_fd;     /* bv_audit (Set-Cookie audit); -1 or 0 (left out): none */
	unsigned audit_k; /* audit rows need this many responses (0: 10); an's k wins */
	int events_fd;
	const char *mode;
	const char *const *ifaces;
	int nifaces;
	struct bv_analytics *an;
	struct bv_fleet *fleet;
};

struct bv_metrics;

/*
 * Serves GET (and HEAD) /metrics on addr_port ("IPv4:PORT" or
 * "[IPv6]:PORT"; port 0 picks a free one, see bv_metrics_port()) from an
 * internal thread; any other path is 404, another method on /metrics 405.
 * src is copied (the analytics object is shared: it must outlive the
 * server). NULL on failure with the cause in err, e.g.
 * "metrics: cannot listen on 127.0.0.1:9477: Address already in use".
 */
struct bv_metrics *bv_metrics_start(const char *addr_port, const struct bv_metrics_src *src,
				    char *err, size_t errlen);
void bv_metrics_stop(struct bv_metrics *m);          /* NULL allowed */
int  bv_metrics_port(const struct bv_metrics *m);    /* the bound port */

/* The Prometheus text; *out malloc'ed, *len bytes (NUL-terminated too).
 * 0 ok, -1 with errno (reading the stats map failed, ENOMEM). */
int  bv_metrics_render(const struct bv_metrics_src *src, char **out, size_t *len);

/* "IPv4:PORT" / "[IPv6]:PORT" (numeric) to a socket address. 0 ok, -1 with
 * a message in err. */
int  bv_metrics_parse_addr(const char *addr_port, struct sockaddr_storage *ss, socklen_t *sslen,
			   char *err, size_t errlen);

/*
 * GET http://addr_port/metrics (HTTP/1.0, plain socket) within timeout_ms.
 * 0 with the body in *body (malloc'ed, NUL-terminated); -1 with the cause
 * in err (connection refused, timeout, status other than 200).
 */
int  bv_metrics_fetch(const char *addr_port, int timeout_ms, char **body, size_t *len,
		      char *err, size_t errlen);

/* ---- parsing the text format --------------------------------------------- */

struct bv_prom_label { char *name, *value; };
struct bv_prom_sample {
	char *name;
	struct bv_prom_label *labels;
	size_t nlabels;
	double value;
};
struct bv_prom_family {
	char *name, *type, *help;   /* type/help NULL when not given */
	size_t nsamples;
};
struct bv_prom_doc {
	struct bv_prom_sample *s; size_t ns;
	struct bv_prom_family *f; size_t nf;
};

/*
 * Strict parse of exposition text: metric and label names, quoted and
 * escaped label values, values (numbers, NaN, +Inf, -Inf), optional
 * timestamps; at most one HELP and one TYPE per family, TYPE before its
 * samples, a family's lines together, no duplicate series. Samples of a
 * histogram/summary family (_bucket, _sum, _count) belong to it.
 * 0 ok; -1 with "line N: ..." in err (doc is then empty).
 */
int  bv_prom_parse(const char *text, size_t len, struct bv_prom_doc *doc, char *err, size_t errlen);
void bv_prom_doc_free(struct bv_prom_doc *doc);
const char *bv_prom_label(const struct bv_prom_sample *s, const char *name);  /* NULL if absent */
/* First sample named name whose labels include every (k, v) pair of the
 * NULL-terminated list kv ("reason", "pass", NULL); NULL if none. */
const struct bv_prom_sample *bv_prom_find(const struct bv_prom_doc *doc, const char *name,
					  const char *const *kv);

/* `beaconveil stats [--json] [-c CONFIG] [--metrics ADDR:PORT]` */
int cmd_stats(int argc, char **argv);

#endif /* BV_METRICS_H */
