/*
 * smtp-session.c: one SMTP or LMTP connection: reading commands (with
 * pipelining, RFC 2920), dispatching them by table, the states, DATA.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "submitd.h"
#include "xmalloc.h"

static void	smtp_session_input(struct conn *, void *);
static void	smtp_session_end(struct conn *, enum conn_end, void *);
static void	smtp_session_run(struct smtp_session *);

static const struct conn_callbacks smtp_conn_callbacks = {
	.input = smtp_session_input,
	.end = smtp_session_end,
};

static const char *const smtp_state_names[] = {
	[S_GREETED] = "greeted",
	[S_READY] = "ready",
	[S_AUTH] = "auth",
	[S_MAIL] = "mail",
	[S_RCPT] = "rcpt",
	[S_DATA] = "data",
	[S_BUSY] = "busy",
	[S_QUIT] = "quit",
};

void
smtp_session_enter_state(struct smtp_session *s, enum smtp_state state)
{
	log_debug("%s: %s -> %s", s->conn->peer, smtp_state_names[s->state],
	    smtp_state_names[state]);
	s->state = state;
	if (state == S_QUIT) {
		/* The reply already queued goes out first. */
		conn_close_after_flush(s->conn);
		return;
	}
	/* RFC 5321 4.5.3.2.7: at least 5 minutes by default. */
	conn_set_timeout(s->conn, (int)(state == S_DATA ?
	    s->sd->daemon.conf->smtp_data_timeout :
	    s->sd->daemon.conf->smtp_timeout));
}

void
smtp_reply(struct smtp_session *s, int code, const char *enhanced,
    const char *fmt, ...)
{
	va_list	 ap;

	evbuffer_add_printf(conn_out(s->conn), "%d %s ", code, enhanced);
	va_start(ap, fmt);
	evbuffer_add_vprintf(conn_out(s->conn), fmt, ap);
	va_end(ap);
	evbuffer_add(conn_out(s->conn), "\r\n", 2);
}

void
smtp_reply_send(struct smtp_session *s, const struct smtp_reply *r)
{
	smtp_reply(s, r->code, r->enhanced, "%s", r->text);
	if (r->close)
		smtp_session_quit(s);
}

unsigned int
smtp_session_ext(const struct smtp_session *s)
{
	unsigned int	 ext = SMTP_EXT_PIPELINING | SMTP_EXT_SIZE |
	    SMTP_EXT_8BITMIME | SMTP_EXT_ENHANCEDSTATUSCODES |
	    SMTP_EXT_SMTPUTF8;

	if (!s->conn->tls && s->listener->spec.security == LISTEN_STARTTLS)
		ext |= SMTP_EXT_STARTTLS;
	/* RFC 8314, SPEC: no AUTH before TLS. */
	if (s->conn->tls)
		ext |= SMTP_EXT_AUTH;
	return ext & s->proto->ext;
}

static size_t
smtp_sessions_from(struct submitd *sd, const char *peer)
{
	struct smtp_session	*s;
	size_t			 n = 0;

	for (s = sd->sessions; s != NULL; s = s->next)
		if (strcmp(s->conn->peer, peer) == 0)
			n++;
	return n;
}

void
smtp_session_accept(struct submitd *sd, struct listener *l, int fd,
    const struct sockaddr *sa, socklen_t salen, enum smtp_dialect dialect)
{
	struct daemon		*d = &sd->daemon;
	struct smtp_session	*s;

	s = xcalloc(1, sizeof(*s));
	s->sd = sd;
	s->listener = l;
	s->dialect = dialect;
	s->proto = smtp_protocol_get(dialect);
	s->conn = conn_new(d->base, fd, sa, salen,
	    daemon_listener_tls(l) ? d->tls : NULL, &smtp_conn_callbacks, s);
	if (s->conn == NULL) {
		free(s);
		return;
	}
	s->lines = smtp_line_reader_new();
	s->size_max = d->conf->max_message_size;
	s->next = sd->sessions;
	if (sd->sessions != NULL)
		sd->sessions->prev = s;
	sd->sessions = s;
	daemon_session_opened(d);
	if (strcmp(s->conn->peer, "unix") != 0 && smtp_sessions_from(sd,
	    s->conn->peer) > d->conf->max_connections_per_ip) {
		smtp_reply(s, 421, "4.7.0", "Too many connections from your "
		    "address");
		smtp_session_quit(s);
		return;
	}
	smtp_session_enter_state(s, S_GREETED);
	evbuffer_add_printf(conn_out(s->conn), "220 %s %s guestbox\r\n",
	    d->conf->hostname, s->proto->name);
}

void
smtp_session_reset(struct smtp_session *s)
{
	smtp_data_free(&s->data);
	if (s->msg != NULL)
		sodium_memzero(s->msg, s->msglen);
	free(s->msg);
	s->msg = NULL;
	s->msglen = s->msgcap = 0;
	free(s->rcpts);
	s->rcpts = NULL;
	s->nrcpts = 0;
	s->mail_from[0] = s->mail_path[0] = '\0';
	s->mail_smtputf8 = 0;
}

static void
smtp_session_free(struct smtp_session *s)
{
	struct submitd	*sd = s->sd;

	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		sd->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	/* A job in flight finds its session gone and drops its result. */
	if (s->job != NULL)
		s->job->session = NULL;
	auth_cancel(&s->auth);
	smtp_session_reset(s);
	free(s->sasl_user);
	vault_seckey_free(&s->key);
	smtp_line_reader_free(&s->lines);
	conn_free(&s->conn);
	daemon_session_closed(&sd->daemon);
	sodium_memzero(s, sizeof(*s));
	free(s);
}

void
smtp_session_quit(struct smtp_session *s)
{
	if (s->state != S_QUIT)
		smtp_session_enter_state(s, S_QUIT);
}

void
smtp_session_shutdown(struct smtp_session *s)
{
	if (s->state == S_BUSY || s->state == S_DATA || s->state == S_QUIT)
		return;		/* finishes the message first */
	smtp_reply(s, 421, "4.3.2", "Service shutting down; try again later");
	smtp_session_quit(s);
}

void
smtp_session_revoke(struct smtp_session *s)
{
	if (s->state == S_QUIT)
		return;
	log_info("%s: %s: the mailbox was disabled, deleted or re-invited; "
	    "ending the session", s->conn->peer, s->address);
	/*
	 * RFC 5321 3.8: 421 at any time, then close; a message being read
	 * or encrypted is dropped (its job finds the session gone).
	 */
	smtp_reply(s, 421, "4.7.0", "This mailbox was disabled, deleted or "
	    "invited again; closing");
	smtp_session_quit(s);
}

static void
smtp_session_end(struct conn *c, enum conn_end why, void *arg)
{
	struct smtp_session	*s = arg;

	if (why == CONN_END_TIMEOUT && s->state != S_QUIT) {
		/* RFC 5321 4.5.3.2: say why before closing. */
		smtp_reply(s, 421, "4.4.2", "Timeout; closing");
		smtp_session_quit(s);
		return;
	}
	log_debug("%s: connection ended", c->peer);
	smtp_session_free(s);
}

/* ---- DATA ---- */

static int
smtp_session_data_sink(void *arg, const void *data, size_t len)
{
	struct smtp_session	*s = arg;

	if (s->msgcap - s->msglen < len) {
		while (s->msgcap - s->msglen < len)
			s->msgcap = s->msgcap == 0 ? 65536 : s->msgcap * 2;
		s->msg = xrealloc(s->msg, s->msgcap);
	}
	memcpy(s->msg + s->msglen, data, len);
	s->msglen += len;
	return 0;
}

void
smtp_session_start_data(struct smtp_session *s)
{
	s->data = smtp_data_new(s->size_max, smtp_session_data_sink, s);
	smtp_session_enter_state(s, S_DATA);
}

static void
smtp_session_data(struct smtp_session *s)
{
	struct smtp_reply	 r;

	memset(&r, 0, sizeof(r));
	if (smtp_data_read(s->data, conn_in(s->conn), &r) == SMTP_DATA_MORE)
		return;
	if (r.code != 0) {
		log_info("%s: message refused: %d %s", s->conn->peer, r.code,
		    r.text);
		/* LMTP answers once per recipient (RFC 2033 4.2). */
		if (s->proto->reply_per_rcpt && !r.close) {
			size_t	 i;

			for (i = 0; i < s->nrcpts; i++)
				smtp_reply(s, r.code, r.enhanced, "%s", r.text);
		} else
			smtp_reply_send(s, &r);
		smtp_session_reset(s);
		if (s->state != S_QUIT)
			smtp_session_enter_state(s, S_READY);
		return;
	}
	smtp_data_free(&s->data);
	smtp_session_enter_state(s, S_BUSY);
	s->proto->message(s);
}

/* ---- commands ---- */

static void
smtp_session_command(struct smtp_session *s, char *line, size_t len)
{
	struct smtp_parse_conf		 pc;
	struct smtp_cmd			 cmd;
	struct smtp_reply		 r;
	const struct smtp_cmd_def	*def;

	memset(&pc, 0, sizeof(pc));
	pc.dialect = s->dialect;
	pc.ext = smtp_session_ext(s);
	pc.size_max = s->size_max;
	pc.smtputf8 = s->mail_smtputf8;
	if (smtp_cmd_parse(line, len, &pc, &cmd, &r) == -1) {
		s->errors++;
		smtp_reply_send(s, &r);
		return;
	}
	def = smtp_command_find(s->proto, cmd.verb);
	if (def == NULL) {
		s->errors++;
		smtp_reply(s, 502, "5.5.1", "Command not implemented");
		return;
	}
	if ((def->states & ST(s->state)) == 0) {
		s->errors++;
		if (s->state == S_GREETED)
			smtp_reply(s, 503, "5.5.1", "Bad sequence of commands: "
			    "%s needs %s first", cmd.name, s->proto->hello);
		else
			smtp_reply(s, 503, "5.5.1", "Bad sequence of commands: "
			    "%s %s", cmd.name, s->state == S_READY ?
			    "needs MAIL first" : s->state == S_MAIL ?
			    "needs RCPT first" : "not now");
		return;
	}
	def->handler(s, &cmd);
}

static void
smtp_session_run(struct smtp_session *s)
{
	char	*line;
	size_t	 len;
	int	 st;

	for (;;) {
		switch (s->state) {
		case S_QUIT:
		case S_BUSY:
			return;
		case S_DATA:
			smtp_session_data(s);
			if (s->state == S_DATA)
				return;
			continue;
		default:
			break;
		}
		/*
		 * Checked before each command, so that errors found by work
		 * that finished later (a refused RCPT, a failed AUTH) count
		 * before the next command starts more of it.
		 */
		if (s->errors >= SMTP_MAX_ERRORS) {
			smtp_reply(s, 421, "4.7.0", "Too many errors; closing");
			smtp_session_quit(s);
			return;
		}
		st = smtp_line_read(s->lines, conn_in(s->conn), s->state ==
		    S_AUTH ? SMTP_SASL_LINE_MAX : SMTP_LINE_MAX, &line, &len);
		if (st == SMTP_LINE_MORE)
			return;
		if (st == SMTP_LINE_TOOLONG) {
			s->errors++;
			if (s->state == S_AUTH) {
				smtp_reply(s, 500, "5.5.6", "Authentication "
				    "exchange line too long");
				smtp_session_enter_state(s, S_READY);
				s->sasl = SASL_NONE;
				free(s->sasl_user);
				s->sasl_user = NULL;
			} else
				smtp_reply(s, 500, "5.5.2", "Line too long");
		} else if (s->state == S_AUTH)
			cmd_auth_line(s, line, len);
		else
			smtp_session_command(s, line, len);
	}
}

static void
smtp_session_input(struct conn *c, void *arg)
{
	smtp_session_run(arg);
}

void
smtp_session_resume(struct smtp_session *s)
{
	if (s->state == S_QUIT)
		return;
	conn_pause(s->conn, 0);
	if (s->sd->daemon.stopping && s->state != S_DATA && s->state != S_BUSY) {
		smtp_session_shutdown(s);
		return;
	}
	smtp_session_run(s);
}
