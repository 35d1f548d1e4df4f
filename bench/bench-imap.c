/*
 * bench-imap: an IMAP load generator over implicit TLS, written on
 * libevent and OpenSSL so that guestbox-imapd and Dovecot are driven by
 * exactly the same client (bench/bench-imap.sh runs both).
 *
 * Modes (-m):
 *   load   N clients (-c) log in and loop over a mixed workload: SELECT
 *          INBOX, FETCH the headers of 50 messages, UID FETCH one body,
 *          UID STORE +/-FLAGS \Seen (on the delivered messages), SEARCH,
 *          APPEND 4 KiB, UID STORE \Deleted and UID EXPUNGE of what was
 *          appended, IDLE (until "+", then DONE).  After a warm-up (-w)
 *          it counts commands per second over a fixed time (-d) and
 *          latency percentiles per command type; then each client ends
 *          its command and logs out.
 *   idle   K clients (-c) log in, SELECT INBOX and stay in IDLE; prints
 *          the server's resident memory (VmRSS and Pss of the process -s
 *          and its descendants, optionally only those named by -n) before
 *          and after, and per connection.
 *   login  N clients (-c) connect and wait for the greeting; then all send
 *          LOGIN at the same moment; prints login latency percentiles and
 *          the logins per second from the first LOGIN to the last answer.
 *          With -b B, B bystanders log in first (as accounts 1..B; the N
 *          then use accounts B+1..B+A) and send NOOP every 20 ms while
 *          the N wait: their NOOP latency percentiles say what the
 *          logins cost the sessions already there.
 *   ceiling  -c T threads run Argon2id at the cost -O/-M back to back for
 *          -d seconds; prints the hashes per second: the most uncached
 *          logins this machine can do, for the login mode to compare.
 *   hash   prints Dovecot's {ARGON2ID} form of the password (-P) at the
 *          cost -O/-M (guestbox's kdf_opslimit/kdf_memlimit), so that both
 *          servers pay the same Argon2id per uncached login.
 *
 * Client i logs in as the account printf(-u, i % A + 1), A from -a.  Any
 * NO, BAD, timeout or disconnect is an error: counted, shown, and in load
 * mode followed by a reconnect.  The last line of every mode is a
 * "RESULT key=value ..." line for the script.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sodium.h>

/* A command that takes longer than this is an error (a hang). */
#define BENCH_CMD_TIMEOUT	60
/* Size of the APPENDed message, CRLF line ends included. */
#define BENCH_APPEND_SIZE	4096
/* Messages a FETCH of one body picks from (the delivered ones). */
#define BENCH_BODY_RANGE	200
/* After the measurement, commands in flight get this long to end. */
#define BENCH_STOP_GRACE	10
/* Errors whose text is shown, per run. */
#define BENCH_SHOW_ERRORS	10
/* Login mode: a bystander's pause between two NOOPs, microseconds. */
#define BENCH_NOOP_PAUSE	20000
/* A line longer than this is not IMAP we expect. */
#define BENCH_LINE_MAX		(1024 * 1024)

enum bench_mode {
	MODE_LOAD,
	MODE_IDLE,
	MODE_LOGIN,
	MODE_HASH,
	MODE_CEILING,
};

/* Command types: a latency series and an error count each. */
enum cmd_type {
	C_LOGIN,
	C_SELECT,
	C_FETCH_HEADERS,
	C_FETCH_BODY,
	C_STORE,
	C_SEARCH,
	C_APPEND,
	C_EXPUNGE,
	C_IDLE,
	C_NOOP,			/* login mode's bystanders */
	C_NTYPES
};

static const char *const cmd_names[] = {
	[C_LOGIN] = "LOGIN",
	[C_SELECT] = "SELECT",
	[C_FETCH_HEADERS] = "FETCH 50 headers",
	[C_FETCH_BODY] = "FETCH body",
	[C_STORE] = "STORE",
	[C_SEARCH] = "SEARCH",
	[C_APPEND] = "APPEND 4 KiB",
	[C_EXPUNGE] = "UID EXPUNGE",
	[C_IDLE] = "IDLE+DONE",
	[C_NOOP] = "NOOP",
};

/* One round of the load workload, in order. */
enum step {
	STEP_SELECT,
	STEP_FETCH_HEADERS,
	STEP_FETCH_BODY,
	STEP_STORE_SEEN,
	STEP_SEARCH,
	STEP_APPEND,
	STEP_STORE_DELETED,
	STEP_EXPUNGE,
	STEP_IDLE,
	STEP_NSTEPS
};

enum load_phase {
	PH_LOGIN,
	PH_WARMUP,
	PH_MEASURE,
	PH_STOPPING,		/* in-flight commands end, then LOGOUT */
	PH_DONE,
};

enum client_state {
	CL_CONNECTING,		/* TCP and TLS handshake */
	CL_GREETING,		/* waiting for "* OK" */
	CL_READY,		/* logged out, greeted: login mode waits here */
	CL_BUSY,		/* a command is out */
	CL_IDLING,		/* idle mode: in IDLE, holding */
	CL_DEAD,
};

struct series {
	uint32_t	*v;		/* latencies in microseconds */
	size_t		 n, cap;
	uint64_t	 errors;
};

/* What the server's processes use (proc_read). */
struct proc_sum {
	uint64_t	 rss_kb;
	uint64_t	 pss_kb;
	uint64_t	 ticks;		/* user and system CPU, clock ticks */
	uint64_t	 wait_ns;	/* runnable, waiting for a CPU */
	unsigned int	 nprocs;
};

struct bench;

struct client {
	struct bench		*b;
	unsigned int		 id;
	char			 user[128];
	struct bufferevent	*bev;
	enum client_state	 state;
	int			 logged_in;
	int			 login_done;	/* login mode: answered or failed */
	int			 bystander;	/* login mode: NOOPs meanwhile */
	struct event		*pause;		/* a bystander's next NOOP */
	int			 logging_out;	/* LOGOUT sent: BYE is no error */

	/* The command out and how its answer is read. */
	enum cmd_type		 type;
	char			 tag[16];
	unsigned int		 ntag;
	uint64_t		 t_start;	/* microseconds, monotonic */
	int			 want_cont;	/* APPEND literal, IDLE's DONE */
	size_t			 literal_left;
	int			 in_literal_resp;	/* the line after a literal */

	/* The workload. */
	enum step		 step;
	uint64_t		 round;
	uint32_t		 exists;
	uint32_t		 delivered;	/* EXISTS at the first SELECT */
	uint32_t		 appended_uid;
	uint64_t		 rng;
	struct event		*retry;
};

struct bench {
	enum bench_mode		 mode;
	struct event_base	*base;
	SSL_CTX			*ssl_ctx;
	struct sockaddr_in	 sin;
	const char		*user_fmt;
	const char		*password;
	unsigned int		 nclients;
	unsigned int		 naccounts;
	unsigned int		 duration;
	unsigned int		 warmup;
	unsigned int		 hold;
	unsigned int		 setup_parallel;
	long			 server_pid;
	const char		*server_names;	/* comma-separated, or NULL */
	struct client		*clients;

	/* load: logins, warm-up, measurement */
	enum load_phase		 phase;
	int			 measuring;	/* phase == PH_MEASURE */
	uint64_t		 t_measure;	/* start, then length */
	struct event		*wait_ev;	/* until every client is in */
	unsigned int		 logged_in;
	struct series		 series[C_NTYPES];
	uint64_t		 disconnects;	/* while measuring */
	uint64_t		 errors_total;	/* whole run */
	unsigned int		 errors_shown;
	struct event		*phase_ev;
	struct rusage		 ru_start, ru_end;
	struct proc_sum		 srv_start, srv_end;	/* server CPU */

	/* idle and login */
	unsigned int		 next_connect;
	unsigned int		 connecting;
	unsigned int		 idling;
	unsigned int		 ready;
	unsigned int		 failed;
	unsigned int		 answered;	/* login: final outcomes */
	unsigned int		 nbystanders;	/* login: -b */
	unsigned int		 bystanders_in;	/* logged in, or failed */
	uint64_t		 t_last;	/* login: the last answer */
	int			 setting_up;	/* idle: connections being made */
	uint64_t		 t_setup;

	char			 append_msg[BENCH_APPEND_SIZE + 1];
};

static void	bench_usage(void);
static uint64_t	bench_now_us(void);
static void	bench_error(struct bench *, struct client *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	series_add(struct series *, uint32_t);
static uint32_t	series_pct(struct series *, double);
static void	client_connect(struct client *);
static void	client_close(struct client *);
static void	client_fail(struct client *, const char *);
static void	client_read_cb(struct bufferevent *, void *);
static void	client_event_cb(struct bufferevent *, short, void *);
static void	client_send(struct client *, enum cmd_type, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	client_line(struct client *, char *, size_t);
static void	client_untagged(struct client *, const char *);
static void	client_continue(struct client *);
static void	client_tagged(struct client *, const char *status,
		    const char *line);
static void	client_next(struct client *);
static void	client_retry_cb(evutil_socket_t, short, void *);
static void	load_run(struct bench *);
static void	load_wait_cb(evutil_socket_t, short, void *);
static void	load_phase_cb(evutil_socket_t, short, void *);
static void	load_stopped(struct bench *);
static void	load_report(struct bench *);
static void	idle_run(struct bench *);
static void	idle_more(struct bench *);
static void	login_run(struct bench *);
static void	login_go(struct bench *);
static void	login_noop_cb(evutil_socket_t, short, void *);
static int	ceiling_run(unsigned int, unsigned int, const char *,
		    unsigned long long, unsigned long long);
static int	proc_read(long root, const char *names, int with_mem,
		    struct proc_sum *);

/* ---- small helpers ---- */

static uint64_t
bench_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t
rng_next(uint64_t *s)
{
	/* xorshift64*: a reproducible choice of messages per client. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static void
bench_error(struct bench *b, struct client *cl, const char *fmt, ...)
{
	va_list	 ap;

	b->errors_total++;
	if (b->errors_shown++ >= BENCH_SHOW_ERRORS)
		return;
	fprintf(stderr, "bench-imap: client %u (%s): ", cl->id, cl->user);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
series_add(struct series *s, uint32_t us)
{
	if (s->n == s->cap) {
		s->cap = s->cap == 0 ? 1024 : s->cap * 2;
		if ((s->v = realloc(s->v, s->cap * sizeof(*s->v))) == NULL) {
			perror("bench-imap: realloc");
			exit(1);
		}
	}
	s->v[s->n++] = us;
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile; sorts the series. */
static uint32_t
series_pct(struct series *s, double q)
{
	size_t	 i;

	if (s->n == 0)
		return 0;
	qsort(s->v, s->n, sizeof(*s->v), u32_cmp);
	i = (size_t)ceil(q * (double)s->n);
	if (i > 0)
		i--;
	if (i >= s->n)
		i = s->n - 1;
	return s->v[i];
}

/* ---- connections ---- */

static void
client_connect(struct client *cl)
{
	struct bench	*b = cl->b;
	SSL		*ssl;
	int		 on = 1;

	cl->state = CL_CONNECTING;
	cl->logged_in = 0;
	cl->logging_out = 0;
	cl->literal_left = 0;
	cl->in_literal_resp = 0;
	cl->want_cont = 0;
	if ((ssl = SSL_new(b->ssl_ctx)) == NULL) {
		client_fail(cl, "SSL_new failed");
		return;
	}
	cl->bev = bufferevent_openssl_socket_new(b->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (cl->bev == NULL) {
		SSL_free(ssl);
		client_fail(cl, "cannot make a bufferevent");
		return;
	}
	/* A server may close without close_notify: that is an EOF too. */
	bufferevent_openssl_set_allow_dirty_shutdown(cl->bev, 1);
	bufferevent_setcb(cl->bev, client_read_cb, NULL, client_event_cb, cl);
	if (bufferevent_socket_connect(cl->bev, (struct sockaddr *)&b->sin,
	    sizeof(b->sin)) == -1) {
		client_fail(cl, "connect failed");
		return;
	}
	/* The servers set TCP_NODELAY too; without it Nagle delays commands. */
	(void)setsockopt(bufferevent_getfd(cl->bev), IPPROTO_TCP, TCP_NODELAY,
	    &on, sizeof(on));
	bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
	b->connecting++;
}

static void
client_close(struct client *cl)
{
	if (cl->bev != NULL) {
		bufferevent_free(cl->bev);
		cl->bev = NULL;
	}
	cl->state = CL_DEAD;
	cl->logged_in = 0;
}

/* An error that ends the connection: count it, and go on per mode. */
static void
client_fail(struct client *cl, const char *why)
{
	struct bench	*b = cl->b;
	struct timeval	 tv = { 0, 100000 };
	enum client_state old = cl->state;

	if (old == CL_DEAD)
		return;
	if (old == CL_CONNECTING && b->connecting > 0)
		b->connecting--;
	if (!cl->logging_out)
		bench_error(b, cl, "%s", why);
	if (b->measuring) {
		b->disconnects++;
		if (old == CL_BUSY)
			b->series[cl->type].errors++;
	}
	if (cl->logged_in && b->logged_in > 0 && b->mode == MODE_LOAD)
		b->logged_in--;
	if (old == CL_IDLING && b->idling > 0)
		b->idling--;
	client_close(cl);
	switch (b->mode) {
	case MODE_LOAD:
		if (b->phase >= PH_STOPPING) {
			load_stopped(b);
			break;
		}
		/* Keep the load up: a new connection after a pause. */
		if (cl->retry == NULL)
			cl->retry = evtimer_new(b->base, client_retry_cb, cl);
		evtimer_add(cl->retry, &tv);
		break;
	case MODE_IDLE:
		b->failed++;
		idle_more(b);
		break;
	case MODE_LOGIN:
		if (cl->login_done)
			break;
		cl->login_done = 1;
		if (cl->bystander) {
			/* Not there before the LOGINs: one bystander less. */
			b->bystanders_in++;
			login_go(b);
			break;
		}
		b->answered++;
		if (b->t_setup == 0) {
			/* Not greeted after all, or never will be. */
			if (old == CL_READY && b->ready > 0)
				b->ready--;
			b->failed++;
			login_go(b);
		} else if (b->answered >= b->nclients)
			event_base_loopexit(b->base, NULL);
		break;
	case MODE_HASH:
	case MODE_CEILING:
		break;
	}
}

static void
client_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	client_connect(arg);
}

static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client	*cl = arg;
	struct bench	*b = cl->b;
	unsigned long	 e;
	char		 why[256];

	if (what & BEV_EVENT_CONNECTED) {
		if (b->connecting > 0)
			b->connecting--;
		cl->state = CL_GREETING;
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof(why), "timeout (%s)",
		    cl->state == CL_BUSY ? cmd_names[cl->type] : "no command");
	else if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "disconnected by the server%s%s",
		    cl->state == CL_BUSY ? " during " : "",
		    cl->state == CL_BUSY ? cmd_names[cl->type] : "");
	else if ((e = bufferevent_get_openssl_error(bev)) != 0)
		snprintf(why, sizeof(why), "TLS: %s",
		    ERR_error_string(e, NULL));
	else
		snprintf(why, sizeof(why), "connection error: %s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	client_fail(cl, why);
}

/* ---- commands ---- */

static void
client_send(struct client *cl, enum cmd_type type, const char *fmt, ...)
{
	struct evbuffer	*out = bufferevent_get_output(cl->bev);
	struct timeval	 tv = { BENCH_CMD_TIMEOUT, 0 };
	va_list		 ap;

	snprintf(cl->tag, sizeof(cl->tag), "b%u", ++cl->ntag);
	cl->type = type;
	cl->state = CL_BUSY;
	cl->want_cont = 0;
	evbuffer_add_printf(out, "%s ", cl->tag);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
	bufferevent_set_timeouts(cl->bev, &tv, NULL);
	cl->t_start = bench_now_us();
}

/* The next command of the workload (load mode). */
static void
client_next(struct client *cl)
{
	static const char *const searches[] = {
		"SEARCH SUBJECT \"report\"",
		"SEARCH FROM \"example.com\"",
		"SEARCH UNSEEN",
	};
	uint32_t	 uid, range;

	for (;;) {
		switch (cl->step) {
		case STEP_SELECT:
			client_send(cl, C_SELECT, "SELECT INBOX");
			return;
		case STEP_FETCH_HEADERS:
			client_send(cl, C_FETCH_HEADERS, "FETCH 1:50 (UID FLAGS "
			    "RFC822.SIZE BODY.PEEK[HEADER.FIELDS (From To "
			    "Subject Date Message-ID)])");
			return;
		/*
		 * By UID, among the delivered messages (UIDs 1 to n on both
		 * servers): never one that another client of the same account
		 * is expunging, which would be [EXPUNGEISSUED].
		 */
		case STEP_FETCH_BODY:
			range = cl->delivered < BENCH_BODY_RANGE ?
			    cl->delivered : BENCH_BODY_RANGE;
			uid = range == 0 ? 1 : 1 + rng_next(&cl->rng) % range;
			client_send(cl, C_FETCH_BODY, "UID FETCH %u "
			    "(BODY.PEEK[])", uid);
			return;
		case STEP_STORE_SEEN:
			range = cl->delivered < BENCH_BODY_RANGE ?
			    cl->delivered : BENCH_BODY_RANGE;
			uid = range == 0 ? 1 : 1 + rng_next(&cl->rng) % range;
			client_send(cl, C_STORE, "UID STORE %u %cFLAGS (\\Seen)",
			    uid, cl->round % 2 == 0 ? '+' : '-');
			return;
		case STEP_SEARCH:
			client_send(cl, C_SEARCH, "%s",
			    searches[cl->round % 3]);
			return;
		case STEP_APPEND:
			cl->appended_uid = 0;
			client_send(cl, C_APPEND, "APPEND INBOX (\\Seen) {%u}",
			    BENCH_APPEND_SIZE);
			cl->want_cont = 1;
			return;
		case STEP_STORE_DELETED:
			if (cl->appended_uid == 0) {
				cl->step = STEP_IDLE;
				continue;
			}
			client_send(cl, C_STORE, "UID STORE %u +FLAGS.SILENT "
			    "(\\Deleted)", cl->appended_uid);
			return;
		case STEP_EXPUNGE:
			client_send(cl, C_EXPUNGE, "UID EXPUNGE %u",
			    cl->appended_uid);
			return;
		case STEP_IDLE:
			client_send(cl, C_IDLE, "IDLE");
			cl->want_cont = 1;
			return;
		case STEP_NSTEPS:
			cl->step = STEP_SELECT;
			cl->round++;
			continue;
		}
	}
}

static void
client_continue(struct client *cl)
{
	struct bench	*b = cl->b;

	if (cl->state != CL_BUSY || !cl->want_cont) {
		bench_error(b, cl, "unexpected continuation request");
		return;
	}
	cl->want_cont = 0;
	if (cl->type == C_APPEND) {
		bufferevent_write(cl->bev, b->append_msg, BENCH_APPEND_SIZE);
		bufferevent_write(cl->bev, "\r\n", 2);
		return;
	}
	/* IDLE (RFC 2177): the server listens; idle mode stays. */
	if (b->mode == MODE_IDLE) {
		cl->state = CL_IDLING;
		/* RFC 2177: servers may drop an IDLE after 30 min; we do not wait. */
		bufferevent_set_timeouts(cl->bev, NULL, NULL);
		b->idling++;
		idle_more(b);
		return;
	}
	bufferevent_write(cl->bev, "DONE\r\n", 6);
}

static void
client_untagged(struct client *cl, const char *line)
{
	unsigned long	 n;
	char		*end;

	/* "* 200 EXISTS": the size of the mailbox for the next picks. */
	if (!isdigit((unsigned char)line[2]))
		return;
	n = strtoul(line + 2, &end, 10);
	if (strcmp(end, " EXISTS") == 0)
		cl->exists = (uint32_t)n;
	else if (strcmp(end, " EXPUNGE") == 0 && cl->exists > 0)
		cl->exists--;
}

static void
client_tagged(struct client *cl, const char *status, const char *line)
{
	struct bench	*b = cl->b;
	uint64_t	 now = bench_now_us();
	uint32_t	 us;
	const char	*p;
	int		 ok = strncmp(status, "OK", 2) == 0;
	struct timeval	 pause = { 0, BENCH_NOOP_PAUSE };

	us = now - cl->t_start > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)(now - cl->t_start);
	if (!ok)
		bench_error(b, cl, "%s: %s", cmd_names[cl->type], line);
	if (b->mode == MODE_LOGIN && cl->bystander) {
		if (cl->type == C_LOGIN) {
			cl->state = CL_READY;
			if (!ok) {
				client_fail(cl, "LOGIN refused");
				return;
			}
			cl->logged_in = 1;
			cl->login_done = 1;
			b->bystanders_in++;
			login_go(b);
			return;
		}
		/* A NOOP while the LOGINs are out; the next after a pause. */
		cl->state = CL_READY;
		if (ok)
			series_add(&b->series[C_NOOP], us);
		else
			b->series[C_NOOP].errors++;
		if (cl->pause == NULL)
			cl->pause = evtimer_new(b->base, login_noop_cb, cl);
		if (cl->pause != NULL && b->answered < b->nclients)
			evtimer_add(cl->pause, &pause);
		return;
	}
	if (cl->type == C_LOGIN) {
		switch (b->mode) {
		case MODE_LOGIN:
			cl->login_done = 1;
			b->t_last = now;
			b->answered++;
			if (ok)
				series_add(&b->series[C_LOGIN], us);
			else
				b->series[C_LOGIN].errors++;
			cl->state = CL_READY;
			cl->logged_in = ok;
			if (b->answered >= b->nclients)
				event_base_loopexit(b->base, NULL);
			return;
		case MODE_IDLE:
			if (!ok) {
				client_fail(cl, "LOGIN refused");
				return;
			}
			cl->logged_in = 1;
			client_send(cl, C_SELECT, "SELECT INBOX");
			return;
		default:
			break;
		}
	}
	if (b->mode == MODE_IDLE) {
		/* SELECT done: into IDLE. */
		if (!ok) {
			client_fail(cl, "SELECT refused");
			return;
		}
		client_send(cl, C_IDLE, "IDLE");
		cl->want_cont = 1;
		return;
	}

	/* Load mode. */
	if (cl->logging_out) {
		client_close(cl);
		load_stopped(b);
		return;
	}
	if (b->measuring) {
		if (ok)
			series_add(&b->series[cl->type], us);
		else
			b->series[cl->type].errors++;
	}
	if (cl->type == C_LOGIN) {
		if (!ok) {
			client_fail(cl, "LOGIN refused");
			return;
		}
		cl->logged_in = 1;
		b->logged_in++;
		cl->step = STEP_SELECT;
	} else {
		if (cl->type == C_SELECT && ok && cl->delivered == 0)
			cl->delivered = cl->exists;
		if (cl->type == C_APPEND && ok &&
		    (p = strstr(line, "[APPENDUID ")) != NULL) {
			/* RFC 4315: [APPENDUID uidvalidity uid] */
			p = strchr(p + 11, ' ');
			if (p != NULL)
				cl->appended_uid = (uint32_t)strtoul(p + 1,
				    NULL, 10);
		}
		if (cl->type == C_APPEND && ok && cl->appended_uid == 0)
			bench_error(b, cl, "APPEND without APPENDUID: %s", line);
		cl->step++;
	}
	if (b->phase >= PH_STOPPING) {
		cl->logging_out = 1;
		client_send(cl, C_LOGIN, "LOGOUT");
		return;
	}
	client_next(cl);
}

/* One complete line of the server, without its CRLF. */
static void
client_line(struct client *cl, char *line, size_t len)
{
	struct bench	*b = cl->b;
	char		*sp;
	size_t		 taglen;

	/* A line after a literal continues the same response. */
	if (!cl->in_literal_resp) {
		if (line[0] == '+') {
			client_continue(cl);
		} else if (line[0] == '*') {
			if (cl->state == CL_GREETING ||
			    cl->state == CL_CONNECTING) {
				if (strncmp(line, "* OK", 4) != 0) {
					client_fail(cl, line);
					return;
				}
				cl->state = CL_READY;
				if (b->mode == MODE_LOGIN && !cl->bystander) {
					b->ready++;
					login_go(b);
				} else
					client_send(cl, C_LOGIN, "LOGIN %s "
					    "\"%s\"", cl->user, b->password);
			} else if (strncmp(line, "* BYE", 5) == 0) {
				/* The disconnect that follows is the error. */
				if (!cl->logging_out)
					bench_error(b, cl, "%s", line);
			} else
				client_untagged(cl, line);
		} else if (cl->state == CL_BUSY &&
		    (taglen = strlen(cl->tag)) < len &&
		    strncmp(line, cl->tag, taglen) == 0 &&
		    line[taglen] == ' ') {
			sp = line + taglen + 1;
			client_tagged(cl, sp, line);
			/* The client may be gone now: the caller checks. */
			return;
		} else {
			bench_error(b, cl, "unexpected line: %.100s", line);
		}
	}
	cl->in_literal_resp = 0;
	/* "... {123}" at the end: that many bytes follow. */
	if (len >= 3 && line[len - 1] == '}') {
		sp = strrchr(line, '{');
		if (sp != NULL && isdigit((unsigned char)sp[1])) {
			cl->literal_left = strtoull(sp + 1, NULL, 10);
			cl->in_literal_resp = 1;
		}
	}
}

static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	struct client	*cl = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	size_t		 len, n;
	char		*line;

	while (cl->bev == bev) {
		if (cl->literal_left > 0) {
			n = evbuffer_get_length(in);
			if (n == 0)
				return;
			if (n > cl->literal_left)
				n = cl->literal_left;
			evbuffer_drain(in, n);
			cl->literal_left -= n;
			continue;
		}
		line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > BENCH_LINE_MAX)
				client_fail(cl, "line too long");
			return;
		}
		client_line(cl, line, len);
		free(line);
		if (cl->state == CL_DEAD)
			return;
	}
}

/* ---- load mode ---- */

static void
load_run(struct bench *b)
{
	struct timeval	 tv = { 0, 100000 };
	unsigned int	 i;

	for (i = 0; i < b->nclients; i++)
		client_connect(&b->clients[i]);
	/* The warm-up starts once every client has logged in. */
	b->phase = PH_LOGIN;
	b->wait_ev = event_new(b->base, -1, EV_PERSIST, load_wait_cb, b);
	b->phase_ev = evtimer_new(b->base, load_phase_cb, b);
	evtimer_add(b->wait_ev, &tv);
	b->t_setup = bench_now_us();
	event_base_dispatch(b->base);
	load_report(b);
}

static void
load_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench	*b = arg;
	struct timeval	 tv = { b->warmup, 0 };

	if (b->logged_in < b->nclients &&
	    bench_now_us() - b->t_setup < 120 * 1000000ULL)
		return;
	if (b->logged_in < b->nclients)
		fprintf(stderr, "bench-imap: only %u of %u clients logged in "
		    "after 120 s; going on\n", b->logged_in, b->nclients);
	evtimer_del(b->wait_ev);
	b->phase = PH_WARMUP;
	evtimer_add(b->phase_ev, &tv);
}

static void
load_phase_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench	*b = arg;
	struct timeval	 tv = { b->duration, 0 };
	unsigned int	 i;

	switch (b->phase) {
	case PH_WARMUP:
		b->phase = PH_MEASURE;
		b->measuring = 1;
		b->t_measure = bench_now_us();
		getrusage(RUSAGE_SELF, &b->ru_start);
		if (b->server_pid > 0)
			proc_read(b->server_pid, b->server_names, 0,
			    &b->srv_start);
		evtimer_add(b->phase_ev, &tv);
		break;
	case PH_MEASURE:
		b->phase = PH_STOPPING;
		b->measuring = 0;
		b->t_measure = bench_now_us() - b->t_measure;
		getrusage(RUSAGE_SELF, &b->ru_end);
		if (b->server_pid > 0)
			proc_read(b->server_pid, b->server_names, 0,
			    &b->srv_end);
		/*
		 * End like a client, not in the middle of a command: each
		 * finishes the one it has out, then logs out.
		 */
		for (i = 0; i < b->nclients; i++) {
			if (b->clients[i].retry != NULL)
				evtimer_del(b->clients[i].retry);
			if (b->clients[i].state != CL_BUSY)
				client_close(&b->clients[i]);
		}
		tv.tv_sec = BENCH_STOP_GRACE;
		evtimer_add(b->phase_ev, &tv);
		load_stopped(b);
		break;
	case PH_STOPPING:
		fprintf(stderr, "bench-imap: commands still out after %d s; "
		    "closing\n", BENCH_STOP_GRACE);
		for (i = 0; i < b->nclients; i++)
			client_close(&b->clients[i]);
		load_stopped(b);
		break;
	default:
		break;
	}
}

/* Every client gone after the measurement: the run is over. */
static void
load_stopped(struct bench *b)
{
	unsigned int	 i;

	for (i = 0; i < b->nclients; i++)
		if (b->clients[i].state != CL_DEAD)
			return;
	b->phase = PH_DONE;
	evtimer_del(b->phase_ev);
	event_base_loopexit(b->base, NULL);
}

static double
tv_seconds(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void
load_report(struct bench *b)
{
	struct series	 all;
	struct rusage	*ru = &b->ru_end;
	double		 secs = (double)b->t_measure / 1e6, cpu, srv, wait;
	uint64_t	 errors = 0;
	size_t		 i, j;

	if (b->phase != PH_DONE) {
		printf("RESULT mode=load clients=%u cps=0 errors=%" PRIu64
		    " aborted=1\n", b->nclients, b->errors_total);
		return;
	}
	cpu = tv_seconds(ru->ru_utime) - tv_seconds(b->ru_start.ru_utime) +
	    tv_seconds(ru->ru_stime) - tv_seconds(b->ru_start.ru_stime);
	memset(&all, 0, sizeof(all));
	printf("%-18s %8s %9s %9s %9s %9s %7s\n", "command", "count", "per s",
	    "p50 ms", "p90 ms", "p99 ms", "errors");
	for (i = 0; i < C_NTYPES; i++) {
		struct series	*s = &b->series[i];

		if (s->n == 0 && s->errors == 0)
			continue;
		for (j = 0; j < s->n; j++)
			series_add(&all, s->v[j]);
		all.errors += s->errors;
		printf("%-18s %8zu %9.1f %9.2f %9.2f %9.2f %7" PRIu64 "\n",
		    cmd_names[i], s->n, (double)s->n / secs,
		    series_pct(s, 0.50) / 1000.0, series_pct(s, 0.90) / 1000.0,
		    series_pct(s, 0.99) / 1000.0, s->errors);
	}
	errors = all.errors + b->disconnects;
	printf("%-18s %8zu %9.1f %9.2f %9.2f %9.2f %7" PRIu64 "\n", "all",
	    all.n, (double)all.n / secs, series_pct(&all, 0.50) / 1000.0,
	    series_pct(&all, 0.90) / 1000.0, series_pct(&all, 0.99) / 1000.0,
	    all.errors);
	/*
	 * Processes that ended during the run are not counted: Dovecot's
	 * of these connections live as long as they do.
	 */
	srv = b->server_pid <= 0 || b->srv_end.ticks < b->srv_start.ticks ?
	    -1.0 : 100.0 * (double)(b->srv_end.ticks - b->srv_start.ticks) /
	    (double)sysconf(_SC_CLK_TCK) / secs;
	printf("%u clients, %.1f s measured after %u s of warm-up; "
	    "%" PRIu64 " disconnects; CPU (100%% is one core): client %.0f%%",
	    b->nclients, secs, b->warmup, b->disconnects,
	    100.0 * cpu / secs);
	/*
	 * Run-queue wait: time the server was ready but found no CPU (other
	 * work on the machine, or the client); in cores, like the CPU.
	 */
	wait = b->server_pid <= 0 || b->srv_end.wait_ns < b->srv_start.wait_ns ?
	    -1.0 : 100.0 * (double)(b->srv_end.wait_ns - b->srv_start.wait_ns) /
	    1e9 / secs;
	if (srv >= 0)
		printf(", server %.0f%% (%u processes), server waiting for a "
		    "CPU %.0f%%", srv, b->srv_end.nprocs, wait);
	printf("\n");
	printf("RESULT mode=load clients=%u cps=%.1f p50=%.2f p90=%.2f "
	    "p99=%.2f errors=%" PRIu64 " errors_total=%" PRIu64 " "
	    "client_cpu=%.0f server_cpu=%.0f server_wait=%.0f\n", b->nclients,
	    (double)all.n / secs, series_pct(&all, 0.50) / 1000.0,
	    series_pct(&all, 0.90) / 1000.0, series_pct(&all, 0.99) / 1000.0,
	    errors, b->errors_total, 100.0 * cpu / secs, srv, wait);
	free(all.v);
}

/* ---- idle mode ---- */

static void
idle_more(struct bench *b)
{
	/* Bounded set-up: a burst of 10,000 SYNs would overflow the backlog. */
	while (b->next_connect < b->nclients &&
	    b->next_connect - b->idling - b->failed < b->setup_parallel)
		client_connect(&b->clients[b->next_connect++]);
	if (b->setting_up && b->idling + b->failed >= b->nclients)
		event_base_loopexit(b->base, NULL);
}

static void
mem_print(const char *label, const struct bench *b, struct proc_sum *ps)
{
	if (proc_read(b->server_pid, b->server_names, 1, ps) == -1) {
		printf("%s: cannot read the memory of process %ld\n", label,
		    b->server_pid);
		return;
	}
	printf("%s: %u processes, VmRSS %.1f MiB, Pss %.1f MiB\n", label,
	    ps->nprocs, ps->rss_kb / 1024.0, ps->pss_kb / 1024.0);
}

static void
idle_run(struct bench *b)
{
	struct timeval	 tv;
	struct proc_sum	 m0, m1, m2;
	unsigned int	 held, i;
	double		 setup, rss = 0, pss = 0;

	memset(&m0, 0, sizeof(m0));
	memset(&m1, 0, sizeof(m1));
	memset(&m2, 0, sizeof(m2));
	if (b->server_pid > 0)
		mem_print("before", b, &m0);
	b->t_setup = bench_now_us();
	b->setting_up = 1;
	idle_more(b);
	event_base_dispatch(b->base);
	b->setting_up = 0;
	setup = (double)(bench_now_us() - b->t_setup) / 1e6;
	printf("%u of %u connections in IDLE after %.1f s (%u failed)\n",
	    b->idling, b->nclients, setup, b->failed);
	/* Let the servers settle (Dovecot's login processes hand over). */
	tv.tv_sec = 2;
	tv.tv_usec = 0;
	event_base_loopexit(b->base, &tv);
	event_base_dispatch(b->base);
	if (b->server_pid > 0)
		mem_print("after", b, &m1);
	/* Hold: an idle connection must stay (no timeouts, no drops). */
	tv.tv_sec = b->hold;
	event_base_loopexit(b->base, &tv);
	event_base_dispatch(b->base);
	held = 0;
	for (i = 0; i < b->nclients; i++)
		if (b->clients[i].state == CL_IDLING)
			held++;
	if (b->server_pid > 0)
		mem_print("held", b, &m2);
	printf("%u connections still in IDLE after %u s more\n", held, b->hold);
	if (b->idling > 0 && b->server_pid > 0) {
		rss = ((double)m1.rss_kb - (double)m0.rss_kb) / b->idling;
		pss = ((double)m1.pss_kb - (double)m0.pss_kb) / b->idling;
		printf("per idle connection: VmRSS %.1f kB, Pss %.1f kB\n", rss,
		    pss);
	}
	printf("RESULT mode=idle target=%u idling=%u held=%u failed=%u "
	    "setup_s=%.1f rss_before_kb=%" PRIu64 " rss_after_kb=%" PRIu64
	    " pss_before_kb=%" PRIu64 " pss_after_kb=%" PRIu64
	    " procs_after=%u rss_per_conn_kb=%.1f pss_per_conn_kb=%.1f\n",
	    b->nclients, b->idling, held, b->failed, setup, m0.rss_kb,
	    m1.rss_kb, m0.pss_kb, m1.pss_kb, m1.nprocs, rss, pss);
	for (i = 0; i < b->nclients; i++)
		client_close(&b->clients[i]);
}

/* ---- login mode ---- */

static void
login_run(struct bench *b)
{
	struct series	*s = &b->series[C_LOGIN], *noop = &b->series[C_NOOP];
	unsigned int	 i;
	double		 secs, rate;

	for (i = 0; i < b->nclients + b->nbystanders; i++)
		client_connect(&b->clients[i]);
	event_base_dispatch(b->base);
	secs = b->t_last > b->t_setup ?
	    (double)(b->t_last - b->t_setup) / 1e6 : 0;
	rate = secs > 0 ? (double)s->n / secs : 0;
	printf("%u LOGINs sent at once, %zu succeeded, %u failed, "
	    "%.1f logins/s\n", b->nclients - b->failed, s->n,
	    b->nclients - (unsigned int)s->n, rate);
	printf("login latency: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, "
	    "max %.1f ms\n", series_pct(s, 0.5) / 1000.0,
	    series_pct(s, 0.9) / 1000.0, series_pct(s, 0.99) / 1000.0,
	    series_pct(s, 1.0) / 1000.0);
	if (b->nbystanders > 0)
		printf("%u bystanders, %zu NOOPs (%" PRIu64 " failed) meanwhile: "
		    "p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", b->nbystanders,
		    noop->n, noop->errors, series_pct(noop, 0.5) / 1000.0,
		    series_pct(noop, 0.99) / 1000.0,
		    series_pct(noop, 1.0) / 1000.0);
	printf("RESULT mode=login clients=%u ok=%zu failed=%u p50=%.1f "
	    "p90=%.1f p99=%.1f max=%.1f rate=%.2f noops=%zu noop_errors=%"
	    PRIu64 " noop_p50=%.2f noop_p99=%.2f noop_max=%.2f\n",
	    b->nclients, s->n, b->nclients - (unsigned int)s->n,
	    series_pct(s, 0.5) / 1000.0, series_pct(s, 0.9) / 1000.0,
	    series_pct(s, 0.99) / 1000.0, series_pct(s, 1.0) / 1000.0, rate,
	    noop->n, noop->errors, series_pct(noop, 0.5) / 1000.0,
	    series_pct(noop, 0.99) / 1000.0, series_pct(noop, 1.0) / 1000.0);
	for (i = 0; i < b->nclients + b->nbystanders; i++)
		client_close(&b->clients[i]);
}

/* A bystander's next NOOP, while LOGINs are still out. */
static void
login_noop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*cl = arg;

	(void)fd;
	(void)what;
	if (cl->bev != NULL && cl->logged_in &&
	    cl->b->answered < cl->b->nclients)
		client_send(cl, C_NOOP, "NOOP");
}

/* Once every client has its greeting, all LOGINs go out together. */
static void
login_go(struct bench *b)
{
	struct client	*cl;
	unsigned int	 i;

	if (b->ready + b->failed < b->nclients ||
	    b->bystanders_in < b->nbystanders || b->t_setup != 0)
		return;
	b->t_setup = bench_now_us();
	for (i = 0; i < b->nclients; i++) {
		cl = &b->clients[i];
		if (cl->state == CL_READY)
			client_send(cl, C_LOGIN, "LOGIN %s \"%s\"", cl->user,
			    b->password);
	}
	for (; i < b->nclients + b->nbystanders; i++) {
		cl = &b->clients[i];
		if (cl->logged_in)
			client_send(cl, C_NOOP, "NOOP");
	}
	if (b->answered >= b->nclients)
		event_base_loopexit(b->base, NULL);
}

/* ---- server memory ---- */

static int
mem_status_kb(long pid, const char *file, const char *key, uint64_t *kb)
{
	char	 path[64], line[256];
	FILE	*f;
	size_t	 klen = strlen(key);

	snprintf(path, sizeof(path), "/proc/%ld/%s", pid, file);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, klen) == 0) {
			*kb = strtoull(line + klen, NULL, 10);
			fclose(f);
			return 0;
		}
	fclose(f);
	return -1;
}

static int
proc_schedstat(long pid, uint64_t *wait_ns)
{
	char			 path[64];
	FILE			*f;
	unsigned long long	 run, wait;
	int			 n;

	snprintf(path, sizeof(path), "/proc/%ld/schedstat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fscanf(f, "%llu %llu", &run, &wait);
	fclose(f);
	if (n != 2)
		return -1;
	*wait_ns = wait;
	return 0;
}

static int
proc_stat(long pid, long *ppid, uint64_t *ticks, char *comm, size_t commlen)
{
	char			 path[64], buf[512], *l, *r;
	FILE			*f;
	size_t			 n;
	unsigned long long	 ut, st;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold spaces and parens. */
	if ((l = strchr(buf, '(')) == NULL || (r = strrchr(buf, ')')) == NULL)
		return -1;
	snprintf(comm, commlen, "%.*s", (int)(r - l - 1), l + 1);
	/* proc(5): state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime */
	if (sscanf(r + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu", ppid, &ut, &st) != 3)
		return -1;
	*ticks = ut + st;
	return 0;
}

static int
proc_name_ok(const char *names, const char *comm)
{
	const char	*p = names;
	size_t		 n = strlen(comm);

	if (names == NULL)
		return 1;
	while (p != NULL && *p != '\0') {
		if (strncmp(p, comm, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
		if ((p = strchr(p, ',')) != NULL)
			p++;
	}
	return 0;
}

/*
 * Sums VmRSS and Pss (with_mem) and CPU time over root and all its
 * descendants (those named in names, if given).  Dovecot forks per
 * connection, so its memory is the sum; VmRSS counts shared pages once
 * per process, Pss splits them.
 */
static int
proc_read(long root, const char *names, int with_mem, struct proc_sum *sum)
{
	struct proc {
		long	 pid, ppid;
		uint64_t ticks;
		char	 comm[64];
	}		*v = NULL;
	size_t		 n = 0, cap = 0, i, j;
	DIR		*d;
	struct dirent	*de;
	long		 pid, ppid;
	uint64_t	 ticks;
	char		 comm[64];
	unsigned char	*in = NULL;
	int		 changed;
	uint64_t	 kb, wns;

	memset(sum, 0, sizeof(*sum));
	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtol(de->d_name, NULL, 10);
		if (proc_stat(pid, &ppid, &ticks, comm, sizeof(comm)) == -1)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 1024 : cap * 2;
			if ((v = realloc(v, cap * sizeof(*v))) == NULL) {
				closedir(d);
				return -1;
			}
		}
		v[n].pid = pid;
		v[n].ppid = ppid;
		v[n].ticks = ticks;
		snprintf(v[n].comm, sizeof(v[n].comm), "%s", comm);
		n++;
	}
	closedir(d);
	if ((in = calloc(n + 1, 1)) == NULL) {
		free(v);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (v[i].pid == root)
			in[i] = 1;
	do {
		changed = 0;
		for (i = 0; i < n; i++) {
			if (in[i])
				continue;
			for (j = 0; j < n; j++)
				if (in[j] && v[j].pid == v[i].ppid) {
					in[i] = changed = 1;
					break;
				}
		}
	} while (changed);
	for (i = 0; i < n; i++) {
		if (!in[i] || !proc_name_ok(names, v[i].comm))
			continue;
		sum->ticks += v[i].ticks;
		sum->nprocs++;
		/* schedstat: on-CPU ns, run-queue wait ns, time slices */
		if (proc_schedstat(v[i].pid, &wns) == 0)
			sum->wait_ns += wns;
		if (!with_mem)
			continue;
		if (mem_status_kb(v[i].pid, "status", "VmRSS:", &kb) == 0)
			sum->rss_kb += kb;
		if (mem_status_kb(v[i].pid, "smaps_rollup", "Pss:", &kb) == 0)
			sum->pss_kb += kb;
	}
	free(in);
	free(v);
	return 0;
}

/* ---- main ---- */

/* ---- ceiling mode ---- */

struct ceiling_thread {
	pthread_t		 tid;
	const char		*password;
	unsigned long long	 opslimit, memlimit;
	uint64_t		 until;		/* microseconds, monotonic */
	uint64_t		 hashes;
	uint64_t		 elapsed;	/* to the end of the last hash */
	int			 failed;
};

static void *
ceiling_thread(void *arg)
{
	struct ceiling_thread	*ct = arg;
	unsigned char		 key[64], salt[crypto_pwhash_SALTBYTES];
	uint64_t		 start = bench_now_us(), now;

	randombytes_buf(salt, sizeof(salt));
	do {
		if (crypto_pwhash(key, sizeof(key), ct->password,
		    strlen(ct->password), salt, ct->opslimit,
		    (size_t)ct->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
			ct->failed = 1;
			break;
		}
		ct->hashes++;
		now = bench_now_us();
	} while (now < ct->until);
	ct->elapsed = bench_now_us() - start;
	sodium_memzero(key, sizeof(key));
	return NULL;
}

/*
 * Argon2id as store/vault.c runs it per uncached login, in T threads at
 * once: the sum of the threads' rates is the machine's ceiling.
 */
static int
ceiling_run(unsigned int nthreads, unsigned int secs, const char *password,
    unsigned long long opslimit, unsigned long long memlimit)
{
	struct ceiling_thread	*ct;
	unsigned int		 i, started = 0;
	uint64_t		 until = bench_now_us() + (uint64_t)secs * 1000000;
	double			 rate = 0;
	int			 failed = 0;

	if ((ct = calloc(nthreads, sizeof(*ct))) == NULL) {
		perror("bench-imap");
		return 1;
	}
	for (i = 0; i < nthreads; i++) {
		ct[i].password = password;
		ct[i].opslimit = opslimit;
		ct[i].memlimit = memlimit;
		ct[i].until = until;
		if (pthread_create(&ct[i].tid, NULL, ceiling_thread,
		    &ct[i]) != 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(ct[i].tid, NULL);
		failed |= ct[i].failed;
		if (ct[i].elapsed > 0)
			rate += (double)ct[i].hashes * 1e6 /
			    (double)ct[i].elapsed;
	}
	free(ct);
	if (failed || started < nthreads) {
		fprintf(stderr, "bench-imap: Argon2id failed\n");
		return 1;
	}
	printf("Argon2id (t=%llu, m=%llu MiB) in %u threads for %u s: "
	    "%.1f hashes/s\n", opslimit, memlimit >> 20, nthreads, secs, rate);
	printf("RESULT mode=ceiling threads=%u rate=%.2f\n", nthreads, rate);
	return 0;
}

static void
bench_usage(void)
{
	fprintf(stderr,
	    "usage: bench-imap -m load|idle|login -p port [-h addr] [-c clients]\n"
	    "           [-a accounts] [-b bystanders] [-u user-format] [-P password]\n"
	    "           [-d seconds] [-w seconds] [-t hold-seconds]\n"
	    "           [-x parallel-setups] [-s server-pid] [-n comm,comm]\n"
	    "       bench-imap -m hash -P password [-O opslimit] [-M memlimit]\n"
	    "       bench-imap -m ceiling [-c threads] [-d seconds] [-P password]\n"
	    "           [-O opslimit] [-M memlimit]\n");
	exit(2);
}

static void
bench_make_message(struct bench *b)
{
	static const char	 words[] = "lorem ipsum dolor sit amet consectetur "
				    "adipiscing elit sed do eiusmod tempor ";
	char			*p = b->append_msg;
	size_t			 left = BENCH_APPEND_SIZE, n, i;

	n = (size_t)snprintf(p, left, "From: Bench <bench@bench.test>\r\n"
	    "To: Someone <someone@bench.test>\r\n"
	    "Subject: bench-imap appended message\r\n"
	    "Date: Mon, 04 Mar 2024 09:11:58 +0100\r\n"
	    "Message-ID: <bench-imap.%ld@bench.test>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n",
	    (long)getpid());
	p += n;
	left -= n;
	/* Body lines of at most 76 characters, the last one filling up. */
	while (left >= 2) {
		n = left - 2 > 76 ? 76 : left - 2;
		if (left - (n + 2) == 1)
			n--;
		for (i = 0; i < n; i++)
			p[i] = words[(i + (size_t)(p - b->append_msg)) %
			    (sizeof(words) - 1)];
		p[n] = '\r';
		p[n + 1] = '\n';
		p += n + 2;
		left -= n + 2;
	}
	b->append_msg[BENCH_APPEND_SIZE] = '\0';
}

/* -u "u%u@bench.test": the format is the user's, so no printf with it. */
static void
bench_user(const struct bench *b, unsigned int n, char *buf, size_t len)
{
	const char	*p = strstr(b->user_fmt, "%u");

	snprintf(buf, len, "%.*s%u%s", (int)(p - b->user_fmt), b->user_fmt, n,
	    p + 2);
}

static void
bench_raise_nofile(unsigned int want)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < want + 64 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < want + 64)
		fprintf(stderr, "bench-imap: only %lu file descriptors for %u "
		    "connections (ulimit -n)\n", (unsigned long)rl.rlim_cur,
		    want);
}

int
main(int argc, char *argv[])
{
	static struct bench	 bench;
	struct bench		*b = &bench;
	const char		*host = "127.0.0.1", *mode = NULL;
	unsigned long long	 opslimit = 2, memlimit = 64ULL << 20;
	char			 hash[crypto_pwhash_STRBYTES];
	unsigned int		 i;
	int			 ch, port = 0;

	b->nclients = 10;
	b->duration = 30;
	b->warmup = 5;
	b->hold = 5;
	b->setup_parallel = 100;
	b->user_fmt = "u%u@bench.test";
	b->password = "correct horse battery staple";
	while ((ch = getopt(argc, argv, "a:b:c:d:h:m:n:p:s:t:u:w:x:M:O:P:")) != -1) {
		switch (ch) {
		case 'a': b->naccounts = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'b': b->nbystanders = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'c': b->nclients = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'd': b->duration = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'h': host = optarg; break;
		case 'm': mode = optarg; break;
		case 'n': b->server_names = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 's': b->server_pid = strtol(optarg, NULL, 10); break;
		case 't': b->hold = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'u': b->user_fmt = optarg; break;
		case 'w': b->warmup = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'x': b->setup_parallel = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'M': memlimit = strtoull(optarg, NULL, 10); break;
		case 'O': opslimit = strtoull(optarg, NULL, 10); break;
		case 'P': b->password = optarg; break;
		default: bench_usage();
		}
	}
	if (mode == NULL || optind != argc)
		bench_usage();
	if (strcmp(mode, "hash") == 0) {
		if (sodium_init() == -1 || crypto_pwhash_str_alg(hash,
		    b->password, strlen(b->password), opslimit, (size_t)memlimit,
		    crypto_pwhash_ALG_ARGON2ID13) != 0) {
			fprintf(stderr, "bench-imap: Argon2id failed\n");
			return 1;
		}
		printf("{ARGON2ID}%s\n", hash);
		return 0;
	}
	if (strcmp(mode, "ceiling") == 0) {
		if (sodium_init() == -1 || b->nclients == 0 ||
		    b->duration == 0) {
			fprintf(stderr, "bench-imap: cannot run the ceiling\n");
			return 1;
		}
		return ceiling_run(b->nclients, b->duration, b->password,
		    opslimit, memlimit);
	}
	if (strcmp(mode, "load") == 0)
		b->mode = MODE_LOAD;
	else if (strcmp(mode, "idle") == 0)
		b->mode = MODE_IDLE;
	else if (strcmp(mode, "login") == 0)
		b->mode = MODE_LOGIN;
	else
		bench_usage();
	if (port <= 0 || port > 65535 || b->nclients == 0 ||
	    b->setup_parallel == 0 || strstr(b->user_fmt, "%u") == NULL)
		bench_usage();
	if (b->naccounts == 0)
		b->naccounts = b->nclients;
	if (b->mode != MODE_LOGIN)
		b->nbystanders = 0;
	memset(&b->sin, 0, sizeof(b->sin));
	b->sin.sin_family = AF_INET;
	b->sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &b->sin.sin_addr) != 1) {
		fprintf(stderr, "bench-imap: %s: not an IPv4 address\n", host);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_raise_nofile(b->nclients + b->nbystanders);
	bench_make_message(b);

	if ((b->ssl_ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		fprintf(stderr, "bench-imap: SSL_CTX_new failed\n");
		return 1;
	}
	/* Both servers present the same self-signed certificate. */
	SSL_CTX_set_verify(b->ssl_ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_min_proto_version(b->ssl_ctx, TLS1_2_VERSION);
	/* Thousands of idle connections in this process too. */
	SSL_CTX_set_mode(b->ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(b->ssl_ctx, SSL_SESS_CACHE_OFF);
	if ((b->base = event_base_new()) == NULL) {
		fprintf(stderr, "bench-imap: event_base_new failed\n");
		return 1;
	}
	b->clients = calloc(b->nclients + b->nbystanders, sizeof(*b->clients));
	if (b->clients == NULL) {
		perror("bench-imap");
		return 1;
	}
	for (i = 0; i < b->nclients + b->nbystanders; i++) {
		struct client	*cl = &b->clients[i];

		cl->b = b;
		cl->id = i;
		cl->rng = 0x9e3779b97f4a7c15ULL * (i + 1);
		cl->state = CL_DEAD;
		/* Bystanders are accounts 1..B, the others the A after them. */
		cl->bystander = i >= b->nclients;
		bench_user(b, cl->bystander ? i - b->nclients + 1 :
		    b->nbystanders + i % b->naccounts + 1, cl->user,
		    sizeof(cl->user));
	}
	switch (b->mode) {
	case MODE_LOAD:
		load_run(b);
		break;
	case MODE_IDLE:
		idle_run(b);
		break;
	case MODE_LOGIN:
		login_run(b);
		break;
	case MODE_HASH:
	case MODE_CEILING:
		break;
	}
	for (i = 0; i < b->nclients + b->nbystanders; i++) {
		client_close(&b->clients[i]);
		if (b->clients[i].retry != NULL)
			event_free(b->clients[i].retry);
		if (b->clients[i].pause != NULL)
			event_free(b->clients[i].pause);
	}
	for (i = 0; i < C_NTYPES; i++)
		free(b->series[i].v);
	if (b->phase_ev != NULL)
		event_free(b->phase_ev);
	if (b->wait_ev != NULL)
		event_free(b->wait_ev);
	free(b->clients);
	event_base_free(b->base);
	SSL_CTX_free(b->ssl_ctx);
	return 0;
}
