/*
 * cmd-hello.c: EHLO, HELO, LHLO (RFC 5321 4.1.1.1, RFC 2033 4.1) and
 * STARTTLS (RFC 3207).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "submitd.h"

void
cmd_hello(struct smtp_session *s, struct smtp_cmd *cmd)
{
	const struct conf	*cf = s->sd->daemon.conf;
	struct evbuffer		*out = conn_out(s->conn);
	unsigned int		 ext = smtp_session_ext(s);

	snprintf(s->helo, sizeof(s->helo), "%s", cmd->arg != NULL ? cmd->arg : "");
	/* RFC 5321 4.1.4: EHLO also resets the transaction. */
	smtp_session_reset(s);
	if (s->state != S_READY)
		smtp_session_enter_state(s, S_READY);
	if (cmd->verb == SMTP_CMD_HELO) {
		s->esmtp = 0;
		smtp_reply(s, 250, "2.0.0", "%s", cf->hostname);
		return;
	}
	s->esmtp = 1;
	evbuffer_add_printf(out, "250-%s\r\n", cf->hostname);
	if (ext & SMTP_EXT_PIPELINING)
		evbuffer_add_printf(out, "250-PIPELINING\r\n");
	if (ext & SMTP_EXT_SIZE)
		evbuffer_add_printf(out, "250-SIZE %llu\r\n",
		    (unsigned long long)s->size_max);
	if (ext & SMTP_EXT_STARTTLS)
		evbuffer_add_printf(out, "250-STARTTLS\r\n");
	if (ext & SMTP_EXT_AUTH)
		evbuffer_add_printf(out, "250-AUTH PLAIN LOGIN\r\n");
	if (ext & SMTP_EXT_SMTPUTF8)
		evbuffer_add_printf(out, "250-SMTPUTF8\r\n");
	evbuffer_add_printf(out, "250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n");
}

void
cmd_starttls(struct smtp_session *s, struct smtp_cmd *cmd)
{
	if (!(smtp_session_ext(s) & SMTP_EXT_STARTTLS)) {
		smtp_reply(s, s->conn->tls ? 503 : 502, s->conn->tls ? "5.5.1" :
		    "5.5.1", "%s", s->conn->tls ? "TLS is active already" :
		    "STARTTLS is not offered here");
		return;
	}
	/*
	 * RFC 3207 4, CVE-2011-0411: anything pipelined behind STARTTLS came
	 * in clear and must not be taken as if it came through TLS.
	 */
	if (evbuffer_get_length(conn_in(s->conn)) > 0) {
		log_info("%s: data pipelined after STARTTLS; closing",
		    s->conn->peer);
		smtp_reply(s, 554, "5.5.1", "Commands after STARTTLS; closing");
		smtp_session_quit(s);
		return;
	}
	smtp_reply(s, 220, "2.0.0", "Ready to start TLS");
	smtp_line_reader_reset(s->lines);
	if (conn_starttls(s->conn, s->sd->daemon.tls) == -1) {
		smtp_session_quit(s);
		return;
	}
	/* RFC 3207 4.2: the client starts again with EHLO. */
	s->helo[0] = '\0';
	smtp_session_enter_state(s, S_GREETED);
}
