/*
 * daemon.c: the frame every guestbox daemon runs in.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon.h"
#include "log.h"
#include "proc.h"
#include "workers.h"
#include "xmalloc.h"

/* Sessions get this long after SIGTERM before the loop is left. */
#define DAEMON_SHUTDOWN_GRACE	10
/*
 * And closing the store (a checkpoint, perhaps a recovery) this long
 * after that: past it the process leaves without, and the next opener
 * of the environment cleans up after it (failchk).
 */
#define DAEMON_SHUTDOWN_CLOSE	5
/* Opens of the store that wait for a recovery, at start (10 s each). */
#define DAEMON_OPEN_TRIES	6
/* Maintenance timer: checkpoints and log removal (store_maintain). */
#define DAEMON_MAINT_INTERVAL	30

static void
daemon_usage(const char *name)
{
	fprintf(stderr, "usage: %s [-dv] [-c file]\n", name);
}

int
daemon_init(struct daemon *d, const char *name, const struct daemon_ops *ops,
    int argc, char **argv)
{
	const char	*conffile = NULL;
	char		 err[512];
	int		 ch, verbose = 0;

	memset(d, 0, sizeof(*d));
	d->name = name;
	d->ops = ops;
	while ((ch = getopt(argc, argv, "c:dvhV")) != -1) {
		switch (ch) {
		case 'c':
			conffile = optarg;
			break;
		case 'd':
			d->debug = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("%s %s\n", name, PACKAGE_VERSION);
			return EX_OK + 256;
		case 'h':
			daemon_usage(name);
			return EX_OK + 256;
		default:
			daemon_usage(name);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		daemon_usage(name);
		return EX_USAGE;
	}
	log_init(name, d->debug, verbose);
	proc_harden();
	if (conffile == NULL)
		conffile = CONF_DEFAULT_PATH;
	d->conf_path = conffile;	/* argv or a constant: lives as long */
	if ((d->conf = conf_load(conffile, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return EX_CONFIG;
	}
	if (vault_init() == -1) {
		log_warnx("libsodium failed to initialise");
		return EX_SOFTWARE;
	}
	/* A peer closing mid-write must not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);
	if ((d->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	return 0;
}

void
daemon_abandon(struct daemon *d)
{
	if (d->base != NULL)
		event_base_free(d->base);
	d->base = NULL;
	conf_free(&d->conf);
}

void
daemon_bind(struct daemon *d, const struct listen_list *list)
{
	struct listeners	*ls;
	char			 err[512];

	d->lsets = xreallocarray(d->lsets, d->nlsets + 1, sizeof(*d->lsets));
	d->lsets_external = xreallocarray(d->lsets_external, d->nlsets + 1,
	    sizeof(*d->lsets_external));
	ls = &d->lsets[d->nlsets];
	if (listeners_bind(list, d->conf->state_dir, ls, err, sizeof(err)) == -1)
		fatalx("cannot listen: %s", err);
	d->lsets_external[d->nlsets] = 0;
	d->nlsets++;
}

size_t
daemon_bind_external(struct daemon *d, const struct listen_list *list)
{
	daemon_bind(d, list);
	d->lsets_external[d->nlsets - 1] = 1;
	return d->nlsets - 1;
}

int
daemon_listener_tls(const struct listener *l)
{
	return l->spec.security == LISTEN_TLS;
}

static void
daemon_accept(struct listener *l, int fd, const struct sockaddr *sa,
    socklen_t salen, void *arg)
{
	struct daemon	*d = arg;

	if (d->stopping) {
		close(fd);
		return;
	}
	d->ops->accept(d, l, fd, sa, salen);
}

static void
daemon_stop_listening(struct daemon *d)
{
	size_t	 i;

	for (i = 0; i < d->nlsets; i++)
		listeners_close(&d->lsets[i]);
}

static void
daemon_force_exit(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;

	log_info("shutdown grace period over; leaving");
	event_base_loopexit(d->base, NULL);
}

static char *
daemon_conf_dump(const struct conf *cf)
{
	char	*buf = NULL;
	size_t	 len;
	FILE	*fp;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		fatal("open_memstream");
	conf_dump(cf, fp);
	if (fclose(fp) == EOF)
		fatal("conf_dump");
	return buf;
}

/* Whether text, lines ending in '\n', has the len bytes of line as a line. */
static int
daemon_has_line(const char *text, const char *line, size_t len)
{
	const char	*p, *nl;
	size_t		 n;

	for (p = text; *p != '\0'; p = nl != NULL ? nl + 1 : p + n) {
		nl = strchr(p, '\n');
		n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (n == len && memcmp(p, line, len) == 0)
			return 1;
		if (nl == NULL)
			break;
	}
	return 0;
}

/*
 * Logs each key with a line in a that b lacks, once: seen collects the
 * names logged (" name " entries).
 */
static size_t
daemon_conf_diff(const struct daemon *d, const char *a, const char *b,
    char **seen)
{
	const char	*line, *next, *eq;
	char		*name, *entry, *grown;
	size_t		 len, changed = 0;

	for (line = a; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		len = next != NULL ? (size_t)(next - line) : strlen(line);
		next = next != NULL ? next + 1 : line + len;
		if (len == 0 || daemon_has_line(b, line, len))
			continue;
		eq = memchr(line, '=', len);
		name = xstrndup(line, eq != NULL && eq > line ?
		    (size_t)(eq - line - 1) : len);
		xasprintf(&entry, " %s ", name);
		if (strstr(*seen, entry) == NULL) {
			log_warnx("SIGHUP: %s changed in %s; the change takes "
			    "effect when %s restarts", name, d->conf_path,
			    d->name);
			changed++;
			xasprintf(&grown, "%s%s", *seen, entry + 1);
			free(*seen);
			*seen = grown;
		}
		free(name);
		free(entry);
	}
	return changed;
}

/*
 * SIGHUP: read the file again and say what changed.  The settings are
 * copied into listeners, pools and sessions at start-up, so a change
 * takes effect at the next restart; a reload that applied half of them
 * would leave the admin guessing which.  Naming each change at once is
 * what catches a typo before the restart does.
 */
static void
daemon_conf_recheck(struct daemon *d)
{
	struct conf	*cf;
	char		 err[512], *now, *was, *seen;
	size_t		 changed;

	if ((cf = conf_load(d->conf_path, err, sizeof(err))) == NULL) {
		log_warnx("SIGHUP: %s; a restart would fail", err);
		return;
	}
	now = daemon_conf_dump(cf);
	was = daemon_conf_dump(d->conf);
	conf_free(&cf);
	seen = xstrdup(" ");
	/* conf_dump writes "key = value" lines; a list is a line each. */
	changed = daemon_conf_diff(d, now, was, &seen);
	changed += daemon_conf_diff(d, was, now, &seen);
	if (changed == 0)
		log_info("SIGHUP: %s unchanged", d->conf_path);
	free(seen);
	free(now);
	free(was);
}

/*
 * The last word after SIGTERM: a thread that never comes back (one
 * stuck inside Berkeley DB on the lock of a dead process, perhaps the
 * event loop's own) must not keep the daemon from ending.  The deadline
 * is armed in the signal handler, not in the event loop, which may be
 * the stuck thread.  Only async-signal-safe calls here.
 */
static struct sigaction	daemon_sig_prev[2];	/* libevent's: TERM, INT */
static volatile sig_atomic_t daemon_sig_armed;

static void
daemon_shutdown_overdue(int sig)
{
	static const char msg[] = "shutdown overdue: leaving without "
	    "closing the store\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) == -1)
		_exit(EX_TEMPFAIL);	/* nowhere to say it */
	_exit(EX_TEMPFAIL);
}

static void
daemon_sig_deadline(int sig, siginfo_t *si, void *ctx)
{
	const struct sigaction	*prev = &daemon_sig_prev[sig == SIGINT];

	if (!daemon_sig_armed) {
		daemon_sig_armed = 1;
		alarm(DAEMON_SHUTDOWN_GRACE + DAEMON_SHUTDOWN_CLOSE);
	}
	if (prev->sa_flags & SA_SIGINFO)
		prev->sa_sigaction(sig, si, ctx);
	else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN)
		prev->sa_handler(sig);
}

/* After evsignal_add(): our handler first, then libevent's. */
static void
daemon_shutdown_deadline(void)
{
	struct sigaction	 sa;
	static const int	 sigs[2] = { SIGTERM, SIGINT };
	int			 i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = daemon_shutdown_overdue;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	for (i = 0; i < 2; i++) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = daemon_sig_deadline;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(sigs[i], &sa, &daemon_sig_prev[i]);
	}
}

static void
daemon_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon	*d = arg;
	struct timeval	 tv = { DAEMON_SHUTDOWN_GRACE, 0 };
	char		 err[512];

	if (sig == SIGHUP) {
		/*
		 * SPEC: SIGHUP reloads certificates; new connections use
		 * them, open ones keep theirs.  The files are read as the
		 * unprivileged user (daemon_check_tls_files).
		 */
		if (d->tls != NULL) {
			if (tls_server_reload(d->tls, err, sizeof(err)) == -1)
				log_warnx("SIGHUP: cannot reload the "
				    "certificate: %s; the old certificate stays "
				    "in service", err);
			else if (d->worker <= 1)
				log_info("SIGHUP: certificate reloaded");
		}
		/* Every worker reads the same file: one of them says it. */
		if (d->worker <= 1)
			daemon_conf_recheck(d);
		return;
	}
	if (d->stopping)
		return;
	log_info("%s: finishing open sessions", sig == SIGTERM ? "SIGTERM" :
	    "SIGINT");
	d->stopping = 1;
	daemon_stop_listening(d);
	/* Only sessions keep the loop alive from here on. */
	event_del(d->ev_maint);
	if (d->ev_notify != NULL)
		event_del(d->ev_notify);
	event_del(d->ev_hup);
	d->ev_force = evtimer_new(d->base, daemon_force_exit, d);
	evtimer_add(d->ev_force, &tv);
	if (d->ops->shutdown != NULL)
		d->ops->shutdown(d);
	if (d->sessions == 0)
		event_base_loopexit(d->base, NULL);
}

void
daemon_session_opened(struct daemon *d)
{
	d->sessions++;
}

void
daemon_session_closed(struct daemon *d)
{
	if (d->sessions > 0)
		d->sessions--;
	if (d->stopping && d->sessions == 0)
		event_base_loopexit(d->base, NULL);
}

static void
daemon_maint(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;
	int		 ret;

	if ((ret = store_maintain(d->store, 0)) != 0)
		log_warnx("store maintenance: %s", store_strerror(ret));
}

static void
daemon_notify(evutil_socket_t fd, short what, void *arg)
{
	struct daemon		*d = arg;
	struct store_event	 ev;
	int			 n = 0, ret;

	/* Bounded per wake-up so a flood cannot starve the sessions. */
	while (n++ < 1000 && store_notify_read(d->store, &ev) == 1) {
		if (d->auth != NULL && ev.mailbox_id == 0)
			auth_forget_account(d->auth, ev.account_id);
		/* Before the daemon's own reload (guestbox-repld's notice). */
		if (ev.account_id == 0 && ev.mailbox_id == STORE_REOPEN_EVENT &&
		    !d->repl_process && (ret = store_rejoin(d->store)) != 0)
			log_warnx("store: not reopened: %s",
			    store_strerror(ret));
		if (d->ops->notify != NULL)
			d->ops->notify(d, &ev);
	}
}

/* issue 7: the state directory is ours alone, or we do not start. */
static void
daemon_check_state_dir(struct daemon *d)
{
	struct stat	 st;

	if (stat(d->conf->state_dir, &st) == -1)
		fatal("state directory %s", d->conf->state_dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0)
		fatalx("state directory %s must be a directory owned by %s "
		    "with mode 0700 (chown %s %s; chmod 700 %s)",
		    d->conf->state_dir, d->conf->user, d->conf->user,
		    d->conf->state_dir, d->conf->state_dir);
}

/*
 * The key was read as root; a SIGHUP reload reads it as the user we run
 * as now.  A key readable by root only (0600 root) cannot be reloaded:
 * say so at start-up, not at the first renewal.  The fix is Debian's
 * ssl-cert convention with our group (supplementary groups are dropped
 * with the privileges): 0640 root:<group>.
 */
static void
daemon_check_tls_files(struct daemon *d)
{
	struct group	*gr;
	struct passwd	*pw;
	const char	*path, *group, *user;
	char		 gid[32];
	int		 saved;

	if (d->tls == NULL ||
	    (path = tls_server_unreadable(d->tls, &saved)) == NULL)
		return;
	gr = getgrgid(getegid());
	snprintf(gid, sizeof(gid), "%lu", (unsigned long)getegid());
	group = gr != NULL ? gr->gr_name : gid;
	pw = getpwuid(geteuid());
	user = pw != NULL ? pw->pw_name : d->conf->user;
	log_warnx("SIGHUP will not be able to reload the certificate: %s is "
	    "not readable by %s (%s); make it readable by group %s "
	    "(chgrp %s %s; chmod 640 %s) and its directories searchable",
	    path, user, strerror(saved), group, group, path, path);
}

void
daemon_start(struct daemon *d, int with_auth)
{
	struct store_options	 so;
	struct timeval		 tv = { DAEMON_MAINT_INTERVAL, 0 };
	char			 err[512];
	size_t			 i, j;
	int			 need_tls = 0, fd, ret;

	for (i = 0; i < d->nlsets; i++)
		for (j = 0; j < d->lsets[i].n; j++)
			if (d->lsets[i].v[j].spec.security != LISTEN_PLAIN)
				need_tls = 1;
	/* Read the key while still root: it may be readable by root only. */
	if (need_tls && (d->tls = tls_server_new(d->conf->tls_cert,
	    d->conf->tls_key, err, sizeof(err))) == NULL)
		fatalx("TLS: %s", err);
	if (proc_drop_privileges(d->conf->user, d->conf->group) == -1)
		fatalx("cannot drop privileges");
	if (geteuid() == 0)
		fatalx("refusing to run as root: set user in guestbox.conf to "
		    "an unprivileged account");
	daemon_check_tls_files(d);
	daemon_check_state_dir(d);
	/*
	 * Before the store, its threads and the authentication pool: they
	 * do not survive a fork (workers.c).
	 */
	workers_shared_init(d->conf->auth_workers);
	workers_spawn(d, d->workers);
	memset(&so, 0, sizeof(so));
	so.cache_size = d->conf->db_cache_size;
	so.checkpoint_interval = d->conf->db_checkpoint_interval;
	so.log_keep_for_backup = d->conf->db_log_keep_for_backup;
	so.quota = d->conf->mailbox_quota;
	store_options_repl(&so, d->conf);
	so.repl_process = d->repl_process;
	/*
	 * Started (or restarted) while another process recovers the
	 * environment, or waits to: each open waits a bounded time for
	 * it (store-fence.c); try again rather than leave.
	 */
	for (i = 0; (d->store = store_open(d->conf->state_dir, &so,
	    &ret)) == NULL && (ret == STORE_ERECOVER ||
	    ret == STORE_EDEADLOCK) && i < DAEMON_OPEN_TRIES; i++)
		log_warnx("store: not open yet (%s); trying again",
		    store_strerror(ret));
	if (d->store == NULL)
		fatalx("cannot open the store in %s: %s", d->conf->state_dir,
		    store_strerror(ret));
	if ((fd = store_notify_listen(d->store)) != -1) {
		d->ev_notify = event_new(d->base, fd, EV_READ | EV_PERSIST,
		    daemon_notify, d);
		event_add(d->ev_notify, NULL);
	}
	if (with_auth)
		d->auth = auth_new(d->base, d->store, d->conf);
	d->ev_hup = evsignal_new(d->base, SIGHUP, daemon_signal, d);
	d->ev_term = evsignal_new(d->base, SIGTERM, daemon_signal, d);
	d->ev_int = evsignal_new(d->base, SIGINT, daemon_signal, d);
	evsignal_add(d->ev_hup, NULL);
	evsignal_add(d->ev_term, NULL);
	evsignal_add(d->ev_int, NULL);
	daemon_shutdown_deadline();
	d->ev_maint = event_new(d->base, -1, EV_PERSIST, daemon_maint, d);
	evtimer_add(d->ev_maint, &tv);
	for (i = 0; i < d->nlsets; i++)
		if (!d->lsets_external[i] &&
		    listeners_start(d->base, &d->lsets[i], daemon_accept, d) == -1)
			fatalx("cannot start listening");
}

int
daemon_run_loop(struct daemon *d)
{
	sigset_t	 ss;

	/*
	 * Said here, after the daemon's own set-up (GnuPG's check, say),
	 * not at the end of daemon_start(): a log watcher, the tests' one
	 * included, takes it to mean that the daemon serves.
	 */
	workers_ready();
	log_info("%s %s started", d->name, PACKAGE_VERSION);
	event_base_dispatch(d->base);
	log_info("%s stopping", d->name);
	/*
	 * Freeing the signal events below restores the default action: a
	 * second SIGTERM would then kill us while the store closes.  Hold
	 * them; the process is leaving anyway.
	 */
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	daemon_stop_listening(d);
	return EX_OK;
}

int
daemon_run(struct daemon *d)
{
	daemon_run_loop(d);
	daemon_cleanup(d);
	return EX_OK;
}

void
daemon_cleanup(struct daemon *d)
{
	struct event	**evs[] = { &d->ev_notify, &d->ev_force, &d->ev_hup,
			    &d->ev_term, &d->ev_int, &d->ev_maint };
	size_t		  i;

	/* A supervisor (workers.c) made none of them. */
	auth_free(&d->auth);
	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (*evs[i] != NULL) {
			event_free(*evs[i]);
			*evs[i] = NULL;
		}
	/* A clean close: the next opener needs no recovery. */
	if (d->store != NULL)
		store_maintain(d->store, 1);
	store_close(&d->store);
	tls_server_free(&d->tls);
	for (i = 0; i < d->nlsets; i++)
		listeners_close(&d->lsets[i]);
	free(d->lsets);
	free(d->lsets_external);
	event_base_free(d->base);
	conf_free(&d->conf);
}
