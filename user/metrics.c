/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Prometheus text (format 0.0.4) from the kernel counters and the daemon's
 * analytics, the /metrics endpoint, a parser of the format and a tiny HTTP
 * client for `beaconveil stats`. The metric names are documented in
 * docs/METRICS.md; tests/test_metrics.c checks them with promtool.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "analytics.h"
#include "audit.h"
#include "bv_abi.h"
#include "fleet.h"
#include "kcounts.h"
#include "loader.h"
#include "metrics.h"

#define PROM_CTYPE "text/plain; version=0.0.4; charset=utf-8"

/* ---- writing ------------------------------------------------------------ */

static void fam(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * A label value: printable ASCII other than '%', '"' and '\' as is, every
 * other byte as %XX. Injective (two application ids never share a label),
 * valid UTF-8, and nothing needs an escape.
 */
static void lv(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '%' && c != '"' && c != '\\')
			fputc(c, f);
		else
			fprintf(f, "%%%02X", c);
	}
}

static void lvs(FILE *f, const char *s)
{
	lv(f, s, strlen(s));
}

/* ---- kernel counters ------------------------------------------------------ */

/* Every bv_stat after the decisions, in exactly one family. */
struct kfam {
	const char *name, *help, *label;   /* label NULL: mode only */
	struct { int st; const char *val; } s[4];
	int n;
};

static const struct kfam kfams[] = {
	{ "beaconveil_packets_total", "Packets the XDP program saw.", NULL,
	  { { BV_ST_PKTS, NULL } }, 1 },
	{ "beaconveil_packet_verdicts_total",
	  "Packets by the XDP verdict returned: pass, drop, tx (TCP RST sent back, drop_action=reset), redirect (mirror egress).",
	  "verdict",
	  { { BV_ST_ACT_PASS, "pass" }, { BV_ST_ACT_DROP, "drop" }, { BV_ST_ACT_TX, "tx" },
	    { BV_ST_ACT_REDIRECT, "redirect" } }, 4 },
	{ "beaconveil_packet_classes_total",
	  "Packets by what they are: non_ip, non_tcp, other_tcp (not a beacon port), beacon_port.",
	  "class",
	  { { BV_ST_NON_IP, "non_ip" }, { BV_ST_NON_TCP, "non_tcp" }, { BV_ST_OTHER_TCP, "other_tcp" },
	    { BV_ST_BEACON_PORT, "beacon_port" } }, 4 },
	{ "beaconveil_packets_dropped_total",
	  "Packets dropped for a reason other than a beacon decision: malformed (bad L2/L3/L4), fragment (IP fragment carrying TCP, or UDP while decapsulating), flow_unknown (mid-request data without flow state), out_of_order (segment after a gap, inline).",
	  "cause",
	  { { BV_ST_MALFORMED_PKT, "malformed" }, { BV_ST_FRAGMENT, "fragment" },
	    { BV_ST_FLOW_UNKNOWN, "flow_unknown" }, { BV_ST_OUT_OF_ORDER, "out_of_order" } }, 4 },
	{ "beaconveil_addresses_masked_total",
	  "Client addresses masked: in IP headers (ip_header, mirror/pcap) or in HTTP headers and PROXY protocol (payload).",
	  "location",
	  { { BV_ST_L3_MASKED, "ip_header" }, { BV_ST_TEXT_MASKED, "payload" } }, 2 },
	{ "beaconveil_visitor_ids_replaced_total",
	  "Visitor identifiers (rxVisitor, dtPC random part, vi=) overwritten with pseudonyms.", NULL,
	  { { BV_ST_IDS_REPLACED, NULL } }, 1 },
	{ "beaconveil_ids_replaced_undecided_total",
	  "Identifiers replaced before the request's decision was known (signals after identifiers, see README).",
	  NULL, { { BV_ST_HELD_UNDECIDED, NULL } }, 1 },
	{ "beaconveil_http_requests_total", "HTTP requests seen on beacon ports (beacons or not).", NULL,
	  { { BV_ST_REQUESTS, NULL } }, 1 },
	{ "beaconveil_flows_created_total",
	  "Per-flow state entries created (bv_flows), at a connection's first data.", NULL,
	  { { BV_ST_FLOW_NEW, NULL } }, 1 },
	{ "beaconveil_mobile_beacons_total", "Mobile agents' beacons (query type=m).", NULL,
	  { { BV_ST_MOBILE, NULL } }, 1 },
	{ "beaconveil_mobile_rewrites_total",
	  "Rewrites in mobile beacons: ids_replaced (vi=, sn=, si= device part), user_tag_removed (identify-user na=), crash_removed (crash and exception events erased).",
	  "what",
	  { { BV_ST_MOBILE_IDS, "ids_replaced" }, { BV_ST_USER_TAG_REMOVED, "user_tag_removed" },
	    { BV_ST_CRASH_REMOVED, "crash_removed" } }, 3 },
	{ "beaconveil_mobile_bodies_total",
	  "Mobile bodies that could not be rewritten: unreadable (compressed or chunked; unreadable_body decides), cut (a crash event cut by a segment boundary: the beacon's rest dropped).",
	  "kind", { { BV_ST_BODY_UNREADABLE, "unreadable" }, { BV_ST_BODY_CUT, "cut" } }, 2 },
	{ "beaconveil_midstream_segments_total",
	  "pcap --midstream: segments of connections picked up without their SYN, rewritten conservatively.",
	  NULL, { { BV_ST_MIDSTREAM, NULL } }, 1 },
	{ "beaconveil_tunnel_packets_total",
	  "Mirror/pcap: VXLAN and GENEVE packets by outcome: vxlan, geneve (decapsulated, inner frame handled as a bare one), malformed (cut or broken: dropped), unsupported (not Ethernet inside, or nested: dropped).",
	  "outcome",
	  { { BV_ST_ENCAP_VXLAN, "vxlan" }, { BV_ST_ENCAP_GENEVE, "geneve" },
	    { BV_ST_ENCAP_MALFORMED, "malformed" }, { BV_ST_ENCAP_UNSUPPORTED, "unsupported" } }, 4 },
	{ "beaconveil_no_names_drops_total",
	  "Beacon-port segments with payload dropped because the names the scanner acts on (bv_names, bv_namefilt) were never written.",
	  NULL, { { BV_ST_NO_NAMES, NULL } }, 1 },
	{ "beaconveil_ip_anon_total",
	  "ip_anon=prefix_preserving: computed (addresses run through Crypto-PAn, not found in the cache), text_fallback (text addresses left in their truncated form: longer anonymized text, cut by a segment boundary, escaped or embedded forms).",
	  "what", { { BV_ST_IP_ANON_COMPUTED, "computed" }, { BV_ST_IP_ANON_TEXT_FALLBACK, "text_fallback" } }, 2 },
	{ "beaconveil_flows_half_open_total",
	  "Connections opened (SYN) and tracked half-open (bv_half) until their first data.", NULL,
	  { { BV_ST_HALF_OPEN, NULL } }, 1 },
	{ "beaconveil_retransmissions_total", "TCP segments carrying data seen before.", NULL,
	  { { BV_ST_RETRANSMIT, NULL } }, 1 },
	{ "beaconveil_proxy_headers_total", "PROXY protocol headers seen, by version (1 text, 2 binary).",
	  "version", { { BV_ST_PROXY_V1, "1" }, { BV_ST_PROXY_V2, "2" } }, 2 },
	{ "beaconveil_events_lost_total",
	  "Beacon decision events the kernel could not send to the daemon (ring buffer full).", NULL,
	  { { BV_ST_EVENTS_LOST, NULL } }, 1 },
};

static void render_kernel(FILE *f, const char *mode, const __u64 st[BV_ST_MAX])
{
	fam(f, "beaconveil_decisions_total", "counter",
	    "Beacon requests by decision (one per request), from the kernel's per-CPU counters.");
	for (int d = 0; d < BV_DEC_MAX; d++) {
		fprintf(f, "beaconveil_decisions_total{reason=\"%s\",mode=\"", bv_decision_name(d));
		lvs(f, mode);
		fprintf(f, "\"} %llu\n", (unsigned long long)st[d]);
	}
	for (size_t i = 0; i < sizeof(kfams) / sizeof(kfams[0]); i++) {
		const struct kfam *k = &kfams[i];

		fam(f, k->name, "counter", k->help);
		for (int j = 0; j < k->n; j++) {
			fprintf(f, "%s{", k->name);
			if (k->label)
				fprintf(f, "%s=\"%s\",", k->label, k->s[j].val);
			fputs("mode=\"", f);
			lvs(f, mode);
			fprintf(f, "\"} %llu\n", (unsigned long long)st[k->s[j].st]);
		}
	}
}

/* ---- per interface and events: kernel figures the daemon used to count ---- */

static int render_ifdec(FILE *f, const struct bv_metrics_src *src)
{
	struct bv_ifdec_named *rows;
	size_t nrows;

	if (bv_ifdec_named(src->ifdec_fd, src->ifaces, src->nifaces, &rows, &nrows))
		return -1;
	fam(f, "beaconveil_interface_decisions_total", "counter",
	    "Beacon decisions by ingress interface, from the kernel's per-CPU counters (bv_ifdec).");
	for (size_t i = 0; i < nrows; i++)
		for (int d = 0; d < BV_DEC_MAX; d++) {
			fputs("beaconveil_interface_decisions_total{interface=\"", f);
			lvs(f, rows[i].name);
			fprintf(f, "\",reason=\"%s\"} %llu\n", bv_decision_name(d),
				(unsigned long long)rows[i].dec[d]);
		}
	free(rows);
	return 0;
}

static int render_events(FILE *f, int events_fd)
{
	__u64 received, pending;

	if (bv_events_counts(events_fd, &received, &pending))
		return -1;
	fam(f, "beaconveil_events_received_total", "counter",
	    "Beacon decision events read from the kernel's ring buffer, by this daemon and earlier ones (its consumer position).");
	fprintf(f, "beaconveil_events_received_total %llu\n", (unsigned long long)received);
	fam(f, "beaconveil_events_pending", "gauge",
	    "Beacon decision events in the kernel's ring buffer not read yet.");
	fprintf(f, "beaconveil_events_pending %llu\n", (unsigned long long)pending);
	return 0;
}

/* ---- fleet ------------------------------------------------------------------ */

/* One sample of a fleet family: every one carries its scope. */
static void fsample(FILE *f, const char *name, const char *scope, const char *label,
		    const char *val, double v)
{
	fprintf(f, "%s{", name);
	if (label)
		fprintf(f, "%s=\"%s\",", label, val);
	fprintf(f, "scope=\"%s\"} %.0f\n", scope, v);
}

static void ffam(FILE *f, const char *name, const char *type, const char *scope,
		 const char *help, double v)
{
	char h[400];

	snprintf(h, sizeof(h), "%s scope: %s", scope[0] == 'n' ? "Node" : "Fleet", help);
	fam(f, name, type, h);
	fsample(f, name, scope, NULL, NULL, v);
}

/*
 * [fleet] redis: the node's link to the fleet (scope="node") and the
 * figures of the whole fleet read from Redis (scope="fleet": the same on
 * every node; never add them up across nodes).
 */
static int render_fleet(FILE *f, struct bv_fleet *fl, int tracking)
{
	struct bv_fleet_snap s;

	if (bv_fleet_snapshot(fl, &s))
		return -1;

	const struct { const char *name, *type, *help; double v; } node[] = {
		{ "beaconveil_fleet_redis_up", "gauge",
		  "1 while this node is connected to the fleet's Redis.",
		  s.up },
		{ "beaconveil_fleet_key_shared", "gauge",
		  "1 when the kernel hashes with the fleet's key of this period, 0 with a node-local key (Redis could not be asked at the rotation).",
		  s.key_shared },
		{ "beaconveil_fleet_connects_total", "counter",
		  "Connections made to Redis.",
		  (double)s.connects },
		{ "beaconveil_fleet_errors_total", "counter",
		  "Failed connections, lost connections and error replies of Redis.",
		  (double)s.errors },
		{ "beaconveil_fleet_visitor_hashes_sent_total", "counter",
		  "Visitor hashes sent to Redis with PFADD.",
		  (double)s.pfadds },
		{ "beaconveil_fleet_sketch_merges_total", "counter",
		  "This node's HyperLogLogs merged into Redis (after each connection, every minute): how visitors seen while Redis was unreachable reach the fleet.",
		  (double)s.merges },
		{ "beaconveil_fleet_sketches", "gauge",
		  "HyperLogLogs this node keeps for the current and the previous period.",
		  (double)s.sketches },
		{ "beaconveil_fleet_key_restored_total", "counter",
		  "Times this node put the period's key back into a Redis that had lost its data.",
		  (double)s.key_restored },
		{ "beaconveil_fleet_key_conflicts_total", "counter",
		  "Times the key in Redis was not this node's (made by another node while Redis had lost it): visitors of that period may count twice.",
		  (double)s.key_conflicts },
	};

	for (size_t i = 0; i < sizeof(node) / sizeof(node[0]); i++)
		ffam(f, node[i].name, node[i].type, "node", node[i].help, node[i].v);
	fam(f, "beaconveil_fleet_gap_total", "counter",
	    "Node scope: what this node counted that the fleet never gets: visitors (hashed with a node-local key), sessions (sessions and new/returning state while Redis was unreachable, or with a node-local key), apps (per-application visitors beyond the sketch limit).");
	fsample(f, "beaconveil_fleet_gap_total", "node", "what", "visitors", (double)s.gap_visitors);
	fsample(f, "beaconveil_fleet_gap_total", "node", "what", "sessions", (double)s.gap_sessions);
	fsample(f, "beaconveil_fleet_gap_total", "node", "what", "apps", (double)s.gap_apps);

	if (s.have_figures) {
		ffam(f, "beaconveil_fleet_visitors_unique_estimate", "gauge", "fleet",
		     "Distinct visitors of the current key period on every node (PFCOUNT, 0.81% standard error).",
		     s.visitors);
		ffam(f, "beaconveil_fleet_sessions_started_total", "counter", "fleet",
		     "Sessions started on any node in the current key period (starts again at 0 with each period).",
		     (double)s.sessions_started);
		if (tracking) {
			ffam(f, "beaconveil_fleet_visitors_new_total", "counter", "fleet",
			     "Visitors seen for the first time in the key period by any node (user_tracking on).",
			     (double)s.visitors_new);
			ffam(f, "beaconveil_fleet_visitors_returning_total", "counter", "fleet",
			     "Sessions started in the key period by a visitor any node knew (user_tracking on).",
			     (double)s.visitors_returning);
		}
		ffam(f, "beaconveil_fleet_apps_hidden", "gauge", "fleet",
		     "Applications this node saw with fewer than k distinct visitors in the fleet.",
		     (double)s.apps_hidden);
		fam(f, "beaconveil_fleet_app_visitors_unique_estimate", "gauge",
		    "Fleet scope: distinct visitors of an application in the current key period on every node, only for applications with at least k.");
		for (size_t i = 0; i < s.napps; i++) {
			fputs("beaconveil_fleet_app_visitors_unique_estimate{app=\"", f);
			lv(f, s.apps[i].id, s.apps[i].len);
			fprintf(f, "\",scope=\"fleet\"} %.0f\n", s.apps[i].visitors);
		}
	}
	bv_fleet_snap_free(&s);
	return 0;
}

/* ---- analytics -------------------------------------------------------------- */

static int render_analytics(FILE *f, const struct bv_metrics_src *src)
{
	struct bv_analytics_snap s;

	if (bv_analytics_snapshot(src->an, &s))
		return -1;

	fam(f, "beaconveil_events_invalid_total", "counter",
	    "Events ignored because a field was out of range.");
	fprintf(f, "beaconveil_events_invalid_total %llu\n", (unsigned long long)s.events_invalid);
	fam(f, "beaconveil_events_stale_epoch_total", "counter",
	    "Events hashed with an older key (in flight at a rotation): counted in decisions only.");
	fprintf(f, "beaconveil_events_stale_epoch_total %llu\n", (unsigned long long)s.events_stale);

	fam(f, "beaconveil_active_sessions", "gauge",
	    "Sessions (by session cookie hash) seen within the session timeout.");
	fprintf(f, "beaconveil_active_sessions %llu\n", (unsigned long long)s.active_sessions);
	fam(f, "beaconveil_sessions_started_total", "counter",
	    "Sessions started: a session hash not active before.");
	fprintf(f, "beaconveil_sessions_started_total %llu\n", (unsigned long long)s.sessions_started);
	fam(f, "beaconveil_sessions_expired_total", "counter",
	    "Sessions ended by the inactivity timeout.");
	fprintf(f, "beaconveil_sessions_expired_total %llu\n", (unsigned long long)s.sessions_expired);
	fam(f, "beaconveil_session_timeout_seconds", "gauge",
	    "Inactivity after which a session ends (config session_timeout).");
	fprintf(f, "beaconveil_session_timeout_seconds %u\n", s.session_timeout_s);

	fam(f, "beaconveil_visitors_unique_estimate", "gauge",
	    "Distinct visitors in the current hash key epoch (HyperLogLog estimate, 0.81% standard error); restarts at each key rotation.");
	fprintf(f, "beaconveil_visitors_unique_estimate %.0f\n", s.visitors_unique);
	fam(f, "beaconveil_hash_key_epoch", "gauge",
	    "Epoch of the hash key of the current counts (bv_hash_key.epoch).");
	fprintf(f, "beaconveil_hash_key_epoch %u\n", s.epoch);
	fam(f, "beaconveil_hash_key_rotations_total", "counter",
	    "Key epoch changes seen in the events; each one resets sessions and unique visitors.");
	fprintf(f, "beaconveil_hash_key_rotations_total %llu\n", (unsigned long long)s.epoch_changes);

	if (s.tracking) {
		fam(f, "beaconveil_visitors_new_total", "counter",
		    "Visitors seen for the first time in the key epoch (beacons whose policy has user_tracking on).");
		fprintf(f, "beaconveil_visitors_new_total %llu\n", (unsigned long long)s.visitors_new);
		fam(f, "beaconveil_visitors_returning_total", "counter",
		    "Sessions started by a visitor already seen in the key epoch (user_tracking on).");
		fprintf(f, "beaconveil_visitors_returning_total %llu\n",
			(unsigned long long)s.visitors_returning);
	}

	fam(f, "beaconveil_k_anonymity_min_visitors", "gauge",
	    "k: an application's counts are exported only once it has at least this many distinct visitors.");
	fprintf(f, "beaconveil_k_anonymity_min_visitors %u\n", s.k);
	fam(f, "beaconveil_apps_hidden", "gauge",
	    "Applications seen with fewer than k distinct visitors: their counts are not exported.");
	fprintf(f, "beaconveil_apps_hidden %zu\n", s.apps_hidden);
	fam(f, "beaconveil_app_decisions_total", "counter",
	    "Beacon decisions by application id (app=/ai=), only for applications with at least k distinct visitors.");
	for (size_t i = 0; i < s.napps; i++)
		for (int d = 0; d < BV_DEC_MAX; d++) {
			fputs("beaconveil_app_decisions_total{app=\"", f);
			lv(f, s.apps[i].id, s.apps[i].len);
			fprintf(f, "\",reason=\"%s\"} %llu\n", bv_decision_name(d),
				(unsigned long long)s.apps[i].dec[d]);
		}

	fam(f, "beaconveil_analytics_overflow_total", "counter",
	    "Events a bounded table had no room for: sessions, visitors (new/returning), apps.");
	fprintf(f, "beaconveil_analytics_overflow_total{table=\"sessions\"} %llu\n",
		(unsigned long long)s.overflow_sessions);
	fprintf(f, "beaconveil_analytics_overflow_total{table=\"visitors\"} %llu\n",
		(unsigned long long)s.overflow_visitors);
	fprintf(f, "beaconveil_analytics_overflow_total{table=\"apps\"} %llu\n",
		(unsigned long long)s.overflow_apps);

	if (src->fleet && render_fleet(f, src->fleet, s.tracking)) {
		bv_analytics_snap_free(&s);
		return -1;
	}
	bv_analytics_snap_free(&s);
	return 0;
}

int bv_metrics_render(const struct bv_metrics_src *src, char **out, size_t *len)
{
	__u64 st[BV_ST_MAX];
	const char *mode = src && src->mode ? src->mode : "unknown";
	char *buf = NULL;
	size_t n = 0;
	FILE *f;
	int rc = 0, e;

	*out = NULL;
	*len = 0;
	if (!src) {
		errno = EINVAL;
		return -1;
	}
	if (src->stats_fd >= 0 && bv_stats_read(src->stats_fd, st))
		return -1;
	f = open_memstream(&buf, &n);
	if (!f)
		return -1;
	fam(f, "beaconveil_info", "gauge", "Always 1; the mode label says where the program runs.");
	fputs("beaconveil_info{mode=\"", f);
	lvs(f, mode);
	fputs("\"} 1\n", f);
	if (src->stats_fd >= 0)
		render_kernel(f, mode, st);
	if (src->ifdec_fd >= 0 && render_ifdec(f, src))
		rc = -1;
	if (!rc && src->events_fd >= 0 && render_events(f, src->events_fd))
		rc = -1;
	/* fd 0 is stdin, never the map: a source that does not name it */
	if (!rc && src->audit_fd > 0) {
		unsigned k = src->audit_k ? src->audit_k : 10;
		struct bv_analytics_snap snap;

		/* the daemon's current k (a SIGHUP may have changed it) */
		if (src->an && !bv_analytics_snapshot(src->an, &snap)) {
			k = snap.k;
			bv_analytics_snap_free(&snap);
		}
		if (bv_audit_render(f, src->audit_fd, k, lv))
			rc = -1;
	}
	if (!rc && src->an && render_analytics(f, src))
		rc = -1;
	e = errno;
	if (fclose(f) && !rc) {
		rc = -1;
		e = errno;
	}
	if (rc || !buf) {
		free(buf);
		errno = rc ? e : ENOMEM;
		return -1;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* ---- addresses ------------------------------------------------------------ */

int bv_metrics_parse_addr(const char *addr_port, struct sockaddr_storage *ss, socklen_t *sslen,
			  char *err, size_t errlen)
{
	char host[64];
	const char *colon, *h = addr_port, *port;
	size_t hlen;
	char *end;
	unsigned long p;

	memset(ss, 0, sizeof(*ss));
	if (!addr_port || !*addr_port) {
		snprintf(err, errlen, "empty metrics address (expected IPv4:PORT or [IPv6]:PORT)");
		return -1;
	}
	if (*h == '[') {
		const char *rb = strchr(h, ']');

		if (!rb || rb[1] != ':') {
			snprintf(err, errlen, "metrics address '%s': expected [IPv6]:PORT", addr_port);
			return -1;
		}
		h++;
		hlen = (size_t)(rb - h);
		port = rb + 2;
	} else {
		colon = strrchr(h, ':');
		if (!colon) {
			snprintf(err, errlen, "metrics address '%s': expected IPv4:PORT or [IPv6]:PORT",
				 addr_port);
			return -1;
		}
		hlen = (size_t)(colon - h);
		port = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		snprintf(err, errlen, "metrics address '%s': bad address part", addr_port);
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	p = strtoul(port, &end, 10);
	if (!*port || *end || errno || p > 65535 || *port < '0' || *port > '9') {
		snprintf(err, errlen, "metrics address '%s': port must be 0..65535", addr_port);
		return -1;
	}
	if (*addr_port == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) {
			snprintf(err, errlen, "metrics address '%s': '%s' is not a numeric IPv6 address",
				 addr_port, host);
			return -1;
		}
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		*sslen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
			snprintf(err, errlen, "metrics address '%s': '%s' is not a numeric IPv4 address%s",
				 addr_port, host, strchr(host, ':') ? " (write IPv6 as [ADDR]:PORT)" : "");
			return -1;
		}
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		*sslen = sizeof(*s4);
	}
	return 0;
}

/* ---- the HTTP server ------------------------------------------------------- */

struct bv_metrics {
	struct MHD_Daemon *d;
	struct bv_metrics_src src;   /* strings below are our copies */
	char *mode;
	char **ifaces;
	int port;
};

static enum MHD_Result reply_static(struct MHD_Connection *c, unsigned code, const char *text,
				    const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result metrics_handler(void *cls, struct MHD_Connection *c, const char *url,
				       const char *method, const char *version,
				       const char *upload_data, size_t *upload_data_size,
				       void **con_cls)
{
	struct bv_metrics *m = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *body;
	size_t len;

	(void)version;
	(void)upload_data;
	(void)con_cls;
	if (*upload_data_size) {    /* a body we do not want: discard */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/metrics"))
		return reply_static(c, MHD_HTTP_NOT_FOUND, "404 not found: metrics are at /metrics\n", NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_static(c, MHD_HTTP_METHOD_NOT_ALLOWED, "405 method not allowed: use GET\n",
				    "GET, HEAD");
	if (bv_metrics_render(&m->src, &body, &len))
		return reply_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				    "500 cannot read the counters\n", NULL);
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, PROM_CTYPE);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static void metrics_free(struct bv_metrics *m)
{
	if (!m)
		return;
	for (int i = 0; m->ifaces && i < m->src.nifaces; i++)
		free(m->ifaces[i]);
	free(m->ifaces);
	free(m->mode);
	free(m);
}

struct bv_metrics *bv_metrics_start(const char *addr_port, const struct bv_metrics_src *src,
				    char *err, size_t errlen)
{
	struct sockaddr_storage ss, bound;
	socklen_t sslen, blen = sizeof(bound);
	struct bv_metrics *m;
	const char *hint = "";
	int fd, one = 1, e;
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD;

	if (!src) {
		snprintf(err, errlen, "metrics: no source");
		return NULL;
	}
	if (bv_metrics_parse_addr(addr_port, &ss, &sslen, err, errlen))
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "metrics: out of memory");
		return NULL;
	}
	m->src = *src;
	m->mode = strdup(src->mode ? src->mode : "unknown");
	m->src.mode = m->mode;
	m->src.nifaces = 0;
	m->src.ifaces = NULL;
	if (src->nifaces > 0) {
		m->ifaces = calloc((size_t)src->nifaces, sizeof(*m->ifaces));
		for (int i = 0; m->ifaces && i < src->nifaces; i++) {
			m->ifaces[i] = strdup(src->ifaces[i] ? src->ifaces[i] : "");
			if (!m->ifaces[i])
				break;
			m->src.nifaces = i + 1;
		}
		m->src.ifaces = (const char *const *)m->ifaces;
	}
	if (!m->mode || m->src.nifaces != (src->nifaces > 0 ? src->nifaces : 0)) {
		metrics_free(m);
		snprintf(err, errlen, "metrics: out of memory");
		return NULL;
	}

	/* Our own socket: bind errors get a clear message (MHD only says NULL). */
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "metrics: socket: %s", strerror(errno));
		metrics_free(m);
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		flags |= MHD_USE_IPv6;
	}
	if (bind(fd, (struct sockaddr *)&ss, sslen) || listen(fd, 64)) {
		e = errno;
		if (e == EADDRINUSE)
			hint = " (another beaconveil or exporter there? choose another with --metrics ADDR:PORT or [daemon] metrics)";
		else if (e == EADDRNOTAVAIL)
			hint = " (not an address of this host)";
		else if (e == EACCES)
			hint = " (ports below 1024 need root or CAP_NET_BIND_SERVICE)";
		snprintf(err, errlen, "metrics: cannot listen on %s: %s%s", addr_port, strerror(e), hint);
		close(fd);
		metrics_free(m);
		return NULL;
	}
	if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0)
		m->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
							    : ((struct sockaddr_in *)&bound)->sin_port);
	m->d = MHD_start_daemon(flags, 0, NULL, NULL, metrics_handler, m,
				MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)32,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				MHD_OPTION_END);
	if (!m->d) {
		snprintf(err, errlen, "metrics: cannot start the HTTP server (libmicrohttpd) on %s",
			 addr_port);
		close(fd);
		metrics_free(m);
		return NULL;
	}
	return m;
}

void bv_metrics_stop(struct bv_metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->d);   /* joins its thread, closes the listen socket */
	metrics_free(m);
}

int bv_metrics_port(const struct bv_metrics *m)
{
	return m ? m->port : -1;
}

/* ---- the HTTP client --------------------------------------------------- */

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short ev, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	long long left;
	int r;

	for (;;) {
		left = deadline - ms_now();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

#define FETCH_MAX (64u << 20)   /* a body larger than this is not ours */

int bv_metrics_fetch(const char *addr_port, int timeout_ms, char **body, size_t *len,
		     char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	long long deadline = ms_now() + (timeout_ms > 0 ? timeout_ms : 1000);
	char req[256], *buf = NULL, *hdr_end, *nb;
	size_t n = 0, cap = 0, off = 0, rl;
	int fd, soerr = 0, status;
	socklen_t elen = sizeof(soerr);
	ssize_t w;

	*body = NULL;
	*len = 0;
	if (bv_metrics_parse_addr(addr_port, &ss, &sslen, err, errlen))
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, sslen) && errno != EINPROGRESS)
		goto syserr;
	if (wait_fd(fd, POLLOUT, deadline))
		goto syserr;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &elen) == 0 && soerr) {
		errno = soerr;
		goto syserr;
	}
	rl = (size_t)snprintf(req, sizeof(req),
			      "GET /metrics HTTP/1.0\r\nHost: %s\r\nAccept: text/plain\r\n"
			      "User-Agent: beaconveil-stats\r\nConnection: close\r\n\r\n", addr_port);
	if (rl >= sizeof(req))
		rl = sizeof(req) - 1;
	while (off < rl) {
		if (wait_fd(fd, POLLOUT, deadline))
			goto syserr;
		w = send(fd, req + off, rl - off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			goto syserr;
		}
		off += (size_t)w;
	}
	for (;;) {
		ssize_t r;

		if (n + 4096 + 1 > cap) {
			if (cap >= FETCH_MAX) {
				snprintf(err, errlen, "%s: response larger than %u bytes", addr_port, FETCH_MAX);
				goto fail;
			}
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			buf = nb;
		}
		if (wait_fd(fd, POLLIN, deadline))
			goto syserr;
		r = recv(fd, buf + n, cap - n - 1, 0);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			goto syserr;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	fd = -1;
	if (!buf) {
		snprintf(err, errlen, "%s: empty response", addr_port);
		return -1;
	}
	buf[n] = '\0';
	if (sscanf(buf, "HTTP/%*d.%*d %d", &status) != 1) {
		snprintf(err, errlen, "%s: not an HTTP response", addr_port);
		goto fail;
	}
	if (status != 200) {
		snprintf(err, errlen, "%s/metrics: HTTP status %d", addr_port, status);
		goto fail;
	}
	hdr_end = strstr(buf, "\r\n\r\n");
	if (!hdr_end) {
		snprintf(err, errlen, "%s: truncated HTTP response", addr_port);
		goto fail;
	}
	hdr_end += 4;
	n -= (size_t)(hdr_end - buf);
	memmove(buf, hdr_end, n + 1);
	*body = buf;
	*len = n;
	return 0;
syserr:
	snprintf(err, errlen, "%s: %s", addr_port,
		 errno == ETIMEDOUT ? "timed out" : strerror(errno));
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return -1;
}

/* ---- parsing the text format -------------------------------------------- */

struct pctx {
	struct bv_prom_doc *d;
	size_t scap, fcap;
	char **set;           /* series seen: open addressing of strings */
	size_t setcap, setn;
	struct bv_prom_family *cur;
	char *err;
	size_t errlen;
	size_t line;
};

static int perr(struct pctx *x, const char *fmt, const char *arg)
{
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
	snprintf(x->err, x->errlen, "line %zu: %s", x->line, msg);
	return -1;
}

static bool name_start(int c, bool colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}

static bool name_char(int c, bool colon)
{
	return name_start(c, colon) || (c >= '0' && c <= '9');
}

/* A name at *p (metric names allow ':'); malloc'ed, *p advanced. */
static char *take_name(const char **p, const char *end, bool colon)
{
	const char *s = *p;
	char *r;

	if (s >= end || !name_start((unsigned char)*s, colon))
		return NULL;
	while (s < end && name_char((unsigned char)*s, colon))
		s++;
	r = strndup(*p, (size_t)(s - *p));
	*p = s;
	return r;
}

static void skip_ws(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* 1 added, 0 present already, -1 ENOMEM. Takes ownership of s. */
static int set_add(struct pctx *x, char *s)
{
	size_t i;

	if ((x->setn + 1) * 2 > x->setcap) {
		size_t ncap = x->setcap ? x->setcap * 2 : 256;
		char **nv = calloc(ncap, sizeof(*nv));

		if (!nv) {
			free(s);
			return -1;
		}
		for (size_t j = 0; j < x->setcap; j++) {
			if (!x->set[j])
				continue;
			for (i = str_hash(x->set[j]) & (ncap - 1); nv[i]; i = (i + 1) & (ncap - 1))
				;
			nv[i] = x->set[j];
		}
		free(x->set);
		x->set = nv;
		x->setcap = ncap;
	}
	for (i = str_hash(s) & (x->setcap - 1); x->set[i]; i = (i + 1) & (x->setcap - 1))
		if (!strcmp(x->set[i], s)) {
			free(s);
			return 0;
		}
	x->set[i] = s;
	x->setn++;
	return 1;
}

static struct bv_prom_family *fam_find(struct pctx *x, const char *name)
{
	for (size_t i = 0; i < x->d->nf; i++)
		if (!strcmp(x->d->f[i].name, name))
			return &x->d->f[i];
	return NULL;
}

/* The family a line is about; its lines must be together. */
static struct bv_prom_family *fam_touch(struct pctx *x, const char *name)
{
	struct bv_prom_family *f = fam_find(x, name);

	if (f) {
		if (f != x->cur) {
			perr(x, "lines of family %s are not together", name);
			return NULL;
		}
		return f;
	}
	if (x->d->nf == x->fcap) {
		size_t ncap = x->fcap ? x->fcap * 2 : 32;
		struct bv_prom_family *nf = realloc(x->d->f, ncap * sizeof(*nf));

		if (!nf) {
			perr(x, "out of memory%s", NULL);
			return NULL;
		}
		x->d->f = nf;
		x->fcap = ncap;
	}
	f = &x->d->f[x->d->nf];
	memset(f, 0, sizeof(*f));
	f->name = strdup(name);
	if (!f->name) {
		perr(x, "out of memory%s", NULL);
		return NULL;
	}
	x->d->nf++;
	x->cur = f;
	return f;
}

static bool ends_with(const char *s, const char *base, const char *suffix)
{
	size_t bl = strlen(base);

	return !strncmp(s, base, bl) && !strcmp(s + bl, suffix);
}

static int parse_comment(struct pctx *x, const char *p, const char *end)
{
	bool help;
	char *name;
	struct bv_prom_family *f;

	p++;   /* '#' */
	skip_ws(&p, end);
	if (end - p >= 4 && !strncmp(p, "HELP", 4))
		help = true;
	else if (end - p >= 4 && !strncmp(p, "TYPE", 4))
		help = false;
	else
		return 0;   /* an ordinary comment */
	p += 4;
	if (p < end && p[0] != ' ' && p[0] != '\t')
		return 0;   /* "# HELPER ..." is a comment */
	skip_ws(&p, end);
	name = take_name(&p, end, true);
	if (!name)
		return perr(x, "%s without a valid metric name", help ? "HELP" : "TYPE");
	if (p < end && *p != ' ' && *p != '\t') {
		free(name);
		return perr(x, "bad metric name in %s", help ? "HELP" : "TYPE");
	}
	f = fam_touch(x, name);
	free(name);
	if (!f)
		return -1;
	if (p < end)
		p++;   /* one separator */
	if (help) {
		char *h, *o;

		if (f->help)
			return perr(x, "second HELP for %s", f->name);
		h = o = malloc((size_t)(end - p) + 1);
		if (!h)
			return perr(x, "out of memory%s", NULL);
		for (; p < end; p++) {
			if (*p == '\\' && p + 1 < end && (p[1] == '\\' || p[1] == 'n')) {
				*o++ = p[1] == 'n' ? '\n' : '\\';
				p++;
			} else if (*p == '\\') {
				free(h);
				return perr(x, "bad escape in HELP of %s", f->name);
			} else {
				*o++ = *p;
			}
		}
		*o = '\0';
		f->help = h;
		return 0;
	}
	skip_ws(&p, end);
	{
		static const char *const types[] = { "counter", "gauge", "histogram", "summary", "untyped" };
		size_t tl = (size_t)(end - p);
		size_t i;

		while (tl > 0 && (p[tl - 1] == ' ' || p[tl - 1] == '\t'))
			tl--;
		for (i = 0; i < 5; i++)
			if (strlen(types[i]) == tl && !strncmp(types[i], p, tl))
				break;
		if (i == 5)
			return perr(x, "unknown TYPE for %s", f->name);
		if (f->type)
			return perr(x, "second TYPE for %s", f->name);
		if (f->nsamples)
			return perr(x, "TYPE of %s after its samples", f->name);
		f->type = strdup(types[i]);
		if (!f->type)
			return perr(x, "out of memory%s", NULL);
	}
	return 0;
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bv_prom_label *)a)->name, ((const struct bv_prom_label *)b)->name);
}

static void sample_free(struct bv_prom_sample *s)
{
	for (size_t i = 0; i < s->nlabels; i++) {
		free(s->labels[i].name);
		free(s->labels[i].value);
	}
	free(s->labels);
	free(s->name);
	memset(s, 0, sizeof(*s));
}

static int parse_sample(struct pctx *x, const char *p, const char *end)
{
	struct bv_prom_sample s = { 0 };
	struct bv_prom_family *f;
	const char *famname, *after_name;
	char *fname = NULL, *key = NULL, *vend, vbuf[64];
	size_t lcap = 0, klen, vl;
	int rc = -1;

	s.name = take_name(&p, end, true);
	if (!s.name)
		return perr(x, "bad metric name%s", NULL);
	after_name = p;
	skip_ws(&p, end);
	if (p < end && *p == '{') {
		p++;
		for (;;) {
			struct bv_prom_label l;
			char *o;

			skip_ws(&p, end);
			if (p < end && *p == '}') {
				p++;
				break;
			}
			l.name = take_name(&p, end, false);
			if (!l.name) {
				perr(x, "bad label name in %s", s.name);
				goto out;
			}
			for (size_t i = 0; i < s.nlabels; i++)
				if (!strcmp(s.labels[i].name, l.name)) {
					perr(x, "label %s given twice", l.name);
					free(l.name);
					goto out;
				}
			skip_ws(&p, end);
			if (p >= end || *p != '=') {
				perr(x, "expected '=' after label %s", l.name);
				free(l.name);
				goto out;
			}
			p++;
			skip_ws(&p, end);
			if (p >= end || *p != '"') {
				perr(x, "label %s: value not quoted", l.name);
				free(l.name);
				goto out;
			}
			p++;
			l.value = o = malloc((size_t)(end - p) + 1);
			if (!o) {
				free(l.name);
				perr(x, "out of memory%s", NULL);
				goto out;
			}
			for (; p < end && *p != '"'; p++) {
				if (*p == '\\') {
					if (p + 1 >= end || (p[1] != '\\' && p[1] != '"' && p[1] != 'n')) {
						perr(x, "label %s: bad escape", l.name);
						free(l.name);
						free(l.value);
						goto out;
					}
					*o++ = p[1] == 'n' ? '\n' : p[1];
					p++;
				} else {
					*o++ = *p;
				}
			}
			*o = '\0';
			if (p >= end) {
				perr(x, "label %s: unterminated value", l.name);
				free(l.name);
				free(l.value);
				goto out;
			}
			p++;
			if (s.nlabels == lcap) {
				struct bv_prom_label *nl;

				lcap = lcap ? lcap * 2 : 4;
				nl = realloc(s.labels, lcap * sizeof(*nl));
				if (!nl) {
					free(l.name);
					free(l.value);
					perr(x, "out of memory%s", NULL);
					goto out;
				}
				s.labels = nl;
			}
			s.labels[s.nlabels++] = l;
			skip_ws(&p, end);
			if (p < end && *p == ',') {
				p++;
				continue;
			}
			if (p < end && *p == '}') {
				p++;
				break;
			}
			perr(x, "expected ',' or '}' in labels of %s", s.name);
			goto out;
		}
	}
	if (p == after_name) {
		perr(x, "expected a space and a value after %s", s.name);
		goto out;
	}
	if (p < end && *p != ' ' && *p != '\t' && p[-1] == '}') {
		perr(x, "expected a space and a value after %s", s.name);
		goto out;
	}
	skip_ws(&p, end);
	if (p >= end) {
		perr(x, "no value after %s", s.name);
		goto out;
	}
	for (vl = 0; p + vl < end && p[vl] != ' ' && p[vl] != '\t'; vl++)
		;
	if (vl == 0 || vl >= sizeof(vbuf)) {
		perr(x, "bad value of %s", s.name);
		goto out;
	}
	memcpy(vbuf, p, vl);
	vbuf[vl] = '\0';
	errno = 0;
	s.value = strtod(vbuf, &vend);
	if (*vend || (errno && !isinf(s.value) && s.value != 0)) {
		perr(x, "bad value '%s'", vbuf);
		goto out;
	}
	p += vl;
	skip_ws(&p, end);
	if (p < end) {   /* timestamp: an integer */
		const char *t = p;

		if (*t == '-')
			t++;
		if (t >= end)
			t = NULL;
		while (t && t < end && *t >= '0' && *t <= '9')
			t++;
		if (t) {
			const char *te = t;

			skip_ws(&te, end);
			if (te != end || t == p || (t == p + 1 && *p == '-'))
				t = NULL;
		}
		if (!t) {
			perr(x, "trailing text after the value of %s", s.name);
			goto out;
		}
	}

	/* Its family: a histogram/summary's _bucket/_sum/_count, or its name. */
	famname = s.name;
	if (x->cur && x->cur->type &&
	    (!strcmp(x->cur->type, "histogram") || !strcmp(x->cur->type, "summary")) &&
	    (ends_with(s.name, x->cur->name, "_bucket") || ends_with(s.name, x->cur->name, "_sum") ||
	     ends_with(s.name, x->cur->name, "_count")))
		famname = x->cur->name;
	fname = strdup(famname);
	if (!fname) {
		perr(x, "out of memory%s", NULL);
		goto out;
	}
	f = fam_touch(x, fname);
	if (!f)
		goto out;

	/* No series twice: name and sorted labels. */
	if (s.nlabels > 1)
		qsort(s.labels, s.nlabels, sizeof(*s.labels), label_cmp);
	klen = strlen(s.name) + 2;
	for (size_t i = 0; i < s.nlabels; i++)
		klen += strlen(s.labels[i].name) + strlen(s.labels[i].value) + 2;
	key = malloc(klen);
	if (!key) {
		perr(x, "out of memory%s", NULL);
		goto out;
	}
	{
		char *o = key;

		o += sprintf(o, "%s", s.name);
		for (size_t i = 0; i < s.nlabels; i++)
			o += sprintf(o, "\x01%s\x02%s", s.labels[i].name, s.labels[i].value);
	}
	switch (set_add(x, key)) {
	case -1:
		key = NULL;
		perr(x, "out of memory%s", NULL);
		goto out;
	case 0:
		key = NULL;
		perr(x, "series %s given twice", s.name);
		goto out;
	}
	key = NULL;
	if (x->d->ns == x->scap) {
		size_t ncap = x->scap ? x->scap * 2 : 128;
		struct bv_prom_sample *ns = realloc(x->d->s, ncap * sizeof(*ns));

		if (!ns) {
			perr(x, "out of memory%s", NULL);
			goto out;
		}
		x->d->s = ns;
		x->scap = ncap;
	}
	f->nsamples++;
	x->d->s[x->d->ns++] = s;
	memset(&s, 0, sizeof(s));
	rc = 0;
out:
	free(fname);
	free(key);
	sample_free(&s);
	return rc;
}

void bv_prom_doc_free(struct bv_prom_doc *doc)
{
	if (!doc)
		return;
	for (size_t i = 0; i < doc->ns; i++)
		sample_free(&doc->s[i]);
	for (size_t i = 0; i < doc->nf; i++) {
		free(doc->f[i].name);
		free(doc->f[i].type);
		free(doc->f[i].help);
	}
	free(doc->s);
	free(doc->f);
	memset(doc, 0, sizeof(*doc));
}

int bv_prom_parse(const char *text, size_t len, struct bv_prom_doc *doc, char *err, size_t errlen)
{
	struct pctx x = { .d = doc, .err = err, .errlen = errlen };
	const char *p = text, *end = text + len;
	int rc = 0;

	memset(doc, 0, sizeof(*doc));
	while (p < end && rc == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *q = p;

		x.line++;
		if (memchr(p, '\0', (size_t)(le - p)))
			rc = perr(&x, "NUL byte%s", NULL);
		else {
			skip_ws(&q, le);
			if (q == le)
				;   /* blank line */
			else if (*q == '#')
				rc = parse_comment(&x, q, le);
			else
				rc = parse_sample(&x, q, le);
		}
		p = nl ? nl + 1 : end;
	}
	if (rc == 0 && len > 0 && text[len - 1] != '\n')
		rc = perr(&x, "the last line does not end with a line feed%s", NULL);
	for (size_t i = 0; i < x.setcap; i++)
		free(x.set[i]);
	free(x.set);
	if (rc)
		bv_prom_doc_free(doc);
	return rc;
}

const char *bv_prom_label(const struct bv_prom_sample *s, const char *name)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (!strcmp(s->labels[i].name, name))
			return s->labels[i].value;
	return NULL;
}

const struct bv_prom_sample *bv_prom_find(const struct bv_prom_doc *doc, const char *name,
					  const char *const *kv)
{
	for (size_t i = 0; i < doc->ns; i++) {
		const struct bv_prom_sample *s = &doc->s[i];
		bool ok = !strcmp(s->name, name);

		for (size_t j = 0; ok && kv && kv[j] && kv[j + 1]; j += 2) {
			const char *v = bv_prom_label(s, kv[j]);

			ok = v && !strcmp(v, kv[j + 1]);
		}
		if (ok)
			return s;
	}
	return NULL;
}
