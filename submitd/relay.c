/*
 * relay.c: sends the outbound queue to the one configured smarthost.
 *
 * One connection at a time, reused for the next message while it is
 * open (RSET between transactions).  TLS is required: STARTTLS or
 * implicit TLS, the certificate checked unless smarthost_verify is off.
 * Every round ends in a transaction that records, per recipient, sent,
 * failed (5xx: a bounce report goes to the sender's INBOX) or still
 * pending (4xx, connection trouble: tried again with exponential
 * back-off until queue_max_age, then bounced).
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "log.h"
#include "submitd.h"
#include "tls.h"
#include "xmalloc.h"

#define RELAY_SCAN_INTERVAL	30	/* seconds between queue scans */
#define RELAY_TIMEOUT		120	/* per reply (RFC 5321 4.5.3.2 is longer) */
#define RELAY_REUSE		10	/* keep an idle connection this long */
#define RELAY_BACKOFF_MAX	(4 * 3600)	/* from queue_retry, doubling */
#define RELAY_REPLY_MAX		2048

enum relay_state {
	R_IDLE,		/* no connection */
	R_GREETING,
	R_EHLO,
	R_STARTTLS,
	R_TLS,		/* handshake */
	R_EHLO_TLS,
	R_AUTH,
	R_READY,	/* connected, no transaction */
	R_RSET,
	R_MAIL,
	R_RCPT,
	R_DATA,
	R_BODY,
	R_QUIT,
};

enum rcpt_round {
	RR_NONE,	/* not tried this round */
	RR_ACCEPTED,	/* RCPT 2xx */
	RR_TEMP,
	RR_PERM,
};

struct relay {
	struct submitd		*sd;
	struct event		*timer;
	struct event		*reuse;
	struct bufferevent	*bev;
	SSL_CTX			*ctx;
	enum relay_state	 state;
	char			*host;
	char			*port;
	int			 ext_starttls;
	int			 ext_auth_plain;
	/* RFC 5321 4.1.1.1: only what the EHLO reply offered is used. */
	int			 ext_pipelining;
	int			 ext_size;
	int			 ext_8bitmime;
	int			 in_tls;
	/* The entry being sent. */
	int			 busy;
	struct store_queue_entry entry;
	uint8_t			*data;
	size_t			 len;
	enum rcpt_round		*round;
	char			**round_reply;
	uint32_t		 rcpt_total;	/* pending recipients */
	uint32_t		 rcpt_sent;	/* RCPTs written */
	uint32_t		 rcpt_answered;
	char			 error[512];
	/* The reply being read. */
	char			 reply[RELAY_REPLY_MAX];
	size_t			 replylen;
};

static void	relay_run(struct relay *);
static void	relay_read(struct bufferevent *, void *);
static void	relay_event(struct bufferevent *, short, void *);
static void	relay_close(struct relay *);
static void	relay_ehlo_reset(struct relay *);
static int32_t	relay_rcpt_index(const struct relay *, uint32_t);

static void
relay_send(struct relay *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
relay_send(struct relay *r, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(r->bev), fmt, ap);
	va_end(ap);
	evbuffer_add(bufferevent_get_output(r->bev), "\r\n", 2);
}

/* host:port or [v6]:port; port 25 if none. */
static void
relay_parse_host(struct relay *r, const char *spec)
{
	const char	*c;

	if (spec[0] == '[' && (c = strstr(spec, "]")) != NULL) {
		r->host = xstrndup(spec + 1, (size_t)(c - spec - 1));
		r->port = xstrdup(c[1] == ':' ? c + 2 : "25");
	} else if ((c = strrchr(spec, ':')) != NULL) {
		r->host = xstrndup(spec, (size_t)(c - spec));
		r->port = xstrdup(c + 1);
	} else {
		r->host = xstrdup(spec);
		r->port = xstrdup("25");
	}
}

/* ---- the queue ---- */

struct relay_pick {
	time_t			 now;
	uint64_t		 id;
	time_t			 next;	/* earliest future attempt */
};

static int
relay_pick_one(const struct store_queue_entry *e, void *arg)
{
	struct relay_pick	*rp = arg;

	if (e->next_attempt <= rp->now) {
		rp->id = e->id;
		return 1;
	}
	if (rp->next == 0 || e->next_attempt < rp->next)
		rp->next = (time_t)e->next_attempt;
	return 0;
}

static int
relay_pick_txn(struct store_txn *txn, void *arg)
{
	struct relay_pick	*rp = arg;
	int			 ret;

	rp->id = 0;
	rp->next = 0;
	ret = store_queue_iter(txn, relay_pick_one, rp);
	return ret == 1 ? 0 : ret;
}

struct relay_load {
	struct relay		*r;
	uint64_t		 id;
};

static int
relay_load_txn(struct store_txn *txn, void *arg)
{
	struct relay_load	*rl = arg;
	struct relay		*r = rl->r;

	free(r->data);
	r->data = NULL;
	if (store_queue_get(txn, rl->id, &r->entry) != 0)
		return STORE_ENOTFOUND;
	return store_queue_data(txn, rl->id, &r->data, &r->len);
}

static void
relay_entry_clear(struct relay *r)
{
	uint32_t	 i;

	for (i = 0; r->round_reply != NULL && i < r->entry.nrcpts; i++)
		free(r->round_reply[i]);
	free(r->round_reply);
	r->round_reply = NULL;
	free(r->round);
	r->round = NULL;
	store_queue_entry_clear(&r->entry);
	free(r->data);
	r->data = NULL;
	r->len = 0;
	r->busy = 0;
	r->error[0] = '\0';
}

static time_t
relay_backoff(const struct conf *cf, uint32_t attempts)
{
	time_t	 d = (time_t)cf->queue_retry;

	while (attempts-- > 1 && d < RELAY_BACKOFF_MAX)
		d *= 2;
	return d > RELAY_BACKOFF_MAX ? RELAY_BACKOFF_MAX : d;
}

struct relay_finish {
	struct relay		*r;
	const struct conf	*conf;
	int			 remove;
	/* Recipients that failed for good in this round, for the bounce. */
	char			**failed;
	char			**failed_reply;
	size_t			 nfailed;
};

static void
relay_finish_clear(struct relay_finish *rf)
{
	size_t	 i;

	for (i = 0; i < rf->nfailed; i++) {
		free(rf->failed[i]);
		free(rf->failed_reply[i]);
	}
	free(rf->failed);
	free(rf->failed_reply);
	rf->failed = rf->failed_reply = NULL;
	rf->nfailed = 0;
}

/*
 * Applies the round to the entry as stored (a rerun after a deadlock
 * starts from the stored state again, so nothing counts twice).
 */
static int
relay_finish_txn(struct store_txn *txn, void *arg)
{
	struct relay_finish	*rf = arg;
	struct relay		*r = rf->r;
	struct store_queue_entry cur;
	uint32_t		 i, pending = 0;
	time_t			 now = store_txn_now(txn);
	const char		*reply;
	int			 ret, gave_up;

	relay_finish_clear(rf);
	memset(&cur, 0, sizeof(cur));
	if ((ret = store_queue_get(txn, r->entry.id, &cur)) != 0)
		return ret;
	if (cur.nrcpts != r->entry.nrcpts) {
		store_queue_entry_clear(&cur);
		return STORE_ECORRUPT;
	}
	gave_up = now - cur.created >= (int64_t)rf->conf->queue_max_age;
	for (i = 0; i < cur.nrcpts; i++) {
		struct store_queue_rcpt *q = &cur.rcpts[i];

		if (q->status != STORE_RCPT_PENDING)
			continue;
		reply = r->round_reply[i];
		if (r->round[i] == RR_ACCEPTED)
			q->status = STORE_RCPT_SENT;
		else if (r->round[i] == RR_PERM || gave_up) {
			/* issue 4: 5xx, or queue_max_age over: a bounce. */
			q->status = STORE_RCPT_FAILED;
			rf->failed = xreallocarray(rf->failed, rf->nfailed + 1,
			    sizeof(*rf->failed));
			rf->failed_reply = xreallocarray(rf->failed_reply,
			    rf->nfailed + 1, sizeof(*rf->failed_reply));
			rf->failed[rf->nfailed] = xstrdup(q->address);
			if (r->round[i] == RR_PERM && reply != NULL)
				rf->failed_reply[rf->nfailed] = xstrdup(reply);
			else
				xasprintf(&rf->failed_reply[rf->nfailed],
				    "gave up after %llu days: %s",
				    (unsigned long long)(rf->conf->queue_max_age /
				    86400), r->error[0] != '\0' ? r->error :
				    "the smarthost did not take it");
			rf->nfailed++;
		}
		if (reply != NULL) {
			free(q->reply);
			q->reply = xstrdup(reply);
		}
		if (q->status == STORE_RCPT_PENDING)
			pending++;
	}
	cur.attempts++;
	free(cur.last_error);
	cur.last_error = xstrdup(r->error);
	cur.next_attempt = now + relay_backoff(rf->conf, cur.attempts);
	rf->remove = pending == 0;
	ret = rf->remove ? store_queue_del(txn, cur.id) :
	    store_queue_update(txn, &cur);
	store_queue_entry_clear(&cur);
	return ret;
}

/* The round is over: record it, bounce what failed for good. */
static void
relay_finish(struct relay *r)
{
	struct relay_finish	 rf;
	struct store		*st = r->sd->daemon.store;
	uint32_t		 i, sent = 0;
	int			 ret;

	if (!r->busy)
		return;
	memset(&rf, 0, sizeof(rf));
	rf.r = r;
	rf.conf = r->sd->daemon.conf;
	for (i = 0; i < r->entry.nrcpts; i++)
		if (r->round[i] == RR_ACCEPTED)
			sent++;
	ret = store_txn_run(st, relay_finish_txn, &rf);
	if (ret != 0) {
		/* Sent but not recorded: it goes again (at least once). */
		log_warnx("relay: recording queue entry %llu: %s",
		    (unsigned long long)r->entry.id, store_strerror(ret));
		relay_finish_clear(&rf);
		relay_entry_clear(r);
		return;
	}
	log_info("relay: queue entry %llu: %u sent, %zu failed, %s",
	    (unsigned long long)r->entry.id, sent, rf.nfailed, rf.remove ?
	    "done" : r->error[0] != '\0' ? r->error : "the rest later");
	if (rf.nfailed > 0 && (ret = bounce_deliver(st, rf.conf,
	    r->entry.account_id, r->entry.message_id,
	    (const char *const *)rf.failed, (const char *const *)rf.failed_reply,
	    rf.nfailed)) != 0)
		log_warnx("relay: bounce for entry %llu: %s",
		    (unsigned long long)r->entry.id, store_strerror(ret));
	relay_finish_clear(&rf);
	relay_entry_clear(r);
}

/* Every recipient not yet answered fails temporarily with why. */
static void
relay_fail_round(struct relay *r, const char *why)
{
	uint32_t	 i;

	if (!r->busy)
		return;
	snprintf(r->error, sizeof(r->error), "%s", why);
	for (i = 0; i < r->entry.nrcpts; i++)
		if (r->round[i] == RR_NONE || r->round[i] == RR_ACCEPTED)
			r->round[i] = RR_TEMP;
	relay_finish(r);
}

/* ---- the connection ---- */

/* Before each EHLO: what the last one offered no longer counts. */
static void
relay_ehlo_reset(struct relay *r)
{
	r->ext_starttls = r->ext_auth_plain = r->ext_pipelining = 0;
	r->ext_size = r->ext_8bitmime = 0;
}

static void
relay_close(struct relay *r)
{
	if (r->bev != NULL)
		bufferevent_free(r->bev);
	r->bev = NULL;
	r->state = R_IDLE;
	r->in_tls = 0;
	r->replylen = 0;
	evtimer_del(r->reuse);
}

static void
relay_abort(struct relay *r, const char *why)
{
	log_warnx("relay: %s:%s: %s", r->host, r->port, why);
	relay_close(r);
	relay_fail_round(r, why);
}

static int
relay_new_ssl(struct relay *r, SSL **sslp)
{
	SSL	*ssl;
	uint8_t	 addr[16];

	if ((ssl = SSL_new(r->ctx)) == NULL)
		return -1;
	/* RFC 6066 3: SNI names a host, never an address literal. */
	if (inet_pton(AF_INET, r->host, addr) != 1 &&
	    inet_pton(AF_INET6, r->host, addr) != 1)
		SSL_set_tlsext_host_name(ssl, r->host);
	/* RFC 6125: the name we asked for must be in the certificate. */
	if (r->sd->daemon.conf->smarthost_verify)
		SSL_set1_host(ssl, r->host);
	*sslp = ssl;
	return 0;
}

static void
relay_setup_bev(struct relay *r)
{
	struct timeval	 tv = { RELAY_TIMEOUT, 0 };

	bufferevent_setcb(r->bev, relay_read, NULL, relay_event, r);
	bufferevent_set_timeouts(r->bev, &tv, &tv);
	bufferevent_enable(r->bev, EV_READ | EV_WRITE);
}

static void
relay_connect(struct relay *r)
{
	struct event_base	*base = r->sd->daemon.base;
	SSL			*ssl;

	if (r->sd->daemon.conf->smarthost_tls == SMARTHOST_TLS) {
		if (relay_new_ssl(r, &ssl) == -1) {
			relay_abort(r, "TLS set-up failed");
			return;
		}
		r->bev = bufferevent_openssl_socket_new(base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
		r->in_tls = 1;
	} else
		r->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (r->bev == NULL) {
		relay_abort(r, "cannot create a connection");
		return;
	}
	relay_setup_bev(r);
	r->state = R_GREETING;
	relay_ehlo_reset(r);
	/* A NULL evdns base resolves with getaddrinfo: fine for one host. */
	if (bufferevent_socket_connect_hostname(r->bev, NULL, AF_UNSPEC,
	    r->host, atoi(r->port)) == -1)
		relay_abort(r, "cannot connect");
}

static void
relay_starttls(struct relay *r)
{
	struct bufferevent	*tls;
	SSL			*ssl;

	if (relay_new_ssl(r, &ssl) == -1) {
		relay_abort(r, "TLS set-up failed");
		return;
	}
	tls = bufferevent_openssl_filter_new(r->sd->daemon.base, r->bev, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		relay_abort(r, "TLS set-up failed");
		return;
	}
	r->bev = tls;
	r->in_tls = 1;
	r->state = R_TLS;
	relay_setup_bev(r);
}

static void
relay_auth(struct relay *r)
{
	const struct conf	*cf = r->sd->daemon.conf;
	char			*pw, *raw, b64[1400];
	size_t			 pwlen, rawlen;

	if (file_read_all(cf->smarthost_password_file, 1024, &pw, &pwlen) == -1) {
		relay_abort(r, "cannot read smarthost_password_file");
		return;
	}
	pw[strcspn(pw, "\r\n")] = '\0';
	pwlen = strlen(pw);
	/* RFC 4616: NUL user NUL password */
	rawlen = 1 + strlen(cf->smarthost_user) + 1 + pwlen;
	raw = xsecret_alloc(rawlen);
	raw[0] = '\0';
	memcpy(raw + 1, cf->smarthost_user, strlen(cf->smarthost_user));
	raw[1 + strlen(cf->smarthost_user)] = '\0';
	memcpy(raw + 2 + strlen(cf->smarthost_user), pw, pwlen);
	sodium_memzero(pw, pwlen);
	free(pw);
	if (sodium_base64_encoded_len(rawlen, sodium_base64_VARIANT_ORIGINAL) >
	    sizeof(b64)) {
		xsecret_free(raw);
		relay_abort(r, "smarthost credentials too long");
		return;
	}
	sodium_bin2base64(b64, sizeof(b64), (unsigned char *)raw, rawlen,
	    sodium_base64_VARIANT_ORIGINAL);
	xsecret_free(raw);
	r->state = R_AUTH;
	relay_send(r, "AUTH PLAIN %s", b64);
	sodium_memzero(b64, sizeof(b64));
}

/* After EHLO (in TLS): authenticate or go to work. */
static void
relay_ready(struct relay *r)
{
	const struct conf	*cf = r->sd->daemon.conf;

	if (cf->smarthost_user != NULL && r->state != R_AUTH) {
		if (!r->ext_auth_plain) {
			relay_abort(r, "the smarthost does not offer AUTH PLAIN");
			return;
		}
		relay_auth(r);
		return;
	}
	r->state = R_READY;
	relay_run(r);
}

/* Sends the message, dot-stuffed (RFC 5321 4.5.2). */
static void
relay_send_body(struct relay *r)
{
	struct evbuffer	*out = bufferevent_get_output(r->bev);
	const uint8_t	*p = r->data, *end = r->data + r->len, *nl;

	while (p < end) {
		if (*p == '.')
			evbuffer_add(out, ".", 1);
		nl = memchr(p, '\n', (size_t)(end - p));
		nl = nl == NULL ? end : nl + 1;
		evbuffer_add(out, p, (size_t)(nl - p));
		p = nl;
	}
	if (r->len > 0 && r->data[r->len - 1] != '\n')
		evbuffer_add(out, "\r\n", 2);
	evbuffer_add(out, ".\r\n", 3);
}

/* The next RCPT of the transaction. */
static void
relay_send_rcpt(struct relay *r)
{
	int32_t	 idx = relay_rcpt_index(r, r->rcpt_sent++);

	if (idx >= 0)
		relay_send(r, "RCPT TO:<%s>", r->entry.rcpts[idx].address);
}

static void
relay_begin(struct relay *r)
{
	char		 size[32];
	uint32_t	 i;

	r->state = R_MAIL;
	r->rcpt_sent = r->rcpt_answered = r->rcpt_total = 0;
	for (i = 0; i < r->entry.nrcpts; i++)
		if (r->entry.rcpts[i].status == STORE_RCPT_PENDING)
			r->rcpt_total++;
	snprintf(size, sizeof(size), " SIZE=%zu", r->len);
	/* RFC 5321 4.1.1.11: no parameter the server did not offer. */
	relay_send(r, "MAIL FROM:<%s>%s%s", r->entry.mail_from,
	    r->ext_8bitmime ? " BODY=8BITMIME" : "", r->ext_size ? size : "");
	if (!r->ext_pipelining)
		return;		/* one command at a time, from the replies */
	/* RFC 2920: the RCPTs go in the same packet; replies come in order. */
	while (r->rcpt_sent < r->rcpt_total)
		relay_send_rcpt(r);
	relay_send(r, "DATA");
}

/* The next pending recipient index after the answered ones. */
static int32_t
relay_rcpt_index(const struct relay *r, uint32_t nth)
{
	uint32_t	 i, k = 0;

	for (i = 0; i < r->entry.nrcpts; i++)
		if (r->entry.rcpts[i].status == STORE_RCPT_PENDING && k++ == nth)
			return (int32_t)i;
	return -1;
}

static void
relay_reply(struct relay *r, int code, const char *text)
{
	int32_t		 idx;
	uint32_t	 i;
	int		 accepted;

	switch (r->state) {
	case R_GREETING:
		if (code != 220) {
			relay_abort(r, text);
			return;
		}
		r->state = r->in_tls ? R_EHLO_TLS : R_EHLO;
		relay_send(r, "EHLO %s", r->sd->daemon.conf->hostname);
		return;
	case R_EHLO:
	case R_EHLO_TLS:
		if (code != 250) {
			relay_abort(r, text);
			return;
		}
		if (r->state == R_EHLO) {
			/* Never in clear (SPEC): STARTTLS or nothing. */
			if (!r->ext_starttls) {
				relay_abort(r, "the smarthost does not offer "
				    "STARTTLS");
				return;
			}
			r->state = R_STARTTLS;
			relay_send(r, "STARTTLS");
			return;
		}
		relay_ready(r);
		return;
	case R_STARTTLS:
		if (code != 220) {
			relay_abort(r, text);
			return;
		}
		relay_starttls(r);
		return;
	case R_AUTH:
		if (code != 235) {
			relay_abort(r, text);
			return;
		}
		r->state = R_READY;
		relay_run(r);
		return;
	case R_RSET:
		r->state = R_READY;
		relay_run(r);
		return;
	case R_MAIL:
		if (code / 100 != 2) {
			/* The RCPTs and DATA that follow get errors too. */
			snprintf(r->error, sizeof(r->error), "%s", text);
			for (i = 0; i < r->entry.nrcpts; i++)
				if (r->entry.rcpts[i].status ==
				    STORE_RCPT_PENDING) {
					r->round[i] = code / 100 == 5 ? RR_PERM :
					    RR_TEMP;
					free(r->round_reply[i]);
					r->round_reply[i] = xstrdup(text);
				}
		}
		r->state = R_RCPT;
		if (!r->ext_pipelining)
			relay_send_rcpt(r);
		return;
	case R_RCPT:
		idx = relay_rcpt_index(r, r->rcpt_answered++);
		if (idx >= 0 && r->round[idx] == RR_NONE) {
			r->round[idx] = code / 100 == 2 ? RR_ACCEPTED :
			    code / 100 == 5 ? RR_PERM : RR_TEMP;
			free(r->round_reply[idx]);
			r->round_reply[idx] = xstrdup(text);
			if (code / 100 != 2)
				snprintf(r->error, sizeof(r->error), "%s", text);
		}
		if (r->rcpt_answered < r->rcpt_total) {
			if (!r->ext_pipelining)
				relay_send_rcpt(r);
			return;
		}
		r->state = R_DATA;
		if (r->ext_pipelining)
			return;		/* DATA went with the RCPTs */
		for (accepted = 0, i = 0; i < r->entry.nrcpts; i++)
			if (r->round[i] == RR_ACCEPTED)
				accepted = 1;
		if (!accepted) {
			/* Nobody took it: no DATA (RFC 5321 3.3). */
			relay_finish(r);
			r->state = R_RSET;
			relay_send(r, "RSET");
			return;
		}
		relay_send(r, "DATA");
		return;
	case R_DATA:
		for (accepted = 0, i = 0; i < r->entry.nrcpts; i++)
			if (r->round[i] == RR_ACCEPTED)
				accepted = 1;
		if (code != 354 || !accepted) {
			if (code == 354) {
				/* Nobody to send to: end the DATA empty. */
				evbuffer_add(bufferevent_get_output(r->bev),
				    ".\r\n", 3);
				r->state = R_BODY;
				for (i = 0; i < r->entry.nrcpts; i++)
					if (r->round[i] == RR_ACCEPTED)
						r->round[i] = RR_TEMP;
				return;
			}
			/*
			 * DATA refused: the recipients RCPT took have not got
			 * the message; they fail as the reply says, never
			 * count as sent.
			 */
			for (i = 0; i < r->entry.nrcpts; i++) {
				if (r->round[i] != RR_ACCEPTED)
					continue;
				r->round[i] = code / 100 == 5 ? RR_PERM :
				    RR_TEMP;
				free(r->round_reply[i]);
				r->round_reply[i] = xstrdup(text);
			}
			snprintf(r->error, sizeof(r->error), "%s", text);
			relay_finish(r);
			r->state = R_RSET;
			relay_send(r, "RSET");
			return;
		}
		r->state = R_BODY;
		relay_send_body(r);
		return;
	case R_BODY:
		/* The answer for every recipient that RCPT accepted. */
		for (i = 0; i < r->entry.nrcpts; i++) {
			if (r->round[i] != RR_ACCEPTED)
				continue;
			if (code / 100 != 2) {
				r->round[i] = code / 100 == 5 ? RR_PERM : RR_TEMP;
				free(r->round_reply[i]);
				r->round_reply[i] = xstrdup(text);
				snprintf(r->error, sizeof(r->error), "%s", text);
			}
		}
		relay_finish(r);
		r->state = R_READY;
		relay_run(r);
		return;
	case R_QUIT:
		relay_close(r);
		/* A reply queued while QUIT was on its way goes now. */
		relay_run(r);
		return;
	default:
		return;
	}
}

/* EHLO keywords (RFC 5321 4.1.1.1), matched whole. */
static int
relay_ehlo_is(const char *kw, const char *name)
{
	size_t	 n = strlen(name);

	return strncasecmp(kw, name, n) == 0 && (kw[n] == '\0' ||
	    kw[n] == ' ');
}

static void
relay_ehlo_line(struct relay *r, const char *kw)
{
	if (relay_ehlo_is(kw, "STARTTLS"))
		r->ext_starttls = 1;
	else if (relay_ehlo_is(kw, "PIPELINING"))
		r->ext_pipelining = 1;
	else if (relay_ehlo_is(kw, "SIZE"))
		r->ext_size = 1;
	else if (relay_ehlo_is(kw, "8BITMIME"))
		r->ext_8bitmime = 1;
	else if (strncasecmp(kw, "AUTH", 4) == 0 && (kw[4] == ' ' ||
	    kw[4] == '=') && strstr(kw, "PLAIN") != NULL)
		r->ext_auth_plain = 1;
}

static void
relay_read(struct bufferevent *bev, void *arg)
{
	struct relay	*r = arg;
	char		*line;
	size_t		 len;

	while ((line = evbuffer_readln(bufferevent_get_input(bev), &len,
	    EVBUFFER_EOL_CRLF)) != NULL) {
		if (len < 3 || !isdigit((unsigned char)line[0]) ||
		    !isdigit((unsigned char)line[1]) ||
		    !isdigit((unsigned char)line[2]) ||
		    (len > 3 && line[3] != ' ' && line[3] != '-')) {
			free(line);
			relay_abort(r, "the smarthost's reply is not SMTP");
			return;
		}
		if ((r->state == R_EHLO || r->state == R_EHLO_TLS) && len > 4)
			relay_ehlo_line(r, line + 4);
		if (len > 3 && line[3] == '-') {
			free(line);
			continue;
		}
		relay_reply(r, atoi(line), line);
		free(line);
		if (r->bev == NULL || bev != r->bev)
			return;		/* closed, or wrapped in TLS */
	}
	if (evbuffer_get_length(bufferevent_get_input(bev)) > RELAY_REPLY_MAX)
		relay_abort(r, "the smarthost's reply line is too long");
}

/*
 * Why the handshake failed.  The bufferevent took the error off
 * OpenSSL's queue already (tls_error() finds it empty); a failed
 * certificate check is best told by the verification result.
 */
static void
relay_tls_why(struct bufferevent *bev, unsigned long err, char *why,
    size_t len)
{
	SSL	*ssl = bufferevent_openssl_get_ssl(bev);
	long	 vr;
	char	 buf[256];

	if (ssl != NULL && (vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
		snprintf(why, len, "TLS with the smarthost failed: certificate "
		    "verify failed: %s", X509_verify_cert_error_string(vr));
		return;
	}
	ERR_error_string_n(err, buf, sizeof(buf));
	snprintf(why, len, "TLS with the smarthost failed: %.200s", buf);
	(void)tls_error();	/* anything else queued goes too */
}

static void
relay_event(struct bufferevent *bev, short what, void *arg)
{
	struct relay	*r = arg;
	char		 why[256];
	unsigned long	 err;

	if (what & BEV_EVENT_CONNECTED) {
		if (r->state == R_TLS) {
			/* The handshake is done: EHLO again (RFC 3207 4.2). */
			r->state = R_EHLO_TLS;
			relay_ehlo_reset(r);
			relay_send(r, "EHLO %s", r->sd->daemon.conf->hostname);
		}
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof(why), "timeout talking to the smarthost");
	else if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "the smarthost closed the connection");
	else if (r->in_tls && (err = bufferevent_get_openssl_error(bev)) != 0 &&
	    ERR_GET_LIB(err) != 0)
		relay_tls_why(bev, err, why, sizeof(why));
	/* (Library 0: libevent's SSL_ERROR_SYSCALL; errno says more.) */
	else if (EVUTIL_SOCKET_ERROR() == 0)
		/* A TLS connection closed without close_notify. */
		snprintf(why, sizeof(why), "the smarthost closed the connection");
	else
		snprintf(why, sizeof(why), "connection to the smarthost failed: %s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	if (r->state == R_QUIT || (r->state == R_READY && !r->busy)) {
		relay_close(r);
		relay_run(r);
		return;
	}
	relay_abort(r, why);
}

static void
relay_reuse_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct relay	*r = arg;

	if (r->state == R_READY && !r->busy) {
		r->state = R_QUIT;
		relay_send(r, "QUIT");
	}
}

/* Takes the next due entry, if any, and starts sending it. */
static void
relay_run(struct relay *r)
{
	struct relay_pick	 rp;
	struct relay_load	 rl;
	struct timeval		 tv = { RELAY_REUSE, 0 };
	int			 ret;

	/*
	 * The entry taken before connecting goes out once the connection
	 * is ready (after EHLO, STARTTLS and AUTH).
	 */
	if (r->busy) {
		if (r->state == R_READY)
			relay_begin(r);
		return;
	}
	if ((r->state != R_IDLE && r->state != R_READY) ||
	    r->sd->daemon.stopping)
		return;
	memset(&rp, 0, sizeof(rp));
	rp.now = time(NULL);
	if ((ret = store_txn_run(r->sd->daemon.store, relay_pick_txn, &rp)) != 0) {
		log_warnx("relay: reading the queue: %s", store_strerror(ret));
		return;
	}
	if (rp.id == 0) {
		if (r->state == R_READY)
			evtimer_add(r->reuse, &tv);
		return;
	}
	evtimer_del(r->reuse);
	rl.r = r;
	rl.id = rp.id;
	if (store_txn_run(r->sd->daemon.store, relay_load_txn, &rl) != 0) {
		relay_entry_clear(r);
		return;
	}
	r->busy = 1;
	r->round = xcalloc(r->entry.nrcpts, sizeof(*r->round));
	r->round_reply = xcalloc(r->entry.nrcpts, sizeof(*r->round_reply));
	if (r->state == R_IDLE)
		relay_connect(r);
	else
		relay_begin(r);
}

/* Called when the connection became ready for a transaction. */
static void
relay_timer(evutil_socket_t fd, short what, void *arg)
{
	relay_run(arg);
}

void
relay_kick(struct relay *r)
{
	if (r != NULL)
		relay_run(r);
}

struct relay *
relay_new(struct submitd *sd)
{
	const struct conf	*cf = sd->daemon.conf;
	struct relay		*r;
	struct timeval		 tv = { RELAY_SCAN_INTERVAL, 0 };
	char			 err[512];

	if (cf->smarthost == NULL) {
		log_info("relay: no smarthost configured; replies stay queued");
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->sd = sd;
	relay_parse_host(r, cf->smarthost);
	if ((r->ctx = tls_client_ctx(cf->smarthost_verify, cf->smarthost_ca,
	    err, sizeof(err))) == NULL)
		fatalx("relay: %s", err);
	r->timer = event_new(sd->daemon.base, -1, EV_PERSIST, relay_timer, r);
	evtimer_add(r->timer, &tv);
	r->reuse = evtimer_new(sd->daemon.base, relay_reuse_timeout, r);
	return r;
}

void
relay_free(struct relay **rp)
{
	struct relay	*r = *rp;

	if (r == NULL)
		return;
	relay_close(r);
	relay_entry_clear(r);
	event_free(r->timer);
	event_free(r->reuse);
	SSL_CTX_free(r->ctx);
	free(r->host);
	free(r->port);
	free(r);
	*rp = NULL;
}
