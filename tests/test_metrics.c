/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Metrics (user/metrics.c, user/cmd_stats.c): the rendered text is checked
 * by `promtool check metrics` (exit 0, no warning) and by our own parser
 * (names, types, naming rules, values); kernel counters come from a real
 * per-CPU array created with bpf_map_create and filled with known values
 * per CPU, the per-interface decisions from a real per-CPU hash like
 * bv_ifdec, the events received from a ring buffer's consumer position; the
 * HTTP server really serves /metrics on an ephemeral port of 127.0.0.1 (raw
 * socket client) and 404s elsewhere; `beaconveil stats` reads pinned copies
 * of the maps, with and without a daemon, and fails clearly without maps or
 * privileges. Needs root (BPF maps, bpffs).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "analytics.h"
#include "fleet.h"
#include "bv_abi.h"
#include "config.h"
#include "kcounts.h"
#include "loader.h"
#include "metrics.h"

#define S 1000000000ULL
#define ERRLEN 1024

static int stats_fd = -1, ifdec_fd = -1, events_fd = -1;
static int ncpu;
static char tmpdir[64];
static char pindir[96];
static const char weird_app[] = "we\"ird\\app%\x01\xc3\xa9 x";   /* any bytes */

/* Per-interface decisions in ifdec_fd, summed over CPUs: lo (1) as the
 * events of make_analytics() would give, an index without a name, and the
 * overflow row. The events received (consumer position): 40. */
#define NO_SUCH_IFINDEX 424242u
static const struct { __u32 ifindex; int dec; __u64 n; } ifdec_fill[] = {
	{ 1, BV_DEC_PASS, 8 }, { 1, BV_DEC_ANONYMIZED, 4 }, { 1, BV_DEC_DROPPED_DNT, 4 },
	{ 1, BV_DEC_MALFORMED, 24 }, { NO_SUCH_IFINDEX, BV_DEC_PASS, 1 },
	{ BV_IFDEC_OVERFLOW, BV_DEC_DROPPED_GPC, 2 },
};
#define EVENTS_RECEIVED 40

/* Fills ifdec_fd, each count split over the CPUs (the rest on CPU 0). */
static int fill_ifdec(void)
{
	struct bv_ifdec *v = calloc((size_t)ncpu, sizeof(*v));
	int rc = 0;

	for (size_t i = 0; v && i < sizeof(ifdec_fill) / sizeof(ifdec_fill[0]); i++) {
		__u32 key = ifdec_fill[i].ifindex;

		memset(v, 0, (size_t)ncpu * sizeof(*v));
		bpf_map_lookup_elem(ifdec_fd, &key, v);
		for (int c = 0; c < ncpu; c++)
			v[c].dec[ifdec_fill[i].dec] += ifdec_fill[i].n / (__u64)ncpu +
				(c == 0 ? ifdec_fill[i].n % (__u64)ncpu : 0);
		rc |= bpf_map_update_elem(ifdec_fd, &key, v, BPF_ANY);
	}
	free(v);
	return v ? rc : -1;
}

/* A consumer moves the consumer position of a ring buffer (page 0, the
 * only page userspace may write); set it to n records. */
static int set_events_received(__u64 n)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long *p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, events_fd, 0);

	if (p == MAP_FAILED)
		return -1;
	*p = (unsigned long)(n * BV_EVENT_RECORD);
	munmap(p, (size_t)page);
	return 0;
}

/* Known per-CPU values: cpu c holds (index + 1) * 1000 + c. */
static uint64_t expect_stat(int k)
{
	return (uint64_t)ncpu * (uint64_t)(k + 1) * 1000 + (uint64_t)ncpu * (uint64_t)(ncpu - 1) / 2;
}

static int group_setup(void **state)
{
	uint64_t *v;
	struct statfs st;

	(void)state;
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return -1;
	stats_fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "bv_stats", 4, 8, BV_ST_MAX, NULL);
	if (stats_fd < 0) {
		fprintf(stderr, "bpf_map_create: %s (run as root)\n", strerror(errno));
		return -1;
	}
	v = calloc((size_t)ncpu, sizeof(*v));
	for (uint32_t k = 0; k < BV_ST_MAX; k++) {
		for (int c = 0; c < ncpu; c++)
			v[c] = (uint64_t)(k + 1) * 1000 + (uint64_t)c;
		if (bpf_map_update_elem(stats_fd, &k, v, BPF_ANY))
			return -1;
	}
	free(v);
	ifdec_fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "bv_ifdec", 4, sizeof(struct bv_ifdec),
				  BV_IFDEC_MAX, NULL);
	events_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "bv_events", 0, 0, 1 << 16, NULL);
	if (ifdec_fd < 0 || events_fd < 0 || fill_ifdec() || set_events_received(EVENTS_RECEIVED))
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bv-test-metrics-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	/* bpffs: run-tests.sh mounts it; a test run by hand may need it. */
	if (statfs(BV_PIN_ROOT, &st) || st.f_type != BPF_FS_MAGIC) {
		mkdir(BV_PIN_ROOT, 0755);
		if (mount("bpf", BV_PIN_ROOT, "bpf", 0, NULL)) {
			fprintf(stderr, "cannot mount bpffs: %s\n", strerror(errno));
			return -1;
		}
	}
	snprintf(pindir, sizeof(pindir), BV_PIN_ROOT "/bv-test-metrics-%d", (int)getpid());
	if (mkdir(pindir, 0700) && errno != EEXIST)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	char p[160];

	(void)state;
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", pindir,
			 (const char *[]){ "bv_stats", "bv_ifdec", "bv_events" }[i]);
		unlink(p);
	}
	rmdir(pindir);
	snprintf(p, sizeof(p), "rm -rf '%s'", tmpdir);
	if (system(p) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	if (stats_fd >= 0)
		close(stats_fd);
	if (ifdec_fd >= 0)
		close(ifdec_fd);
	if (events_fd >= 0)
		close(events_fd);
	return 0;
}

static struct bv_event ev(uint64_t ts, uint64_t visitor, uint64_t session, uint32_t ifindex,
			  const char *app, size_t app_len, uint8_t decision)
{
	struct bv_event e;

	memset(&e, 0, sizeof(e));
	e.ts_ns = ts;
	e.visitor = visitor;
	e.session = session;
	e.epoch = 3;
	e.ifindex = ifindex;
	e.sig = BV_SIG_BEACON;
	e.decision = decision;
	if (app) {
		e.app_len = (uint8_t)app_len;
		memcpy(e.app, app, app_len);
	}
	return e;
}

/* Analytics with: 3 sessions, 40 visitors; app "shop" 12 visitors (k = 10:
 * shown), "tiny" 4 (hidden), weird_app 20 (shown, label encoded). */
static struct bv_analytics *make_analytics(bool tracking)
{
	struct bv_config cfg;
	struct bv_analytics *a;
	struct bv_event e;
	uint64_t v = 1;

	bv_config_defaults(&cfg);
	cfg.global.user_tracking = tracking;
	a = bv_analytics_new(&cfg);
	assert_non_null(a);
	for (int i = 0; i < 12; i++) {
		e = ev(S, v++ * 0x9e3779b97f4a7c15ULL, 0x51 + (uint64_t)(i % 3), 1, "shop", 4,
		       i < 8 ? BV_DEC_PASS : BV_DEC_ANONYMIZED);
		bv_analytics_event(a, &e);
	}
	for (int i = 0; i < 4; i++) {
		e = ev(S, v++ * 0x9e3779b97f4a7c15ULL, 0, 1, "tiny", 4, BV_DEC_DROPPED_DNT);
		bv_analytics_event(a, &e);
	}
	for (int i = 0; i < 24; i++) {
		e = ev(S, v++ * 0x9e3779b97f4a7c15ULL, 0, 1, weird_app, sizeof(weird_app) - 1,
		       BV_DEC_MALFORMED);
		bv_analytics_event(a, &e);
	}
	bv_analytics_tick(a, 2 * S);
	return a;
}

static const char *const ifaces[] = { "lo", "bvtest0" };

static char *render(struct bv_analytics *a, const char *mode, size_t *len)
{
	struct bv_metrics_src src = { .stats_fd = stats_fd, .ifdec_fd = ifdec_fd,
				      .events_fd = events_fd, .mode = mode, .ifaces = ifaces,
				      .nifaces = 2, .an = a };
	char *out = NULL;

	assert_int_equal(bv_metrics_render(&src, &out, len), 0);
	assert_non_null(out);
	assert_int_equal(strlen(out), *len);
	return out;
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* `promtool check metrics` on text: exit 0 and nothing printed. */
static void promtool_ok(const char *text, size_t len)
{
	char in[128], out[128], cmd[512], *msg;
	int rc;

	snprintf(in, sizeof(in), "%s/metrics.txt", tmpdir);
	snprintf(out, sizeof(out), "%s/promtool.out", tmpdir);
	write_file(in, text, len);
	if (system("command -v promtool >/dev/null 2>&1") != 0)
		fail_msg("promtool not found: install the Debian package 'prometheus' "
			 "(tools/deps/metrics.list; sudo make deps)");
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' > '%s' 2>&1", in, out);
	rc = system(cmd);
	msg = read_file(out);
	if (rc != 0 || msg[0])
		fail_msg("promtool check metrics: exit %d: %s", WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, msg);
	free(msg);
}

/* Our own checks of every family: prefix, HELP and TYPE, naming rules. */
static void check_families(const struct bv_prom_doc *d)
{
	for (size_t i = 0; i < d->nf; i++) {
		const struct bv_prom_family *f = &d->f[i];
		size_t n = strlen(f->name);
		bool total = n > 6 && !strcmp(f->name + n - 6, "_total");

		if (strncmp(f->name, "beaconveil_", 11))
			fail_msg("family %s: not prefixed beaconveil_", f->name);
		if (!f->help || !f->help[0] || !f->type)
			fail_msg("family %s: HELP or TYPE missing", f->name);
		if (!strcmp(f->type, "counter") && !total)
			fail_msg("counter %s does not end in _total", f->name);
		if (strcmp(f->type, "counter") && total)
			fail_msg("%s %s ends in _total", f->type, f->name);
		if (strcmp(f->type, "counter") && strcmp(f->type, "gauge"))
			fail_msg("family %s: unexpected type %s", f->name, f->type);
	}
	for (size_t i = 0; i < d->ns; i++) {
		bool found = false;

		for (size_t j = 0; j < d->nf; j++)
			found = found || !strcmp(d->f[j].name, d->s[i].name);
		if (!found)
			fail_msg("sample %s has no family", d->s[i].name);
		assert_true(d->s[i].value >= 0);
	}
}

static double get(const struct bv_prom_doc *d, const char *name, const char *const *kv)
{
	const struct bv_prom_sample *s = bv_prom_find(d, name, kv);

	if (!s)
		fail_msg("no sample %s%s%s", name, kv && kv[0] ? " with " : "", kv && kv[0] ? kv[1] : "");
	return s->value;
}

static void parse_ok(const char *text, size_t len, struct bv_prom_doc *d)
{
	char err[ERRLEN];

	if (bv_prom_parse(text, len, d, err, sizeof(err)))
		fail_msg("parse: %s", err);
}

/* ---- rendering -------------------------------------------------------------- */

static void test_render_kernel_counters(void **state)
{
	struct bv_metrics_src src = { .stats_fd = stats_fd, .ifdec_fd = -1, .events_fd = -1,
				      .mode = "inline" };
	struct bv_prom_doc d;
	char *out;
	size_t len;
	int kernel_samples = 0;

	(void)state;
	assert_int_equal(bv_metrics_render(&src, &out, &len), 0);
	promtool_ok(out, len);
	parse_ok(out, len, &d);
	check_families(&d);

	/* every decision reason (README.md, docs/METRICS.md), with the mode */
	for (int r = 0; r < BV_DEC_MAX; r++) {
		const char *kv[] = { "reason", bv_decision_name(r), "mode", "inline", NULL };

		assert_true(get(&d, "beaconveil_decisions_total", kv) == (double)expect_stat(r));
	}
	{
		const char *kv[] = { "verdict", "drop", NULL };

		assert_true(get(&d, "beaconveil_packet_verdicts_total", kv) ==
			    (double)expect_stat(BV_ST_ACT_DROP));
	}
	assert_true(get(&d, "beaconveil_packets_total", NULL) == (double)expect_stat(BV_ST_PKTS));
	assert_true(get(&d, "beaconveil_events_lost_total", NULL) ==
		    (double)expect_stat(BV_ST_EVENTS_LOST));
	/* every counter of bv_stats is exported exactly once: the values are
	 * all distinct, so each must appear in exactly one sample */
	for (int k = 0; k < BV_ST_MAX; k++) {
		int hits = 0;

		for (size_t i = 0; i < d.ns; i++)
			hits += d.s[i].value == (double)expect_stat(k);
		if (hits != 1)
			fail_msg("counter %s (%d) appears %d times", bv_stat_name(k), k, hits);
		kernel_samples += hits;
	}
	assert_int_equal(d.ns, (size_t)kernel_samples + 1);   /* + beaconveil_info */
	/* no analytics given: none of their metrics */
	assert_null(bv_prom_find(&d, "beaconveil_active_sessions", NULL));
	bv_prom_doc_free(&d);
	free(out);

	/* without a stats map: just the info line */
	src.stats_fd = -1;
	src.mode = NULL;
	assert_int_equal(bv_metrics_render(&src, &out, &len), 0);
	promtool_ok(out, len);
	parse_ok(out, len, &d);
	assert_int_equal(d.ns, 1);
	assert_string_equal(bv_prom_label(&d.s[0], "mode"), "unknown");
	bv_prom_doc_free(&d);
	free(out);

	/* a bad map fd: an error, not half a page */
	src.stats_fd = 12345;
	assert_int_equal(bv_metrics_render(&src, &out, &len), -1);
	assert_null(out);
}

/* A fleet whose Redis never answered: the node figures, each with its
 * scope, and no fleet figure yet (test_fleet.c and tests/fleet_redis.sh
 * check them with a real Redis). */
static void test_render_fleet_down(void **state)
{
	struct bv_fleet_opts o = { .url = "unix:///nonexistent/redis.sock", .period_s = 86400,
				   .session_timeout_s = 1800, .visitor_lifetime_s = 3600, .k = 10 };
	struct bv_analytics *a = make_analytics(false);
	struct bv_metrics_src src = { .stats_fd = stats_fd, .ifdec_fd = ifdec_fd,
				      .events_fd = events_fd, .mode = "inline", .ifaces = ifaces,
				      .nifaces = 2, .an = a };
	const char *node[] = { "scope", "node", NULL }, *gap[] = { "what", "sessions", NULL };
	char err[200], *out = NULL;
	struct bv_prom_doc d;
	size_t len;

	(void)state;
	src.fleet = bv_fleet_new(&o, err, sizeof(err));
	assert_non_null(src.fleet);
	bv_fleet_tick(src.fleet, 1764547200000ULL, S);
	assert_int_equal(bv_metrics_render(&src, &out, &len), 0);
	promtool_ok(out, len);
	parse_ok(out, len, &d);
	check_families(&d);
	assert_true(get(&d, "beaconveil_fleet_redis_up", node) == 0);
	assert_true(get(&d, "beaconveil_fleet_key_shared", node) == 0);
	assert_true(get(&d, "beaconveil_fleet_errors_total", node) >= 1);
	assert_true(get(&d, "beaconveil_fleet_gap_total", gap) == 0);
	for (size_t i = 0; i < d.ns; i++)
		if (!strncmp(d.s[i].name, "beaconveil_fleet_", 17) && !bv_prom_label(&d.s[i], "scope"))
			fail_msg("%s has no scope label", d.s[i].name);
	assert_null(bv_prom_find(&d, "beaconveil_fleet_visitors_unique_estimate", NULL));
	bv_prom_doc_free(&d);
	free(out);
	bv_fleet_free(src.fleet);
	bv_analytics_free(a);
}

static void test_render_analytics(void **state)
{
	struct bv_analytics *a = make_analytics(false);
	struct bv_prom_doc d;
	char *out, enc[128];
	size_t len;

	(void)state;
	out = render(a, "mirror", &len);
	promtool_ok(out, len);
	parse_ok(out, len, &d);
	check_families(&d);

	assert_true(get(&d, "beaconveil_active_sessions", NULL) == 3);
	assert_true(fabs(get(&d, "beaconveil_visitors_unique_estimate", NULL) - 40) < 0.6);
	assert_true(get(&d, "beaconveil_hash_key_epoch", NULL) == 3);
	assert_true(get(&d, "beaconveil_k_anonymity_min_visitors", NULL) == 10);
	assert_true(get(&d, "beaconveil_session_timeout_seconds", NULL) == 1800);
	assert_true(get(&d, "beaconveil_apps_hidden", NULL) == 1);
	assert_true(get(&d, "beaconveil_events_received_total", NULL) == 40);
	/* user_tracking off: no new/returning metrics at all */
	assert_null(bv_prom_find(&d, "beaconveil_visitors_new_total", NULL));
	assert_null(bv_prom_find(&d, "beaconveil_visitors_returning_total", NULL));
	assert_null(strstr(out, "visitors_new"));
	{
		const char *kv[] = { "reason", "pass", "mode", "mirror", NULL };

		assert_true(get(&d, "beaconveil_decisions_total", kv) == (double)expect_stat(0));
	}
	{	/* per interface: lo got the 40 events, bvtest0 is listed with zeros */
		const char *lo_pass[] = { "interface", "lo", "reason", "pass", NULL };
		const char *lo_mal[] = { "interface", "lo", "reason", "malformed", NULL };
		const char *b0[] = { "interface", "bvtest0", "reason", "dropped_gpc", NULL };

		assert_true(get(&d, "beaconveil_interface_decisions_total", lo_pass) == 8);
		assert_true(get(&d, "beaconveil_interface_decisions_total", lo_mal) == 24);
		assert_true(get(&d, "beaconveil_interface_decisions_total", b0) == 0);
	}
	{	/* per application: only those with >= k visitors */
		const char *shop[] = { "app", "shop", "reason", "anonymized", NULL };
		const char *tiny[] = { "app", "tiny", NULL };

		assert_true(get(&d, "beaconveil_app_decisions_total", shop) == 4);
		assert_null(bv_prom_find(&d, "beaconveil_app_decisions_total", tiny));
		assert_null(strstr(out, "tiny"));
	}
	{	/* odd bytes: percent-encoded, one series per reason */
		const char *w[] = { "app", enc, "reason", "malformed", NULL };

		snprintf(enc, sizeof(enc), "we%%22ird%%5Capp%%25%%01%%C3%%A9 x");
		assert_true(get(&d, "beaconveil_app_decisions_total", w) == 24);
	}
	bv_prom_doc_free(&d);
	free(out);
	bv_analytics_free(a);

	/* user_tracking on: the counters are there */
	a = make_analytics(true);
	out = render(a, "inline", &len);
	promtool_ok(out, len);
	parse_ok(out, len, &d);
	check_families(&d);
	assert_true(get(&d, "beaconveil_visitors_new_total", NULL) == 40);
	assert_true(get(&d, "beaconveil_visitors_returning_total", NULL) == 0);
	bv_prom_doc_free(&d);
	free(out);
	bv_analytics_free(a);
}

/* Per interface and events, from the kernel's maps: an interface the
 * daemon names twice (re-created, two indexes) is one series; an index
 * without a name is ifindex_N; the overflow row shows once it counted;
 * a bad map fd is an error, not half a page. */
static void test_render_kernel_figures(void **state)
{
	const char *const two_lo[] = { "lo", "lo" };
	struct bv_metrics_src src = { .stats_fd = -1, .ifdec_fd = ifdec_fd, .events_fd = events_fd,
				      .mode = "inline", .ifaces = two_lo, .nifaces = 2 };
	struct bv_prom_doc d;
	char *out;
	size_t len, nlo = 0;

	(void)state;
	assert_int_equal(bv_metrics_render(&src, &out, &len), 0);
	promtool_ok(out, len);
	parse_ok(out, len, &d);
	check_families(&d);
	{
		const char *lo[] = { "interface", "lo", "reason", "pass", NULL };
		const char *lo_mal[] = { "interface", "lo", "reason", "malformed", NULL };
		const char *gone[] = { "interface", "ifindex_424242", "reason", "pass", NULL };
		const char *over[] = { "interface", ":overflow", "reason", "dropped_gpc", NULL };

		assert_true(get(&d, "beaconveil_interface_decisions_total", lo) == 8);
		assert_true(get(&d, "beaconveil_interface_decisions_total", lo_mal) == 24);
		assert_true(get(&d, "beaconveil_interface_decisions_total", gone) == 1);
		assert_true(get(&d, "beaconveil_interface_decisions_total", over) == 2);
	}
	for (size_t i = 0; i < d.ns; i++)
		nlo += !strcmp(d.s[i].name, "beaconveil_interface_decisions_total") &&
		       !strcmp(bv_prom_label(&d.s[i], "interface"), "lo");
	assert_int_equal(nlo, BV_DEC_MAX);
	assert_true(get(&d, "beaconveil_events_received_total", NULL) == EVENTS_RECEIVED);
	assert_true(get(&d, "beaconveil_events_pending", NULL) == 0);
	assert_null(bv_prom_find(&d, "beaconveil_active_sessions", NULL));
	bv_prom_doc_free(&d);
	free(out);

	/* rows sorted by index; the overflow row is left out while it holds
	 * zeros (the kernel makes it before any interface's) */
	{
		struct bv_ifdec *z = calloc((size_t)ncpu, sizeof(*z));
		__u32 k0 = BV_IFDEC_OVERFLOW;
		struct bv_ifdec_row *rows;
		int fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "bv_ifdec", 4,
					sizeof(struct bv_ifdec), BV_IFDEC_MAX, NULL);
		size_t n;

		assert_int_equal(bv_ifdec_read(ifdec_fd, &rows, &n), 0);
		assert_int_equal(n, 3);
		assert_int_equal(rows[0].ifindex, BV_IFDEC_OVERFLOW);
		assert_int_equal(rows[1].ifindex, 1);
		assert_int_equal(rows[2].ifindex, NO_SUCH_IFINDEX);
		assert_true(rows[1].dec[BV_DEC_MALFORMED] == 24);
		free(rows);
		assert_true(fd >= 0 && z);
		assert_int_equal(bpf_map_update_elem(fd, &k0, z, BPF_ANY), 0);
		src.ifdec_fd = fd;
		assert_int_equal(bv_metrics_render(&src, &out, &len), 0);
		assert_null(strstr(out, ":overflow"));
		assert_non_null(strstr(out, "interface=\"lo\",reason=\"pass\"} 0\n"));
		free(out);
		close(fd);
		free(z);
	}

	/* a bad map fd: an error */
	src.ifdec_fd = 12345;
	assert_int_equal(bv_metrics_render(&src, &out, &len), -1);
	src.ifdec_fd = ifdec_fd;
	src.events_fd = 12345;
	assert_int_equal(bv_metrics_render(&src, &out, &len), -1);
}

/* ---- the parser rejects what Prometheus rejects -------------------------------- */

static void test_parser(void **state)
{
	static const char *const bad[] = {
		"a 1\na 2\n",                                      /* duplicate series */
		"a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 1\n",    /* same, labels reordered */
		"a 1\n# TYPE a counter\n",                         /* TYPE after samples */
		"# TYPE a counter\n# TYPE a gauge\n",              /* TYPE twice */
		"# HELP a x\n# HELP a y\n",                        /* HELP twice */
		"a 1\nb 1\na{x=\"1\"} 1\n",                        /* family not together */
		"a{x=\"\\t\"} 1\n",                                /* bad escape */
		"a{x=1} 1\n",                                      /* unquoted */
		"a{x=\"1\",x=\"2\"} 1\n",                          /* label twice */
		"a{x=\"1\" 1\n",                                   /* unterminated labels */
		"1a 1\n",                                          /* bad name */
		"a{1x=\"1\"} 1\n",                                 /* bad label name */
		"a one\n",                                         /* bad value */
		"a 1 2 3\n",                                       /* trailing text */
		"a\n",                                             /* no value */
		"# TYPE a countr\n",                               /* unknown type */
		"a 1",                                             /* no final line feed */
	};
	struct bv_prom_doc d;
	char err[ERRLEN];
	const char *good =
		"# a comment\n"
		"# HELP a_total Help with \\\\ and \\n.\n"
		"# TYPE a_total counter\n"
		"a_total{x=\"q\\\"uo\\\\te\\n\",y=\"\"} 1.5e3\n"
		"a_total{x=\"2\",} 7 1700000000000\n"
		"\n"
		"# TYPE h histogram\n"
		"h_bucket{le=\"+Inf\"} 3\nh_sum 4\nh_count 3\n"
		"g NaN\n"
		"gi +Inf\n";

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (bv_prom_parse(bad[i], strlen(bad[i]), &d, err, sizeof(err)) == 0)
			fail_msg("accepted bad input %zu: %s", i, bad[i]);
		assert_non_null(strstr(err, "line "));
		assert_int_equal(d.ns, 0);
	}
	parse_ok(good, strlen(good), &d);
	assert_int_equal(d.nf, 4);
	assert_int_equal(d.ns, 7);
	assert_string_equal(d.f[0].help, "Help with \\ and \n.");
	assert_string_equal(d.f[0].type, "counter");
	assert_string_equal(bv_prom_label(&d.s[0], "x"), "q\"uo\\te\n");
	assert_true(d.s[0].value == 1500);
	assert_string_equal(d.f[1].name, "h");
	assert_int_equal(d.f[1].nsamples, 3);
	assert_true(isnan(d.s[5].value));
	assert_true(isinf(d.s[6].value));
	bv_prom_doc_free(&d);
	parse_ok("", 0, &d);
	assert_int_equal(d.ns, 0);
	bv_prom_doc_free(&d);
}

/* ---- HTTP ---------------------------------------------------------------- */

/* A raw HTTP/1.1 exchange; returns the whole response. */
static char *http(int port, const char *request)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = { 5, 0 };

	assert_true(fd >= 0);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(send(fd, request, strlen(request), MSG_NOSIGNAL), (ssize_t)strlen(request));
	for (;;) {
		ssize_t r;

		if (n + 4097 > cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		r = recv(fd, buf + n, cap - n - 1, 0);
		assert_true(r >= 0);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	return buf;
}

static void test_http_server(void **state)
{
	struct bv_analytics *a = make_analytics(false);
	struct bv_metrics_src src = { .stats_fd = stats_fd, .ifdec_fd = ifdec_fd,
				      .events_fd = events_fd, .mode = "inline", .ifaces = ifaces,
				      .nifaces = 2, .an = a };
	struct bv_metrics *m, *m2;
	struct bv_prom_doc d;
	char err[ERRLEN], addr[64], req[256], *resp, *body, *expect;
	size_t blen, elen;
	int port;

	(void)state;
	m = bv_metrics_start("127.0.0.1:0", &src, err, sizeof(err));
	if (!m)
		fail_msg("bv_metrics_start: %s", err);
	port = bv_metrics_port(m);
	assert_true(port > 0 && port < 65536);

	/* GET /metrics: 200, the exposition content type, exactly the render */
	resp = http(port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
	assert_non_null(strstr(resp, "HTTP/1.1 200"));
	assert_non_null(strcasestr(resp, "Content-Type: text/plain; version=0.0.4"));
	body = strstr(resp, "\r\n\r\n");
	assert_non_null(body);
	body += 4;
	expect = render(a, "inline", &elen);
	assert_string_equal(body, expect);
	parse_ok(body, strlen(body), &d);
	bv_prom_doc_free(&d);
	promtool_ok(body, strlen(body));
	free(resp);

	/* a query string is still /metrics */
	resp = http(port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(resp, " 200 "));
	free(resp);

	/* elsewhere: 404 */
	resp = http(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_non_null(strstr(resp, "HTTP/1.1 404"));
	assert_null(strstr(resp, "beaconveil_"));
	free(resp);
	resp = http(port, "GET /metricsx HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(resp, " 404 "));
	free(resp);
	resp = http(port, "GET /metrics/ HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(resp, " 404 "));
	free(resp);

	/* another method on /metrics: 405 with Allow; HEAD: headers only */
	resp = http(port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
			  "Connection: close\r\n\r\nabc");
	assert_non_null(strstr(resp, "HTTP/1.1 405"));
	assert_non_null(strcasestr(resp, "Allow: GET, HEAD"));
	free(resp);
	resp = http(port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_non_null(strstr(resp, "HTTP/1.1 200"));
	assert_null(strstr(resp, "beaconveil_"));
	free(resp);

	/* the client `beaconveil stats` uses */
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	assert_int_equal(bv_metrics_fetch(addr, 3000, &body, &blen, err, sizeof(err)), 0);
	assert_int_equal(blen, elen);
	assert_string_equal(body, expect);
	free(body);
	free(expect);

	/* the port is taken: a clear message */
	m2 = bv_metrics_start(addr, &src, err, sizeof(err));
	assert_null(m2);
	assert_non_null(strstr(err, "cannot listen on"));
	assert_non_null(strstr(err, addr));
	assert_non_null(strstr(err, "Address already in use"));

	bv_metrics_stop(m);
	/* stopped: the port is closed */
	assert_int_equal(bv_metrics_fetch(addr, 1000, &body, &blen, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "refused"));
	/* and free to bind again */
	m = bv_metrics_start(addr, &src, err, sizeof(err));
	if (!m)
		fail_msg("restart on %s: %s", addr, err);
	bv_metrics_stop(m);
	bv_metrics_stop(NULL);

	/* bad addresses */
	static const char *const bad[] = { "", "9477", "localhost:9477", "127.0.0.1:", "127.0.0.1:65536",
					   "127.0.0.1:-1", "::1:9477", "[::1]9477", "[zz]:1", "1.2.3.4:80x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_null(bv_metrics_start(bad[i], &src, err, sizeof(err)));
		assert_true(err[0] != '\0');
	}
	/* an address not on this host (unless net.ipv4.ip_nonlocal_bind allows it) */
	m = bv_metrics_start("192.0.2.1:9477", &src, err, sizeof(err));
	if (m)
		bv_metrics_stop(m);
	else
		assert_non_null(strstr(err, "not an address of this host"));

	/* IPv6 loopback, when the host has it */
	snprintf(req, sizeof(req), "[::1]:0");
	m = bv_metrics_start(req, &src, err, sizeof(err));
	if (m) {
		snprintf(addr, sizeof(addr), "[::1]:%d", bv_metrics_port(m));
		assert_int_equal(bv_metrics_fetch(addr, 3000, &body, &blen, err, sizeof(err)), 0);
		assert_non_null(strstr(body, "beaconveil_active_sessions 3\n"));
		free(body);
		bv_metrics_stop(m);
	} else {
		printf("  (no IPv6 loopback here: %s)\n", err);
	}
	bv_analytics_free(a);
}

/* ---- beaconveil stats ------------------------------------------------------- */

struct run { int rc; char *out, *err; };

/* cmd_stats in a child (its getopt state and stdout are its own). */
static struct run run_stats(uid_t uid, const char *const *args)
{
	char outp[128], errp[128], *argv[16];
	struct run r;
	pid_t pid;
	int st, n = 0;

	snprintf(outp, sizeof(outp), "%s/stats.out", tmpdir);
	snprintf(errp, sizeof(errp), "%s/stats.err", tmpdir);
	argv[n++] = "stats";
	for (; *args && n < 15; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(99);
		if (uid && (setgid(uid) || setuid(uid)))
			_exit(98);
		st = cmd_stats(n, argv);
		fflush(stdout);   /* as main() returning would */
		fflush(stderr);
		_exit(st);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	r.rc = WEXITSTATUS(st);
	r.out = read_file(outp);
	r.err = read_file(errp);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static void test_cmd_stats(void **state)
{
	struct bv_analytics *a = make_analytics(true);
	struct bv_metrics_src src = { .stats_fd = stats_fd, .ifdec_fd = ifdec_fd,
				      .events_fd = events_fd, .mode = "mirror", .ifaces = ifaces,
				      .nifaces = 2, .an = a };
	struct bv_metrics *m;
	char err[ERRLEN], pin[160], addr[64], want[128], cmd[512];
	struct run r;
	int port;

	(void)state;
	snprintf(pin, sizeof(pin), "%s/bv_ifdec", pindir);
	unlink(pin);
	assert_int_equal(bpf_obj_pin(ifdec_fd, pin), 0);
	snprintf(pin, sizeof(pin), "%s/bv_events", pindir);
	unlink(pin);
	assert_int_equal(bpf_obj_pin(events_fd, pin), 0);
	snprintf(pin, sizeof(pin), "%s/bv_stats", pindir);
	unlink(pin);
	assert_int_equal(bpf_obj_pin(stats_fd, pin), 0);
	m = bv_metrics_start("127.0.0.1:0", &src, err, sizeof(err));
	assert_non_null(m);
	port = bv_metrics_port(m);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);

	/* --json with a daemon: kernel counters and the daemon's figures */
	{
		const char *args[] = { "--json", "--pin-dir", pindir, "--metrics", addr, NULL };
		char jpath[128];

		r = run_stats(0, args);
		if (r.rc != 0)
			fail_msg("stats --json: exit %d: %s", r.rc, r.err);
		snprintf(want, sizeof(want), "\"pass\": %llu", (unsigned long long)expect_stat(0));
		assert_non_null(strstr(r.out, want));
		snprintf(want, sizeof(want), "\"events_lost\": %llu",
			 (unsigned long long)expect_stat(BV_ST_EVENTS_LOST));
		assert_non_null(strstr(r.out, want));
		assert_non_null(strstr(r.out, "\"reachable\": true"));
		assert_non_null(strstr(r.out, "\"mode\": \"mirror\""));
		assert_non_null(strstr(r.out, "\"active_sessions\": 3"));
		assert_non_null(strstr(r.out, "\"visitors_unique_estimate\": 40"));
		assert_non_null(strstr(r.out, "\"visitors_new\": 40"));
		assert_non_null(strstr(r.out, "\"shop\": {"));
		assert_null(strstr(r.out, "tiny"));
		/* valid JSON (jq is in tools/deps/metrics.list) */
		snprintf(jpath, sizeof(jpath), "%s/stats.out", tmpdir);
		snprintf(cmd, sizeof(cmd), "jq -e '.interfaces.lo.pass == 8 and "
			 ".interfaces.ifindex_424242.pass == 1 and "
			 ".interfaces[\":overflow\"].dropped_gpc == 2 and "
			 ".events.received == %d and .events.pending == 0 and "
			 ".daemon.apps.shop.pass > 0 and (.daemon | has(\"interfaces\") | not) and "
			 ".decisions.pass > 0' '%s' >/dev/null", EVENTS_RECEIVED, jpath);
		if (system(cmd) != 0)
			fail_msg("stats --json: not the JSON expected:\n%s", r.out);
		run_free(&r);
	}
	/* text with a daemon */
	{
		const char *args[] = { "--pin-dir", pindir, "--metrics", addr, NULL };

		r = run_stats(0, args);
		assert_int_equal(r.rc, 0);
		assert_non_null(strstr(r.out, "Decisions"));
		assert_non_null(strstr(r.out, "dropped_no_consent"));
		assert_non_null(strstr(r.out, "active sessions"));
		assert_non_null(strstr(r.out, "Decisions per application"));
		assert_non_null(strstr(r.out, "Decisions per interface"));
		assert_non_null(strstr(r.out, "ifindex_424242"));
		assert_non_null(strstr(r.out, "Events (bv_events)"));
		assert_string_equal(r.err, "");
		run_free(&r);
	}
	bv_metrics_stop(m);

	/* no daemon: kernel counters, a note on stderr, still exit 0 */
	{
		const char *args[] = { "--pin-dir", pindir, "--metrics", addr, NULL };
		const char *jargs[] = { "--json", "--pin-dir", pindir, "--metrics", addr, NULL };

		r = run_stats(0, args);
		assert_int_equal(r.rc, 0);
		snprintf(want, sizeof(want), "%llu", (unsigned long long)expect_stat(BV_DEC_MALFORMED));
		assert_non_null(strstr(r.out, want));
		assert_null(strstr(r.out, "active sessions"));
		assert_non_null(strstr(r.err, "no daemon figures"));
		assert_non_null(strstr(r.err, "refused"));
		run_free(&r);
		r = run_stats(0, jargs);
		assert_int_equal(r.rc, 0);
		assert_non_null(strstr(r.out, "\"reachable\": false"));
		run_free(&r);
		/* the per-interface and event figures need no daemon */
		snprintf(cmd, sizeof(cmd), "jq -e '.interfaces.lo.malformed == 24 and "
			 ".events.received == %d' '%s/stats.out' >/dev/null", EVENTS_RECEIVED, tmpdir);
		if (system(cmd) != 0)
			fail_msg("stats --json without a daemon: no kernel per-interface figures");
	}
	/* the address from a config file */
	{
		char cpath[128];
		const char *args[] = { "-c", cpath, "--pin-dir", pindir, NULL };
		const char *badc[] = { "-c", "/nonexistent/beaconveil.conf", "--pin-dir", pindir, NULL };
		const char *conf = "[daemon]\nmetrics = 127.0.0.1:1\n";

		snprintf(cpath, sizeof(cpath), "%s/b.conf", tmpdir);
		write_file(cpath, conf, strlen(conf));
		r = run_stats(0, args);
		assert_int_equal(r.rc, 0);
		assert_non_null(strstr(r.err, "127.0.0.1:1"));
		run_free(&r);
		r = run_stats(0, badc);
		assert_int_equal(r.rc, 1);
		assert_non_null(strstr(r.err, "/nonexistent/beaconveil.conf"));
		run_free(&r);
	}
	/* no pinned maps */
	{
		char none[160];
		const char *args[] = { "--pin-dir", none, NULL };

		snprintf(none, sizeof(none), "%s/none", pindir);
		r = run_stats(0, args);
		assert_int_equal(r.rc, 1);
		assert_non_null(strstr(r.err, "is beaconveil run running or was it ever started?"));
		assert_string_equal(r.out, "");
		run_free(&r);
	}
	/* not root */
	{
		const char *args[] = { "--pin-dir", pindir, "--metrics", "127.0.0.1:1", NULL };

		r = run_stats(65534, args);
		assert_int_equal(r.rc, 1);
		assert_non_null(strstr(r.err, "permission denied"));
		run_free(&r);
	}
	/* usage */
	{
		const char *help[] = { "--help", NULL };
		const char *bad[] = { "--frobnicate", NULL };
		const char *extra[] = { "extra", NULL };
		const char *badaddr[] = { "--metrics", "nowhere", NULL };

		r = run_stats(0, help);
		assert_int_equal(r.rc, 0);
		assert_non_null(strstr(r.out, "Usage: beaconveil stats"));
		run_free(&r);
		r = run_stats(0, bad);
		assert_int_equal(r.rc, 2);
		run_free(&r);
		r = run_stats(0, extra);
		assert_int_equal(r.rc, 2);
		run_free(&r);
		r = run_stats(0, badaddr);
		assert_int_equal(r.rc, 2);
		run_free(&r);
	}
	unlink(pin);
	bv_analytics_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_kernel_counters),
		cmocka_unit_test(test_render_analytics),
		cmocka_unit_test(test_render_fleet_down),
		cmocka_unit_test(test_render_kernel_figures),
		cmocka_unit_test(test_parser),
		cmocka_unit_test(test_http_server),
		cmocka_unit_test(test_cmd_stats),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_metrics: needs root (BPF maps, bpffs)\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
