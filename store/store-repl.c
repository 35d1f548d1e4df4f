/*
 * store-repl.c: the environment as one site of a Berkeley DB
 * Replication Manager group (issue 15).
 *
 * One process per site is the replication process (guestbox-repld): the
 * first to call repmgr_start() listens on the site's address and takes
 * part in elections; every later one (the daemons, the LDA, the CLI) is
 * a subordinate process, which has its own connections to send the log
 * records of its commits and to receive their acknowledgements (the
 * Berkeley DB reference guide, "Running Replication Manager in multiple
 * processes").  Berkeley DB 5.3 has no takeover by a subordinate: a
 * site's repld that dies is restarted by its supervisor.
 *
 * A commit returns 0 once it is in the local log, and calls
 * DB_EVENT_REP_PERM_FAILED in the committing thread when the ack policy
 * was not met within the ack timeout: that commit is answered with
 * STORE_EUNAVAIL, never acknowledged (store_repl_commit_failed).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "pack.h"
#include "store-private.h"
#include "util.h"
#include "xmalloc.h"

/* Replication process: seconds between two "still waiting" lines. */
#define STORE_REPL_WAIT_LOG_SECS	10
/* Subordinates: how long an open waits for the role and connections. */
#define STORE_REPL_SUB_WAIT_MS		3000
/*
 * In the state directory while the site's last commit went
 * unacknowledged: every process of the site gates its writes on it.
 */
#define STORE_REPL_DOUBT_FILE		"repl-unacked"
/* The record a probe of the quorum writes (meta.db). */
#define STORE_REPL_PROBE_KEY		"repl-probe"
/* repmgr's timeouts (microseconds): a dead master is noticed soon. */
#define STORE_REPL_HEARTBEAT_SEND	(1 * 1000 * 1000)
#define STORE_REPL_HEARTBEAT_MONITOR	(4 * 1000 * 1000)
#define STORE_REPL_CONNECTION_RETRY	(2 * 1000 * 1000)
#define STORE_REPL_ELECTION_RETRY	(2 * 1000 * 1000)
#define STORE_REPL_ELECTION_TIMEOUT	(2 * 1000 * 1000)

static const int store_repl_ack[] = {
	[CONF_ACK_QUORUM] = DB_REPMGR_ACKS_QUORUM,
	[CONF_ACK_ALL] = DB_REPMGR_ACKS_ALL,
	[CONF_ACK_ALL_PEERS] = DB_REPMGR_ACKS_ALL_PEERS,
	[CONF_ACK_ONE] = DB_REPMGR_ACKS_ONE,
	[CONF_ACK_ONE_PEER] = DB_REPMGR_ACKS_ONE_PEER,
	[CONF_ACK_NONE] = DB_REPMGR_ACKS_NONE,
};

/* Set by the event callback in the thread whose commit it concerns. */
static _Thread_local int	store_repl_perm_failed;
/* A handle died under a client's rollback: rejoin (store_txn_run). */
static atomic_int		store_repl_dead;
/* Some store of this process replicates: EACCES means a standby. */
static atomic_int		store_repl_on;

/*
 * A channel request between sites (DB_ENV->repmgr_channel): "the last
 * transaction you applied?", answered by the other site's replication
 * process with its file and offset, big-endian, for the lag in `repl'.
 * Berkeley DB 5.3 gives no other site's log position otherwise.
 */
#define STORE_REPL_ASK_APPLIED		"applied?"
#define STORE_REPL_ASK_TIMEOUT		(1 * 1000 * 1000)

static void	store_repl_event(DB_ENV *, u_int32_t, void *);
static void	store_repl_dispatch(DB_ENV *, DB_CHANNEL *, DBT *, u_int32_t,
		    u_int32_t);
static int	store_repl_env_applied(DB_ENV *, uint32_t *, uint32_t *);
static void	store_repl_ask_applied(DB_ENV *, struct store_repl_site *);
static int	store_repl_add_site(DB_ENV *, const char *, size_t, u_int32_t,
		    u_int32_t);
static int	store_repl_connected(DB_ENV *);

void
store_options_repl(struct store_options *so, const struct conf *cf)
{
	so->repl_site = cf->repl_site;
	so->repl_peers = cf->repl_peers;
	so->repl_ack_policy = conf_ack_policy(cf->repl_ack_policy);
	so->repl_priority = (unsigned)cf->repl_priority;
	so->repl_ack_timeout = (unsigned)cf->repl_ack_timeout;
	so->repl_group_creator = cf->repl_group_creator;
}

const char *
store_repl_role_name(enum store_repl_role role)
{
	static const char *const names[] = {
		[STORE_REPL_OFF] = "off",
		[STORE_REPL_UNKNOWN] = "unknown",
		[STORE_REPL_MASTER] = "master",
		[STORE_REPL_CLIENT] = "client",
	};

	return names[role];
}

int
store_repl_enabled(void)
{
	return atomic_load(&store_repl_on);
}

void
store_repl_mark_dead(void)
{
	atomic_store(&store_repl_dead, 1);
}

int
store_repl_take_dead(void)
{
	return atomic_exchange(&store_repl_dead, 0);
}

void
store_repl_commit_begin(void)
{
	store_repl_perm_failed = 0;
}

int
store_repl_commit_failed(void)
{
	return store_repl_perm_failed;
}

static int
store_repl_doubt_path(const struct store *st, char *buf, size_t len)
{
	int	 n;

	n = snprintf(buf, len, "%s/%s", st->state_dir, STORE_REPL_DOUBT_FILE);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

void
store_repl_doubt_set(struct store *st)
{
	char	 path[PATH_MAX];
	int	 fd;

	if (store_repl_doubt_path(st, path, sizeof(path)) == -1)
		return;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		log_warn("repl: %s", path);
		return;
	}
	(void)close(fd);
}

int
store_repl_doubt(struct store *st)
{
	char	 path[PATH_MAX];

	if (st->opts.repl_site == NULL ||
	    store_repl_doubt_path(st, path, sizeof(path)) == -1)
		return 0;
	return access(path, F_OK) == 0;
}

/*
 * One small commit (the time, in meta.db) whose acknowledgement says
 * whether the quorum is back.  Its record is harmless wherever it lands
 * later.  It leaves store_repl_commit_failed() at 0: that says whether
 * the caller's own commit took here unacknowledged.
 */
int
store_repl_probe(struct store *st)
{
	struct store_txn txn;
	char		 path[PATH_MAX];
	uint8_t		 v[8];
	DB_TXN		*tid;
	int		 ret, failed;

	memset(&txn, 0, sizeof(txn));
	txn.store = st;
	txn.now = st->now();
	if ((ret = st->env->txn_begin(st->env, NULL, &tid, 0)) != 0)
		return store_db_error("txn_begin", ret);
	txn.tid = tid;
	pack_be64(v, (uint64_t)txn.now);
	if ((ret = store_db_put(&txn, DBI_META, STORE_REPL_PROBE_KEY,
	    sizeof(STORE_REPL_PROBE_KEY) - 1, v, sizeof(v))) != 0) {
		(void)tid->abort(tid);
		return ret;
	}
	store_repl_commit_begin();
	/* Only the acknowledgement matters: the log goes to the file. */
	ret = store_db_error("commit", tid->commit(tid, DB_TXN_WRITE_NOSYNC));
	failed = store_repl_perm_failed;
	store_repl_perm_failed = 0;
	if (ret != 0)
		return ret;
	if (failed) {
		log_warnx("repl: still too few sites acknowledge; a write "
		    "is refused before it is logged");
		return STORE_EUNAVAIL;
	}
	log_info("repl: the sites acknowledge again");
	if (store_repl_doubt_path(st, path, sizeof(path)) == 0 &&
	    unlink(path) == -1 && errno != ENOENT)
		log_warn("repl: %s", path);
	return 0;
}

static void
store_repl_event(DB_ENV *env, u_int32_t event, void *info)
{
	struct store	*st = env->app_private;
	int		 loud = st != NULL && st->opts.repl_process;

	switch (event) {
	case DB_EVENT_REP_PERM_FAILED:
		store_repl_perm_failed = 1;
		break;
	case DB_EVENT_REP_MASTER:
		if (loud)
			log_info("repl: this site is the master");
		break;
	case DB_EVENT_REP_CLIENT:
		if (loud)
			log_info("repl: this site is a client (standby)");
		break;
	case DB_EVENT_REP_NEWMASTER:
		if (loud)
			log_info("repl: a new master: site %d", info != NULL ?
			    *(int *)info : -1);
		break;
	case DB_EVENT_REP_STARTUPDONE:
		if (loud)
			log_info("repl: caught up with the master");
		break;
	case DB_EVENT_REP_INIT_DONE:
		/*
		 * DB_REP_CONF_AUTOINIT: a new site, or one whose log ends
		 * before the oldest log file the master still has, got a
		 * copy of the master's databases and log instead.
		 */
		if (loud)
			log_info("repl: internal initialization from the master "
			    "done (this site was new, or its log too old)");
		break;
	case DB_EVENT_REP_DUPMASTER:
		log_warnx("repl: another site is master too; this one steps "
		    "down");
		break;
	case DB_EVENT_REP_JOIN_FAILURE:
		log_warnx("repl: this site could not join the group (its log "
		    "is too far behind); it needs internal initialization");
		break;
	case DB_EVENT_REP_LOCAL_SITE_REMOVED:
		log_warnx("repl: this site was removed from the group");
		break;
	case DB_EVENT_PANIC:
		/* store_txn_run() meets DB_RUNRECOVERY and reopens. */
		break;
	default:
		break;
	}
}

/* One "host:port" of len bytes at s as a site of the group: which, also. */
static int
store_repl_add_site(DB_ENV *env, const char *s, size_t len, u_int32_t which,
    u_int32_t also)
{
	DB_SITE		*site;
	char		 host[256];
	unsigned	 port;
	int		 ret;

	if (conf_site_parse(s, len, host, sizeof(host), &port) == -1) {
		log_warnx("repl: %.*s is not host:port", (int)len, s);
		return EINVAL;
	}
	if ((ret = env->repmgr_site(env, host, port, &site, 0)) != 0)
		return ret;
	ret = site->set_config(site, which, 1);
	if (ret == 0 && also != 0)
		ret = site->set_config(site, also, 1);
	(void)site->close(site);
	return ret;
}

/*
 * Before DB_ENV->open: the sites, the policy, the timeouts.  Every
 * process sets the same (a joining one may not change the local site,
 * and does not).
 */
int
store_repl_configure(struct store *st, DB_ENV *env)
{
	const char	*p;
	size_t		 len;
	int		 ret;

	env->app_private = st;
	/* Only the replication process receives the other sites' requests. */
	if (st->opts.repl_process && (ret = env->repmgr_msg_dispatch(env,
	    store_repl_dispatch, 0)) != 0)
		return ret;
	/* Creating the group is the replication process's business. */
	if ((ret = env->set_event_notify(env, store_repl_event)) != 0 ||
	    (ret = store_repl_add_site(env, st->opts.repl_site,
	    strlen(st->opts.repl_site), DB_LOCAL_SITE,
	    st->opts.repl_group_creator && st->opts.repl_process ?
	    DB_GROUP_CREATOR : 0)) != 0)
		return ret;
	for (p = st->opts.repl_peers; p != NULL && *p != '\0'; p += len) {
		p += strspn(p, " \t");
		if ((len = strcspn(p, " \t")) == 0)
			break;
		if ((ret = store_repl_add_site(env, p, len,
		    DB_BOOTSTRAP_HELPER, 0)) != 0)
			return ret;
	}
	if ((ret = env->repmgr_set_ack_policy(env,
	    store_repl_ack[st->opts.repl_ack_policy < 0 ? CONF_ACK_QUORUM :
	    st->opts.repl_ack_policy])) != 0 ||
	    (ret = env->rep_set_priority(env, st->opts.repl_priority)) != 0 ||
	    (ret = env->rep_set_timeout(env, DB_REP_ACK_TIMEOUT,
	    (st->opts.repl_ack_timeout > 0 ? st->opts.repl_ack_timeout : 5) *
	    1000000U)) != 0 ||
	    (ret = env->rep_set_timeout(env, DB_REP_HEARTBEAT_SEND,
	    STORE_REPL_HEARTBEAT_SEND)) != 0 ||
	    (ret = env->rep_set_timeout(env, DB_REP_HEARTBEAT_MONITOR,
	    STORE_REPL_HEARTBEAT_MONITOR)) != 0 ||
	    (ret = env->rep_set_timeout(env, DB_REP_CONNECTION_RETRY,
	    STORE_REPL_CONNECTION_RETRY)) != 0 ||
	    (ret = env->rep_set_timeout(env, DB_REP_ELECTION_RETRY,
	    STORE_REPL_ELECTION_RETRY)) != 0 ||
	    (ret = env->rep_set_timeout(env, DB_REP_ELECTION_TIMEOUT,
	    STORE_REPL_ELECTION_TIMEOUT)) != 0)
		return ret;
	/*
	 * Bulk transfer: a transaction's log records go out as one message
	 * at its commit.  One message per record made the commit record
	 * wait behind the unacknowledged one before it (repmgr sets no
	 * TCP_NODELAY: Nagle and a delayed ACK), 40 ms a commit.
	 */
	if ((ret = env->rep_set_config(env, DB_REP_CONF_BULK, 1)) != 0)
		return ret;
	/* A client whose log is too old is re-initialised from the master. */
	ret = env->rep_set_config(env, DB_REP_CONF_AUTOINIT, 1);
	atomic_store(&store_repl_on, 1);
	return ret;
}

static enum store_repl_role
store_repl_env_role(DB_ENV *env, int *startup_done)
{
	DB_REP_STAT	*rs;
	enum store_repl_role role = STORE_REPL_UNKNOWN;

	*startup_done = 0;
	if (env->rep_stat(env, &rs, 0) != 0)
		return STORE_REPL_UNKNOWN;
	if (rs->st_status == DB_REP_MASTER)
		role = STORE_REPL_MASTER;
	else if (rs->st_status == DB_REP_CLIENT && rs->st_master !=
	    DB_EID_INVALID)
		role = STORE_REPL_CLIENT;
	*startup_done = rs->st_startup_complete != 0;
	free(rs);
	return role;
}

/* How many other sites this process is connected to. */
static int
store_repl_connected(DB_ENV *env)
{
	DB_REPMGR_SITE	*list;
	u_int		 n, i;
	int		 c = 0;

	if (env->repmgr_site_list(env, &n, &list) != 0)
		return 0;
	for (i = 0; i < n; i++)
		if (list[i].status == DB_REPMGR_CONNECTED)
			c++;
	free(list);
	return c;
}

/*
 * After DB_ENV->open, before the databases open: starts the Replication
 * Manager.  The replication process waits (for good) until the site is
 * master, or a client that has caught up, since a new client has no
 * databases to open before; a subordinate waits a little for its role
 * and, on a master, for a connection that can carry acknowledgements.
 */
int
store_repl_start(struct store *st)
{
	DB_ENV		*env = st->env;
	enum store_repl_role role;
	uint64_t	 deadline, next_log, give_up;
	int		 ret, done;

	give_up = st->opts.repl_wait_secs == 0 ? 0 : time_mono_ms() +
	    (uint64_t)st->opts.repl_wait_secs * 1000;
	for (;;) {
		ret = env->repmgr_start(env, st->opts.repl_process ? 3 : 1,
		    DB_REP_ELECTION);
		/* DB_REP_IGNORE: another process is the replication process. */
		if (ret == 0 || ret == DB_REP_IGNORE)
			break;
		/* The group is changing (another site joins): try again. */
		if (ret == DB_REP_UNAVAIL && st->opts.repl_process &&
		    (give_up == 0 || time_mono_ms() < give_up)) {
			log_info("repl: cannot join the group yet (%s); trying "
			    "again", db_strerror(ret));
			sleep(1);
			continue;
		}
		if (ret == DB_REP_UNAVAIL)
			break;
		return store_db_error("repmgr_start", ret);
	}
	next_log = time_mono_ms() + STORE_REPL_WAIT_LOG_SECS * 1000;
	deadline = time_mono_ms() + STORE_REPL_SUB_WAIT_MS;
	for (;;) {
		if (st->opts.repl_process && give_up != 0 &&
		    time_mono_ms() >= give_up) {
			log_warnx("repl: no master, or not caught up, after %u "
			    "s", st->opts.repl_wait_secs);
			return STORE_EUNAVAIL;
		}
		role = store_repl_env_role(env, &done);
		if (role == STORE_REPL_MASTER && (st->opts.repl_process ||
		    st->opts.repl_peers == NULL || store_repl_connected(env) > 0))
			break;
		if (role == STORE_REPL_CLIENT && done)
			break;
		if (!st->opts.repl_process && time_mono_ms() >= deadline)
			break;
		if (st->opts.repl_process && time_mono_ms() >= next_log) {
			log_info("repl: waiting for the group: %s%s",
			    store_repl_role_name(role), role ==
			    STORE_REPL_CLIENT ? ", catching up" : "");
			next_log = time_mono_ms() + STORE_REPL_WAIT_LOG_SECS *
			    1000;
		}
		usleep(20000);
	}
	return 0;
}

enum store_repl_role
store_repl_role(struct store *st)
{
	int	 done;

	if (st->opts.repl_site == NULL || st->env == NULL)
		return STORE_REPL_OFF;
	return store_repl_env_role(st->env, &done);
}

int
store_repl_status(struct store *st, struct store_repl_status *rs)
{
	DB_REP_STAT	*s;
	DB_LOG_STAT	*ls;
	DB_REPMGR_SITE	*list;
	u_int		 n, i;
	int		 ret, master;

	memset(rs, 0, sizeof(*rs));
	if (st->opts.repl_site == NULL || st->env == NULL) {
		rs->role = STORE_REPL_OFF;
		return 0;
	}
	rs->role = store_repl_env_role(st->env, &rs->startup_done);
	if ((ret = st->env->rep_stat(st->env, &s, 0)) != 0)
		return store_db_error("rep_stat", ret);
	/*
	 * The size of the membership database, which elections and acks
	 * count: st_nsites is 0 in a process that has not itself taken part.
	 */
	if (st->env->rep_get_nsites(st->env, &rs->nsites) != 0)
		rs->nsites = s->st_nsites;
	rs->gen = s->st_gen;
	rs->waiting_file = s->st_waiting_lsn.file;
	rs->waiting_offset = s->st_waiting_lsn.offset;
	rs->log_queued = (uint64_t)s->st_log_queued;
	rs->perm_file = s->st_max_perm_lsn.file;
	rs->perm_offset = s->st_max_perm_lsn.offset;
	master = s->st_master;
	free(s);
	if ((ret = st->env->log_stat(st->env, &ls, 0)) != 0)
		return store_db_error("log_stat", ret);
	rs->log_file = ls->st_cur_file;
	rs->log_offset = ls->st_cur_offset;
	free(ls);
	if ((ret = st->env->repmgr_site_list(st->env, &n, &list)) != 0)
		return store_db_error("repmgr_site_list", ret);
	for (i = 0; i < n && rs->nsites_list < STORE_REPL_MAX_SITES; i++) {
		struct store_repl_site *site = &rs->sites[rs->nsites_list++];

		snprintf(site->host, sizeof(site->host), "%s", list[i].host);
		site->port = list[i].port;
		site->eid = list[i].eid;
		site->connected = list[i].status == DB_REPMGR_CONNECTED;
		site->master = list[i].eid == master;
		if (site->connected)
			store_repl_ask_applied(st->env, site);
	}
	free(list);
	return 0;
}

static int
store_repl_env_applied(DB_ENV *env, uint32_t *file, uint32_t *offset)
{
	DB_REP_STAT	*s;
	int		 ret;

	*file = *offset = 0;
	if ((ret = env->rep_stat(env, &s, 0)) != 0)
		return ret;
	*file = s->st_max_perm_lsn.file;
	*offset = s->st_max_perm_lsn.offset;
	free(s);
	return 0;
}

int
store_repl_applied(struct store *st, uint32_t *file, uint32_t *offset)
{
	*file = *offset = 0;
	if (st->opts.repl_site == NULL || st->env == NULL)
		return STORE_OK;
	return store_db_error("rep_stat", store_repl_env_applied(st->env, file,
	    offset));
}

int
store_repl_synced(struct store *st, uint64_t *changes)
{
	DB_REP_STAT	*rs;
	int		 synced;

	*changes = 0;
	if (st->opts.repl_site == NULL || st->env == NULL ||
	    st->env->rep_stat(st->env, &rs, 0) != 0)
		return 0;
	/*
	 * Berkeley DB sets st_startup_complete to 0 whenever a client
	 * learns of a new master (__rep_new_master, which also enters
	 * the verify step that rolls back), and to 1 once it caught up.
	 */
	synced = rs->st_status == DB_REP_CLIENT && rs->st_master !=
	    DB_EID_INVALID && rs->st_startup_complete != 0;
	*changes = (uint64_t)rs->st_master_changes;
	free(rs);
	return synced;
}

/* In a message thread of the replication process: another site asks. */
static void
store_repl_dispatch(DB_ENV *env, DB_CHANNEL *chan, DBT *req, u_int32_t nreq,
    u_int32_t flags)
{
	DBT		 resp;
	uint8_t		 buf[8];
	uint32_t	 file, offset;
	size_t		 len = sizeof(STORE_REPL_ASK_APPLIED) - 1;

	if (!(flags & DB_REPMGR_NEED_RESPONSE))
		return;
	memset(&resp, 0, sizeof(resp));
	/* Anything else, or no answer known: an empty response. */
	if (nreq == 1 && req[0].size == len && memcmp(req[0].data,
	    STORE_REPL_ASK_APPLIED, len) == 0 &&
	    store_repl_env_applied(env, &file, &offset) == 0) {
		pack_be32(buf, file);
		pack_be32(buf + 4, offset);
		resp.data = buf;
		resp.size = sizeof(buf);
	}
	(void)chan->send_msg(chan, &resp, 1, 0);
}

/* Asks the site its last applied transaction; unknown if it is silent. */
static void
store_repl_ask_applied(DB_ENV *env, struct store_repl_site *site)
{
	DB_CHANNEL	*chan;
	DBT		 req, resp;
	int		 ret;

	if (env->repmgr_channel(env, site->eid, &chan, 0) != 0)
		return;
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.data = (void *)(uintptr_t)STORE_REPL_ASK_APPLIED;
	req.size = sizeof(STORE_REPL_ASK_APPLIED) - 1;
	resp.flags = DB_DBT_MALLOC;
	ret = chan->send_request(chan, &req, 1, &resp, STORE_REPL_ASK_TIMEOUT,
	    0);
	if (ret == 0 && resp.size == 8) {
		site->applied_known = 1;
		site->applied_file = unpack_be32(resp.data);
		site->applied_offset = unpack_be32((uint8_t *)resp.data + 4);
	}
	free(resp.data);
	(void)chan->close(chan, 0);
}

/*
 * The Berkeley DB reference guide, "Removing sites from a replication
 * group": DB_SITE->remove() anywhere asks the master, which takes the
 * site out of the membership database in a transaction of its own, acked
 * like any other.  The site need not be up; a site that is up and gets
 * removed hears DB_EVENT_REP_LOCAL_SITE_REMOVED.  The master cannot be
 * removed (an election first), nor, by us, this site: its own removal
 * would leave its guestbox-repld running outside the group.
 */
int
store_repl_remove(struct store *st, const char *hostport)
{
	struct store_repl_status rs;
	DB_SITE		*site;
	char		 host[256], mine[256];
	unsigned	 port, myport;
	size_t		 i;
	int		 ret, found = 0;

	if (st->opts.repl_site == NULL || st->env == NULL)
		return STORE_ESTATE;
	if (conf_site_parse(hostport, strlen(hostport), host, sizeof(host),
	    &port) == -1)
		return STORE_ENOTFOUND;
	if (conf_site_parse(st->opts.repl_site, strlen(st->opts.repl_site),
	    mine, sizeof(mine), &myport) == 0 && myport == port &&
	    strcmp(mine, host) == 0)
		return STORE_ESTATE;
	if ((ret = store_repl_status(st, &rs)) != 0)
		return ret;
	for (i = 0; i < rs.nsites_list; i++)
		if (rs.sites[i].port == port && strcmp(rs.sites[i].host,
		    host) == 0) {
			if (rs.sites[i].master)
				return STORE_ESTATE;
			found = 1;
		}
	if (!found)
		return STORE_ENOTFOUND;
	if ((ret = st->env->repmgr_site(st->env, host, port, &site, 0)) != 0)
		return store_db_error("repmgr_site", ret);
	/* A destructor: the handle is gone whatever it returns. */
	if ((ret = site->remove(site)) != 0)
		return store_db_error("removing a site", ret);
	return STORE_OK;
}
