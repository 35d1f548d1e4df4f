/*
 * repld.c: guestbox-repld, the replication process of a site (issue 15).
 *
 * It opens the environment first on its site and calls repmgr_start()
 * first, so Berkeley DB makes it the replication process: it listens on
 * repl_site, takes part in elections and applies the master's log.  The
 * daemons, the LDA and the CLI are subordinate processes
 * (store-repl.c).  It serves nothing itself; once a second it looks at
 * the site's role and runs repl_master_hook when it changes.
 *
 * On a standby it also tells the site's daemons when it has applied new
 * log (repld_applied): a commit sends its change notices only from the
 * process that commits (store-notify.c), which is on the master, so an
 * IDLE session on a standby would otherwise never hear of new mail.
 *
 * And it tells them to reopen (repld_synced) once the site synced with
 * a new master: the sync may have rolled back this site's log under
 * the daemons' handles (an old master's unacknowledged commits, issue
 * 15).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

/*
 * How often a standby looks whether it applied new log.  Berkeley DB 5.3
 * has no event for an applied transaction (DB_EVENT_REP_STARTUPDONE comes
 * once), and an event would come in a message thread, where sending to
 * every notify socket would hold up the log: so a cheap poll of the last
 * applied transaction's LSN (rep_stat) in this process's loop, which
 * bounds the notices to a few a second however fast the master commits.
 */
#define REPLD_APPLIED_POLL_MS	200

struct repld {
	struct daemon		 d;
	struct event		*ev_role;
	struct event		*ev_applied;
	enum store_repl_role	 role;
	/* The last applied transaction the daemons were told of. */
	uint32_t		 told_file, told_offset;
	/* The master change they were told to reopen for; -1: none yet. */
	int64_t			 told_changes;
};

static void	repld_role(evutil_socket_t, short, void *);
static void	repld_applied(evutil_socket_t, short, void *);
static int	repld_synced(struct repld *);
static void	repld_hook(struct repld *);
static void	repld_shutdown(struct daemon *);

static const struct daemon_ops repld_ops = {
	.shutdown = repld_shutdown,
};

static void
repld_shutdown(struct daemon *d)
{
	struct repld	*rd = d->arg;

	event_del(rd->ev_role);
	event_del(rd->ev_applied);
}

/* repl_master_hook, with the new role in GUESTBOX_REPL_ROLE. */
static void
repld_hook(struct repld *rd)
{
	const char	*hook = rd->d.conf->repl_master_hook;
	pid_t		 pid;

	if (hook == NULL)
		return;
	if ((pid = fork()) == -1) {
		log_warn("repl: fork for %s", hook);
		return;
	}
	if (pid == 0) {
		setenv("GUESTBOX_REPL_ROLE", store_repl_role_name(rd->role), 1);
		execl(hook, hook, (char *)NULL);
		_exit(EX_OSERR);
	}
	log_info("repl: ran %s (pid %ld) for role %s", hook, (long)pid,
	    store_repl_role_name(rd->role));
}

/*
 * A standby applied the master's log up to a new transaction: every
 * daemon of the site rescans (the "anything may have changed" notice, as
 * after an overflow: the log records name no mailbox we could send),
 * which also ends the sessions of an account the master disabled.
 * max_perm_lsn moves once the transaction is applied, not when its
 * records arrive, so the rescan sees it.
 */
static void
repld_applied(evutil_socket_t fd, short what, void *arg)
{
	struct repld	*rd = arg;
	uint32_t	 file, offset;

	if (repld_synced(rd))
		return;
	if (rd->role != STORE_REPL_CLIENT ||
	    store_repl_applied(rd->d.store, &file, &offset) != 0)
		return;
	if (file == rd->told_file && offset == rd->told_offset)
		return;
	rd->told_file = file;
	rd->told_offset = offset;
	store_notify_rescan(rd->d.store);
}

/*
 * A client that synced with a new master may have rolled back: Berkeley
 * DB undoes the records the new master never had (an old master's
 * unacknowledged commits, or a client's log from a master that died)
 * under the handles of every process, and raises DB_REP_HANDLE_DEAD
 * only on a handle of a file whose revision it bumped, so a daemon
 * that reads other files, or answers from its caches (guestbox-imapd's
 * views), never learns of it.  Berkeley DB 5.3 has no rollback event
 * and no count of rollbacks; what it does give is st_master_changes and
 * st_startup_complete, which goes to 0 at a new master (before the
 * verify step that rolls back) and to 1 once caught up.  So once per
 * master change, after the sync, the daemons reopen and reload in full;
 * a change without a rollback costs them a reopen, and failovers are
 * rare.  The first sync after our start counts too: the daemons may
 * have run through a restart of this process.  Returns 1 if it said
 * "reopen" (which is a rescan as well).
 */
static int
repld_synced(struct repld *rd)
{
	uint64_t	 changes;

	if (!store_repl_synced(rd->d.store, &changes) ||
	    (int64_t)changes == rd->told_changes)
		return 0;
	rd->told_changes = (int64_t)changes;
	log_info("repl: synced with a new master (master change %llu): the "
	    "daemons reopen the store", (unsigned long long)changes);
	(void)store_repl_applied(rd->d.store, &rd->told_file,
	    &rd->told_offset);
	store_notify_reopen(rd->d.store);
	return 1;
}

static void
repld_role(evutil_socket_t fd, short what, void *arg)
{
	struct repld		*rd = arg;
	enum store_repl_role	 role;
	int			 status;

	/* The hooks that ended: reaped here, not left as zombies. */
	while (waitpid(-1, &status, WNOHANG) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			log_warnx("repl: repl_master_hook failed");
	role = store_repl_role(rd->d.store);
	if (role == rd->role || role == STORE_REPL_UNKNOWN)
		return;
	log_info("repl: role %s -> %s", store_repl_role_name(rd->role),
	    store_repl_role_name(role));
	rd->role = role;
	repld_hook(rd);
}

int
main(int argc, char *argv[])
{
	struct repld	 rd;
	struct timeval	 tv = { 1, 0 };
	struct timeval	 tv_applied = { 0, REPLD_APPLIED_POLL_MS * 1000 };
	int		 ret;

	memset(&rd, 0, sizeof(rd));
	rd.d.arg = &rd;
	rd.told_changes = -1;
	if ((ret = daemon_init(&rd.d, "guestbox-repld", &repld_ops, argc,
	    argv)) != 0)
		return ret > 255 ? ret - 256 : ret;
	if (rd.d.conf->repl_site == NULL) {
		log_warnx("no repl_site in %s: this site does not replicate",
		    rd.d.conf->path != NULL ? rd.d.conf->path : "the config");
		daemon_abandon(&rd.d);
		return EX_CONFIG;
	}
	rd.d.repl_process = 1;
	/* Returns once the site is master, or a client that caught up. */
	daemon_start(&rd.d, 0);
	rd.role = STORE_REPL_OFF;
	rd.ev_role = event_new(rd.d.base, -1, EV_PERSIST, repld_role, &rd);
	evtimer_add(rd.ev_role, &tv);
	rd.ev_applied = event_new(rd.d.base, -1, EV_PERSIST, repld_applied,
	    &rd);
	evtimer_add(rd.ev_applied, &tv_applied);
	repld_role(-1, 0, &rd);
	ret = daemon_run_loop(&rd.d);
	event_free(rd.ev_role);
	event_free(rd.ev_applied);
	daemon_cleanup(&rd.d);
	return ret;
}
