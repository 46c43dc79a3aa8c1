/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The Set-Cookie audit's working state (bpf/bv_audit.h), kept in a per-CPU
 * map (bv_auwork) rather than on the stack: bpf_loop callbacks whose state
 * the verifier tracks exactly never converge, map memory it does not.
 */
#ifndef BV_AUDIT_STATE_H
#define BV_AUDIT_STATE_H

#include "bv_flow.h"
#include "bv_audit_abi.h"

/* A date being read (RFC 6265 5.1.1). */
struct bv_au_date {
	__u32 len;              /* bytes of the date */
	/* the token being read */
	__u32 tv;               /* value of its current digit group */
	__u8 tdig;              /* digits in the group */
	__u8 tcolons;
	__u8 tbad;              /* a character that fits no token kind */
	__u8 tlet;              /* letters so far */
	char tl[3];             /* its first three letters, lower case */
	__u32 g[3];             /* time groups */
	/* what was found */
	__u8 have_time, have_day, have_month, have_year;
	__u32 hh, mm, ss, day, month, year;
};

/* One RUM Set-Cookie line, judged once the whole head is known. */
struct bv_au_rec {
	__u8 cookie;       /* enum bv_au_cookie */
	__u8 f;            /* AUR_* */
	__u8 ss;           /* BV_AU_SS_* */
	__u8 exp_len;
	__u16 exp_off;     /* the Expires value in buf */
	__u16 _pad;
};
#define AUR_SECURE   0x01
#define AUR_HTTPONLY 0x02
#define AUR_MA       0x04  /* a valid Max-Age (it wins over Expires) */
#define AUR_MA_LONG  0x08  /* ... over the limit */
#define AUR_MA_DEL   0x10  /* ... 0 or negative: the cookie is deleted */
#define AUR_EXP      0x20  /* an Expires (the last one) */
#define AUR_BAD      0x40  /* malformed or folded: not judged */
#define BV_AU_RECS 8

enum { AL_STATUS = 0, AL_NAME, AL_VALUE, AL_SKIP };               /* line */
enum { AH_OTHER = 0, AH_DATE, AH_SETCOOKIE };                      /* header */
enum { AC_OWS = 0, AC_NAME, AC_VALUE, AC_AOWS, AC_ANAME, AC_AVAL, AC_IGNORE }; /* cookie */
enum { AA_OTHER = 0, AA_SECURE, AA_HTTPONLY, AA_SAMESITE, AA_MAXAGE, AA_EXPIRES };

struct bv_au_scan {
	__u32 len;          /* bytes in buf */
	__u32 pos;          /* next byte to read */
	__u64 limit;        /* rxVisitor lifetime limit, seconds */
	__u32 head_end;     /* bytes of the head, empty line included; 0: not found */
	/* the line */
	__u8 ls;            /* AL_* */
	__u8 hk;            /* AH_* */
	__u8 nlen;          /* header name bytes */
	__u8 m_date, m_sc;  /* the name still matches "date" / "set-cookie" */
	__u8 cr;            /* a '\r' was the last byte */
	__u8 empty;         /* nothing but '\r' on this line so far */
	__u8 bad;           /* a control character or bare CR in the line */
	__u8 prev_sc;       /* the line before was a Set-Cookie line (records[nrec-1] if rec) */
	__u8 prev_rec;
	__u16 vstart;       /* first value byte (after OWS); 0xffff: none yet */
	__u16 vend;         /* after the last non-OWS value byte */
	/* Date */
	__u16 date_off;
	__u8 date_len, date_n;
	/* the cookie being read */
	__u8 cs;            /* AC_* */
	__u8 ck;            /* enum bv_au_cookie, 0: not a RUM cookie */
	__u8 cnl;           /* name bytes */
	__u8 clast;         /* index of the last name byte outside [0-9_], +1 */
	__u8 cws;           /* whitespace seen after name bytes */
	__u8 cnamebad;
	__u64 cn0;          /* name bytes 0-7, packed (BV_AU_PACK) */
	__u64 cn1;          /* name bytes 8-11 */
	__u8 ak;            /* AA_* of the attribute */
	__u8 anl;
	__u8 aws;
	__u64 an;           /* attribute name, lower case, packed */
	__u8 avl;           /* attribute value bytes (after leading OWS) */
	__u64 av;           /* SameSite value, lower case, packed */
	__u16 avstart, avend;
	__u64 ma;           /* Max-Age digits */
	__u8 ma_neg, ma_bad, ma_dig;
	struct bv_au_rec r; /* the line's record under way */
	__u32 nrec;
	__u32 nincomplete_ck[BV_AUC_MAX]; /* lines not judged: malformed, no room */
	struct bv_au_rec rec[BV_AU_RECS];
};

struct bv_au_work {
	struct bv_au_scan x;
	struct bv_au_date d;
	struct bv_flow_key ck;      /* the connection, client->server */
	struct bv_audit_app app;    /* who the response's counts are about */
	struct bv_audit_key key, other; /* bv_audit_add's keys */
};

#endif /* BV_AUDIT_STATE_H */
