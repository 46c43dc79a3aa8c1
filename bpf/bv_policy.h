/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Policy: defaults, sanitising what operators wrote with bpftool, and the
 * one decision each beacon request gets (README.md). Precedence, first match
 * wins: collection_level=off, dtDisabled, crash report, unreadable mobile
 * body, missing consent under opt-in, DNT, GPC, collection_level=performance,
 * else pass.
 */
#ifndef BV_POLICY_H
#define BV_POLICY_H

#include "bv_flow.h"

/*
 * dst = base, then every in-range field of src over it. An entry nobody
 * wrote (valid != 1) changes nothing, and an out-of-range field keeps the
 * base's value: for the global policy the base is the built-in defaults,
 * for a per-application override it is the global policy, so garbage in
 * an override never makes a stricter global policy weaker. Returns 1 when
 * src applied.
 */
static __always_inline int bv_policy_merge(struct bv_policy *dst, const struct bv_policy *src,
					   const struct bv_policy *base)
{
	if (dst != base)
		*dst = *base;
	if (!src || src->valid != 1)
		return 0;
	dst->valid = 1;
	if (src->ip_mask <= BV_IPMASK_OFF)
		dst->ip_mask = src->ip_mask;
	if (src->ipv4_prefix <= 32)
		dst->ipv4_prefix = src->ipv4_prefix;
	if (src->ipv6_prefix <= 128)
		dst->ipv6_prefix = src->ipv6_prefix;
	if (src->respect_dnt <= 1)
		dst->respect_dnt = src->respect_dnt;
	if (src->dnt_action <= BV_DNT_DROP)
		dst->dnt_action = src->dnt_action;
	if (src->respect_gpc <= 1)
		dst->respect_gpc = src->respect_gpc;
	if (src->opt_in <= 1)
		dst->opt_in = src->opt_in;
	if (src->user_tracking <= 1)
		dst->user_tracking = src->user_tracking;
	if (src->honour_disabled <= 1)
		dst->honour_disabled = src->honour_disabled;
	if (src->drop_action <= BV_DROPACT_RESET)
		dst->drop_action = src->drop_action;
	if (src->collection_level <= BV_LEVEL_OFF)
		dst->collection_level = src->collection_level;
	if (src->crash_reports <= 1)
		dst->crash_reports = src->crash_reports;
	if (src->unreadable_body <= BV_UNREADABLE_PASS)
		dst->unreadable_body = src->unreadable_body;
	return 1;
}

/* The global policy: what operators wrote, over the built-in defaults, so
 * the program never acts on garbage and an empty map never weakens privacy. */
static __always_inline void bv_policy_sanitize(struct bv_policy *dst, const struct bv_policy *src)
{
	struct bv_policy d;

	bv_policy_defaults(&d);
	bv_policy_merge(dst, src, &d);
}

static __always_inline int bv_dnt_effective(const struct bv_policy *p, __u16 sig)
{
	return p->respect_dnt && (sig & BV_SIG_DNT);
}

static __always_inline int bv_gpc_effective(const struct bv_policy *p, __u16 sig)
{
	return p->respect_dnt && p->respect_gpc && (sig & BV_SIG_GPC);
}

/* A crash-report path rule drops web crash reports; a mobile beacon carries
 * its crashes as events in the body, which are erased there instead. */
static __always_inline int bv_crash_drops(const struct bv_policy *p, __u16 sig)
{
	return !p->crash_reports && (sig & BV_SIG_CRASH) && !(sig & BV_SIG_MOBILE);
}

/* A mobile body we cannot read (compressed, chunked) under unreadable_body=drop. */
static __always_inline int bv_unreadable_drops(const struct bv_policy *p, __u16 sig)
{
	return (sig & BV_SIG_MOBILE) && (sig & (BV_SIG_ENCODED | BV_SIG_CHUNKED)) &&
	       p->unreadable_body == BV_UNREADABLE_DROP;
}

static __always_inline __u8 bv_decide(const struct bv_policy *p, __u16 sig)
{
	if (sig & BV_SIG_MALFORMED)
		return BV_DEC_MALFORMED;
	if (p->collection_level == BV_LEVEL_OFF)
		return BV_DEC_DROPPED_LEVEL_OFF;
	if (p->honour_disabled && (sig & BV_SIG_DISABLED))
		return BV_DEC_DROPPED_DISABLED;
	if (bv_crash_drops(p, sig))
		return BV_DEC_DROPPED_CRASH_REPORT;
	if (bv_unreadable_drops(p, sig))
		return BV_DEC_DROPPED_UNREADABLE;
	if (p->opt_in && !(sig & BV_SIG_CONSENT))
		return BV_DEC_DROPPED_NO_CONSENT;
	if (bv_dnt_effective(p, sig))
		return p->dnt_action == BV_DNT_DROP ? BV_DEC_DROPPED_DNT : BV_DEC_ANONYMIZED;
	if (bv_gpc_effective(p, sig))
		return p->dnt_action == BV_DNT_DROP ? BV_DEC_DROPPED_GPC : BV_DEC_ANONYMIZED;
	if (p->collection_level == BV_LEVEL_PERFORMANCE)
		return BV_DEC_ANONYMIZED;
	return BV_DEC_PASS;
}

static __always_inline int bv_decision_drops(__u8 d)
{
	return d != BV_DEC_PASS && d != BV_DEC_ANONYMIZED && d != BV_UNDECIDED;
}

/* Could this still-undecided request end in anything but "pass", given the
 * signals seen so far? Then identifiers that must leave before the decision
 * is known are replaced now (README: "signals after identifiers"). */
static __always_inline int bv_may_not_pass(const struct bv_policy *p, __u16 sig)
{
	return p->collection_level != BV_LEVEL_USER_BEHAVIOR || p->respect_dnt ||
	       p->honour_disabled || (p->opt_in && !(sig & BV_SIG_CONSENT)) ||
	       bv_crash_drops(p, sig) || (sig & BV_SIG_MOBILE);
}

/* Is a drop already certain, whatever comes later? (The reason counted is
 * still the one of the final decision, at the end of the request head.) */
static __always_inline int bv_drop_certain(const struct bv_policy *p, __u16 sig)
{
	return p->collection_level == BV_LEVEL_OFF ||
	       (p->honour_disabled && (sig & BV_SIG_DISABLED)) ||
	       bv_crash_drops(p, sig) ||
	       ((bv_dnt_effective(p, sig) || bv_gpc_effective(p, sig)) &&
		p->dnt_action == BV_DNT_DROP);
}

#endif /* BV_POLICY_H */
