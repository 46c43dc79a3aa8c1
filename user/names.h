/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * [names]: which header, cookie, query key or mobile body key plays which
 * role for the scanner (include/bv_names.h), Dynatrace's names by default.
 * Each config key of [names] is one role at one place and holds a list of
 * names; "+ a, b" adds to the default list instead of replacing it.
 */
#ifndef BV_USER_NAMES_H
#define BV_USER_NAMES_H

#include <stddef.h>
#include "bv_names.h"

struct bv_names_cfg {
	struct bv_name_key key[BV_MAX_NAMES];
	struct bv_name_val val[BV_MAX_NAMES];
	int n;
};

/* The config keys of [names], NULL-terminated (docs/CONFIG.md order). */
extern const char *const bv_names_keys[];

/* The default names (every key of bv_names_keys at its default). */
void bv_names_defaults(struct bv_names_cfg *c);

/*
 * Sets config key `key` (one of bv_names_keys) to the list `value`: the
 * names of that role at that place are replaced, or with a leading '+'
 * added to. 0 ok; -1 with "key 'K': ..." in err (c unchanged).
 */
int bv_names_set(struct bv_names_cfg *c, const char *key, const char *value, char *err,
		 size_t errlen);

/* Every name's roles allowed together at its place? 0 ok, -1 with err. */
int bv_names_check(const struct bv_names_cfg *c, char *err, size_t errlen);

/* The filter of c's names (valid = 1). */
void bv_names_filter(const struct bv_names_cfg *c, struct bv_name_filter *f);

/*
 * Writes c into bv_names (new entries first, then stale ones deleted) and
 * then the filter into bv_namefilt[0]. 0 ok, -1 with the map named in err.
 */
int bv_names_apply(const struct bv_names_cfg *c, int names_fd, int filter_fd, char *err,
		   size_t errlen);

/* "client_ip, forwarded" for roles bits, into buf. */
void bv_names_roles_str(unsigned roles, char *buf, size_t len);

#endif /* BV_USER_NAMES_H */
