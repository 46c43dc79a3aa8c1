/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The configuration file (INI, parsed with inih; format in docs/CONFIG.md)
 * and the policy fields by name. bv_config_load() gives defaults + file;
 * bv_config_apply() writes the result into the program's maps.
 */
#ifndef BV_CONFIG_H
#define BV_CONFIG_H

#include <stddef.h>
#include "bv_abi.h"
#include "names.h"
#include "bv_audit_abi.h"

/* Limits; BV_CONFIG_MAX_APPS matches max_entries of bv_apppol. */
#define BV_CONFIG_MAX_PORTS 64
#define BV_CONFIG_MAX_TUNNEL_PORTS 8 /* each of [mirror] vxlan_ports, geneve_ports */
#define BV_CONFIG_MAX_APPS  1024
#define BV_CONFIG_MAX_FILE  (1024 * 1024) /* bytes of a config file */

/* One [app:ID] or [host:NAME] section, resolved against [global]. */
struct bv_config_app {
	struct bv_app_key key;
	struct bv_policy pol;
};

struct bv_config {
	struct bv_policy global;            /* valid = 1 */
	struct bv_settings settings;
	__u16 ports[64]; int nports;
	/* [mirror]: UDP ports decapsulated in mirror/pcap mode (0 ports: off) */
	__u16 vxlan_ports[BV_CONFIG_MAX_TUNNEL_PORTS]; int nvxlan;
	__u16 geneve_ports[BV_CONFIG_MAX_TUNNEL_PORTS]; int ngeneve;
	__u16 audit_ports[64]; int naudit_ports; /* [audit] ports (besides the beacon ports) */
	struct bv_path_rule paths[BV_MAX_PATHS]; int npaths;
	struct bv_config_app *apps; int napps; /* malloc'ed; bv_config_free() */
	char metrics_addr[64];              /* "ADDR:PORT" or "[ADDR6]:PORT" */
	unsigned session_timeout_s, k_anonymity, max_flows, key_rotation_s;
	/* [fleet]: "" is off; the URL is checked by bv_redis_url_parse() */
	char fleet_redis[200];
	unsigned fleet_visitor_lifetime_s;
	struct bv_names_cfg names;          /* [names] */
	/* [anonymize] ip_anon (enum bv_ip_anon, ipanon.h) and ip_anon_key */
	int ip_anon;
	int ip_anon_key_set;
	unsigned char ip_anon_key[32];
};

/* The defaults of docs/CONFIG.md; apps = NULL. Does not free a previous config. */
void bv_config_defaults(struct bv_config *c);

/*
 * Defaults, then the file at path. 0 on success; -1 on error with a message
 * "FILE:LINE: key 'KEY': ..." (or "FILE: ..." when no line applies) in err,
 * and *c left at the defaults (nothing to free). *c is overwritten, not
 * freed: bv_config_free() a previously loaded config first.
 */
int  bv_config_load(struct bv_config *c, const char *path, char *err, size_t errlen);

/* Frees apps; *c is left at the defaults. NULL is allowed. */
void bv_config_free(struct bv_config *c);

/*
 * One policy field by name, as `beaconveil policy set KEY VALUE` uses it.
 * set: 0 ok, -1 unknown key or bad value (message "key 'K': ..." in err;
 * *p unchanged). Does not touch p->valid: start from a valid policy.
 * get: the canonical spelling of the value ("all", "24", "on", ...);
 * a value out of range (written by hand) is printed as its number.
 * 0 ok, -1 unknown key or outlen too small.
 */
int  bv_policy_set_field(struct bv_policy *p, const char *key, const char *value, char *err, size_t errlen);
int  bv_policy_get_field(const struct bv_policy *p, const char *key, char *out, size_t outlen);
extern const char *const bv_policy_keys[];   /* NULL-terminated, table order */

/*
 * The bv_apppol key of an [app:ID] (kind BV_APPKEY_APP) or [host:NAME]
 * (BV_APPKEY_HOST, stored lower-case) section, with the config file's
 * rules for ID and NAME. 0 ok; -1 with the reason in err.
 */
int  bv_app_key_make(struct bv_app_key *k, int kind, const char *name, char *err, size_t errlen);

/*
 * Writes config into the program's maps by fd: policy[0], settings[0]
 * (with BV_SETF_DECAP when a tunnel port is configured), ports (beacon and
 * tunnel bits, clearing ports not configured), paths (clearing unused), apppol
 * (new entries written first, then stale ones deleted). A negative fd skips
 * that map. 0 ok, -1 with a message naming the map in err.
 */
struct bv_map_fds { int policy, apppol, settings, ports, paths, names, namefilt, ipanon; };
int  bv_config_apply(const struct bv_config *c, const struct bv_map_fds *fds, char *err, size_t errlen);

/* printf into err[errlen] (nothing when err is NULL or errlen 0): how the
 * config code (config.c, names.c) reports an error. */
void bv_seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Tests only: nonzero makes bv_config_apply skip bpf_map_update_batch. */
extern int bv_config_no_batch;

#endif /* BV_CONFIG_H */
