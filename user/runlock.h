/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Lock files of the daemon under /run/beaconveil (flock, released by the
 * kernel when the process dies, even by SIGKILL):
 *   IFACE.lock   one per served interface: "PID\n"
 *   daemon.lock  one per host: "PID\nIFACE[,IFACE...]\n" — the pinned maps
 *                (and their one event ring buffer, which has room for one
 *                reader) serve one daemon.
 * The files stay after the daemon ends; only the flock tells whether a
 * daemon holds them.
 */
#ifndef BV_RUNLOCK_H
#define BV_RUNLOCK_H

#include <stddef.h>
#include <sys/types.h>

#define BV_RUN_DIR "/run/beaconveil"

/*
 * Takes BV_RUN_DIR/NAME.lock exclusively and writes content into it. fd of
 * the lock (keep it open) or -1: *holder gets the pid holding it (0 if
 * not busy but failing), err the cause.
 */
int bv_lock_take(const char *name, const char *content, pid_t *holder, char *err, size_t errlen);

/*
 * Is BV_RUN_DIR/NAME.lock held by a live process? 1 yes (*pid and the
 * second line of the file into extra, may be NULL); 0 no (or no file);
 * -1 cannot tell (err).
 */
int bv_lock_probe(const char *name, pid_t *pid, char *extra, size_t extralen, char *err,
		  size_t errlen);

#endif /* BV_RUNLOCK_H */
