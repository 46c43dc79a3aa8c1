/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The Set-Cookie audit's counts (the kernel's bv_audit map, include/bv_audit_abi.h)
 * read back, named, and shown: as Prometheus families for /metrics and as
 * the report of `beaconveil pcap --audit`. Rules in docs/AUDIT.md.
 */
#ifndef BV_USER_AUDIT_H
#define BV_USER_AUDIT_H

#include <stdio.h>
#include <stddef.h>
#include "bv_audit_abi.h"

/* One row of bv_audit, summed over CPUs. */
struct bv_audit_rowk {
	struct bv_audit_key key;
	__u64 n[BV_AU_MAX];
};

/*
 * Every row of bv_audit (fd), sorted by application (kind, then id) and
 * cookie; the overflow rows last. *rows malloc'ed (NULL when empty). 0 ok,
 * -1 with errno.
 */
int bv_audit_read(int fd, struct bv_audit_rowk **rows, size_t *n);

/* "dtCookie", "rxVisitor", ...; "" for BV_AUC_NONE, "unknown" beyond. */
const char *bv_audit_cookie_name(int c);
/* The enum bv_au_kind names: "responses", "set", "samesite_absent", ...,
 * "httponly", "no_secure", "samesite_none_insecure", "lifetime_exceeded",
 * "lifetime_unknown", "incomplete"; "unknown" beyond. */
const char *bv_audit_kind_name(int k);
/* "app", "host", "port", or ":overflow". */
const char *bv_audit_by_name(int by);
/* The application's id as text: the app id or host as stored, the port in
 * decimal, "" for the overflow row. */
void bv_audit_app_text(const struct bv_audit_app *a, char *buf, size_t buflen);

/* The human report of `pcap --audit`: per application, cookie and finding;
 * bytes of an id that are not printable ASCII (or '%', a space) as %XX. */
void bv_audit_report(FILE *f, const struct bv_audit_rowk *rows, size_t n);

/*
 * The Prometheus families (docs/METRICS.md). Applications with fewer than
 * k audited responses are merged into one row app=":below_k" (by=""), so
 * that no count is about a handful of page views. Label values go through
 * lv (the caller's escaping). 0 ok, -1 (errno) when the map cannot be read.
 */
int bv_audit_render(FILE *f, int fd, unsigned k, void (*lv)(FILE *, const char *, size_t));

#endif /* BV_USER_AUDIT_H */
