/*
 * workers.h: a daemon in several processes (issue 13), and the limits
 * they keep together.
 *
 * The supervisor binds the listening sockets as root, drops privileges
 * and forks the workers, which inherit the sockets and each open their
 * own store, authentication pool and event loop.  The supervisor only
 * waits: it starts a worker again when one dies, passes SIGTERM and
 * SIGHUP on, and leaves when the last worker has.
 *
 * Limits that hold for the daemon as a whole (connections per client
 * address and per account, Argon2id hashes at once) are counted in a
 * shared mapping made before the fork; each count remembers its worker,
 * so the supervisor gives back what a dead one held.  With one worker
 * there is no supervisor: the process is the daemon, as it always was.
 */
#ifndef GUESTBOX_WORKERS_H
#define GUESTBOX_WORKERS_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/* Worker processes at most, whatever the configuration asks for. */
#define WORKERS_MAX	64

struct daemon;

/* imap_workers resolved: 0 means the online cores, capped. */
size_t	workers_number(uint64_t configured);
/*
 * Makes the shared counters (before any fork); hash_cap is the number of
 * Argon2id hashes the daemon runs at once (auth_workers).
 */
void	workers_shared_init(uint64_t hash_cap);
/*
 * n > 1: becomes the supervisor of n workers and returns only in a
 * worker, with its own event base; the supervisor exits.  n <= 1
 * returns at once.
 */
void	workers_spawn(struct daemon *, size_t n);
/* The worker has opened everything and serves (the supervisor's cue). */
void	workers_ready(void);

/*
 * One more of kind/key (a client address, an account) unless limit are
 * open already.  1: counted (give it back with workers_count_put()),
 * 0: refused, -1: not counted (the table is full) but allowed.
 */
int	workers_count_take(const char *kind, const char *key, uint64_t limit);
void	workers_count_put(const char *kind, const char *key);
/*
 * A record every worker shares (failure counts, rate buckets), kept by
 * key, not by worker.  expires_ms (time_mono_ms()) is when forgetting it
 * is the same as keeping it: a full table drops the expired ones.
 */
struct workers_rec {
	uint64_t	 expires_ms;
	uint64_t	 stamp;
	double		 tokens;
	uint32_t	 n;
};
/*
 * Runs fn on the record of kind/key (zeroed if there is none) under the
 * lock; fn returns 1 to keep the record, 0 to drop it.  A full table
 * runs fn on a record it then forgets.  -1 when there is no shared
 * table (the caller keeps its own state); 0 otherwise.
 */
int	workers_rec_update(const char *kind, const char *key,
	    int (*fn)(struct workers_rec *, void *), void *arg);
/* Around one Argon2id hash: waits while hash_cap run in any worker. */
void	workers_hash_begin(void);
void	workers_hash_end(void);

#endif
