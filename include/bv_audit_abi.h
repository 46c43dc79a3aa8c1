/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The Set-Cookie audit's contract between the XDP program (bpf/bv_audit.h)
 * and userspace (metrics, `beaconveil pcap --audit`): what a row of the
 * pinned bv_audit map counts, and the configuration bits it reads from
 * bv_settings.flags and bv_ports (docs/AUDIT.md). Mirror and pcap mode only.
 */
#ifndef BV_AUDIT_ABI_H
#define BV_AUDIT_ABI_H

#include <linux/types.h>

/* bv_settings.flags (the top byte, clear of enum bv_settings_flags): the
 * audit is on; Secure is required on the RUM cookies; bits 26-30 the
 * rxVisitor lifetime limit in months (rvcl, 1-24; 0 or out of range:
 * BV_RVCL_DEFAULT). */
#define BV_SETF_AUDIT        (1u << 24)
#define BV_SETF_AUDIT_SECURE (1u << 25)
#define BV_SETF_RVCL_SHIFT   26
#define BV_SETF_RVCL_MASK    (0x1fu << BV_SETF_RVCL_SHIFT)
#define BV_RVCL_DEFAULT      24
#define BV_RVCL_MAX          24
/* One month of a lifetime limit: the mean Gregorian month (365.2425 / 12
 * days), in seconds. */
#define BV_MONTH_SECONDS     2629746

/* The RUM cookies audited (names exact, with an optional [0-9_]* suffix). */
enum bv_au_cookie {
	BV_AUC_NONE = 0,      /* a row about the response, not one cookie */
	BV_AUC_DTCOOKIE,
	BV_AUC_RXVISITOR,
	BV_AUC_RXVT,
	BV_AUC_DTPC,
	BV_AUC_DTSA,
	BV_AUC_DTLATC,
	BV_AUC_DTDISABLED,
	BV_AUC_MAX,
};

/* What a row counts: struct bv_audit_row.n[kind]. */
enum bv_au_kind {
	BV_AU_RESPONSES = 0,   /* (cookie NONE) response heads audited */
	BV_AU_SET,             /* Set-Cookie lines of this cookie, read whole */
	BV_AU_SS_ABSENT,       /* ... by SameSite value: none given */
	BV_AU_SS_NONE,
	BV_AU_SS_LAX,
	BV_AU_SS_STRICT,
	BV_AU_SS_OTHER,        /* a value browsers do not know */
	/* findings */
	BV_AU_HTTPONLY,        /* HttpOnly: the RUM JavaScript cannot read it */
	BV_AU_NO_SECURE,       /* no Secure, and [audit] require_secure is on */
	BV_AU_NONE_INSECURE,   /* SameSite=None without Secure: browsers reject it */
	BV_AU_LIFETIME_LONG,   /* rxVisitor: lifetime over rvcl months */
	BV_AU_LIFETIME_UNKNOWN,/* rxVisitor: Expires without (or with a bad) Date, or a bad Expires */
	/* not judged */
	BV_AU_INCOMPLETE,      /* responses with a head cut, or (per cookie) a line malformed: not judged */
	BV_AU_MAX,
};

/* Who a row is about: the application the flow's requests named. */
enum bv_au_by {
	BV_AUBY_OVERFLOW = 0,  /* the map was full: everything else */
	BV_AUBY_APP = 1,       /* id: the app=/ai= of the flow's last request */
	BV_AUBY_HOST = 2,      /* id: the lower-case Host of its last request */
	BV_AUBY_PORT = 3,      /* no request read: id[0..1] the server port, big-endian */
};

#define BV_AUDIT_ID_LEN 32
struct bv_audit_app {
	__u8 by;               /* enum bv_au_by */
	__u8 len;              /* bytes used in id */
	__u8 _pad[2];
	char id[BV_AUDIT_ID_LEN]; /* zero padded */
};

/* Key of bv_audit. */
struct bv_audit_key {
	struct bv_audit_app app;
	__u8 cookie;           /* enum bv_au_cookie */
	__u8 _pad[3];
};

/* Value of bv_audit (per CPU). */
struct bv_audit_row {
	__u64 n[BV_AU_MAX];
};

#define BV_AUDIT_MAX 1024      /* rows, the overflow row included */

#endif /* BV_AUDIT_ABI_H */
