/*
 * auth.c: the authentication service: worker pool, cache and throttling.
 *
 * Threads only ever run vault_kek_from_password() and vault_unwrap() on
 * copies they own; everything else (the store, the cache, the throttle
 * tables, timers) belongs to the event loop thread.  Finished jobs come
 * back through a pipe.
 *
 * issue 19: guessing from 200 addresses kept both workers busy and the
 * owner got [UNAVAILABLE].  So a hash is handed to a worker only when one
 * is free, from a scheduler on the loop: first the logins from a client
 * address where the account's password was right before ("known
 * clients", kept AUTH_KNOWN_TIME), then the others round-robin over
 * accounts ("lanes", by user name, existing or not), each account
 * spending from a bucket of auth_account_rate hashes per minute.  A lane
 * holds at most AUTH_LANE_QUEUE waiting logins and a login waits at most
 * AUTH_WAIT_MAX_MS; past either it gets [UNAVAILABLE].  An unknown or
 * inactive account runs a hash as well, with the configured cost, so its
 * answer comes as late as a wrong password's, also right after a start.
 */
#include "config.h"

#include <sys/queue.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "doorbell.h"
#include "log.h"
#include "pack.h"
#include "workers.h"
#include "xmalloc.h"

/* Jobs waiting for a worker; past this, logins get [UNAVAILABLE]. */
#define AUTH_QUEUE_MAX		256
/* Every failure waits at least this long (Dovecot: auth_failure_delay). */
#define AUTH_FAIL_DELAY_MS	2000
#define AUTH_FAIL_DELAY_MAX_MS	15000
/* Failures are remembered this long for throttling. */
#define AUTH_THROTTLE_WINDOW	(15 * 60)
/* An address with this many recent failures is refused unchecked. */
#define AUTH_THROTTLE_IP	30
/*
 * An account with this many recent failures is checked only after an
 * extra wait: guessing slows down, the owner still gets in.
 */
#define AUTH_THROTTLE_ACCT	10
#define AUTH_THROTTLE_ACCT_MS	5000
#define AUTH_THROTTLE_BUCKETS	4096
#define AUTH_THROTTLE_MAX	65536
#define AUTH_CACHE_BUCKETS	1024
/* issue 19: the scheduler (see the top of the file). */
#define AUTH_KNOWN_TIME		(30 * 86400)
#define AUTH_KNOWN_MAX		16384
#define AUTH_KNOWN_BUCKETS	1024
#define AUTH_LANE_QUEUE		16
#define AUTH_LANES_MAX		65536
#define AUTH_LANE_BUCKETS	4096
#define AUTH_WAIT_MAX_MS	20000
#define AUTH_BUSY_LOG		10	/* seconds between reports */

struct auth_lane;

enum auth_req_state {
	AR_THROTTLE_WAIT,	/* extra wait before checking */
	AR_WAITING,		/* for the scheduler (auth_dispatch) */
	AR_QUEUED,		/* handed to a worker */
	AR_FOLLOWING,		/* waiting for the same hash of another */
	AR_ANSWER_WAIT,		/* the answer goes out from a timer */
	AR_DONE,
};

struct auth_req {
	struct auth		*auth;
	enum auth_req_state	 state;
	int			 cancelled;
	unsigned		 flags;		/* AUTH_F_* */
	auth_cb			 cb;
	void			*arg;
	char			 peer[64];
	char			 user[ADDR_MAX + 1];	/* normalized, or raw */
	int			 known;		/* account exists and may log in */
	int			 known_client;	/* its password was right from peer */
	int			 hashed;	/* a worker ran the hash */
	struct auth_lane	*lane;		/* AR_WAITING */
	TAILQ_ENTRY(auth_req)	 wait_link;
	struct event		*timer;
	struct auth_result	 result;

	/* Job for the worker: copies, so the thread owns what it reads. */
	char			*pw;		/* a slot, or xsecret memory */
	size_t			 pwlen;
	uint64_t		 account_id;
	uint8_t			 pk[32];
	uint8_t			 wrapped[VAULT_WRAPPEDBYTES];
	uint8_t			 verifier[VAULT_VERIFIERBYTES];
	struct vault_kdf	 kdf;
	/*
	 * A password of the device passwords' form with a device of that
	 * id: the above are the device's, these the main password's, which
	 * the worker tries next (a main password may look like one).
	 */
	uint32_t		 device_id;
	uint8_t			 main_wrapped[VAULT_WRAPPEDBYTES];
	uint8_t			 main_verifier[VAULT_VERIFIERBYTES];
	struct vault_kdf	 main_kdf;
	struct vault_seckey	*key;		/* worker's result */
	uint64_t		 hash_ms;
	struct auth_req		*next;		/* queue link */

	/*
	 * Logins with the same account and password while its hash runs
	 * (a client's parallel connections) follow that one job.  Main
	 * thread only.
	 */
	uint8_t			 tag[32];	/* auth_cache_tag() */
	struct auth_req		*inflight_prev, *inflight_next;
	struct auth_req		*leader;	/* AR_FOLLOWING */
	struct auth_req		*followers, *follower_next;
};

struct auth_throttle {
	char			*key;
	uint32_t		 failures;
	time_t			 last;
	struct auth_throttle	*next;
};

TAILQ_HEAD(auth_req_list, auth_req);

/* The logins of one user name waiting, and its budget of hashes. */
struct auth_lane {
	char			*user;
	double			 tokens;
	uint64_t		 refilled_ms;
	struct auth_req_list	 strangers;	/* not from known clients */
	size_t			 nstrangers;
	size_t			 nref;		/* waiting requests on it */
	int			 in_ring;
	TAILQ_ENTRY(auth_lane)	 ring;
	struct auth_lane	*next;		/* hash chain */
};

/* A client address where an account's password was right. */
struct auth_known {
	uint64_t		 account_id;
	char			 peer[64];
	time_t			 last;
	struct auth_known	*next;
};

struct auth_cache {
	uint64_t		 account_id;
	uint8_t			 tag[32];	/* keyed hash of the password */
	uint8_t			 pk[32];
	struct vault_seckey	*key;
	time_t			 expires;
	struct auth_cache	*next;
};

struct auth {
	struct event_base	*base;
	struct store		*store;
	const struct conf	*conf;
	uint8_t			 login_proto;	/* enum store_login_proto */

	pthread_t		*threads;
	size_t			 nthreads;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct auth_req		*queue_head, *queue_tail;
	size_t			 queued;	/* handed to workers, not back */
	struct auth_req		*inflight;	/* the same, main thread's list */
	int			 stopping;
	int			 pipe[2];
	struct event		*pipe_ev;

	uint64_t		 hash_ms_avg;	/* for the fake wait */
	uint8_t			*cache_secret;	/* sodium memory */
	struct auth_cache	*cache[AUTH_CACHE_BUCKETS];
	struct auth_throttle	*throttle[AUTH_THROTTLE_BUCKETS];
	size_t			 nthrottle;
	struct auth_stats	 stats;

	/* The scheduler (main thread). */
	struct auth_req_list	 known_wait;
	size_t			 nwaiting;
	struct auth_lane	*lanes[AUTH_LANE_BUCKETS];
	size_t			 nlanes;
	TAILQ_HEAD(auth_lane_list, auth_lane) ring;	/* lanes with strangers */
	struct event		*dispatch_ev;	/* a bucket refills */
	struct auth_known	*known[AUTH_KNOWN_BUCKETS];
	size_t			 nknown;
	time_t			 busy_logged;	/* auth_busy_log() */
	uint64_t		 busy_unlogged;
};

/*
 * Passwords shorter than this wait for their hash in a slot of locked
 * memory (xmalloc.h says why not a sodium_malloc each); longer ones,
 * which no client sends in practice, in their own.
 */
#define AUTH_PW_SLOT	256
static struct xsecret_slots	 auth_pw_slots = XSECRET_SLOTS_INIT(AUTH_PW_SLOT);

static void	*auth_worker(void *);
static void	 auth_pipe_cb(evutil_socket_t, short, void *);
static void	 auth_timer_cb(evutil_socket_t, short, void *);
static void	 auth_check(struct auth_req *);
static void	 auth_fail(struct auth_req *, enum auth_status);
static void	 auth_finish(struct auth_req *);
static void	 auth_req_free(struct auth_req *);
static void	 auth_schedule(struct auth_req *, uint64_t);
static void	 auth_succeed(struct auth_req *);
static void	 auth_enqueue(struct auth_req *);
static void	 auth_dispatch(struct auth *);
static void	 auth_dispatch_cb(evutil_socket_t, short, void *);
static void	 auth_inflight_add(struct auth *, struct auth_req *);
static void	 auth_inflight_remove(struct auth *, struct auth_req *);
static void	 auth_drop_followers(struct auth_req *, enum auth_status);
static void	 auth_known_prune(struct auth *, time_t, int, uint64_t);
static int	 auth_known_shared(const char *, uint64_t, const char *, int,
		    uint64_t *);

static uint32_t
auth_hash_str(const char *p, uint32_t h)
{
	for (; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h;
}

void
auth_peer_key(const char *peer, char *out, size_t outlen)
{
	struct in6_addr	 a6;
	char		 buf[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET6, peer, &a6) == 1 && !IN6_IS_ADDR_V4MAPPED(&a6)) {
		memset(&a6.s6_addr[8], 0, 8);
		inet_ntop(AF_INET6, &a6, buf, sizeof(buf));
		snprintf(out, outlen, "ip6:%s/64", buf);
	} else
		snprintf(out, outlen, "ip:%s", peer);
}

/* ---- throttling ---- */

/*
 * With several worker processes the failures are counted for the daemon,
 * in the table they share (workers.h): a guesser spread over the workers
 * by the kernel meets the same limits as with one.
 */
enum auth_throttle_verb {
	AUTH_TH_GET,
	AUTH_TH_ADD,
	AUTH_TH_CLEAR,
};

struct auth_throttle_op {
	time_t			 now;
	enum auth_throttle_verb	 verb;
	uint32_t		 failures;
};

static int
auth_throttle_rec(struct workers_rec *r, void *arg)
{
	struct auth_throttle_op	*op = arg;

	if (op->verb == AUTH_TH_CLEAR)
		return 0;
	if (op->now - (time_t)r->stamp > AUTH_THROTTLE_WINDOW)
		r->n = 0;
	if (op->verb == AUTH_TH_ADD) {
		if (r->n < UINT32_MAX)
			r->n++;
		r->stamp = (uint64_t)op->now;
		r->expires_ms = time_mono_ms() + AUTH_THROTTLE_WINDOW * 1000ULL;
	}
	op->failures = r->n;
	return r->n != 0;
}

/* -1: no shared table, the process's own throttle counts. */
static int
auth_throttle_shared(const char *key, time_t now, enum auth_throttle_verb v,
    uint32_t *failures)
{
	struct auth_throttle_op	 op = { now, v, 0 };

	if (workers_rec_update("throttle", key, auth_throttle_rec, &op) == -1)
		return -1;
	if (failures != NULL)
		*failures = op.failures;
	return 0;
}

static struct auth_throttle **
auth_throttle_slot(struct auth *au, const char *key)
{
	struct auth_throttle	**tp;
	uint32_t		  h = 2166136261u;
	const char		 *p;

	for (p = key; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	for (tp = &au->throttle[h % AUTH_THROTTLE_BUCKETS]; *tp != NULL;
	    tp = &(*tp)->next)
		if (strcmp((*tp)->key, key) == 0)
			break;
	return tp;
}

/* Recent failures for key, forgetting them once the window passed. */
static uint32_t
auth_throttle_get(struct auth *au, const char *key, time_t now)
{
	struct auth_throttle	**tp;
	uint32_t		  n;

	if (auth_throttle_shared(key, now, AUTH_TH_GET, &n) == 0)
		return n;
	if (*(tp = auth_throttle_slot(au, key)) == NULL)
		return 0;
	if (now - (*tp)->last > AUTH_THROTTLE_WINDOW)
		(*tp)->failures = 0;
	return (*tp)->failures;
}

static void
auth_throttle_prune(struct auth *au, time_t now, int all)
{
	struct auth_throttle	**tp, *t;
	size_t			  i;

	for (i = 0; i < AUTH_THROTTLE_BUCKETS; i++)
		for (tp = &au->throttle[i]; (t = *tp) != NULL;) {
			if (all || now - t->last > AUTH_THROTTLE_WINDOW) {
				*tp = t->next;
				free(t->key);
				free(t);
				au->nthrottle--;
			} else
				tp = &t->next;
		}
}

static void
auth_throttle_add(struct auth *au, const char *key, time_t now)
{
	struct auth_throttle	**tp;

	if (auth_throttle_shared(key, now, AUTH_TH_ADD, NULL) == 0)
		return;
	if (*(tp = auth_throttle_slot(au, key)) == NULL) {
		/* Bounded memory: an attacker with many addresses resets it. */
		if (au->nthrottle >= AUTH_THROTTLE_MAX) {
			auth_throttle_prune(au, now, 0);
			if (au->nthrottle >= AUTH_THROTTLE_MAX)
				auth_throttle_prune(au, now, 1);
			tp = auth_throttle_slot(au, key);
		}
		*tp = xcalloc(1, sizeof(**tp));
		(*tp)->key = xstrdup(key);
		au->nthrottle++;
	}
	if (now - (*tp)->last > AUTH_THROTTLE_WINDOW)
		(*tp)->failures = 0;
	if ((*tp)->failures < UINT32_MAX)
		(*tp)->failures++;
	(*tp)->last = now;
}

static void
auth_throttle_clear(struct auth *au, const char *key)
{
	struct auth_throttle	**tp, *t;

	if (auth_throttle_shared(key, 0, AUTH_TH_CLEAR, NULL) == 0)
		return;
	if ((t = *(tp = auth_throttle_slot(au, key))) == NULL)
		return;
	*tp = t->next;
	free(t->key);
	free(t);
	au->nthrottle--;
}

/* ---- the cache ---- */

static void
auth_cache_tag(struct auth *au, uint64_t account_id, const char *pw,
    size_t pwlen, uint8_t tag[32])
{
	crypto_generichash_state	 st;
	uint8_t				 id[8];

	pack_be64(id, account_id);
	crypto_generichash_init(&st, au->cache_secret, 32, 32);
	crypto_generichash_update(&st, id, sizeof(id));
	crypto_generichash_update(&st, (const uint8_t *)pw, pwlen);
	crypto_generichash_final(&st, tag, 32);
}

static void
auth_cache_entry_free(struct auth_cache *e)
{
	vault_seckey_free(&e->key);
	sodium_memzero(e, sizeof(*e));
	free(e);
}

static struct auth_cache *
auth_cache_lookup(struct auth *au, uint64_t account_id, const uint8_t tag[32],
    const uint8_t pk[32], time_t now)
{
	struct auth_cache	**ep, *e;

	for (ep = &au->cache[account_id % AUTH_CACHE_BUCKETS]; (e = *ep) != NULL;) {
		if (e->expires <= now) {
			*ep = e->next;
			auth_cache_entry_free(e);
			continue;
		}
		if (e->account_id == account_id &&
		    sodium_memcmp(e->tag, tag, 32) == 0 &&
		    sodium_memcmp(e->pk, pk, 32) == 0)
			return e;
		ep = &e->next;
	}
	return NULL;
}

static void
auth_cache_add(struct auth *au, const struct auth_req *ar, time_t now)
{
	struct auth_cache	*e;

	if (au->conf->auth_cache_time == 0 || ar->result.key == NULL)
		return;
	e = xcalloc(1, sizeof(*e));
	e->account_id = ar->account_id;
	auth_cache_tag(au, ar->account_id, ar->pw, ar->pwlen, e->tag);
	memcpy(e->pk, ar->pk, sizeof(e->pk));
	e->key = vault_seckey_dup(ar->result.key);
	e->expires = now + (time_t)au->conf->auth_cache_time;
	e->next = au->cache[ar->account_id % AUTH_CACHE_BUCKETS];
	au->cache[ar->account_id % AUTH_CACHE_BUCKETS] = e;
}

void
auth_forget_account(struct auth *au, uint64_t account_id)
{
	struct auth_cache	**ep, *e;
	uint64_t		  stamp;

	/* Re-invited or deleted: its clients are strangers again. */
	auth_known_prune(au, time(NULL), 0, account_id);
	(void)auth_known_shared("known-reset", account_id, "", 1, &stamp);
	for (ep = &au->cache[account_id % AUTH_CACHE_BUCKETS]; (e = *ep) != NULL;)
		if (e->account_id == account_id) {
			*ep = e->next;
			auth_cache_entry_free(e);
		} else
			ep = &e->next;
}

/* ---- known clients ---- */

static struct auth_known **
auth_known_slot(struct auth *au, uint64_t account_id, const char *peer)
{
	struct auth_known	**kp;
	uint32_t		  h;

	h = auth_hash_str(peer, 2166136261u ^ (uint32_t)account_id);
	for (kp = &au->known[h % AUTH_KNOWN_BUCKETS]; *kp != NULL;
	    kp = &(*kp)->next)
		if ((*kp)->account_id == account_id &&
		    strcmp((*kp)->peer, peer) == 0)
			break;
	return kp;
}

static void
auth_known_prune(struct auth *au, time_t now, int all, uint64_t account_id)
{
	struct auth_known	**kp, *k;
	size_t			  i;

	for (i = 0; i < AUTH_KNOWN_BUCKETS; i++)
		for (kp = &au->known[i]; (k = *kp) != NULL;) {
			if (all || now - k->last > AUTH_KNOWN_TIME ||
			    (account_id != 0 && k->account_id == account_id)) {
				*kp = k->next;
				free(k);
				au->nknown--;
			} else
				kp = &k->next;
		}
}

/*
 * With several workers, known clients are the daemon's (workers.h): the
 * kernel may hand the owner's next connection to any worker.  A record
 * per account and address holds when the password was last right there,
 * and one per account when it was last forgotten (auth_forget_account):
 * a client is known if the first is the later of the two.
 */
struct auth_known_op {
	uint64_t	 now_ms;
	int		 set;
	uint64_t	 stamp;
};

static int
auth_known_rec(struct workers_rec *r, void *arg)
{
	struct auth_known_op	*op = arg;

	if (op->set) {
		r->stamp = op->now_ms;
		r->expires_ms = op->now_ms + AUTH_KNOWN_TIME * 1000ULL;
	}
	op->stamp = r->expires_ms > op->now_ms ? r->stamp : 0;
	return op->stamp != 0;
}

/* -1 without a shared table; else 0 with *stamp, 0 if there is none. */
static int
auth_known_shared(const char *kind, uint64_t account_id, const char *peer,
    int set, uint64_t *stamp)
{
	struct auth_known_op	 op;
	char			 key[128];

	op.now_ms = time_mono_ms();
	op.set = set;
	op.stamp = 0;
	snprintf(key, sizeof(key), "%llu %s", (unsigned long long)account_id,
	    peer);
	if (workers_rec_update(kind, key, auth_known_rec, &op) == -1)
		return -1;
	*stamp = op.stamp;
	return 0;
}

static int
auth_known_get(struct auth *au, uint64_t account_id, const char *peer,
    time_t now)
{
	struct auth_known	*k;
	uint64_t		 seen = 0, forgot = 0;

	if (auth_known_shared("known", account_id, peer, 0, &seen) == 0) {
		if (seen == 0)
			return 0;
		(void)auth_known_shared("known-reset", account_id, "", 0,
		    &forgot);
		return seen > forgot;
	}
	k = *auth_known_slot(au, account_id, peer);
	return k != NULL && now - k->last <= AUTH_KNOWN_TIME;
}

static void
auth_known_add(struct auth *au, uint64_t account_id, const char *peer,
    time_t now)
{
	struct auth_known	**kp;
	uint64_t		  stamp;

	if (auth_known_shared("known", account_id, peer, 1, &stamp) == 0)
		return;
	if (*(kp = auth_known_slot(au, account_id, peer)) == NULL) {
		/* Only right passwords add: an attacker cannot fill it. */
		if (au->nknown >= AUTH_KNOWN_MAX) {
			auth_known_prune(au, now, 0, 0);
			if (au->nknown >= AUTH_KNOWN_MAX)
				auth_known_prune(au, now, 1, 0);
			kp = auth_known_slot(au, account_id, peer);
		}
		*kp = xcalloc(1, sizeof(**kp));
		(*kp)->account_id = account_id;
		snprintf((*kp)->peer, sizeof((*kp)->peer), "%s", peer);
		au->nknown++;
	}
	(*kp)->last = now;
}

/* ---- lanes: the budget of each user name, and its waiting logins ---- */

/* The bucket of a user name, shared by the workers (workers.h). */
struct auth_lane_op {
	double		 rate;
	uint64_t	 now;
	int		 spend;
	double		 tokens;
};

static int
auth_lane_rec(struct workers_rec *r, void *arg)
{
	struct auth_lane_op	*op = arg;

	if (r->stamp == 0) {		/* new: a full bucket */
		r->tokens = op->rate;
		r->stamp = op->now;
	}
	if (op->now > r->stamp) {
		r->tokens += (double)(op->now - r->stamp) * op->rate / 60000.0;
		r->stamp = op->now;
	}
	if (r->tokens > op->rate)
		r->tokens = op->rate;
	if (op->spend)
		r->tokens = r->tokens >= 1.0 ? r->tokens - 1.0 : 0.0;
	op->tokens = r->tokens;
	/* A full bucket is what a forgotten one is. */
	r->expires_ms = op->now + (uint64_t)((op->rate - r->tokens) * 60000.0 /
	    op->rate) + 1;
	return r->tokens < op->rate;
}

static void
auth_lane_refill(const struct auth *au, struct auth_lane *l, uint64_t now)
{
	struct auth_lane_op	 op;
	double			 rate = (double)au->conf->auth_account_rate;

	op.rate = rate;
	op.now = now;
	op.spend = 0;
	if (workers_rec_update("lane", l->user, auth_lane_rec, &op) == 0) {
		l->tokens = op.tokens;
		l->refilled_ms = now;
		return;
	}
	if (now > l->refilled_ms)
		l->tokens += (double)(now - l->refilled_ms) * rate / 60000.0;
	if (l->tokens > rate)
		l->tokens = rate;
	l->refilled_ms = now;
}

/* One hash from the bucket, never below 0. */
static void
auth_lane_spend(const struct auth *au, struct auth_lane *l, uint64_t now)
{
	struct auth_lane_op	 op;

	op.rate = (double)au->conf->auth_account_rate;
	op.now = now;
	op.spend = 1;
	if (workers_rec_update("lane", l->user, auth_lane_rec, &op) == 0) {
		l->tokens = op.tokens;
		l->refilled_ms = now;
		return;
	}
	auth_lane_refill(au, l, now);
	l->tokens = l->tokens >= 1.0 ? l->tokens - 1.0 : 0.0;
}

static void
auth_lane_free(struct auth_lane *l)
{
	free(l->user);
	free(l);
}

/* Forgets lanes nobody waits in: first those with a full bucket. */
static void
auth_lane_prune(struct auth *au, uint64_t now, int all)
{
	struct auth_lane	**lp, *l;
	size_t			  i;

	for (i = 0; i < AUTH_LANE_BUCKETS; i++)
		for (lp = &au->lanes[i]; (l = *lp) != NULL;) {
			if (l->nref == 0)
				auth_lane_refill(au, l, now);
			if (l->nref == 0 && (all ||
			    l->tokens >= (double)au->conf->auth_account_rate)) {
				*lp = l->next;
				auth_lane_free(l);
				au->nlanes--;
			} else
				lp = &l->next;
		}
}

static struct auth_lane *
auth_lane_get(struct auth *au, const char *user, uint64_t now)
{
	struct auth_lane	**lp, *l;
	uint32_t		  b;

	b = auth_hash_str(user, 2166136261u) % AUTH_LANE_BUCKETS;
	for (lp = &au->lanes[b]; (l = *lp) != NULL; lp = &l->next)
		if (strcmp(l->user, user) == 0)
			return l;
	if (au->nlanes >= AUTH_LANES_MAX) {
		auth_lane_prune(au, now, 0);
		if (au->nlanes >= AUTH_LANES_MAX)
			auth_lane_prune(au, now, 1);
	}
	l = xcalloc(1, sizeof(*l));
	l->user = xstrdup(user);
	l->tokens = (double)au->conf->auth_account_rate;
	l->refilled_ms = now;
	TAILQ_INIT(&l->strangers);
	l->next = au->lanes[b];
	au->lanes[b] = l;
	au->nlanes++;
	return l;
}

/* Takes a stranger off its lane; a lane left empty leaves the ring. */
static void
auth_lane_unlink(struct auth *au, struct auth_req *ar)
{
	struct auth_lane	*l = ar->lane;

	TAILQ_REMOVE(&l->strangers, ar, wait_link);
	if (--l->nstrangers == 0 && l->in_ring) {
		TAILQ_REMOVE(&au->ring, l, ring);
		l->in_ring = 0;
	}
}

/* A request off its list is no longer waiting. */
static void
auth_wait_done(struct auth *au, struct auth_req *ar)
{
	ar->lane->nref--;
	ar->lane = NULL;
	au->nwaiting--;
}

/* Takes a waiting request off its list (AR_WAITING). */
static void
auth_wait_remove(struct auth *au, struct auth_req *ar)
{
	if (ar->known_client)
		TAILQ_REMOVE(&au->known_wait, ar, wait_link);
	else
		auth_lane_unlink(au, ar);
	auth_wait_done(au, ar);
}

/*
 * Under attack every refusal would be a line: one every AUTH_BUSY_LOG
 * seconds says how many there were, and the latest.
 */
static void
auth_busy_log(struct auth *au, const struct auth_req *ar, const char *why)
{
	time_t	 now = time(NULL);

	au->busy_unlogged++;
	if (now - au->busy_logged < AUTH_BUSY_LOG)
		return;
	log_warnx("auth: %llu logins refused with [UNAVAILABLE] since the "
	    "last report (%zu waiting); the latest for %s from %s: %s",
	    (unsigned long long)au->busy_unlogged, au->nwaiting, ar->user,
	    ar->peer, why);
	au->busy_logged = now;
	au->busy_unlogged = 0;
}

/* Refused for load: answered after the failure delay, like a guess. */
static void
auth_busy(struct auth_req *ar)
{
	ar->auth->stats.busy++;
	ar->result.status = AUTH_UNAVAILABLE;
	ar->state = AR_ANSWER_WAIT;
	auth_schedule(ar, AUTH_FAIL_DELAY_MS);
}

static void
auth_enqueue(struct auth_req *ar)
{
	struct auth		*au = ar->auth;
	struct auth_lane	*l;
	uint64_t		 now = time_mono_ms();

	l = auth_lane_get(au, ar->user, now);
	if (au->nwaiting >= AUTH_QUEUE_MAX ||
	    (!ar->known_client && l->nstrangers >= AUTH_LANE_QUEUE)) {
		auth_busy_log(au, ar, "too many waiting");
		auth_busy(ar);
		return;
	}
	ar->state = AR_WAITING;
	ar->lane = l;
	l->nref++;
	au->nwaiting++;
	if (ar->known_client)
		TAILQ_INSERT_TAIL(&au->known_wait, ar, wait_link);
	else {
		TAILQ_INSERT_TAIL(&l->strangers, ar, wait_link);
		l->nstrangers++;
		if (!l->in_ring) {
			TAILQ_INSERT_TAIL(&au->ring, l, ring);
			l->in_ring = 1;
		}
	}
	if (ar->known)
		auth_inflight_add(au, ar);
	/* The answer must come while the client still waits. */
	auth_schedule(ar, AUTH_WAIT_MAX_MS);
	auth_dispatch(au);
}

/*
 * The next stranger to hash: round-robin over the lanes with a token.
 * NULL if none has one; *wakep then says when the first refills.
 */
static struct auth_req *
auth_lane_next(struct auth *au, uint64_t now, uint64_t *wakep)
{
	struct auth_lane	*l;
	double			 rate = (double)au->conf->auth_account_rate;
	uint64_t		 ms;

	*wakep = 0;
	for (l = TAILQ_FIRST(&au->ring); l != NULL; l = TAILQ_NEXT(l, ring)) {
		auth_lane_refill(au, l, now);
		if (l->tokens >= 1.0) {
			/* Its turn is over: to the end of the ring. */
			TAILQ_REMOVE(&au->ring, l, ring);
			TAILQ_INSERT_TAIL(&au->ring, l, ring);
			return TAILQ_FIRST(&l->strangers);
		}
		ms = (uint64_t)((1.0 - l->tokens) * 60000.0 / rate) + 1;
		if (*wakep == 0 || now + ms < *wakep)
			*wakep = now + ms;
	}
	return NULL;
}

static void
auth_submit(struct auth *au, struct auth_req *ar)
{
	ar->state = AR_QUEUED;
	au->queued++;
	pthread_mutex_lock(&au->lock);
	ar->next = NULL;
	if (au->queue_tail != NULL)
		au->queue_tail->next = ar;
	else
		au->queue_head = ar;
	au->queue_tail = ar;
	pthread_cond_signal(&au->cond);
	pthread_mutex_unlock(&au->lock);
}

/* Hands waiting logins to the workers that are free. */
static void
auth_dispatch(struct auth *au)
{
	struct auth_req	*ar;
	struct timeval	 tv;
	uint64_t	 now = time_mono_ms(), wake = 0;

	while (au->queued < au->nthreads) {
		if ((ar = TAILQ_FIRST(&au->known_wait)) != NULL)
			TAILQ_REMOVE(&au->known_wait, ar, wait_link);
		else if ((ar = auth_lane_next(au, now, &wake)) != NULL)
			auth_lane_unlink(au, ar);
		else
			break;
		/* Known clients spend from the bucket too, never below 0. */
		auth_lane_spend(au, ar->lane, now);
		auth_wait_done(au, ar);
		evtimer_del(ar->timer);
		if (ar->cancelled && ar->followers == NULL) {
			auth_inflight_remove(au, ar);
			auth_req_free(ar);
			continue;
		}
		auth_submit(au, ar);
	}
	if (wake != 0 && !evtimer_pending(au->dispatch_ev, NULL)) {
		wake -= now;
		tv.tv_sec = (time_t)(wake / 1000);
		tv.tv_usec = (suseconds_t)(wake % 1000) * 1000;
		evtimer_add(au->dispatch_ev, &tv);
	}
}

static void
auth_dispatch_cb(evutil_socket_t fd, short what, void *arg)
{
	auth_dispatch(arg);
}

/* A waiting login waited too long (or went away): nobody hashes it. */
static void
auth_wait_expired(struct auth_req *ar)
{
	struct auth	*au = ar->auth;

	auth_wait_remove(au, ar);
	auth_inflight_remove(au, ar);
	auth_drop_followers(ar, AUTH_UNAVAILABLE);
	if (ar->cancelled) {
		auth_req_free(ar);
		return;
	}
	au->stats.busy++;
	auth_busy_log(au, ar, "waited too long");
	auth_fail(ar, AUTH_UNAVAILABLE);
}

/* ---- the pool ---- */

struct auth *
auth_new(struct event_base *base, struct store *store, const struct conf *cf)
{
	struct auth	*au;
	size_t		 i;

	au = xcalloc(1, sizeof(*au));
	au->base = base;
	au->store = store;
	au->conf = cf;
	au->hash_ms_avg = 100;
	au->cache_secret = xsecret_alloc(32);
	randombytes_buf(au->cache_secret, 32);
	if (pipe2(au->pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("auth: pipe");
	au->pipe_ev = event_new(base, au->pipe[0], EV_READ | EV_PERSIST,
	    auth_pipe_cb, au);
	event_add(au->pipe_ev, NULL);
	TAILQ_INIT(&au->known_wait);
	TAILQ_INIT(&au->ring);
	au->dispatch_ev = evtimer_new(base, auth_dispatch_cb, au);
	pthread_mutex_init(&au->lock, NULL);
	pthread_cond_init(&au->cond, NULL);
	au->nthreads = cf->auth_workers;
	au->threads = xcalloc(au->nthreads, sizeof(*au->threads));
	for (i = 0; i < au->nthreads; i++)
		if (pthread_create(&au->threads[i], NULL, auth_worker, au) != 0)
			fatalx("auth: cannot start worker threads");
	return au;
}

void
auth_free(struct auth **aup)
{
	struct auth	*au = *aup;
	struct auth_req	*ar;
	size_t		 i;

	if (au == NULL)
		return;
	pthread_mutex_lock(&au->lock);
	au->stopping = 1;
	pthread_cond_broadcast(&au->cond);
	pthread_mutex_unlock(&au->lock);
	for (i = 0; i < au->nthreads; i++)
		pthread_join(au->threads[i], NULL);
	/* Jobs no worker took, and answers still in the pipe. */
	while ((ar = au->queue_head) != NULL) {
		au->queue_head = ar->next;
		auth_req_free(ar);
	}
	while (read(au->pipe[0], &ar, sizeof(ar)) == (ssize_t)sizeof(ar))
		auth_req_free(ar);
	/* Logins that waited for the scheduler (their sessions are gone). */
	while ((ar = TAILQ_FIRST(&au->known_wait)) != NULL) {
		TAILQ_REMOVE(&au->known_wait, ar, wait_link);
		auth_req_free(ar);
	}
	for (i = 0; i < AUTH_LANE_BUCKETS; i++)
		while (au->lanes[i] != NULL) {
			struct auth_lane *l = au->lanes[i];

			while ((ar = TAILQ_FIRST(&l->strangers)) != NULL) {
				TAILQ_REMOVE(&l->strangers, ar, wait_link);
				auth_req_free(ar);
			}
			au->lanes[i] = l->next;
			auth_lane_free(l);
		}
	auth_known_prune(au, 0, 1, 0);
	event_free(au->dispatch_ev);
	event_free(au->pipe_ev);
	close(au->pipe[0]);
	close(au->pipe[1]);
	for (i = 0; i < AUTH_CACHE_BUCKETS; i++)
		while (au->cache[i] != NULL) {
			struct auth_cache *e = au->cache[i];

			au->cache[i] = e->next;
			auth_cache_entry_free(e);
		}
	auth_throttle_prune(au, 0, 1);
	pthread_mutex_destroy(&au->lock);
	pthread_cond_destroy(&au->cond);
	xsecret_free(au->cache_secret);
	free(au->threads);
	free(au);
	*aup = NULL;
}

/* Runs in a worker thread: only the job's own copies are touched. */
static void
auth_work(struct auth_req *ar)
{
	uint8_t		*kek, verifier[VAULT_VERIFIERBYTES];
	uint64_t	 start = time_mono_ms();

	kek = xsecret_alloc(VAULT_KEYBYTES);
	/* Unknown or inactive: the same hash, with a salt of nobody's. */
	if (vault_kek_from_password(ar->pw, ar->pwlen, &ar->kdf, kek,
	    verifier) == 0 && ar->known &&
	    sodium_memcmp(verifier, ar->verifier, sizeof(verifier)) == 0 &&
	    (ar->key = vault_unwrap(ar->account_id, ar->pk, kek,
	    VAULT_KEK_PASSWORD, ar->wrapped)) != NULL)
		ar->key->device_id = ar->device_id;
	else if (ar->device_id != 0 && vault_kek_from_password(ar->pw,
	    ar->pwlen, &ar->main_kdf, kek, verifier) == 0 &&
	    sodium_memcmp(verifier, ar->main_verifier, sizeof(verifier)) == 0)
		ar->key = vault_unwrap(ar->account_id, ar->pk, kek,
		    VAULT_KEK_PASSWORD, ar->main_wrapped);
	xsecret_free(kek);
	ar->hash_ms = time_mono_ms() - start;
}

static void *
auth_worker(void *arg)
{
	struct auth	*au = arg;
	struct auth_req	*ar;
	ssize_t		 n;
	sigset_t	 ss;

	/* Signals are the event loop's: never let one land here. */
	sigfillset(&ss);
	pthread_sigmask(SIG_BLOCK, &ss, NULL);

	for (;;) {
		pthread_mutex_lock(&au->lock);
		while (au->queue_head == NULL && !au->stopping)
			pthread_cond_wait(&au->cond, &au->lock);
		if (au->stopping) {
			pthread_mutex_unlock(&au->lock);
			return NULL;
		}
		ar = au->queue_head;
		au->queue_head = ar->next;
		if (au->queue_head == NULL)
			au->queue_tail = NULL;
		pthread_mutex_unlock(&au->lock);
		/* auth_workers is the cap of the daemon, all workers together. */
		workers_hash_begin();
		auth_work(ar);
		workers_hash_end();
		/* A pointer is far below PIPE_BUF: the write is atomic. */
		do
			n = write(au->pipe[1], &ar, sizeof(ar));
		while (n == -1 && errno == EINTR);
		if (n != (ssize_t)sizeof(ar))
			fatal("auth: result pipe");
	}
}

struct auth_touch {
	uint64_t		 id;
	int64_t			 seen_interval;
	struct store_login	 login;
};

static int
auth_touch_txn(struct store_txn *txn, void *arg)
{
	struct auth_touch	*t = arg;
	int			 ret;

	if ((ret = store_account_seen(txn, t->id, t->seen_interval)) != 0)
		return ret;
	if (t->login.proto == 0)
		return 0;
	t->login.when = store_txn_now(txn);
	return store_login_add(txn, t->id, &t->login);
}

/*
 * issue 14: the guest sees where logins came from, but the log keeps no
 * whole address: an IPv4 client's /24, an IPv6 client's /64 (the
 * throttling key has that already).
 */
static void
auth_peer_mask(const char *key, char *out, size_t outlen)
{
	const char	*dot;

	if (strncmp(key, "ip:", 3) == 0 && (dot = strrchr(key, '.')) != NULL &&
	    strchr(key + 3, ':') == NULL)
		snprintf(out, outlen, "%.*s.0/24", (int)(dot - key - 3),
		    key + 3);
	else if (strncmp(key, "ip6:", 4) == 0)
		snprintf(out, outlen, "%s", key + 4);
	else
		snprintf(out, outlen, "%s", key + (strncmp(key, "ip:", 3) == 0 ?
		    3 : 0));
}

void
auth_set_login_proto(struct auth *au, unsigned proto)
{
	au->login_proto = (uint8_t)proto;
}

static void
auth_succeed(struct auth_req *ar)
{
	struct auth		*au = ar->auth;
	struct auth_touch	 t;
	int			 ret;

	memset(&t, 0, sizeof(t));
	t.id = ar->account_id;
	t.seen_interval = doorbell_heartbeat(au->conf) / 2;
	t.login.proto = au->login_proto;
	t.login.device_id = ar->result.key != NULL ?
	    ar->result.key->device_id : 0;
	auth_peer_mask(ar->peer, t.login.peer, sizeof(t.login.peer));

	auth_throttle_clear(au, ar->user);
	auth_known_add(au, ar->account_id, ar->peer, time(NULL));
	/*
	 * SPEC 7: a login is activity; and the doorbell's client is there.
	 * Bookkeeping, not something the client is answered about: written
	 * without waiting for the disk, which would hold up the event loop
	 * (every session of this process) for a log flush per login.  The
	 * next flush takes it along; a power cut loses at most a login time.
	 */
	if ((ret = store_txn_run_nosync(au->store, auth_touch_txn, &t)) != 0)
		log_warnx("auth: %s: recording the login: %s", ar->user,
		    store_strerror(ret));
	ar->result.status = AUTH_OK;
	ar->result.account_id = ar->account_id;
	snprintf(ar->result.address, sizeof(ar->result.address), "%s", ar->user);
	/* Never answer from inside auth_start(): the caller holds ar. */
	ar->state = AR_ANSWER_WAIT;
	auth_schedule(ar, 0);
}

/* ---- logins that share a hash ---- */

static void
auth_inflight_add(struct auth *au, struct auth_req *ar)
{
	ar->inflight_prev = NULL;
	ar->inflight_next = au->inflight;
	if (au->inflight != NULL)
		au->inflight->inflight_prev = ar;
	au->inflight = ar;
}

static void
auth_inflight_remove(struct auth *au, struct auth_req *ar)
{
	if (ar->inflight_prev != NULL)
		ar->inflight_prev->inflight_next = ar->inflight_next;
	else if (au->inflight == ar)
		au->inflight = ar->inflight_next;
	if (ar->inflight_next != NULL)
		ar->inflight_next->inflight_prev = ar->inflight_prev;
	ar->inflight_prev = ar->inflight_next = NULL;
}

/* A job already hashing this password for this account, or NULL. */
static struct auth_req *
auth_inflight_find(struct auth *au, const struct auth_req *ar)
{
	struct auth_req	*j;

	for (j = au->inflight; j != NULL; j = j->inflight_next)
		if (j->account_id == ar->account_id &&
		    sodium_memcmp(j->tag, ar->tag, sizeof(j->tag)) == 0 &&
		    sodium_memcmp(j->pk, ar->pk, sizeof(j->pk)) == 0)
			return j;
	return NULL;
}

/*
 * The leader's hash is done: each follower gets its own copy of the key,
 * or its own failure (delayed and throttled like any other).
 */
static void
auth_answer_followers(struct auth_req *lead)
{
	struct auth_req	*f;

	while ((f = lead->followers) != NULL) {
		lead->followers = f->follower_next;
		f->follower_next = NULL;
		f->leader = NULL;
		if (lead->result.key == NULL) {
			auth_fail(f, AUTH_FAILED);
			continue;
		}
		f->result.key = vault_seckey_dup(lead->result.key);
		auth_succeed(f);
	}
}

/* The leader is not hashed after all: its followers get status. */
static void
auth_drop_followers(struct auth_req *lead, enum auth_status status)
{
	struct auth_req	*f;

	while ((f = lead->followers) != NULL) {
		lead->followers = f->follower_next;
		f->follower_next = NULL;
		f->leader = NULL;
		auth_fail(f, status);
	}
}

static void
auth_pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct auth	*au = arg;
	struct auth_req	*ar;
	time_t		 now = time(NULL);

	while (read(fd, &ar, sizeof(ar)) == (ssize_t)sizeof(ar)) {
		au->queued--;
		au->stats.hashes++;
		au->hash_ms_avg = (au->hash_ms_avg * 7 + ar->hash_ms) / 8;
		ar->hashed = 1;
		/* One line per Argon2id: the guess rate per account shows. */
		log_info("auth: %s: password checked for %s (%s): %s, %llu ms",
		    ar->peer, ar->user, ar->known_client ? "known client" :
		    "other client", ar->key != NULL ? "right" : "wrong",
		    (unsigned long long)ar->hash_ms);
		auth_inflight_remove(au, ar);
		ar->result.key = ar->key;
		ar->key = NULL;
		auth_cache_add(au, ar, now);
		/* Followers are answered even if the leader has gone. */
		auth_answer_followers(ar);
		if (ar->cancelled) {
			auth_req_free(ar);
			continue;
		}
		if (ar->result.key == NULL) {
			auth_fail(ar, AUTH_FAILED);
			continue;
		}
		auth_succeed(ar);
	}
	auth_dispatch(au);
}

static void
auth_schedule(struct auth_req *ar, uint64_t ms)
{
	struct timeval	 tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	if (ar->timer == NULL)
		ar->timer = evtimer_new(ar->auth->base, auth_timer_cb, ar);
	evtimer_add(ar->timer, &tv);
}

/* Answers a failure after the delay that failures cost. */
static void
auth_fail(struct auth_req *ar, enum auth_status status)
{
	struct auth	*au = ar->auth;
	time_t		 now = time(NULL);
	uint64_t	 delay;
	uint32_t	 ipfails;

	ar->result.status = status;
	if (status == AUTH_FAILED) {
		au->stats.failures++;
		ipfails = auth_throttle_get(au, ar->peer, now);
		auth_throttle_add(au, ar->peer, now);
		auth_throttle_add(au, ar->user, now);
		delay = AUTH_FAIL_DELAY_MS * (1 + (uint64_t)ipfails / 5);
		if (delay > AUTH_FAIL_DELAY_MAX_MS)
			delay = AUTH_FAIL_DELAY_MAX_MS;
		/*
		 * An unknown user did not pay for a hash: wait as long as one
		 * takes, so the answer comes as late as for a wrong password.
		 */
		if (!ar->known && !ar->hashed)
			delay += au->hash_ms_avg;
	} else
		delay = 0;
	ar->state = AR_ANSWER_WAIT;
	auth_schedule(ar, delay);
}

static void
auth_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct auth_req	*ar = arg;

	switch (ar->state) {
	case AR_THROTTLE_WAIT:
		auth_enqueue(ar);
		break;
	case AR_WAITING:
		auth_wait_expired(ar);
		break;
	case AR_ANSWER_WAIT:
		auth_finish(ar);
		break;
	default:
		break;
	}
}

static void
auth_finish(struct auth_req *ar)
{
	ar->state = AR_DONE;
	ar->cb(&ar->result, ar->arg);
	auth_req_free(ar);
}

struct auth_lookup {
	const char		*address;
	struct store_account	 acct;
};

static int
auth_lookup_txn(struct store_txn *txn, void *arg)
{
	struct auth_lookup	*lk = arg;

	return store_account_find(txn, lk->address, &lk->acct);
}

/*
 * Looks the account up and answers from the cache, or joins a hash of the
 * same password already under way, or waits for the scheduler.
 */
static void
auth_check(struct auth_req *ar)
{
	struct auth		*au = ar->auth;
	struct auth_lookup	 lk;
	struct auth_cache	*hit;
	struct auth_req		*lead;
	time_t			 now = time(NULL);
	int			 ret;

	memset(&lk, 0, sizeof(lk));
	lk.address = ar->user;
	ret = store_txn_run(au->store, auth_lookup_txn, &lk);
	if (ret != 0 && ret != STORE_ENOTFOUND) {
		log_warnx("auth: looking up %s: %s", ar->user, store_strerror(ret));
		store_account_clear(&lk.acct);
		auth_fail(ar, AUTH_UNAVAILABLE);
		return;
	}
	/*
	 * Pending and disabled mailboxes cannot log in (issue 3), nor locked
	 * ones but on their page (issue 14); they, and unknown names, cost
	 * a hash of the configured cost all the same.
	 */
	if (ret == STORE_ENOTFOUND || lk.acct.state != STORE_ACCT_ACTIVE ||
	    lk.acct.kek_kind != VAULT_KEK_PASSWORD ||
	    (lk.acct.locked && !(ar->flags & AUTH_F_PAGE))) {
		store_account_clear(&lk.acct);
		vault_kdf_new(&ar->kdf, au->conf->kdf_opslimit,
		    au->conf->kdf_memlimit);
		goto wait;
	}
	ar->known = 1;
	ar->account_id = lk.acct.id;
	memcpy(ar->pk, lk.acct.pk, sizeof(ar->pk));
	memcpy(ar->wrapped, lk.acct.wrapped_sk, sizeof(ar->wrapped));
	memcpy(ar->verifier, lk.acct.pw_verifier, sizeof(ar->verifier));
	ar->kdf = lk.acct.kdf;
	/* issue 14: a device password names its wrap; the page's is main. */
	if (!(ar->flags & AUTH_F_PAGE) &&
	    (ar->device_id = auth_device_id(ar->pw, ar->pwlen)) != 0) {
		const struct store_device *dv =
		    store_account_device(&lk.acct, ar->device_id);

		if (dv == NULL)
			ar->device_id = 0;
		else {
			memcpy(ar->main_wrapped, ar->wrapped,
			    sizeof(ar->main_wrapped));
			memcpy(ar->main_verifier, ar->verifier,
			    sizeof(ar->main_verifier));
			ar->main_kdf = ar->kdf;
			memcpy(ar->wrapped, dv->wrapped_sk, sizeof(ar->wrapped));
			memcpy(ar->verifier, dv->verifier, sizeof(ar->verifier));
			ar->kdf = dv->kdf;
		}
	}
	store_account_clear(&lk.acct);

	auth_cache_tag(au, ar->account_id, ar->pw, ar->pwlen, ar->tag);
	if (au->conf->auth_cache_time > 0) {
		hit = auth_cache_lookup(au, ar->account_id, ar->tag, ar->pk,
		    time(NULL));
		if (hit != NULL) {
			au->stats.cache_hits++;
			ar->result.key = vault_seckey_dup(hit->key);
			auth_succeed(ar);
			return;
		}
	}
	/*
	 * Thunderbird opens five connections at once, a phone reconnects
	 * one IDLE per folder: the same password for the same account,
	 * before the first hash is done.  One Argon2id (64 MiB, ~0.1 s of
	 * a core) answers them all.
	 */
	if ((lead = auth_inflight_find(au, ar)) != NULL) {
		au->stats.shared++;
		ar->state = AR_FOLLOWING;
		ar->leader = lead;
		ar->follower_next = lead->followers;
		lead->followers = ar;
		return;
	}
	ar->known_client = auth_known_get(au, ar->account_id, ar->peer, now);
wait:
	/*
	 * Many recent failures for this name: others wait a while more
	 * before they even queue; the owner's known clients do not.
	 */
	if (!ar->known_client &&
	    auth_throttle_get(au, ar->user, now) >= AUTH_THROTTLE_ACCT) {
		au->stats.throttled++;
		ar->state = AR_THROTTLE_WAIT;
		auth_schedule(ar, AUTH_THROTTLE_ACCT_MS);
		return;
	}
	auth_enqueue(ar);
}

struct auth_req *
auth_start(struct auth *au, const char *user, const char *pw, size_t pwlen,
    const char *peer, auth_cb cb, void *arg)
{
	return auth_start_flags(au, user, pw, pwlen, peer, 0, cb, arg);
}

struct auth_req *
auth_start_flags(struct auth *au, const char *user, const char *pw,
    size_t pwlen, const char *peer, unsigned flags, auth_cb cb, void *arg)
{
	struct auth_req	*ar;
	const char	*why;
	time_t		 now = time(NULL);

	ar = xcalloc(1, sizeof(*ar));
	ar->flags = flags;
	ar->auth = au;
	ar->cb = cb;
	ar->arg = arg;
	auth_peer_key(peer, ar->peer, sizeof(ar->peer));
	ar->pw = pwlen < AUTH_PW_SLOT ? xsecret_slot_get(&auth_pw_slots) :
	    xsecret_alloc(pwlen + 1);
	memcpy(ar->pw, pw, pwlen);
	ar->pw[pwlen] = '\0';
	ar->pwlen = pwlen;
	if (strlen(user) > ADDR_MAX ||
	    addr_normalize(user, ar->user, &why) == -1) {
		/* Still throttled and delayed: no free probing. */
		snprintf(ar->user, sizeof(ar->user), "bad-user");
		auth_fail(ar, AUTH_FAILED);
		return ar;
	}
	if (auth_throttle_get(au, ar->peer, now) >= AUTH_THROTTLE_IP) {
		au->stats.throttled++;
		auth_fail(ar, AUTH_FAILED);
		return ar;
	}
	auth_check(ar);
	return ar;
}

void
auth_cancel(struct auth_req **arp)
{
	struct auth_req	*ar = *arp, **fp;

	if (ar == NULL)
		return;
	*arp = NULL;
	/* A worker may hold it: it is freed when its answer comes back. */
	if (ar->state == AR_QUEUED) {
		ar->cancelled = 1;
		return;
	}
	/* Still hashed for the logins that follow it; else gone now. */
	if (ar->state == AR_WAITING) {
		ar->cancelled = 1;
		if (ar->followers == NULL)
			auth_wait_expired(ar);
		return;
	}
	if (ar->state == AR_FOLLOWING && ar->leader != NULL) {
		for (fp = &ar->leader->followers; *fp != NULL;
		    fp = &(*fp)->follower_next)
			if (*fp == ar) {
				*fp = ar->follower_next;
				break;
			}
	}
	auth_req_free(ar);
}

static void
auth_req_free(struct auth_req *ar)
{
	if (ar->timer != NULL)
		event_free(ar->timer);
	vault_seckey_free(&ar->key);
	vault_seckey_free(&ar->result.key);
	if (ar->pw != NULL && ar->pwlen < AUTH_PW_SLOT)
		xsecret_slot_put(&auth_pw_slots, ar->pw);
	else
		xsecret_free(ar->pw);
	sodium_memzero(ar, sizeof(*ar));
	free(ar);
}

void
auth_get_stats(const struct auth *au, struct auth_stats *st)
{
	*st = au->stats;
}

uint32_t
auth_device_id(const char *pw, size_t len)
{
	uint64_t	 id = 0;
	size_t		 i;

	/* "dN-" and the rest: what guestbox-bootstrapd makes. */
	if (len < 4 || pw[0] != 'd' || pw[1] < '1' || pw[1] > '9')
		return 0;
	for (i = 1; i < len && i < 12 && pw[i] >= '0' && pw[i] <= '9'; i++)
		id = id * 10 + (uint64_t)(pw[i] - '0');
	if (i >= len || pw[i] != '-' || id > UINT32_MAX)
		return 0;
	return (uint32_t)id;
}

int
auth_login_check(struct store_txn *txn, uint64_t account_id,
    const struct vault_seckey *key)
{
	struct store_account	 a;
	int			 ret;

	memset(&a, 0, sizeof(a));
	ret = store_account_get(txn, account_id, &a);
	if (ret == STORE_ENOTFOUND)
		ret = STORE_ESTATE;
	/* As auth_check lets in: active, a password, the same keys. */
	else if (ret == 0 && (a.state != STORE_ACCT_ACTIVE ||
	    a.kek_kind != VAULT_KEK_PASSWORD || a.locked ||
	    sodium_memcmp(a.pk, key->pk, sizeof(a.pk)) != 0 ||
	    (key->device_id != 0 &&
	    store_account_device(&a, key->device_id) == NULL)))
		ret = STORE_ESTATE;
	store_account_clear(&a);
	return ret;
}

struct auth_login_arg {
	uint64_t			 account_id;
	const struct vault_seckey	*key;
};

static int
auth_login_txn(struct store_txn *txn, void *arg)
{
	struct auth_login_arg	*la = arg;

	return auth_login_check(txn, la->account_id, la->key);
}

int
auth_login_revoked(struct store *st, uint64_t account_id,
    const struct vault_seckey *key)
{
	struct auth_login_arg	 la = { account_id, key };

	return store_txn_run(st, auth_login_txn, &la) == STORE_ESTATE;
}
