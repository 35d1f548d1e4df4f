/*
 * cmd-auth.c: AUTH PLAIN and LOGIN (RFC 4954, RFC 4616) through the
 * authentication service shared with guestbox-imapd.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "log.h"
#include "submitd.h"
#include "xmalloc.h"

#define SASL_MAX	(SMTP_SASL_USER_MAX * 2 + SMTP_SASL_PASS_MAX + 3)

static void
cmd_auth_done(struct auth_result *res, void *arg)
{
	struct smtp_session	*s = arg;

	s->auth = NULL;
	switch (res->status) {
	case AUTH_OK:
		s->account_id = res->account_id;
		memcpy(s->address, res->address, sizeof(s->address));
		s->key = res->key;
		res->key = NULL;
		log_info("%s: %s authenticated", s->conn->peer, s->address);
		smtp_reply(s, 235, "2.7.0", "Authentication successful");
		break;
	case AUTH_FAILED:
		log_info("%s: authentication failed", s->conn->peer);
		s->errors++;
		smtp_reply(s, 535, "5.7.8", "Authentication credentials invalid");
		break;
	case AUTH_UNAVAILABLE:
		smtp_reply(s, 454, "4.7.0", "Temporary authentication failure");
		break;
	}
	smtp_session_enter_state(s, S_READY);
	smtp_session_resume(s);
}

static void
cmd_auth_start(struct smtp_session *s, const char *user, size_t userlen,
    const char *pw, size_t pwlen)
{
	char	*u;

	u = xstrndup(user, userlen);
	smtp_session_enter_state(s, S_BUSY);
	conn_pause(s->conn, 1);
	s->auth = auth_start(s->sd->daemon.auth, u, pw, pwlen, s->conn->peer,
	    cmd_auth_done, s);
	free(u);
}

/* A decoded PLAIN message. */
static void
cmd_auth_plain(struct smtp_session *s, const char *line, size_t len)
{
	struct sasl_plain	 sp;
	struct smtp_reply	 r;
	uint8_t			*buf;
	size_t			 n;

	buf = xsecret_alloc(SASL_MAX);
	memset(&r, 0, sizeof(r));
	if (smtp_sasl_decode(line, len, buf, SASL_MAX, &n, &r) == -1 ||
	    smtp_sasl_plain_split(buf, n, &sp, &r) == -1) {
		/* Aborted ("*") or malformed: an error, as in Postfix. */
		s->errors++;
		smtp_reply_send(s, &r);
		smtp_session_enter_state(s, S_READY);
		xsecret_free(buf);
		return;
	}
	/* No proxy authorization: an authzid must name the same user. */
	if (sp.authzid_len > 0 && (sp.authzid_len != sp.authcid_len ||
	    strncasecmp(sp.authzid, sp.authcid, sp.authcid_len) != 0)) {
		s->errors++;
		smtp_reply(s, 535, "5.7.8", "Authentication credentials invalid");
		smtp_session_enter_state(s, S_READY);
		xsecret_free(buf);
		return;
	}
	cmd_auth_start(s, sp.authcid, sp.authcid_len, sp.passwd, sp.passwd_len);
	xsecret_free(buf);
}

void
cmd_auth(struct smtp_session *s, struct smtp_cmd *cmd)
{
	if (!s->conn->tls) {
		smtp_reply(s, 530, "5.7.0", "Must issue a STARTTLS command first");
		return;
	}
	if (s->account_id != 0) {
		/* RFC 4954 4: once only. */
		smtp_reply(s, 503, "5.5.1", "Already authenticated");
		return;
	}
	if (strcmp(cmd->mech, "PLAIN") == 0) {
		if (cmd->initial != NULL) {
			cmd_auth_plain(s, cmd->initial, strlen(cmd->initial));
			return;
		}
		s->sasl = SASL_PLAIN;
		evbuffer_add_printf(conn_out(s->conn), "334 \r\n");
	} else if (strcmp(cmd->mech, "LOGIN") == 0) {
		if (cmd->initial != NULL) {
			s->sasl = SASL_LOGIN_USER;
			smtp_session_enter_state(s, S_AUTH);
			cmd_auth_line(s, cmd->initial, strlen(cmd->initial));
			return;
		}
		s->sasl = SASL_LOGIN_USER;
		evbuffer_add_printf(conn_out(s->conn), "334 VXNlcm5hbWU6\r\n");
	} else {
		smtp_reply(s, 504, "5.5.4", "Unrecognized authentication type");
		return;
	}
	smtp_session_enter_state(s, S_AUTH);
}

void
cmd_auth_line(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_reply	 r;
	uint8_t			*buf;
	size_t			 n;

	memset(&r, 0, sizeof(r));
	if (s->sasl == SASL_PLAIN) {
		s->sasl = SASL_NONE;
		cmd_auth_plain(s, line, len);
		return;
	}
	buf = xsecret_alloc(SMTP_SASL_PASS_MAX + 1);
	if (smtp_sasl_decode(line, len, buf, s->sasl == SASL_LOGIN_USER ?
	    SMTP_SASL_USER_MAX : SMTP_SASL_PASS_MAX, &n, &r) == -1) {
		smtp_reply_send(s, &r);
		goto fail;
	}
	if (s->sasl == SASL_LOGIN_USER) {
		if (n == 0 || memchr(buf, '\0', n) != NULL) {
			smtp_reply(s, 535, "5.7.8", "Authentication credentials "
			    "invalid");
			goto fail;
		}
		free(s->sasl_user);
		s->sasl_user = xstrndup((const char *)buf, n);
		s->sasl = SASL_LOGIN_PASS;
		evbuffer_add_printf(conn_out(s->conn), "334 UGFzc3dvcmQ6\r\n");
		xsecret_free(buf);
		return;
	}
	s->sasl = SASL_NONE;
	cmd_auth_start(s, s->sasl_user, strlen(s->sasl_user), (const char *)buf,
	    n);
	free(s->sasl_user);
	s->sasl_user = NULL;
	xsecret_free(buf);
	return;
fail:
	s->errors++;
	xsecret_free(buf);
	free(s->sasl_user);
	s->sasl_user = NULL;
	s->sasl = SASL_NONE;
	smtp_session_enter_state(s, S_READY);
}
