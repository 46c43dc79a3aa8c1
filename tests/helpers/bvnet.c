/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Test helper for the daemon tests (tests/daemon_*.sh): a tiny HTTP sink,
 * a one-request sender, and readers of pinned counters. Every wait is
 * bounded.
 *
 *   bvnet serve ADDR PORT OUTFILE
 *       Listens on ADDR:PORT; for each connection reads one request (head,
 *       then Content-Length bytes of body), appends it to OUTFILE after a
 *       line "--- request N (LEN bytes)", answers "204 No Content" and
 *       closes. Prints "listening" once ready. Runs until killed.
 *   bvnet send ADDR PORT FILE [TIMEOUT_MS]
 *       Connects, writes FILE's bytes in one write, waits up to TIMEOUT_MS
 *       (default 2000) for the answer and prints one word: "response"
 *       (an HTTP status line came back), "reset" (TCP RST), "closed"
 *       (FIN without data) or "timeout". Exit 0 when one of these was
 *       observed, 1 when the connection could not be made.
 *   bvnet stat NAME...
 *       Values of the counters NAME (pass, dropped_dnt, act_tx, pkts, ...:
 *       bv_stat_name()) of the pinned bv_stats, summed over CPUs, one per
 *       line.
 *   bvnet mapsum PINPATH
 *       Sum over CPUs of the u64 at key 0 of a pinned per-CPU array.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bv_abi.h"
#include "loader.h"

#define MAX_CONNS 64
#define BUF_CAP (64 * 1024)

static int parse_addr(const char *a, const char *p, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	int port = atoi(p);

	memset(ss, 0, sizeof(*ss));
	if (port <= 0 || port > 65535)
		return -1;
	if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- serve ---------------------------------------------------------------- */

struct conn {
	int fd;
	char *buf;
	size_t len;
	long long since;
};

/* Length of a complete request in buf, 0 if not complete yet. */
static size_t request_len(const char *buf, size_t len)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	size_t head, clen = 0;
	const char *p;

	if (!end)
		return 0;
	head = (size_t)(end - buf) + 4;
	for (p = buf; p < end;) {
		const char *nl;

		if (!strncasecmp(p, "content-length:", 15)) {
			clen = strtoul(p + 15, NULL, 10);
			break;
		}
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		p = nl + 1;
	}
	return len >= head + clen ? head + clen : 0;
}

static int cmd_serve(int argc, char **argv)
{
	static const char resp[] = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n"
				   "Connection: close\r\n\r\n";
	struct sockaddr_storage ss;
	struct conn c[MAX_CONNS];
	struct pollfd pf[MAX_CONNS + 1];
	socklen_t sl;
	FILE *out;
	int lfd, one = 1, nreq = 0;

	if (argc != 5 || parse_addr(argv[2], argv[3], &ss, &sl)) {
		fprintf(stderr, "usage: bvnet serve ADDR PORT OUTFILE\n");
		return 2;
	}
	out = fopen(argv[4], "a");
	if (!out) {
		perror(argv[4]);
		return 1;
	}
	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&ss, sl) || listen(lfd, 64)) {
		fprintf(stderr, "bvnet serve: %s:%s: %s\n", argv[2], argv[3], strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < MAX_CONNS; i++)
		c[i].fd = -1;
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int n = 0;

		pf[n].fd = lfd;
		pf[n++].events = POLLIN;
		for (int i = 0; i < MAX_CONNS; i++) {
			pf[n].fd = c[i].fd;
			pf[n++].events = POLLIN;
		}
		if (poll(pf, (nfds_t)n, 1000) < 0 && errno != EINTR)
			return 1;
		if (pf[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			int slot = -1;

			for (int i = 0; i < MAX_CONNS && slot < 0; i++)
				if (c[i].fd < 0)
					slot = i;
			if (fd >= 0 && slot < 0)
				close(fd);
			else if (fd >= 0) {
				c[slot].fd = fd;
				c[slot].buf = malloc(BUF_CAP);
				c[slot].len = 0;
				c[slot].since = now_ms();
			}
		}
		for (int i = 0; i < MAX_CONNS; i++) {
			ssize_t r;
			size_t rl;

			if (c[i].fd < 0)
				continue;
			if (!(pf[i + 1].revents & (POLLIN | POLLHUP | POLLERR))) {
				if (now_ms() - c[i].since > 30000)
					goto drop; /* a request that never completes */
				continue;
			}
			r = read(c[i].fd, c[i].buf + c[i].len, BUF_CAP - c[i].len);
			if (r <= 0)
				goto drop;
			c[i].len += (size_t)r;
			rl = request_len(c[i].buf, c[i].len);
			if (!rl && c[i].len < BUF_CAP)
				continue;
			if (!rl)
				rl = c[i].len;
			fprintf(out, "--- request %d (%zu bytes)\n", ++nreq, rl);
			fwrite(c[i].buf, 1, rl, out);
			fputc('\n', out);
			fflush(out);
			if (write(c[i].fd, resp, sizeof(resp) - 1) < 0) {
				/* the client went away: nothing to answer */
			}
drop:
			close(c[i].fd);
			free(c[i].buf);
			c[i].fd = -1;
		}
	}
}

/* ---- send ----------------------------------------------------------------- */

static int cmd_send(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char *data = NULL, rbuf[512];
	size_t dlen = 0, cap = 0;
	int timeout = argc > 5 ? atoi(argv[5]) : 2000, fd, one = 1, flags;
	long long deadline;
	struct pollfd pf;
	FILE *f;

	if (argc < 5 || parse_addr(argv[2], argv[3], &ss, &sl)) {
		fprintf(stderr, "usage: bvnet send ADDR PORT FILE [TIMEOUT_MS]\n");
		return 2;
	}
	f = fopen(argv[4], "rb");
	if (!f) {
		perror(argv[4]);
		return 2;
	}
	for (;;) {
		size_t n;

		if (dlen == cap) {
			cap = cap ? cap * 2 : 4096;
			data = realloc(data, cap);
			if (!data)
				return 1;
		}
		n = fread(data + dlen, 1, cap - dlen, f);
		if (!n)
			break;
		dlen += n;
	}
	fclose(f);

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	deadline = now_ms() + timeout;
	if (connect(fd, (struct sockaddr *)&ss, sl) && errno != EINPROGRESS) {
		fprintf(stderr, "bvnet send: connect: %s\n", strerror(errno));
		return 1;
	}
	pf.fd = fd;
	pf.events = POLLOUT;
	if (poll(&pf, 1, timeout) != 1) {
		fprintf(stderr, "bvnet send: connect: timeout\n");
		return 1;
	}
	{
		int e = 0;
		socklen_t el = sizeof(e);

		getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
		if (e) {
			fprintf(stderr, "bvnet send: connect: %s\n", strerror(e));
			return 1;
		}
	}
	fcntl(fd, F_SETFL, flags);
	if (write(fd, data, dlen) != (ssize_t)dlen) {
		printf("%s\n", errno == ECONNRESET ? "reset" : "closed");
		return 0;
	}
	pf.events = POLLIN;
	for (;;) {
		long long left = deadline - now_ms();
		ssize_t r;

		if (left <= 0 || poll(&pf, 1, (int)left) == 0) {
			printf("timeout\n");
			break;
		}
		r = read(fd, rbuf, sizeof(rbuf) - 1);
		if (r > 0) {
			printf("%s\n", strncmp(rbuf, "HTTP/", 5) ? "closed" : "response");
			break;
		}
		if (r == 0) {
			printf("closed\n");
			break;
		}
		if (errno == ECONNRESET) {
			printf("reset\n");
			break;
		}
		if (errno != EINTR) {
			printf("closed\n");
			break;
		}
	}
	close(fd);
	free(data);
	return 0;
}

/* ---- counters ------------------------------------------------------------- */

static int cmd_stat(int argc, char **argv)
{
	__u64 st[BV_ST_MAX];
	int fd = bpf_obj_get(BV_PIN_DIR "/bv_stats");

	if (fd < 0 || bv_stats_read(fd, st)) {
		fprintf(stderr, "bvnet stat: %s/bv_stats: %s\n", BV_PIN_DIR, strerror(errno));
		return 1;
	}
	for (int a = 2; a < argc; a++) {
		int i;

		for (i = 0; i < BV_ST_MAX; i++)
			if (!strcmp(bv_stat_name(i), argv[a]))
				break;
		if (i == BV_ST_MAX) {
			fprintf(stderr, "bvnet stat: unknown counter '%s'\n", argv[a]);
			return 2;
		}
		printf("%llu\n", (unsigned long long)st[i]);
	}
	return 0;
}

static int cmd_mapsum(int argc, char **argv)
{
	int ncpu = libbpf_num_possible_cpus(), fd;
	unsigned long long sum = 0;
	__u32 zero = 0;
	__u64 *v;

	if (argc != 3) {
		fprintf(stderr, "usage: bvnet mapsum PINPATH\n");
		return 2;
	}
	fd = bpf_obj_get(argv[2]);
	v = calloc((size_t)(ncpu > 0 ? ncpu : 1), sizeof(*v));
	if (fd < 0 || !v || bpf_map_lookup_elem(fd, &zero, v)) {
		fprintf(stderr, "bvnet mapsum: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	for (int i = 0; i < ncpu; i++)
		sum += v[i];
	printf("%llu\n", sum);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "serve"))
		return cmd_serve(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "send"))
		return cmd_send(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "stat"))
		return cmd_stat(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "mapsum"))
		return cmd_mapsum(argc, argv);
	fprintf(stderr, "usage: bvnet serve|send|stat|mapsum ... (see tests/helpers/bvnet.c)\n");
	return 2;
}
